package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capstat/capstat/schedules"
)

var (
	t0       = time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC)
	fixedNow = func() time.Time { return t0.Add(90 * time.Minute) }
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syncBuffer is an access log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newServer(t *testing.T, f *fixture, mod func(*Options)) *Server {
	t.Helper()
	opts := Options{OutDir: f.dir, Logger: quiet(), Now: fixedNow, AdminToken: "s3cret-token", StaleAfter: time.Hour}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type resp struct {
	code int
	h    http.Header
	body string
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) resp {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return resp{rec.Code, rec.Header(), rec.Body.String()}
}

func TestReadyzFollowsLatest(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f, nil)
	h := s.Handler()

	if r := do(t, h, "GET", "/readyz", nil); r.code != http.StatusServiceUnavailable {
		t.Fatalf("readyz without release = %d %s", r.code, r.body)
	}
	if r := do(t, h, "GET", "/healthz", nil); r.code != http.StatusOK {
		t.Fatalf("healthz = %d", r.code)
	}
	// A release folder without latest is not ready yet.
	f.addRelease("20261129T171502Z", "", t0)
	if r := do(t, h, "GET", "/readyz", nil); r.code != http.StatusServiceUnavailable {
		t.Fatalf("readyz before the switch = %d", r.code)
	}
	f.publish("20261129T171502Z")
	r := do(t, h, "GET", "/readyz", nil)
	if r.code != http.StatusOK {
		t.Fatalf("readyz = %d %s", r.code, r.body)
	}
	var body struct {
		ReleaseID  string `json:"release_id"`
		AgeSeconds int64  `json:"age_seconds"`
		Stale      bool   `json:"stale"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	if body.ReleaseID != "20261129T171502Z" || body.AgeSeconds != 5400 || !body.Stale {
		t.Errorf("readyz body = %+v", body)
	}
	// A switch is seen without restart, and downloads follow it.
	f.addRelease("20261129T181502Z", "20261129T171502Z", t0.Add(time.Hour))
	f.write("releases/20261129T181502Z/csv/projects.csv", "source\nnew\n")
	f.publish("20261129T181502Z")
	r = do(t, h, "GET", "/readyz", nil)
	if !strings.Contains(r.body, `"20261129T181502Z"`) || !strings.Contains(r.body, `"stale": false`) {
		t.Errorf("after switch: %s", r.body)
	}
	r = do(t, h, "GET", "/data/latest/csv/projects.csv", nil)
	if r.body != "source\nnew\n" || r.h.Get("X-Capstat-Release") != "20261129T181502Z" {
		t.Errorf("latest download after switch: %q %v", r.body, r.h)
	}
	// A broken manifest makes the server unready.
	f.write("releases/20261129T181502Z/manifest.json", `{"release_id":`)
	if r := do(t, h, "GET", "/readyz", nil); r.code != http.StatusServiceUnavailable {
		t.Errorf("broken manifest: readyz = %d", r.code)
	}
}

func TestDownloadsAndContentTypes(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	h := newServer(t, f, nil).Handler()

	tests := []struct {
		path, ctype, cache string
		contains           string
	}{
		{"/", "text/html; charset=utf-8", cacheRevalidate, "Tableau de bord"},
		{"/index.html", "text/html; charset=utf-8", cacheRevalidate, "Tableau de bord"},
		{"/assets/app.js", "text/javascript; charset=utf-8", cacheRevalidate, "capstat"},
		{"/assets/style.css", "text/css; charset=utf-8", cacheRevalidate, "sans-serif"},
		{"/releases.atom", "application/atom+xml", cacheRevalidate, "<feed"},
		{"/data/latest/csv/projects.csv", "text/csv; charset=utf-8", cacheRevalidate, "été 2026 🌳"},
		{"/data/latest/data/projects/source=paris/part-0.parquet", "application/vnd.apache.parquet", cacheRevalidate, "PAR1"},
		{"/data/latest/capstat.duckdb", "application/octet-stream", cacheRevalidate, "snapshot"},
		{"/data/latest/manifest.json", "application/json", cacheRevalidate, "release_id"},
		{"/data/latest/README.md", "text/markdown; charset=utf-8", cacheRevalidate, "Données"},
		{"/data/releases/20261129T171502Z/csv/projects.csv", "text/csv; charset=utf-8", cacheImmutable, "onerror"},
		{"/data/latest/", "text/html; charset=utf-8", cacheRevalidate, `href="manifest.json"`},
		{"/data/releases/", "text/html; charset=utf-8", cacheRevalidate, `href="20261129T171502Z/"`},
		{"/data/", "text/html; charset=utf-8", cacheRevalidate, `href="latest/"`},
	}
	for _, tt := range tests {
		r := do(t, h, "GET", tt.path, nil)
		if r.code != http.StatusOK {
			t.Errorf("%s: status %d", tt.path, r.code)
			continue
		}
		if got := r.h.Get("Content-Type"); got != tt.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if got := r.h.Get("Cache-Control"); got != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.cache)
		}
		if !strings.Contains(r.body, tt.contains) {
			t.Errorf("%s: body lacks %q", tt.path, tt.contains)
		}
	}
	// The CSV is served byte for byte (the hostile title is data, not HTML).
	if r := do(t, h, "GET", "/data/latest/csv/projects.csv", nil); r.body != csvBody {
		t.Errorf("csv body = %q", r.body)
	}
	// Folder without slash: relative redirect.
	if r := do(t, h, "GET", "/data/latest/csv", nil); r.code != http.StatusMovedPermanently || r.h.Get("Location") != "/data/latest/csv/" {
		t.Errorf("folder redirect: %d %q", r.code, r.h.Get("Location"))
	}
	for _, p := range []string{"/nope.html", "/data/latest/nope.csv", "/data/releases/19990101T000000Z/manifest.json", "/assets/"} {
		if r := do(t, h, "GET", p, nil); r.code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.code)
		}
	}
	// HEAD works and sends no body.
	if r := do(t, h, "HEAD", "/data/latest/csv/projects.csv", nil); r.code != http.StatusOK || r.body != "" || r.h.Get("Content-Length") != strconv.Itoa(len(csvBody)) {
		t.Errorf("HEAD: %d %q %v", r.code, r.body, r.h)
	}
	if r := do(t, h, "POST", "/data/latest/csv/projects.csv", nil); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST download: %d", r.code)
	}
}

func TestRangeAndConditional(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	h := newServer(t, f, nil).Handler()
	const p = "/data/latest/csv/projects.csv"

	r := do(t, h, "GET", p, map[string]string{"Range": "bytes=7-16"})
	if r.code != http.StatusPartialContent || r.body != csvBody[7:17] {
		t.Fatalf("range: %d %q", r.code, r.body)
	}
	if got, want := r.h.Get("Content-Range"), "bytes 7-16/"+strconv.Itoa(len(csvBody)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	r = do(t, h, "GET", p, map[string]string{"Range": "bytes=-5"})
	if r.code != http.StatusPartialContent || r.body != csvBody[len(csvBody)-5:] {
		t.Errorf("suffix range: %d %q", r.code, r.body)
	}
	if r := do(t, h, "GET", p, map[string]string{"Range": "bytes=100000-"}); r.code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("bad range: %d", r.code)
	}

	full := do(t, h, "GET", p, nil)
	etag := full.h.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || full.h.Get("Last-Modified") == "" || full.h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("validators missing: %v", full.h)
	}
	if r := do(t, h, "GET", p, map[string]string{"If-None-Match": etag}); r.code != http.StatusNotModified || r.body != "" {
		t.Errorf("If-None-Match: %d", r.code)
	}
	if r := do(t, h, "GET", p, map[string]string{"If-None-Match": `"other"`}); r.code != http.StatusOK {
		t.Errorf("If-None-Match other: %d", r.code)
	}
	if r := do(t, h, "GET", p, map[string]string{"If-Modified-Since": full.h.Get("Last-Modified")}); r.code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", r.code)
	}
	// If-Range with the current ETag keeps the range; a stale one sends all.
	if r := do(t, h, "GET", p, map[string]string{"Range": "bytes=0-3", "If-Range": etag}); r.code != http.StatusPartialContent {
		t.Errorf("If-Range current: %d", r.code)
	}
	if r := do(t, h, "GET", p, map[string]string{"Range": "bytes=0-3", "If-Range": `"stale"`}); r.code != http.StatusOK || r.body != csvBody {
		t.Errorf("If-Range stale: %d", r.code)
	}
}

func TestTraversal(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Symlinks that leave DIR, or are absolute, must not be followed.
	mustSymlink(t, outside, f.path("site/escape"))
	mustSymlink(t, filepath.Join(outside, "secret.txt"), f.path("site/secret.txt"))
	mustSymlink(t, "../../"+filepath.Base(outside), f.path("site/rel-escape"))
	mustSymlink(t, f.path("site/index.html"), f.path("site/abs-inside.html"))
	mustSymlink(t, "../../../../", f.path("releases/20261129T171502Z/csv/up"))
	s := newServer(t, f, nil)
	h := s.Handler()

	tests := []struct {
		target string
		want   int
	}{
		{"/data/latest/../../etc/passwd", 400},
		{"/data/latest/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/data/latest/%2E%2E/manifest.json", 400},
		{"/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/data/releases/..%2f..%2fetc%2fpasswd", 400},
		{"/data/releases/20261129T171502Z/..%5c..%5cetc", 400},
		{"/./index.html", 400},
		{"/data/latest/%00", 400},
		{"/escape/secret.txt", 404},
		{"/secret.txt", 404},
		{"/rel-escape/secret.txt", 404},
		{"/abs-inside.html", 404},
		{"/data/latest/csv/up/etc/passwd", 404},
		{"/data/latest/csv/up/", 404},
		{"/.draft.html", 404},
		{"/data/releases/.latest.tmp/manifest.json", 404},
		{"/data/latest/..manifest.json", 404},
	}
	for _, tt := range tests {
		r := do(t, h, "GET", tt.target, nil)
		if r.code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.target, r.code, tt.want)
		}
		if strings.Contains(r.body, "TOP SECRET") || strings.Contains(r.body, "root:") {
			t.Errorf("%s: leaked content", tt.target)
		}
	}

	// Over a real connection, with the raw request line untouched.
	ts := httptest.NewServer(h)
	defer ts.Close()
	for _, line := range []string{
		"GET /data/latest/../../../etc/passwd HTTP/1.1",
		"GET /data/latest/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1",
		"GET /site/../../secret.txt HTTP/1.1",
	} {
		status := rawGet(t, ts.Listener.Addr().String(), line)
		if status != 400 {
			t.Errorf("%s: status %d, want 400", line, status)
		}
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func rawGet(t *testing.T, addr, line string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, line+"\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if bytes.Contains(b, []byte("root:")) {
		t.Errorf("%s leaked /etc/passwd", line)
	}
	return resp.StatusCode
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	h := newServer(t, f, func(o *Options) { o.RateLimit = RateLimit{RPS: 1, Burst: 1} }).Handler()

	paths := []string{"/", "/assets/app.js", "/data/", "/data/latest/csv/projects.csv", "/data/releases/",
		"/healthz", "/readyz", "/metrics", "/api/jobs", "/api/jobs" /* 429 */, "/api/sql", "/nope", "/data/latest/../x", "/embed/votes.html"}
	for i, p := range paths {
		r := do(t, h, "GET", p, nil)
		if r.h.Get("X-Content-Type-Options") != "nosniff" || r.h.Get("Referrer-Policy") != "strict-origin-when-cross-origin" {
			t.Errorf("%d %s (%d): headers %v", i, p, r.code, r.h)
		}
		csp := r.h.Get("Content-Security-Policy")
		want := cspStrict
		if strings.HasPrefix(p, "/embed/") {
			want = cspEmbed
			if !strings.HasSuffix(csp, "frame-ancestors *") || r.h.Get("X-Frame-Options") != "" {
				t.Errorf("%s: embed may be framed: %q", p, csp)
			}
		}
		if csp != want {
			t.Errorf("%s (%d): CSP %q", p, r.code, csp)
		}
		if r.h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS without TLS", p)
		}
	}
	if !strings.Contains(cspStrict, "frame-ancestors 'self'") || !strings.Contains(cspStrict, "object-src 'none'") {
		t.Error("strict CSP lost a directive")
	}
}

func newScheduler(t *testing.T, jobs ...schedules.Job) *schedules.Scheduler {
	t.Helper()
	sch, err := schedules.New(context.Background(), schedules.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := sch.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sch.Stop(ctx)
	})
	return sch
}

func TestAdminTrigger(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	sch := newScheduler(t, schedules.Job{Name: "ingest", Spec: "0 3 * * *", Run: func(ctx context.Context) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	var log syncBuffer
	h := newServer(t, f, func(o *Options) {
		o.Scheduler = sch
		o.AccessLog = &log
		o.RateLimit = RateLimit{RPS: -1}
	}).Handler()

	bearer := map[string]string{"Authorization": "Bearer s3cret-token"}
	tests := []struct {
		name string
		path string
		hdr  map[string]string
		want int
	}{
		{"no token", "/api/jobs/ingest/run", nil, 401},
		{"wrong token", "/api/jobs/ingest/run", map[string]string{"Authorization": "Bearer s3cret-tokem"}, 401},
		{"prefix of token", "/api/jobs/ingest/run", map[string]string{"Authorization": "Bearer s3cret"}, 401},
		{"basic scheme", "/api/jobs/ingest/run", map[string]string{"Authorization": "Basic s3cret-token"}, 401},
		{"unknown job", "/api/jobs/nope/run", bearer, 404},
		{"accepted", "/api/jobs/ingest/run", bearer, 202},
		{"already running", "/api/jobs/ingest/run", bearer, 409},
	}
	for _, tt := range tests {
		r := do(t, h, "POST", tt.path, tt.hdr)
		if r.code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, r.code, r.body, tt.want)
		}
		if tt.want == 401 && !strings.HasPrefix(r.h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate", tt.name)
		}
		if tt.name == "accepted" {
			<-started
		}
	}
	if r := do(t, h, "GET", "/api/jobs/ingest/run", bearer); r.code != http.StatusNotFound && r.code != http.StatusMethodNotAllowed {
		t.Errorf("GET on run: %d", r.code)
	}
	close(release)

	// The history shows the manual run and the skipped second trigger.
	r := do(t, h, "GET", "/api/jobs?limit=10", nil)
	var jr jobsResponse
	if err := json.Unmarshal([]byte(r.body), &jr); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if len(jr.Jobs) != 1 || jr.Jobs[0].Name != "ingest" || jr.Jobs[0].Next == nil {
		t.Errorf("jobs = %+v", jr.Jobs)
	}
	var manual, skipped int
	for _, run := range jr.Runs {
		if run.Trigger == schedules.TriggerManual && run.Status == schedules.StatusSkipped {
			skipped++
		} else if run.Trigger == schedules.TriggerManual {
			manual++
		}
	}
	if manual != 1 || skipped != 1 {
		t.Errorf("runs = %+v", jr.Runs)
	}
	if r := do(t, h, "GET", "/api/jobs?limit=x", nil); r.code != 400 {
		t.Errorf("bad limit: %d", r.code)
	}

	// Audit trail: admin=true exactly on the authenticated requests.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var admins int
	for _, ln := range lines {
		var e accessEntry
		if err := json.Unmarshal([]byte(ln), &e); err != nil {
			t.Fatalf("access log line %q: %v", ln, err)
		}
		if e.Admin {
			admins++
			if e.Method == "POST" && e.Path != "/api/jobs/ingest/run" && e.Path != "/api/jobs/nope/run" {
				t.Errorf("admin line %+v", e)
			}
		}
		if strings.Contains(ln, "s3cret") {
			t.Errorf("token leaked in the access log: %s", ln)
		}
	}
	if admins != 4 { // unknown job, accepted, already running, GET with token
		t.Errorf("%d admin lines, want 4:\n%s", admins, log.String())
	}
}

func TestNoAdminTokenDisablesTrigger(t *testing.T) {
	f := newFixture(t)
	sch := newScheduler(t, schedules.Job{Name: "ingest", Run: func(context.Context) error { return nil }})
	h := newServer(t, f, func(o *Options) { o.AdminToken = ""; o.Scheduler = sch }).Handler()
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}} {
		if r := do(t, h, "POST", "/api/jobs/ingest/run", hdr); r.code != 401 {
			t.Errorf("%v: %d", hdr, r.code)
		}
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f, func(o *Options) { o.RateLimit = RateLimit{RPS: 0.5, Burst: 2} })
	h := s.Handler()
	get := func(path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 2; i++ {
		if rec := get("/api/jobs", "192.0.2.1:1234"); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := get("/api/jobs", "192.0.2.1:5678") // same IP, other port
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: %d", rec.Code)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
	}
	if rec := get("/api/jobs", "192.0.2.2:1234"); rec.Code != 200 {
		t.Errorf("other client: %d", rec.Code)
	}
	for i := 0; i < 5; i++ {
		if rec := get("/", "192.0.2.1:1234"); rec.Code != 200 {
			t.Errorf("site is not rate limited: %d", rec.Code)
		}
	}
	if s.limiter.rejected.Load() != 1 {
		t.Errorf("rejected = %d", s.limiter.rejected.Load())
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimit{RPS: 1, Burst: 1, MaxClients: 50})
	now := t0
	for i := 0; i < 500; i++ {
		l.allow("10.0.0."+strconv.Itoa(i), now)
		if l.size() > 50 {
			t.Fatalf("size %d after %d clients", l.size(), i+1)
		}
	}
	// The most recent client is still tracked (and limited).
	if ok, _ := l.allow("10.0.0.499", now); ok {
		t.Error("recent client forgotten")
	}
	// Idle clients (bucket refilled) are dropped first, all at once.
	later := now.Add(10 * time.Second)
	l.allow("active", later)
	if l.size() != 1 {
		t.Errorf("size after idle eviction = %d, want 1", l.size())
	}
	// Then the least recently seen go: a client seen at every step stays.
	for i := 0; i < 200; i++ {
		at := later.Add(time.Duration(i) * time.Millisecond)
		l.allow("new"+strconv.Itoa(i), at)
		l.allow("active", at)
	}
	if _, ok := l.clients["active"]; !ok || l.size() > 50 {
		t.Errorf("active client evicted (size %d)", l.size())
	}
}

func TestMetricsExposition(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	done := make(chan struct{})
	sch := newScheduler(t,
		schedules.Job{Name: "ingest", Run: func(context.Context) error { defer close(done); return nil }},
		schedules.Job{Name: "publish", Spec: "@daily", Run: func(context.Context) error { return nil }},
	)
	s := newServer(t, f, func(o *Options) { o.Scheduler = sch })
	h := s.Handler()
	s.Metrics().Add("capstat_ingest_records_total", map[string]string{"source": `pa"ris\n`, "mode": "full"}, 1200)
	s.Metrics().Add("capstat_ingest_records_total", map[string]string{"source": `pa"ris\n`, "mode": "full"}, 34)
	s.Metrics().Add("capstat_ingest_records_total", map[string]string{"source": `pa"ris\n`, "mode": "incremental"}, 5)
	s.Metrics().Add("capstat_ingest_retries_total", map[string]string{"source": "lyon", "mode": "incremental"}, 3)
	s.Metrics().Set("capstat_ingest_queue", nil, 7)
	s.Metrics().Describe("capstat_ingest_queue", "gauge", "Pages waiting.\nSecond line.")
	s.Metrics().Add("capstat_http_requests_total", nil, 1) // collides with a built-in: dropped

	if err := sch.Trigger("ingest"); err != nil {
		t.Fatal(err)
	}
	<-done
	for i := 0; i < 3; i++ {
		do(t, h, "GET", "/", nil)
	}
	do(t, h, "GET", "/nope", nil)

	var r resp
	for i := 0; ; i++ { // the job's outcome is recorded just after Run returns
		r = do(t, h, "GET", "/metrics", nil)
		if strings.Contains(r.body, `capstat_job_runs_total{job="ingest",status="succeeded"} 1`) {
			break
		}
		if i == 3000 {
			t.Fatalf("job outcome never recorded:\n%s", r.body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ct := r.h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	samples, err := parseProm(r.body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, r.body)
	}
	want := map[string]float64{
		`capstat_http_requests_total{code="200",route="/"}`:                          3,
		`capstat_http_requests_total{code="404",route="/"}`:                          1,
		`capstat_http_requests_in_flight`:                                            1, // this request
		`capstat_http_request_duration_seconds_count{route="/"}`:                     4,
		`capstat_http_request_duration_seconds_bucket{le="+Inf",route="/"}`:          4,
		`capstat_release_ready`:                                                      1,
		`capstat_release_age_seconds`:                                                5400,
		`capstat_release_stale`:                                                      1,
		`capstat_release_info{previous_release_id="",release_id="20261129T171502Z"}`: 1,
		`capstat_job_runs_total{job="ingest",status="succeeded"}`:                    1,
		`capstat_job_failures_total{job="ingest"}`:                                   0,
		`capstat_job_skips_total{job="publish"}`:                                     0,
		`capstat_job_running{job="publish"}`:                                         0,
		`capstat_job_duration_seconds_count{job="ingest"}`:                           1,
		`capstat_ingest_records_total{mode="full",source="pa\"ris\\n"}`:              1234,
		`capstat_ingest_records_total{mode="incremental",source="pa\"ris\\n"}`:       5,
		`capstat_ingest_retries_total{mode="incremental",source="lyon"}`:             3,
		`capstat_ingest_queue`:                                                       7,
		`capstat_ratelimit_rejected_total`:                                           0,
	}
	for k, v := range want {
		got, ok := samples[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if _, ok := samples["capstat_http_requests_total"]; ok {
		t.Error("a pipeline metric overwrote a built-in one")
	}
	if !strings.Contains(r.body, "# TYPE capstat_ingest_queue gauge\n") || !strings.Contains(r.body, `# HELP capstat_ingest_queue Pages waiting.\nSecond line.`) {
		t.Error("Describe not applied")
	}
}

func TestAccessLogLines(t *testing.T) {
	f := newFixture(t)
	var log syncBuffer
	h := newServer(t, f, func(o *Options) { o.AccessLog = &log }).Handler()
	req := httptest.NewRequest("GET", "/assets/app.js?v=2&x=%C3%A9", nil)
	req.Header.Set("User-Agent", "capstat-test/1.0")
	req.RemoteAddr = "198.51.100.7:4242"
	h.ServeHTTP(httptest.NewRecorder(), req)
	do(t, h, "GET", "/nope", nil)

	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), log.String())
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"remote": "198.51.100.7", "method": "GET", "path": "/assets/app.js", "query": "v=2&x=%C3%A9",
		"status": 200.0, "bytes": float64(len(`console.log("capstat");`)), "user_agent": "capstat-test/1.0", "admin": false, "route": "/"} {
		if e[k] != v {
			t.Errorf("%s = %v, want %v", k, e[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, e["time"].(string)); err != nil {
		t.Errorf("time: %v", err)
	}
	if _, ok := e["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v", e["duration_ms"])
	}
	if !strings.Contains(lines[1], `"status":404`) {
		t.Errorf("404 line: %s", lines[1])
	}
}

func TestQueriesMount(t *testing.T) {
	f := newFixture(t)
	var seen []string
	q := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	h := newServer(t, f, func(o *Options) { o.Queries = q; o.RateLimit = RateLimit{RPS: -1} }).Handler()
	for _, p := range []string{"/api/queries", "/api/queries/top-projects", "/api/sql"} {
		if r := do(t, h, "GET", p, nil); r.code != 200 || r.h.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	do(t, h, "POST", "/api/sql", nil)
	if got := strings.Join(seen, "|"); got != "GET /api/queries|GET /api/queries/top-projects|GET /api/sql|POST /api/sql" {
		t.Errorf("queries saw %s", got)
	}
	if r := do(t, h, "GET", "/api/other", nil); r.code != 404 || !strings.Contains(r.body, "error") {
		t.Errorf("/api/other: %d %s", r.code, r.body)
	}
	h2 := newServer(t, f, nil).Handler()
	if r := do(t, h2, "GET", "/api/sql", nil); r.code != 404 {
		t.Errorf("nil Queries: %d", r.code)
	}
}

func FuzzCleanRel(f *testing.F) {
	for _, s := range []string{"", "a/b.csv", "../x", "a/../../b", ".hidden", "a//b", "a/./b", "/abs", "csv/", "é/🌳.csv"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, ok := cleanRel(s)
		if !ok {
			return
		}
		if rel == "." {
			return
		}
		if strings.HasPrefix(rel, "/") {
			t.Fatalf("%q -> absolute %q", s, rel)
		}
		for _, el := range strings.Split(rel, "/") {
			if el == "" || el == "." || el == ".." || strings.HasPrefix(el, ".") {
				t.Fatalf("%q -> unsafe %q", s, rel)
			}
		}
	})
}

func FuzzManifest(f *testing.F) {
	f.Add(`{"release_id":"20261129T171502Z","created_at":"2026-11-29T17:15:02Z","files":[]}`)
	f.Add(`{"release_id":"","created_at":"x"}`)
	f.Add(`{`)
	dir := f.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer root.Close()
	c := &releaseCache{root: root}
	f.Fuzz(func(t *testing.T, manifest string) {
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		rel, err := c.load(".", "manifest.json")
		if err == nil && (rel.ID == "" || rel.Dir != ".") {
			t.Fatalf("accepted %q as %+v", manifest, rel)
		}
	})
}

func TestClientIP(t *testing.T) {
	f := newFixture(t)
	plain := newServer(t, f, nil)
	proxied := newServer(t, f, func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}
	})
	tests := []struct {
		name   string
		s      *Server
		remote string
		xff    []string
		want   string
	}{
		{"no proxies configured", plain, "127.0.0.1:999", []string{"203.0.113.9"}, "127.0.0.1"},
		{"untrusted peer", proxied, "198.51.100.1:999", []string{"203.0.113.9"}, "198.51.100.1"},
		{"one proxy", proxied, "127.0.0.1:999", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed left-most ignored", proxied, "127.0.0.1:999", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"chain of proxies", proxied, "127.0.0.1:999", []string{"203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"two headers", proxied, "127.0.0.1:999", []string{"203.0.113.9", "10.1.2.3"}, "203.0.113.9"},
		{"malformed hop", proxied, "127.0.0.1:999", []string{"203.0.113.9, bogus"}, "127.0.0.1"},
		{"no header", proxied, "127.0.0.1:999", nil, "127.0.0.1"},
		{"ipv6 client", proxied, "127.0.0.1:999", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := tt.s.clientIP(req); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestFileCache(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	big := strings.Repeat("x", 300<<10)
	f.write("site/big.txt", big)

	// A long TTL: a rewritten file keeps being served from memory...
	s := newServer(t, f, func(o *Options) { o.FileCacheTTL = time.Hour })
	h := s.Handler()
	first := do(t, h, "GET", "/assets/app.js", nil)
	f.write("site/assets/app.js", `console.log("v2, longer");`)
	if r := do(t, h, "GET", "/assets/app.js", nil); r.body != first.body || r.h.Get("ETag") != first.h.Get("ETag") {
		t.Errorf("cached file changed within the TTL: %q", r.body)
	}
	// ...ranges and validators work on cached entries...
	if r := do(t, h, "GET", "/assets/app.js", map[string]string{"Range": "bytes=0-6"}); r.code != 206 || r.body != "console" {
		t.Errorf("range on cached file: %d %q", r.code, r.body)
	}
	if r := do(t, h, "GET", "/assets/app.js", map[string]string{"If-None-Match": first.h.Get("ETag")}); r.code != 304 {
		t.Errorf("If-None-Match on cached file: %d", r.code)
	}
	// ...a folder served from the cache still redirects without its slash...
	do(t, h, "GET", "/data/latest/", nil)
	if r := do(t, h, "GET", "/", nil); r.code != 200 || !strings.Contains(r.body, "Tableau de bord") {
		t.Errorf("cached index: %d", r.code)
	}
	f.write("site/embed/index.html", "embed index")
	do(t, h, "GET", "/embed/", nil)
	if r := do(t, h, "GET", "/embed", nil); r.code != http.StatusMovedPermanently {
		t.Errorf("cached folder without slash: %d", r.code)
	}
	// ...but a release switch is seen at once (the key is the release folder).
	f.addRelease("20261129T181502Z", "20261129T171502Z", t0.Add(time.Hour))
	f.write("releases/20261129T181502Z/csv/projects.csv", "source\nnew\n")
	do(t, h, "GET", "/data/latest/csv/projects.csv", nil)
	f.publish("20261129T181502Z")
	if r := do(t, h, "GET", "/data/latest/csv/projects.csv", nil); r.body != "source\nnew\n" {
		t.Errorf("release switch hidden by the cache: %q", r.body)
	}
	// Large files are not cached.
	if r := do(t, h, "GET", "/big.txt", nil); len(r.body) != len(big) {
		t.Errorf("big file: %d bytes", len(r.body))
	}
	if _, bytes := s.files.size(); bytes >= int64(len(big)) {
		t.Errorf("big file cached (%d bytes in cache)", bytes)
	}

	// A TTL that expires at once: the change is seen after one stat.
	s2 := newServer(t, f, func(o *Options) { o.FileCacheTTL = time.Nanosecond })
	h2 := s2.Handler()
	do(t, h2, "GET", "/assets/style.css", nil)
	f.write("site/assets/style.css", "body{color:black}")
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(f.path("site/assets/style.css"), future, future); err != nil {
		t.Fatal(err)
	}
	if r := do(t, h2, "GET", "/assets/style.css", nil); r.body != "body{color:black}" {
		t.Errorf("change not seen after revalidation: %q", r.body)
	}
	// A file replaced by an escaping symlink is not served from the cache.
	do(t, h2, "GET", "/assets/app.js", nil)
	if err := os.Remove(f.path("site/assets/app.js")); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "/etc/hostname", f.path("site/assets/app.js"))
	if r := do(t, h2, "GET", "/assets/app.js", nil); r.code != 404 {
		t.Errorf("escaping symlink after caching: %d", r.code)
	}

	// Disabled cache.
	s3 := newServer(t, f, func(o *Options) { o.FileCacheTTL = -1 })
	do(t, s3.Handler(), "GET", "/", nil)
	if n, _ := s3.files.size(); n != 0 {
		t.Errorf("disabled cache holds %d entries", n)
	}
}
