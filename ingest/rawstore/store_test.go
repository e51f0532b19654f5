package rawstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
)

func openStore(t testing.TB) (*Store, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, filepath.Join(t.TempDir(), "test.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, db
}

func str(s string) *string { return &s }

func TestCommitIdempotentAndChangeTracking(t *testing.T) {
	ctx := context.Background()
	s, db := openStore(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := s.BeginRun(ctx, SourceInfo{Name: "a", Endpoint: "http://x", Timezone: "Europe/Paris", Locales: []string{"fr-FR"}}, 1, now, false)
	if err != nil || st.Resumed || st.Run != 1 {
		t.Fatalf("BeginRun = %+v, %v", st, err)
	}
	hostile := `{"id":"p1","title":"Éco <script>alert('x')</script> \"q\" 🎉\nline"}`
	batch := func(run int64, title string) *Batch {
		return &Batch{
			Rows: []Row{
				{Table: Proposals, Source: "a", Run: run, ID: "p1", Context: []any{"prj", nil, nil}, Payload: []byte(hostile)},
				{Table: Proposals, Source: "a", Run: run, ID: "p2", Context: []any{"prj", "c1", nil}, Payload: []byte(`{"id":"p2","title":"` + title + `"}`)},
				// p1 seen again in a collect step in the same batch: collect id kept.
				{Table: Proposals, Source: "a", Run: run, ID: "p1", Context: []any{"prj", "c1", nil}, Payload: []byte(hostile)},
				{Table: Steps, Source: "a", Run: run, ID: "s1", Context: []any{"prj", int32(0)}, Payload: []byte(`{"id":"s1"}`)},
			},
			Checkpoints: []Checkpoint{{Source: "a", Task: "t", Cursor: "c", Run: run, Fetched: 2}},
			Audit:       []AuditRow{{Run: run, Source: "a", Entity: "proposals", Scope: "c1", Fetched: 2}},
			Errors:      []ErrorRow{{Run: run, Source: "a", At: now, Operation: "op", Path: "a.b", Message: "m"}},
		}
	}
	got, err := s.Commit(ctx, batch(1, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Changed[Key{"a", Proposals}] != 2 || got.Records[Key{"a", Proposals}] != 2 || got.Changed[Key{"a", Steps}] != 1 {
		t.Fatalf("first commit stats = %+v", got)
	}
	// Authors.
	got, err = s.Commit(ctx, &Batch{Authors: []AuthorUpdate{{Table: Proposals, Source: "a", Run: 1, ID: "p1", AuthorID: str("u1")}}})
	// p1 is new in run 1: its author is part of that change, not a second one.
	if err != nil || got.Changed[Key{"a", Proposals}] != 0 {
		t.Fatalf("author commit = %+v, %v", got, err)
	}
	if _, err := s.FinishRun(ctx, "a", 1, true, RunTotals{}, "", now); err != nil {
		t.Fatal(err)
	}

	// Second run: same data ⇒ nothing changes; the author is kept.
	st, err = s.BeginRun(ctx, SourceInfo{Name: "a", Endpoint: "http://x", Timezone: "Europe/Paris"}, 2, now, false)
	if err != nil || st.Resumed {
		t.Fatalf("BeginRun 2 = %+v, %v", st, err)
	}
	b2 := batch(2, "x")
	b2.Rows = b2.Rows[:3] // s1 vanished
	got, err = s.Commit(ctx, b2)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Changed[Key{"a", Proposals}]; n != 0 {
		t.Fatalf("second run changed %d proposals", n)
	}
	got, err = s.Commit(ctx, &Batch{Authors: []AuthorUpdate{{Table: Proposals, Source: "a", Run: 2, ID: "p1", AuthorID: str("u2")}}})
	if err != nil || got.Changed[Key{"a", Proposals}] != 1 {
		t.Fatalf("author commit 2 = %+v, %v", got, err)
	}
	del, err := s.FinishRun(ctx, "a", 2, true, RunTotals{}, "", now)
	if err != nil || del[Steps] != 1 {
		t.Fatalf("FinishRun = %v, %v", del, err)
	}

	var title, collect, author string
	var last int64
	err = db.QueryRow(`SELECT payload->>'title', collect_step_id, author_id, last_seen_run FROM raw.proposals WHERE id = 'p1'`).Scan(&title, &collect, &author, &last)
	if err != nil {
		t.Fatal(err)
	}
	if title != "Éco <script>alert('x')</script> \"q\" 🎉\nline" || collect != "c1" || author != "u2" || last != 2 {
		t.Fatalf("p1 = %q %q %q %d", title, collect, author, last)
	}
	var deleted sql.NullInt64
	if err := db.QueryRow(`SELECT deleted_run FROM raw.steps WHERE id = 's1'`).Scan(&deleted); err != nil || deleted.Int64 != 2 {
		t.Fatalf("s1 deleted_run = %v, %v", deleted, err)
	}

	// A third run changes p2: one change; the step comes back: revived.
	if _, err := s.BeginRun(ctx, SourceInfo{Name: "a", Endpoint: "http://x", Timezone: "Europe/Paris"}, 3, now, false); err != nil {
		t.Fatal(err)
	}
	got, err = s.Commit(ctx, batch(3, "y"))
	if err != nil || got.Changed[Key{"a", Proposals}] != 1 || got.Changed[Key{"a", Steps}] != 1 {
		t.Fatalf("third run = %+v, %v", got, err)
	}
}

func TestBeginRunResumes(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	now := time.Now()
	src := SourceInfo{Name: "b", Endpoint: "http://x", Timezone: "UTC"}
	if _, err := s.BeginRun(ctx, src, 7, now, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, &Batch{Checkpoints: []Checkpoint{{Source: "b", Task: "users", Cursor: "abc", Run: 7, Fetched: 100}}}); err != nil {
		t.Fatal(err)
	}
	// The process dies here; the next invocation resumes run 7.
	st, err := s.BeginRun(ctx, src, 8, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Resumed || st.Run != 7 || st.Checkpoints["users"].Cursor != "abc" || st.Checkpoints["users"].Fetched != 100 {
		t.Fatalf("resume = %+v", st)
	}
}
