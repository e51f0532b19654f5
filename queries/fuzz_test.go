package queries

import (
	"context"
	"io"
	"testing"
	"time"
)

func FuzzParseQuery(f *testing.F) {
	f.Add([]byte("/* ---\ntitle: T\ndescription: D\nparams:\n  - {name: p, type: int, default: 3, description: x}\n--- */\nSELECT $p;\n"))
	f.Add([]byte("/* ---\n--- */"))
	f.Add([]byte("/* ---\ntitle: [\n--- */ SELECT $"))
	f.Fuzz(func(t *testing.T, src []byte) {
		q, err := ParseQuery("fuzz", src)
		if err == nil && (q.Title == "" || q.SQL == "") {
			t.Fatalf("accepted an incomplete query: %+v", q)
		}
	})
}

// FuzzAdHocSQL: whatever the text, the engine answers or refuses with a
// known code, never panics, and keeps answering.
func FuzzAdHocSQL(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELECT 1; SELECT 2", "/* */ EXPLAIN SELECT 1", "EXPLAIN", "EXPLAIN ANALYZE", "-- x\nSELECT * FROM proposals",
		"SELECT * FROM read_text('/etc/passwd')", "WITH x AS (SELECT 1) SELECT * FROM x, proposals", "DESCRIBE proposals", "SHOW",
		"SELECT current_setting('threads')", "FROM '/etc/passwd'", "COPY x TO 'y'", "\x00", "SELECT '\u202e'",
	} {
		f.Add(s)
	}
	e, err := Open(context.Background(), sharedFixture.path, Limits{Timeout: 500 * time.Millisecond, MaxRows: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, sqlText string) {
		err := e.SQL(context.Background(), sqlText, io.Discard, FormatJSON)
		if err != nil && AsError(err).Code == CodeInternal {
			t.Fatalf("internal error for %q: %v", sqlText, err)
		}
		if err := e.SQL(context.Background(), "SELECT count(*) FROM proposals", io.Discard, FormatJSON); err != nil {
			t.Fatalf("engine broken after %q: %v", sqlText, err)
		}
	})
}
