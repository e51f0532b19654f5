package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"
)

const benchProposals = `query($id: ID!, $after: String) { node(id: $id) { ... on CollectStep { proposals(first: 100, after: $after, orderBy: [{field: CREATED_AT, direction: ASC}]) {
	totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id url reference title createdAt updatedAt publishedAt published draft trashed trashedStatus trashedAt
	address { formatted lat lng } category { name } theme { id title } selections { step { id } status { id name color } } votes(first: 0) { totalCount }
	responses { __typename question { __typename id title } ... on ValueResponse { value formattedValue } } } } } } } }`

const benchVotes = `query($id: ID!, $after: String) { node(id: $id) { ... on Proposal { votes(first: 100, after: $after) {
	totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt published publishedAt anonymous } } } } } }`

func benchSetup(b *testing.B) (*Server, *Step, *Proposal) {
	b.Helper()
	s, err := New(Options{Seed: 1, Scale: Medium, Instances: []string{"gironde"}})
	if err != nil {
		b.Fatal(err)
	}
	in := s.World().ByName["gironde"]
	var step *Step
	for _, st := range in.Steps {
		if st.Typename == TCollect && (step == nil || len(st.Proposals) > len(step.Proposals)) {
			step = st
		}
	}
	var prop *Proposal
	for _, p := range in.Proposals {
		if p.Visible() && (prop == nil || len(p.Votes) > len(prop.Votes)) {
			prop = p
		}
	}
	return s, step, prop
}

// benchHandler replays one page-of-100 query straight into the handler.
func benchHandler(b *testing.B, query, id string) {
	s, _, _ := benchSetup(b)
	h := s.Handler()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"id": id}})
	start := s.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/gironde/graphql", bytes.NewReader(body))
		req.Header.Set("Accept", PreviewAccept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	el := time.Since(t0).Seconds()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/el, "req/s")
	b.ReportMetric(float64(st.Objects-start.Objects)/el, "objects/s")
}

func BenchmarkHandlerProposalsPage100(b *testing.B) {
	_, step, _ := benchSetup(b)
	benchHandler(b, benchProposals, step.ID)
}

func BenchmarkHandlerVotesPage100(b *testing.B) {
	_, _, prop := benchSetup(b)
	benchHandler(b, benchVotes, prop.ID)
}

// BenchmarkHTTPVotesPage100 walks votes over loopback HTTP with parallel
// clients, the way an ingester would.
func BenchmarkHTTPVotesPage100(b *testing.B) {
	s, _, prop := benchSetup(b)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	body, _ := json.Marshal(map[string]any{"query": benchVotes, "variables": map[string]any{"id": prop.ID}})
	start := s.Stats()
	b.ResetTimer()
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/gironde/graphql", bytes.NewReader(body))
			req.Header.Set("Accept", PreviewAccept)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
	el := time.Since(t0).Seconds()
	st := s.Stats()
	b.ReportMetric(float64(st.Requests-start.Requests)/el, "req/s")
	b.ReportMetric(float64(st.Objects-start.Objects)/el, "objects/s")
}

func BenchmarkGenerate(b *testing.B) {
	for _, sc := range []Scale{Tiny, Small, Medium} {
		b.Run(sc.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := Generate(1, sc)
				b.ReportMetric(float64(w.Records()), "records")
			}
		})
	}
}

// TestGenerateLarge checks the large world's size and memory; it takes
// several seconds, so it only runs with SANDBOX_LARGE=1.
func TestGenerateLarge(t *testing.T) {
	if os.Getenv("SANDBOX_LARGE") == "" {
		t.Skip("set SANDBOX_LARGE=1 to generate the large world")
	}
	t0 := time.Now()
	w := Generate(1, Large)
	el := time.Since(t0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("large: %d records in %v, heap %d MB", w.Records(), el, ms.HeapAlloc>>20)
	if n := w.Records(); n < 2_500_000 || n > 4_000_000 {
		t.Errorf("large world has %d records, want ≈ 3 million", n)
	}
	if ms.HeapAlloc > 2<<30 {
		t.Errorf("heap %d MB > 2 GB", ms.HeapAlloc>>20)
	}
}
