package rawstore

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCommit measures one group commit of 5000 vote rows (plus 100
// checkpoints) into a table that grows by as much per iteration.
func BenchmarkCommit(b *testing.B) {
	ctx := context.Background()
	s, _ := openStore(b)
	if _, err := s.BeginRun(ctx, SourceInfo{Name: "a", Endpoint: "x", Timezone: "UTC"}, 1, time.Now(), false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		batch := &Batch{}
		for j := range 5000 {
			id := fmt.Sprintf("%08d-%04d", i, j)
			batch.Rows = append(batch.Rows, Row{Table: ProposalVotes, Source: "a", Run: 1, ID: id, Context: []any{"p" + id[:8]},
				Payload: []byte(`{"id":"` + id + `","createdAt":"2024-01-01 00:00:00","published":true,"publishedAt":"2024-01-01 00:00:00","anonymous":false}`)})
		}
		for j := range 100 {
			batch.Checkpoints = append(batch.Checkpoints, Checkpoint{Source: "a", Task: fmt.Sprintf("votes/%d/%d", i, j), Cursor: "abc", Run: 1})
		}
		if _, err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "rows/s")
}
