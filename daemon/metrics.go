package daemon

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capstat/capstat/schedules"
)

// Metrics is a small registry of counters and gauges exposed at /metrics in
// the Prometheus text format, for values the pipeline reports (records
// fetched, retries, rows written...). It is safe for concurrent use.
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; other characters are replaced
// by '_'. A name's type is fixed by its first use (Add: counter, Set: gauge)
// unless Describe set it.
type Metrics struct {
	mu       sync.Mutex
	families map[string]*family
	ages     map[string]age // derived at scrape time, by name
}

// age is a gauge computed at each scrape from a gauge of Unix timestamps.
type age struct{ from, help string }

type family struct {
	name, typ, help string
	series          map[string]float64 // rendered labels -> value
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{families: map[string]*family{}, ages: map[string]age{}}
}

// Age declares the gauge name, computed at each scrape: for every series
// of the gauge from (Unix seconds), the seconds elapsed since then, with
// the same labels. A series of from set to 0 has no age.
func (m *Metrics) Age(name, from, help string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ages[sanitizeName(name)] = age{from: sanitizeName(from), help: help}
}

// Describe sets the type ("counter" or "gauge") and help text of a metric.
func (m *Metrics) Describe(name, typ, help string) {
	if typ != "counter" && typ != "gauge" {
		typ = "untyped"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.family(name, typ)
	f.typ, f.help = typ, help
}

// Add adds v to the counter name{labels}. Negative values are ignored for
// counters.
func (m *Metrics) Add(name string, labels map[string]string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.family(name, "counter")
	if f.typ == "counter" && v < 0 {
		return
	}
	f.series[renderLabels(labels)] += v
}

// Set sets the gauge name{labels} to v.
func (m *Metrics) Set(name string, labels map[string]string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.family(name, "gauge").series[renderLabels(labels)] = v
}

// Get returns the current value of name{labels} (0 if unset).
func (m *Metrics) Get(name string, labels map[string]string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[sanitizeName(name)]
	if f == nil {
		return 0
	}
	return f.series[renderLabels(labels)]
}

func (m *Metrics) family(name, typ string) *family {
	name = sanitizeName(name)
	f := m.families[name]
	if f == nil {
		f = &family{name: name, typ: typ, series: map[string]float64{}}
		m.families[name] = f
	}
	return f
}

// write renders the registry, families sorted by name; ages are computed
// at now.
func (m *Metrics) write(e *expo, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.families)+len(m.ages))
	for n := range m.families {
		names = append(names, n)
	}
	for n := range m.ages {
		if m.families[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if a, ok := m.ages[n]; ok {
			m.writeAge(e, n, a, now)
			continue
		}
		f := m.families[n]
		if e.written[f.name] {
			continue // a built-in metric has this name
		}
		help := f.help
		if help == "" {
			help = "Reported by the capstat pipeline."
		}
		e.header(f.name, f.typ, help)
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.sampleRaw(f.name, k, f.series[k])
		}
	}
}

