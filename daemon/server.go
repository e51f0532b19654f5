// Package daemon is 'capstat serve': one process that keeps the published
// data fresh and serves it. Run wires the scheduler (schedules), the stage
// pipeline (pipeline) and the query engine (queries) to the HTTP server of
// this package: the dashboards site, the release downloads, health and
// readiness probes, Prometheus metrics, the job API and the mount point of
// the query API. It sits above the stages and orchestrators; nothing but
// cmd/capstat imports it.
//
// The server only reads the published tree (DIR/site, DIR/latest,
// DIR/releases), through an os.Root so that no path or symlink can leave DIR.
// latest is resolved on every request (one readlink), and the parsed manifest
// is cached by symlink target, so a release switch (atomic rename of the
// symlink) is seen on the next request. Small files are kept in memory, keyed
// by their path under the resolved release folder, and revalidated with a
// stat after Options.FileCacheTTL (1 s): a site file rewritten in place is
// seen within that time.
//
// Every response carries a strict Content-Security-Policy (pages under
// /embed/ may be framed by any site), nosniff and a referrer policy, plus HSTS
// with TLS. /api/ is rate limited per client IP (token bucket, 429 with
// Retry-After). Each request can be logged as one JSON line (the audit trail:
// admin=true on requests carrying the admin token).
//
// Routes:
//
//	GET  /                      DIR/site (index.html for folders; /embed/ pages may be framed)
//	GET  /catalog.jsonld, .rdf  the DCAT-AP catalogue of the current release
//	GET  /data/latest/...       the current release (Cache-Control: no-cache)
//	GET  /data/releases/<id>/... any release (immutable); folders are listed
//	GET  /healthz               200 while the process is up
//	GET  /readyz                200 when DIR/latest holds a valid manifest, else 503
//	GET  /metrics               Prometheus text format
//	GET  /api/jobs              jobs and run history (JSON; ?limit=N)
//	POST /api/jobs/{name}/run   manual run (Authorization: Bearer <admin token>)
//	     /api/queries, /api/sql Options.Queries (full paths are passed on)
package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/capstat/capstat/internal/apierror"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/schedules"
)

// Options configures a Server.
type Options struct {
	// Addr is the listen address (default "127.0.0.1:8080").
	Addr string
	// OutDir is the published tree: DIR/latest, DIR/releases, DIR/site.
	// It is created if missing.
	OutDir string
	// Queries is mounted at /api/queries and /api/sql (nil: 404).
	Queries http.Handler
	// Scheduler backs /api/jobs and the job metrics (nil: no jobs). On
	// shutdown ListenAndServe also stops it.
	Scheduler Scheduler
	// Sources, when set, is listed in /readyz and exposed in /metrics.
	Sources *SourceHealth
	// AdminToken enables POST /api/jobs/{name}/run (empty: always 401).
	AdminToken string
	// TLSCert and TLSKey are PEM files; both set turns TLS (with HTTP/2 and
	// HSTS) on.
	TLSCert, TLSKey string
	// RateLimit applies to /api/ per client IP.
	RateLimit RateLimit
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// gives the client IP (for the rate limit and the access log). Empty:
	// the peer address is the client.
	TrustedProxies []netip.Prefix
	// Metrics receives the pipeline's counters and gauges (nil: a new one,
	// see Server.Metrics).
	Metrics *Metrics
	Logger  *slog.Logger
	// AccessLog receives one JSON line per request (nil: none).
	AccessLog io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StaleAfter marks the release stale in /readyz and /metrics when it is
	// older (0: never). A stale release is still served and still ready.
	StaleAfter time.Duration
	// FileCacheTTL is how long a small file (<= 256 KiB, 64 MiB in all) is
	// served from memory before one stat revalidates it (0: 1s; negative:
	// no cache).
	FileCacheTTL time.Duration
	// ShutdownTimeout bounds the graceful shutdown (default 15s).
	ShutdownTimeout time.Duration
}

// Scheduler is what the server needs of the job scheduler (a
// *schedules.Scheduler).
type Scheduler interface {
	Jobs() []schedules.JobInfo
	History(ctx context.Context, limit int) ([]schedules.Run, error)
	Stats() []schedules.JobStats
	Trigger(name string) error
	Stop(ctx context.Context) error
}

// Server serves one published tree.
type Server struct {
	opts     Options
	root     *os.Root
	releases *releaseCache
	files    *fileCache
	metrics  *Metrics
	httpm    *httpMetrics
	limiter  *limiter
	log      *slog.Logger
	access   *accessLogger
	tls      *tls.Config
	tokenSum [32]byte
	handler  http.Handler
}

