package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestSourceHealth: a failing source is listed in /readyz (still 200: the
// release is served) and exposed as capstat_source_up 0 in /metrics; a
// source never contacted is "unknown" and has no capstat_source_up sample.
func TestSourceHealth(t *testing.T) {
	f := newFixture(t)
	f.addRelease("20261129T171502Z", "", t0)
	f.publish("20261129T171502Z")
	health := NewSourceHealth("landes", "gironde", "meuse")
	s := newServer(t, f, func(o *Options) { o.Sources = health })
	health.Report("landes", nil)
	health.Report("gironde", errors.New("probe gironde: connection refused"))

	r := do(t, s.Handler(), "GET", "/readyz", nil)
	if r.code != http.StatusOK {
		t.Fatalf("/readyz = %d %s", r.code, r.body)
	}
	var body struct {
		Sources []SourceStatus `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]SourceStatus{}
	for _, st := range body.Sources {
		got[st.Name] = st
	}
	if got["landes"].Status != "ok" || got["landes"].LastOK.IsZero() {
		t.Errorf("landes = %+v, want ok", got["landes"])
	}
	if got["gironde"].Status != "failing" || !strings.Contains(got["gironde"].Error, "connection refused") {
		t.Errorf("gironde = %+v, want failing with its error", got["gironde"])
	}
	if got["meuse"].Status != "unknown" {
		t.Errorf("meuse = %+v, want unknown", got["meuse"])
	}

	m := do(t, s.Handler(), "GET", "/metrics", nil).body
	for _, want := range []string{`capstat_source_up{source="landes"} 1`, `capstat_source_up{source="gironde"} 0`, `capstat_source_last_ok_timestamp_seconds{source="landes"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, `capstat_source_up{source="meuse"}`) {
		t.Error("/metrics has capstat_source_up for a source never contacted")
	}
	// A source that answers again is ok again.
	health.Report("gironde", nil)
	if m := do(t, s.Handler(), "GET", "/metrics", nil).body; !strings.Contains(m, `capstat_source_up{source="gironde"} 1`) {
		t.Error("gironde not back up after a successful contact")
	}
}
