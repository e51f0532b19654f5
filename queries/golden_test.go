package queries

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenOutputs pins the exact CSV, table and JSON renderings (quoting
// of hostile titles, NULLs, timestamps, dates).
func TestGoldenOutputs(t *testing.T) {
	e, _, _ := openFixture(t, Limits{MaxRows: 4})
	for _, tc := range []struct {
		file   string
		query  string
		params map[string]string
		format Format
	}{
		{"top_proposals.csv", "top_proposals", map[string]string{"project": "UHJvamVjdDox", "source": "landes", "include_trashed": "true", "limit": "6"}, FormatCSV},
		{"top_proposals.txt", "top_proposals", map[string]string{"project": "UHJvamVjdDox", "source": "landes", "include_trashed": "true", "limit": "6"}, FormatTable},
		{"events_per_project.json", "events_per_project", nil, FormatJSON},
		{"participation_daily_range.csv", "participation_daily_range", map[string]string{"project": "UHJvamVjdDoy", "source": "landes", "from": "2024-03-10", "to": "2024-03-14"}, FormatCSV},
	} {
		var buf bytes.Buffer
		if err := e.Run(context.Background(), tc.query, tc.params, &buf, tc.format); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden", tc.file)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", tc.file, buf.Bytes(), want)
		}
	}
}
