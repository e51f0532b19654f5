package reports

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCSVWithPandasAndR reads every CSV of a release with pandas and with
// R's read.csv (when installed) and compares shapes with the manifest.
func TestCSVWithPandasAndR(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3 and Rscript")
	}
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	rel := publish(t, db, testOptions(t, t.TempDir()))
	var paths, want []string
	for _, d := range cat.Datasets {
		paths = append(paths, filepath.Join(rel.Dir, "csv", d.Name+".csv"))
		want = append(want, fmt.Sprintf("%s %d %d", d.Name, rel.Manifest.Datasets[d.Name], len(d.Columns)))
	}
	python := "python3"
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import pandas").Run() == nil {
			python = py
			break
		}
	}
	readers := []struct {
		name, probe string
		cmd         func() *exec.Cmd
	}{
		{"pandas", "import pandas", func() *exec.Cmd {
			script := `import sys, os, pandas as pd
for p in sys.argv[1:]:
    df = pd.read_csv(p, encoding="utf-8", keep_default_na=False)
    name = os.path.basename(p)[:-4]
    print(name, len(df), len(df.columns))
    if name == "proposals":
        assert "<img src=x onerror=alert(1)>" in set(df["title"]), "hostile title lost"
        assert any("🌳" in x for x in df["title"]), "emoji lost"
`
			return exec.Command(python, append([]string{"-c", script}, paths...)...)
		}},
		{"R", "invisible(1)", func() *exec.Cmd {
			script := `for (p in commandArgs(trailingOnly = TRUE)) {
  x <- read.csv(p, encoding = "UTF-8", check.names = FALSE)
  name <- sub("\\.csv$", "", basename(p))
  cat(name, nrow(x), ncol(x), "\n")
  if (name == "proposals" && !("<img src=x onerror=alert(1)>" %in% x$title)) stop("hostile title lost")
}`
			return exec.Command("Rscript", append([]string{"-e", script}, paths...)...)
		}},
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			var probe *exec.Cmd
			if r.name == "pandas" {
				probe = exec.Command(python, "-c", r.probe)
			} else {
				probe = exec.Command("Rscript", "-e", r.probe)
			}
			if err := probe.Run(); err != nil {
				t.Skipf("%s not available: %v", r.name, err)
			}
			out, err := r.cmd().CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", r.name, err, out)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				got = append(got, strings.Join(strings.Fields(line), " "))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s read:\n%s\nwant:\n%s", r.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
