package daemon

import (
	"sort"
	"sync"
	"time"
)

// SourceHealth records, per configured source, the outcome of the last
// contact with its API (a probe at start, then every ingest). /readyz
// lists it under "sources" and /metrics exposes capstat_source_up: a
// failing source does not make the daemon unready, since the last release
// is still served. It is safe for concurrent use.
type SourceHealth struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]SourceStatus
}

// SourceStatus is the last known state of one source.
type SourceStatus struct {
	Name string `json:"name"`
	// Status is "unknown" (never contacted yet), "ok" or "failing".
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// LastOK is the last successful contact (zero: none yet).
	LastOK time.Time `json:"last_ok_at,omitzero"`
}

// NewSourceHealth returns a registry of the named sources, all "unknown".
func NewSourceHealth(names ...string) *SourceHealth {
	h := &SourceHealth{now: time.Now, m: map[string]SourceStatus{}}
	for _, n := range names {
		h.m[n] = SourceStatus{Name: n, Status: "unknown"}
	}
	return h
}

// Report records the outcome of a contact with the source (err nil: ok).
func (h *SourceHealth) Report(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[name]
	st.Name, st.CheckedAt = name, h.now()
	if err != nil {
		st.Status, st.Error = "failing", err.Error()
	} else {
		st.Status, st.Error, st.LastOK = "ok", "", st.CheckedAt
	}
	h.m[name] = st
}

// List returns every source's status, sorted by name.
func (h *SourceHealth) List() []SourceStatus {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]SourceStatus, 0, len(h.m))
	for _, st := range h.m {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// write renders the source metrics.
func (h *SourceHealth) write(e *expo) {
	list := h.List()
	if len(list) == 0 {
		return
	}
	e.header("capstat_source_up", "gauge", "1 when the last contact with the source's API succeeded, 0 when it failed (absent: not contacted yet).")
	for _, st := range list {
		switch st.Status {
		case "ok":
			e.sample("capstat_source_up", map[string]string{"source": st.Name}, 1)
		case "failing":
			e.sample("capstat_source_up", map[string]string{"source": st.Name}, 0)
		}
	}
	e.header("capstat_source_last_ok_timestamp_seconds", "gauge", "Last successful contact with the source's API (Unix seconds).")
	for _, st := range list {
		if !st.LastOK.IsZero() {
			e.sample("capstat_source_last_ok_timestamp_seconds", map[string]string{"source": st.Name}, float64(st.LastOK.UnixMilli())/1000)
		}
	}
}
