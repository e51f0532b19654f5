package queries

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Large fixture for benchmarks: 20 sources, 200 projects, 60,000 proposals
// and 3,000,000 votes, generated inside DuckDB.
const (
	benchProjects  = 200
	benchProposals = 60000
	benchVotes     = 3000000
)

var largeOnce struct {
	sync.Once
	path string
	err  error
}

func largeSnapshot(b *testing.B) string {
	b.Helper()
	largeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "capstat-queries-bench-")
		if err != nil {
			largeOnce.err = err
			return
		}
		largeOnce.path = filepath.Join(dir, "capstat.duckdb")
		start := time.Now()
		writeSnapshot(b, largeOnce.path, fixture{},
			fmt.Sprintf(`INSERT INTO data.projects (source, project_id, collectivity_code, title, published_at, edition)
				SELECT 's' || lpad((i %% 20)::VARCHAR, 2, '0'), 'p' || i, lpad((i %% 95 + 1)::VARCHAR, 2, '0'), 'Projet ' || i,
				       TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_days(i::INTEGER), (2022 + i %% 3)::VARCHAR
				FROM range(%d) t(i)`, benchProjects),
			`INSERT INTO data.steps (source, step_id, project_id, step_type, phase, title, state, start_at, end_at, position)
				SELECT source, project_id || '-vote', project_id, 'SelectionStep', 'vote', 'Vote', 'CLOSED',
				       TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_days((hash(project_id) % 30)::INTEGER),
				       TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_days((hash(project_id) % 30)::INTEGER + 30), 1
				FROM data.projects`,
			fmt.Sprintf(`INSERT INTO data.proposals (source, proposal_id, project_id, reference, title, created_at, trashed, category, votes_count, winner)
				SELECT 's' || lpad(((i // %[2]d) %% 20)::VARCHAR, 2, '0'), 'prop' || i, 'p' || (i // %[2]d), i::VARCHAR, 'Proposition ' || i,
				       TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((hash(i) %% 5000000)::BIGINT), hash(i) %% 20 = 0,
				       ['Mobilité', 'Culture', 'Sport', 'Environnement'][(i %% 4)::INTEGER + 1], 0, hash(i) %% 7 = 0
				FROM range(%[1]d) t(i)`, benchProposals, benchProposals/benchProjects),
			fmt.Sprintf(`INSERT INTO data.proposal_votes (source, vote_id, proposal_id, project_id, created_at, anonymous)
				SELECT p.source, v.i::VARCHAR, p.proposal_id, p.project_id,
				       s.start_at + to_seconds((hash(v.i) %% 2592000)::BIGINT), v.i %% 5 = 0
				FROM (SELECT i, (i * 7919) %% %d AS k FROM range(%d) t(i)) v
				JOIN data.proposals p ON p.proposal_id = 'prop' || v.k
				JOIN data.steps s ON s.source = p.source AND s.project_id = p.project_id`, benchProposals, benchVotes),
			`UPDATE data.proposals SET votes_count = c.n FROM (SELECT proposal_id, count(*) AS n FROM data.proposal_votes GROUP BY proposal_id) c
				WHERE c.proposal_id = data.proposals.proposal_id`,
		)
		b.Logf("large fixture (%d votes) written in %s", benchVotes, time.Since(start).Round(time.Millisecond))
	})
	if largeOnce.err != nil {
		b.Fatal(largeOnce.err)
	}
	return largeOnce.path
}

type benchQuery struct {
	name   string
	params map[string]string
}

var benchQueries = []benchQuery{
	{"votes_by_hour", map[string]string{"project": "p42", "source": "s02"}},
	{"top_proposals", map[string]string{"limit": "10"}},
	{"data_freshness", nil},
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d)-1) * p)
	return d[i]
}

func openBench(b *testing.B, opts ...Option) *Engine {
	b.Helper()
	e, err := Open(context.Background(), largeSnapshot(b), Limits{MaxConcurrent: 8, Timeout: time.Minute}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	var sb strings.Builder
	if err := e.SQL(context.Background(), "SELECT count(*) AS n FROM proposal_votes", &sb, FormatCSV); err != nil {
		b.Fatal(err)
	}
	if got := strings.TrimSpace(strings.TrimPrefix(sb.String(), "n\n")); got != fmt.Sprint(benchVotes) {
		b.Fatalf("large fixture has %s votes, want %d", got, benchVotes)
	}
	return e
}

// BenchmarkLoadTables measures opening the 3M-vote fixture with
// LoadTables (copying its views into a private DuckDB file).
func BenchmarkLoadTables(b *testing.B) {
	path := largeSnapshot(b)
	for b.Loop() {
		e, err := Open(context.Background(), path, Limits{}, LoadTables(""))
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// BenchmarkCannedQueries measures the latency of three canned queries on
// the 3M-vote fixture (JSON answers), reporting p50 and p99, on the
// release's views and on loaded tables.
func BenchmarkCannedQueries(b *testing.B) {
	for _, m := range engineModes {
		b.Run(m.name, func(b *testing.B) { benchCannedQueries(b, openBench(b, m.opts...)) })
	}
}

func benchCannedQueries(b *testing.B, e *Engine) {
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := e.Run(ctx, q.name, q.params, io.Discard, FormatJSON); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkConcurrent8 runs the three queries in turn from 8 concurrent
// clients and reports throughput and latency under load.
func BenchmarkConcurrent8(b *testing.B) {
	for _, m := range engineModes {
		b.Run(m.name, func(b *testing.B) { benchConcurrent8(b, openBench(b, m.opts...)) })
	}
}

func benchConcurrent8(b *testing.B, e *Engine) {
	ctx := context.Background()
	const clients = 8
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				q := benchQueries[int(i)%len(benchQueries)]
				t0 := time.Now()
				if err := e.Run(ctx, q.name, q.params, io.Discard, FormatJSON); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(percentile(all, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkExportCSV streams a full canned export (all 60,000 proposals).
func BenchmarkExportCSV(b *testing.B) {
	for _, m := range engineModes {
		b.Run(m.name, func(b *testing.B) {
			e := openBench(b, m.opts...)
			ctx := context.Background()
			for b.Loop() {
				if err := e.Run(ctx, "top_proposals", map[string]string{"limit": "1000000", "include_trashed": "true"}, io.Discard, FormatCSV); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
