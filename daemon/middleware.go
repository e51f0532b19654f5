package daemon

import (
	"github.com/capstat/capstat/internal/apierror"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	cspStrict = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
	cspEmbed  = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors *"
)

// reqInfo travels in the request context so that inner layers can report
// to the outer one (matched route, admin authentication).
type reqInfo struct {
	route  string
	admin  bool
	remote string // client IP (see Options.TrustedProxies)
}

type ctxKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func isAdmin(r *http.Request) bool { return infoOf(r).admin }

// middleware wraps the mux, outermost first: instrumentation (metrics,
// access log, panic recovery), security headers, path checks,
// authentication, rate limiting.
func (s *Server) middleware(mux http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		infoOf(r).route = r.Pattern // set by ServeMux on this request
	})
	h := s.rateLimit(inner)
	h = s.auth(h)
	h = checkPath(h)
	h = s.securityHeaders(h)
	return s.instrument(h)
}

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.httpm.inFlight.Add(1)
		ri := &reqInfo{remote: s.clientIP(r)}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		defer func() {
			p := recover()
			if p != nil {
				if p == http.ErrAbortHandler {
					s.httpm.inFlight.Add(-1)
					panic(p)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					if strings.HasPrefix(r.URL.Path, "/api/") {
						apierror.Write(rec, apierror.New(http.StatusInternalServerError, "internal", "erreur interne"))
					} else {
						http.Error(rec, "500 — erreur interne", http.StatusInternalServerError)
					}
				}
			}
			d := time.Since(start)
			s.httpm.inFlight.Add(-1)
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			s.httpm.observe(route, status, d)
			if s.access != nil {
				s.access.log(accessEntry{
					Time:       start.UTC().Format(time.RFC3339Nano),
					Remote:     ri.remote,
					Method:     r.Method,
					Path:       r.URL.Path,
					Query:      r.URL.RawQuery,
					Status:     status,
					Bytes:      rec.bytes,
					DurationMS: math.Round(d.Seconds()*1e6) / 1e3,
					UserAgent:  r.UserAgent(),
					Admin:      ri.admin,
					Route:      route,
					Proto:      r.Proto,
				})
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/embed/") {
			h.Set("Content-Security-Policy", cspEmbed)
		} else {
			h.Set("Content-Security-Policy", cspStrict)
			h.Set("X-Frame-Options", "SAMEORIGIN")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if s.tls != nil || r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// checkPath refuses traversal before the mux can clean and redirect it:
// "." or ".." segments (also when sent percent-encoded), backslashes and
// NUL bytes give 400.
func checkPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		bad := !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00")
		if !bad {
			for _, seg := range strings.Split(p, "/") {
				if seg == "." || seg == ".." {
					bad = true
					break
				}
			}
		}
		if bad {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "400 — chemin invalide\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" && s.authenticate(r) {
			infoOf(r).admin = true
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimit applies the per-IP token bucket to /api/ (admins included: the
// token does not bypass it).
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			if ok, wait := s.limiter.allow(infoOf(r).remote, time.Now()); !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
				apierror.Write(w, apierror.New(http.StatusTooManyRequests, "rate_limited", "trop de requêtes : réessayez dans %d s", max(1, secs)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recorder captures the status and byte count, keeping sendfile (ReadFrom)
// and flushing available.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		if code >= 200 {
			r.wrote = true
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(r.ResponseWriter, src)
	}
	r.bytes += n
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessEntry is one line of the access log (the audit trail).
type accessEntry struct {
	Time       string  `json:"time"`
	Remote     string  `json:"remote"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Query      string  `json:"query"`
	Status     int     `json:"status"`
	Bytes      int64   `json:"bytes"`
	DurationMS float64 `json:"duration_ms"`
	UserAgent  string  `json:"user_agent"`
	Admin      bool    `json:"admin"`
	Route      string  `json:"route"`
	Proto      string  `json:"proto"`
}

// accessLogger writes JSON lines; each line is one Write call.
type accessLogger struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

func (a *accessLogger) log(e accessEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Reset()
	if err := json.NewEncoder(&a.buf).Encode(e); err != nil {
		return
	}
	_, _ = a.w.Write(a.buf.Bytes())
}