// New checks the options, opens DIR and builds the handler.
func New(opts Options) (*Server, error) {
	if opts.OutDir == "" {
		return nil, errors.New("server: OutDir is required")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: out dir: %w", err)
	}
	abs, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return nil, fmt.Errorf("server: out dir: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("server: open out dir: %w", err)
	}
	s := &Server{
		opts:     opts,
		root:     root,
		releases: &releaseCache{root: root},
		files:    newFileCache(opts.FileCacheTTL),
		metrics:  opts.Metrics,
		httpm:    newHTTPMetrics(),
		limiter:  newLimiter(opts.RateLimit),
		log:      opts.Logger.With("component", "server"),
		tokenSum: sha256.Sum256([]byte(opts.AdminToken)),
	}
	if opts.AccessLog != nil {
		s.access = &accessLogger{w: opts.AccessLog}
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, errors.New("server: TLSCert and TLSKey go together")
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("server: load TLS certificate: %w", err)
		}
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	s.handler = s.middleware(s.routes())
	return s, nil
}

// Handler returns the complete handler (middleware included).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the registry served at /metrics, for the pipeline's own
// counters (s.Metrics().Add("capstat_ingest_records_total", map[string]string{"source": "x"}, n)).
func (s *Server) Metrics() *Metrics { return s.metrics }

// Close releases the DIR handle.
func (s *Server) Close() error { return s.root.Close() }

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /api/jobs", s.handleJobs)
	mux.HandleFunc("POST /api/jobs/{name}/run", s.handleRunJob)
	// Other methods and paths under /api/ answer in the API's error shape,
	// not with the mux's plain text.
	mux.HandleFunc("/api/jobs", methodNotAllowed("GET"))
	mux.HandleFunc("/api/jobs/{name}/run", methodNotAllowed("POST"))
	mux.HandleFunc("/api/", s.notFound)
	queries := s.opts.Queries
	if queries == nil {
		queries = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierror.Write(w, apierror.New(http.StatusNotFound, "not_found", "l’API de requêtes n’est pas activée"))
		})
	}
	for _, p := range []string{"/api/queries", "/api/queries/", "/api/sql", "/api/sql/"} {
		mux.Handle(p, queries)
	}
	mux.HandleFunc("GET /catalog.jsonld", s.handleCatalogue)
	mux.HandleFunc("GET /catalog.rdf", s.handleCatalogue)
	mux.HandleFunc("GET /data/{$}", s.handleDataIndex)
	mux.HandleFunc("GET /data/latest/{rest...}", s.handleLatest)
	mux.HandleFunc("GET /data/releases/{rest...}", s.handleReleases)
	mux.HandleFunc("/", s.handleSite) // methodless: "GET /{rest...}" would conflict with the /api/ mounts
	return mux
}

// methodNotAllowed answers 405 in the API's error shape.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		apierror.Write(w, apierror.New(http.StatusMethodNotAllowed, "method_not_allowed", "méthode %s non autorisée ici (attendu : %s)", r.Method, allow))
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sources := s.opts.Sources.List()
	rel, err := s.releases.current()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error(), "sources": sources})
		return
	}
	age := s.now().Sub(rel.CreatedAt)
	writeJSON(w, http.StatusOK, map[string]any{
		"status":              "ready",
		"release_id":          rel.ID,
		"created_at":          rel.CreatedAt,
		"previous_release_id": rel.PreviousID,
		"age_seconds":         int64(age.Seconds()),
		"stale":               s.opts.StaleAfter > 0 && age > s.opts.StaleAfter,
		"sources":             sources,
	})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.writeMetrics(w); err != nil {
		s.log.Warn("write metrics", "error", err)
	}
}

// handleCatalogue serves the DCAT catalogue of the current release
// (DIR/catalog.jsonld, DIR/catalog.rdf), which harvesters such as
// data.gouv.fr read from a stable URL.
func (s *Server) handleCatalogue(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.serveFile(w, r, ".", strings.TrimPrefix(r.URL.Path, "/"), cacheRevalidate, dirIndexOnly)
}

func (s *Server) handleDataIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", cacheRevalidate)
	_ = listTemplate.Execute(w, map[string]any{"Path": "/data/", "Entries": []listEntry{
		{Name: "latest/", Href: "latest/"}, {Name: "releases/", Href: "releases/"},
	}})
}

