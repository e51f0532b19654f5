package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/sandbox"
)

// health records what the pipeline reports per source.
type health struct {
	mu   sync.Mutex
	errs map[string]error
}

func (h *health) Report(source string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs[source] = err
}

// TestRunFromEmpty runs every stage once into empty directories against
// the sandbox (one source answering, one not): the release and site exist
// after a successful run of the answering source alone, and the sources'
// health says which one failed.
func TestRunFromEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("pipeline end to end: skipped in -short mode")
	}
	srv, err := sandbox.New(sandbox.Options{Seed: 4, Scale: sandbox.Tiny, Instances: []string{"landes"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	dead := httptest.NewServer(nil)
	dead.Close() // a source that refuses connections

	dir := t.TempDir()
	c := config.Default()
	c.Database = filepath.Join(dir, "var", "capstat.duckdb")
	c.Out = filepath.Join(dir, "public")
	c.Privacy.AuthorKeySecretFile = filepath.Join(dir, "var", "secret")
	for _, s := range []string{"landes=" + hs.URL + "/landes/graphql", "gironde=" + dead.URL + "/graphql"} {
		if err := c.AddSourceFlag(s); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.Sources {
		c.Sources[i].MaxAttempts = 1
	}
	if err := os.MkdirAll(filepath.Dir(c.Database), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &health{errs: map[string]error{}}
	p := &Pipeline{Config: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Summary: io.Discard, Health: h}
	ctx := context.Background()

	p.Probe(ctx)
	if h.errs["landes"] != nil || h.errs["gironde"] == nil {
		t.Errorf("probe: landes %v, gironde %v; want landes ok, gironde failing", h.errs["landes"], h.errs["gironde"])
	}
	if err := p.Run(ctx); err == nil {
		t.Fatal("Run with an unreachable source succeeded")
	}
	if _, err := release.Current(c.Out); !errors.Is(err, release.ErrNoRelease) {
		t.Errorf("a failed run published: %v", err)
	}

	c.Sources = c.Sources[:1]
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rel, err := release.Current(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Manifest.Datasets["proposals"] == 0 {
		t.Errorf("release %s has no proposals: %+v", rel.ID, rel.Manifest.Datasets)
	}
	if _, err := os.Stat(filepath.Join(c.Out, "site", "index.html")); err != nil {
		t.Errorf("site not rendered: %v", err)
	}
	if h.errs["landes"] != nil {
		t.Errorf("landes health after a successful ingest: %v", h.errs["landes"])
	}
}