// writeAge renders the age gauge name derived from a.from.
func (m *Metrics) writeAge(e *expo, name string, a age, now time.Time) {
	f := m.families[a.from]
	if e.written[name] || f == nil || len(f.series) == 0 {
		return
	}
	e.header(name, "gauge", a.help)
	keys := make([]string, 0, len(f.series))
	for k, v := range f.series {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	nowSec := float64(now.UnixMilli()) / 1000
	for _, k := range keys {
		e.sampleRaw(name, k, nowSec-f.series[k])
	}
}

func sanitizeName(name string) string {
	if name == "" {
		return "_"
	}
	b := []byte(name)
	for i, c := range b {
		ok := c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

func sanitizeLabelName(name string) string {
	s := sanitizeName(name)
	return strings.ReplaceAll(s, ":", "_")
}

// renderLabels renders {a="x",b="y"} with sorted names and escaped values.
func renderLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(sanitizeLabelName(k))
		sb.WriteString(`="`)
		sb.WriteString(escapeLabelValue(labels[k]))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabelValue(v string) string { return labelEscaper.Replace(v) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// expo writes the Prometheus text exposition format (version 0.0.4).
type expo struct {
	w       *bufio.Writer
	written map[string]bool // family names already rendered
}

func (e *expo) header(name, typ, help string) {
	if e.written == nil {
		e.written = map[string]bool{}
	}
	e.written[name] = true
	fmt.Fprintf(e.w, "# HELP %s %s\n# TYPE %s %s\n", name, helpEscaper.Replace(help), name, typ)
}

func (e *expo) sample(name string, labels map[string]string, v float64) {
	e.sampleRaw(name, renderLabels(labels), v)
}

func (e *expo) sampleRaw(name, labels string, v float64) {
	e.w.WriteString(name)
	e.w.WriteString(labels)
	e.w.WriteByte(' ')
	e.w.WriteString(formatFloat(v))
	e.w.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// httpMetrics counts requests by route and status, in-flight requests and
// latency (histogram by route).
type httpMetrics struct {
	inFlight atomic.Int64
	mu       sync.Mutex
	requests map[routeCode]uint64
	latency  map[string]*histogram
}

type routeCode struct {
	route string
	code  int
}

var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket (not cumulative), plus +Inf at the end
	sum    float64
	count  uint64
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{requests: map[routeCode]uint64{}, latency: map[string]*histogram{}}
}

func (h *httpMetrics) observe(route string, code int, d time.Duration) {
	sec := d.Seconds()
	h.mu.Lock()
	h.requests[routeCode{route, code}]++
	hist := h.latency[route]
	if hist == nil {
		hist = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		h.latency[route] = hist
	}
	i := sort.SearchFloat64s(latencyBuckets, sec) // first bucket >= sec
	hist.counts[i]++
	hist.sum += sec
	hist.count++
	h.mu.Unlock()
}

func (h *httpMetrics) write(e *expo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.header("capstat_http_requests_total", "counter", "HTTP requests by route pattern and status code.")
	keys := make([]routeCode, 0, len(h.requests))
	for k := range h.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		e.sample("capstat_http_requests_total", map[string]string{"route": k.route, "code": strconv.Itoa(k.code)}, float64(h.requests[k]))
	}
	e.header("capstat_http_requests_in_flight", "gauge", "HTTP requests being served.")
	e.sample("capstat_http_requests_in_flight", nil, float64(h.inFlight.Load()))

	e.header("capstat_http_request_duration_seconds", "histogram", "HTTP request latency by route pattern.")
	routes := make([]string, 0, len(h.latency))
	for r := range h.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		hist := h.latency[r]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += hist.counts[i]
			e.sample("capstat_http_request_duration_seconds_bucket", map[string]string{"route": r, "le": formatFloat(le)}, float64(cum))
		}
		cum += hist.counts[len(latencyBuckets)]
		e.sample("capstat_http_request_duration_seconds_bucket", map[string]string{"route": r, "le": "+Inf"}, float64(cum))
		e.sample("capstat_http_request_duration_seconds_sum", map[string]string{"route": r}, hist.sum)
		e.sample("capstat_http_request_duration_seconds_count", map[string]string{"route": r}, float64(hist.count))
	}
}

// writeMetrics renders every metric the server knows.
func (s *Server) writeMetrics(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := &expo{w: bw}
	s.httpm.write(e)

	e.header("capstat_ratelimit_rejected_total", "counter", "API requests refused by the per-client rate limit.")
	e.sample("capstat_ratelimit_rejected_total", nil, float64(s.limiter.rejected.Load()))
	e.header("capstat_ratelimit_clients", "gauge", "Clients tracked by the rate limiter.")
	e.sample("capstat_ratelimit_clients", nil, float64(s.limiter.size()))

	n, bytes := s.files.size()
	e.header("capstat_file_cache_entries", "gauge", "Small published files kept in memory.")
	e.sample("capstat_file_cache_entries", nil, float64(n))
	e.header("capstat_file_cache_bytes", "gauge", "Bytes of published files kept in memory.")
	e.sample("capstat_file_cache_bytes", nil, float64(bytes))

	rel, err := s.releases.current()
	e.header("capstat_release_ready", "gauge", "1 when a complete release is published under latest.")
	if err != nil {
		e.sample("capstat_release_ready", nil, 0)
	} else {
		e.sample("capstat_release_ready", nil, 1)
		age := s.now().Sub(rel.CreatedAt).Seconds()
		e.header("capstat_release_age_seconds", "gauge", "Age of the current release (now - created_at).")
		e.sample("capstat_release_age_seconds", nil, age)
		e.header("capstat_release_created_timestamp_seconds", "gauge", "Creation time of the current release (Unix seconds).")
		e.sample("capstat_release_created_timestamp_seconds", nil, float64(rel.CreatedAt.UnixMilli())/1000)
		e.header("capstat_release_info", "gauge", "The current release id (value always 1).")
		e.sample("capstat_release_info", map[string]string{"release_id": rel.ID, "previous_release_id": rel.PreviousID}, 1)
		if s.opts.StaleAfter > 0 {
			stale := 0.0
			if age > s.opts.StaleAfter.Seconds() {
				stale = 1
			}
			e.header("capstat_release_stale", "gauge", "1 when the current release is older than the staleness bound.")
			e.sample("capstat_release_stale", nil, stale)
		}
	}

	if sch := s.opts.Scheduler; sch != nil {
		stats := sch.Stats()
		e.header("capstat_job_runs_total", "counter", "Finished job runs by outcome (succeeded, failed, interrupted, skipped).")
		for _, js := range stats {
			statuses := make([]string, 0, len(js.Runs))
			for st := range js.Runs {
				statuses = append(statuses, st)
			}
			sort.Strings(statuses)
			for _, st := range statuses {
				e.sample("capstat_job_runs_total", map[string]string{"job": js.Name, "status": st}, float64(js.Runs[st]))
			}
		}
		type col struct {
			name, typ, help string
			v               func(schedules.JobStats) float64
		}
		cols := []col{
			{"capstat_job_failures_total", "counter", "Failed job runs (errors and panics).", func(j schedules.JobStats) float64 { return float64(j.Failures) }},
			{"capstat_job_panics_total", "counter", "Job runs that panicked (recovered).", func(j schedules.JobStats) float64 { return float64(j.Panics) }},
			{"capstat_job_skips_total", "counter", "Job runs skipped because the job was still running or the pipeline lock stayed busy.", func(j schedules.JobStats) float64 { return float64(j.Skips) }},
			{"capstat_job_running", "gauge", "1 while the job runs or waits for the pipeline lock.", func(j schedules.JobStats) float64 { return b2f(j.Running) }},
			{"capstat_job_lock_wait_seconds_total", "counter", "Time spent waiting for the pipeline lock.", func(j schedules.JobStats) float64 { return j.LockWaitSum }},
			{"capstat_job_last_duration_seconds", "gauge", "Duration of the last finished run.", func(j schedules.JobStats) float64 { return j.LastRunDuration }},
		}
		for _, c := range cols {
			e.header(c.name, c.typ, c.help)
			for _, js := range stats {
				e.sample(c.name, map[string]string{"job": js.Name}, c.v(js))
			}
		}
		e.header("capstat_job_duration_seconds", "summary", "Job run durations (runs that started).")
		for _, js := range stats {
			e.sample("capstat_job_duration_seconds_sum", map[string]string{"job": js.Name}, js.DurationSum)
			e.sample("capstat_job_duration_seconds_count", map[string]string{"job": js.Name}, float64(js.DurationCount))
		}
		e.header("capstat_job_last_success_timestamp_seconds", "gauge", "End of the last successful run (Unix seconds), for jobs that have succeeded.")
		for _, js := range stats {
			if !js.LastSuccess.IsZero() {
				e.sample("capstat_job_last_success_timestamp_seconds", map[string]string{"job": js.Name}, float64(js.LastSuccess.UnixMilli())/1000)
			}
		}
	}
	if s.opts.Sources != nil {
		s.opts.Sources.write(e)
	}
	s.metrics.write(e, s.now())
	return bw.Flush()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
