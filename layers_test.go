package capstat_test

import (
	"os/exec"
	"strings"
	"testing"
)

// layers is the floor plan (docs/architecture.md): a package may import
// packages of lower floors only, never one of its own floor or above, so
// ground pieces know no stage, a stage knows no later stage, and the
// orchestrators sit on top. Subpackages (ingest/capco) belong to their
// parent's floor and may be imported by it.
var layers = [][]string{
	{"internal/apierror", "internal/duckdbx", "internal/frfmt"}, // 0. ground: API errors, DuckDB, French numbers
	{"internal/capcoschema", "internal/datasets"},               // 1. ground: API schema, data contract
	{"internal/config"},                  // 2. ground: configuration
	{"ingest", "sandbox"},                // 3. crawl (and the fake API it is tested against)
	{"transform"},                        // 4. SQL models
	{"reports"},                          // 5. releases
	{"dashboards", "queries", "pabulib"}, // 6. readers of a release
	{"schedules"},                        // 7. cron jobs
	{"pipeline"},                         // 8. the stages in order
	{"daemon"},                           // 9. capstat serve
	{"cmd/capstat", "bench"},             // 10. commands
}

const module = "github.com/capstat/capstat/"

// floor returns the floor and the top-level piece of an in-module package.
func floor(pkg string) (int, string, bool) {
	best, bestLen, piece := -1, 0, ""
	for i, l := range layers {
		for _, p := range l {
			if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > bestLen {
				best, bestLen, piece = i, len(p), p
			}
		}
	}
	return best, piece, best >= 0
}

func TestImportLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/capstat/capstat"}}{{.ImportPath}} {{join .Imports " "}}{{end}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0]+"/" == module {
			continue // this test
		}
		pkg := strings.TrimPrefix(fields[0], module)
		from, fromPiece, ok := floor(pkg)
		if !ok {
			t.Errorf("package %s is on no floor of the plan: add it to layers", pkg)
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			to, toPiece, ok := floor(imp)
			switch {
			case !ok:
				t.Errorf("%s imports %s, which is on no floor", pkg, imp)
			case toPiece == fromPiece:
				// within one piece (ingest → ingest/capco)
			case to >= from:
				t.Errorf("%s (floor %d) imports %s (floor %d): imports go down the floors only", pkg, from, imp, to)
			}
		}
	}
	if seen < 15 {
		t.Errorf("only %d packages checked: go list output changed?", seen)
	}
}