func (s *Server) handleLatest(w http.ResponseWriter, r *http.Request) {
	rel, err := s.releases.current()
	if err != nil {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("X-Capstat-Release", rel.ID)
	s.serveFile(w, r, rel.Dir, r.PathValue("rest"), cacheRevalidate, dirList)
}

func (s *Server) handleReleases(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if rest == "" {
		s.serveFile(w, r, release.ReleasesDir, "", cacheRevalidate, dirList)
		return
	}
	id, _, _ := strings.Cut(rest, "/")
	if !release.ValidID(id) {
		s.notFound(w, r)
		return
	}
	s.serveFile(w, r, release.ReleasesDir, rest, cacheImmutable, dirList)
}

func (s *Server) handleSite(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 — méthode non autorisée", http.StatusMethodNotAllowed)
		return
	}
	s.serveFile(w, r, "site", strings.TrimPrefix(r.URL.Path, "/"), cacheRevalidate, dirIndexOnly)
}

// jobsResponse is the JSON of GET /api/jobs.
type jobsResponse struct {
	Jobs []schedules.JobInfo `json:"jobs"`
	Runs []schedules.Run     `json:"runs"`
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	resp := jobsResponse{Jobs: []schedules.JobInfo{}, Runs: []schedules.Run{}}
	if sch := s.opts.Scheduler; sch != nil {
		limit := 50
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				apierror.Write(w, apierror.New(http.StatusBadRequest, "invalid_parameter", "limit doit être un entier positif, reçu %q", v))
				return
			}
			limit = min(n, 1000)
		}
		runs, err := sch.History(r.Context(), limit)
		if err != nil {
			s.log.Error("job history", "error", err)
			apierror.Write(w, apierror.New(http.StatusInternalServerError, "internal", "historique des tâches indisponible"))
			return
		}
		if !isAdmin(r) {
			// Public view: the first line of errors (no stack traces).
			for i := range runs {
				runs[i].Error = publicError(runs[i].Error)
			}
		}
		resp.Jobs = sch.Jobs()
		if runs != nil {
			resp.Runs = runs
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func publicError(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

func (s *Server) handleRunJob(w http.ResponseWriter, r *http.Request) {
	if !isAdmin(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="capstat"`)
		apierror.Write(w, apierror.New(http.StatusUnauthorized, "unauthorized", "jeton d’administration requis (en-tête Authorization: Bearer)"))
		return
	}
	name := r.PathValue("name")
	sch := s.opts.Scheduler
	if sch == nil {
		apierror.Write(w, apierror.New(http.StatusNotFound, "unknown_job", "tâche inconnue : %s", name))
		return
	}
	err := sch.Trigger(name)
	switch {
	case err == nil:
		s.log.Info("job triggered", "job", name, "remote", infoOf(r).remote)
		writeJSON(w, http.StatusAccepted, map[string]string{"job": name, "status": "accepted"})
	case errors.Is(err, schedules.ErrUnknownJob):
		apierror.Write(w, apierror.New(http.StatusNotFound, "unknown_job", "tâche inconnue : %s", name))
	case errors.Is(err, schedules.ErrRunning):
		apierror.Write(w, apierror.New(http.StatusConflict, "job_running", "la tâche %s est déjà en cours", name))
	case errors.Is(err, schedules.ErrStopped):
		apierror.Write(w, apierror.New(http.StatusServiceUnavailable, "stopping", "le service s’arrête"))
	default:
		apierror.Write(w, apierror.New(http.StatusInternalServerError, "internal", "la tâche %s n’a pas pu être lancée", name).WithDetail(err.Error()))
	}
}

// authenticate reports whether the request carries the admin token. Both
// sides are hashed first so the comparison is constant-time in the length
// too.
func (s *Server) authenticate(r *http.Request) bool {
	if s.opts.AdminToken == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.opts.TrustedProxies) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // malformed: do not trust anything further left
		}
		ip = ip.Unmap()
		if !s.trusted(ip) {
			return ip.String()
		}
	}
	return host
}

func (s *Server) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ListenAndServe listens on Options.Addr and serves until ctx is cancelled,
// then shuts down gracefully: it stops accepting, lets in-flight requests
// finish and stops the scheduler (cancelling its running job), all within
// ShutdownTimeout.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			srv.TLSConfig = s.tls.Clone()
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.tls != nil, "dir", s.opts.OutDir)
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "bound", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr, schedErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if httpErr = srv.Shutdown(sctx); httpErr != nil {
			_ = srv.Close()
		}
	}()
	if s.opts.Scheduler != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			schedErr = s.opts.Scheduler.Stop(sctx)
		}()
	}
	wg.Wait()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: serve: %w", err)
	}
	if err := errors.Join(httpErr, schedErr); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
