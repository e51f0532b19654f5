package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/capstat/capstat/schedules"
)

// TestAPIErrorShape: every error of an /api/ route is
// {"error":{"code","message"}} in JSON, with a French message — including
// what the mux would answer in plain text (unknown path, wrong method).
func TestAPIErrorShape(t *testing.T) {
	f := newFixture(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	sch := newScheduler(t, schedules.Job{Name: "slow", Spec: schedules.ManualOnly, Run: func(ctx context.Context) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}})
	sch.Start()
	s := newServer(t, f, func(o *Options) { o.Scheduler = sch })
	admin := map[string]string{"Authorization": "Bearer s3cret-token"}
	if r := do(t, s.Handler(), "POST", "/api/jobs/slow/run", admin); r.code != http.StatusAccepted {
		t.Fatalf("first trigger = %d %s", r.code, r.body)
	}
	// Trigger takes the job's slot before it returns: the next is a 409.
	tests := []struct {
		method, path string
		hdr          map[string]string
		status       int
		code         string
	}{
		{"GET", "/api/nope", nil, 404, "not_found"},
		{"GET", "/api/jobs?limit=0", nil, 400, "invalid_parameter"},
		{"DELETE", "/api/jobs", nil, 405, "method_not_allowed"},
		{"GET", "/api/jobs/slow/run", nil, 405, "method_not_allowed"},
		{"POST", "/api/jobs/slow/run", nil, 401, "unauthorized"},
		{"POST", "/api/jobs/ghost/run", admin, 404, "unknown_job"},
		{"POST", "/api/jobs/slow/run", admin, 409, "job_running"},
		{"GET", "/api/queries", nil, 404, "not_found"}, // no query handler mounted
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, s.Handler(), tt.method, tt.path, tt.hdr)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil {
				t.Fatalf("%d, not JSON: %q", r.code, r.body)
			}
			if r.code != tt.status || body.Error.Code != tt.code || body.Error.Message == "" {
				t.Errorf("= %d %s, want %d with code %s", r.code, r.body, tt.status, tt.code)
			}
		})
	}
}
