package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/capstat/capstat/schedules"
)

// selfSigned writes a certificate for 127.0.0.1 and returns the file paths
// and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "capstat test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// start runs s.Serve on a loopback port and returns its base URL and the
// channel of Serve's result.
func start(t *testing.T, s *Server, ctx context.Context, scheme string) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	return scheme + "://" + ln.Addr().String(), errc
}

func TestTLSWithHTTP2AndHSTS(t *testing.T) {
	f := newFixture(t)
	certFile, keyFile, pool := selfSigned(t)
	s := newServer(t, f, func(o *Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	ctx, cancel := context.WithCancel(context.Background())
	base, errc := start(t, s, ctx, "https")

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("status %d proto %s", resp.StatusCode, resp.Proto)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS with TLS")
	}
	if len(body) == 0 {
		t.Error("empty body")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestNewRejectsBadTLS(t *testing.T) {
	f := newFixture(t)
	if _, err := New(Options{OutDir: f.dir, TLSCert: "x.pem"}); err == nil {
		t.Error("cert without key accepted")
	}
	if _, err := New(Options{OutDir: f.dir, TLSCert: "missing.pem", TLSKey: "missing.key"}); err == nil {
		t.Error("missing files accepted")
	}
}

// Cancelling the context: in-flight requests finish, new connections are
// refused, the scheduler's running job is cancelled and recorded, and Serve
// returns within the bound.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	inHandler := make(chan struct{})
	finish := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-finish
		io.WriteString(w, `{"rows":[]}`)
	})
	jobStarted := make(chan struct{})
	sch, err := schedules.New(context.Background(), schedules.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Add(schedules.Job{Name: "ingest", Run: func(ctx context.Context) error {
		close(jobStarted)
		<-ctx.Done()
		return ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, f, func(o *Options) {
		o.Queries = slow
		o.Scheduler = sch
		o.ShutdownTimeout = 20 * time.Second
	})
	ctx, cancel := context.WithCancel(context.Background())
	base, errc := start(t, s, ctx, "http")
	if err := sch.Trigger("ingest"); err != nil {
		t.Fatal(err)
	}
	<-jobStarted

	type result struct {
		code int
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/api/sql")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{resp.StatusCode, string(b), err}
	}()
	<-inHandler
	cancel()
	// Wait until the listener is closed: new connections are refused.
	addr := base[len("http://"):]
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if i == 1000 {
			t.Fatal("listener still accepting after cancel")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-errc:
		t.Fatalf("Serve returned before the in-flight request ended: %v", err)
	default:
	}
	close(finish)
	r := <-inflight
	if r.err != nil || r.code != 200 || r.body != `{"rows":[]}` {
		t.Errorf("in-flight request: %+v", r)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
	runs, _ := sch.History(context.Background(), 5)
	if len(runs) != 1 || runs[0].Status != schedules.StatusInterrupted {
		t.Errorf("job history after shutdown: %+v", runs)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f, func(o *Options) { o.Addr = "127.0.0.1:notaport" })
	if err := s.ListenAndServe(context.Background()); err == nil {
		t.Fatal("ListenAndServe on a bad address returned nil")
	}
}
