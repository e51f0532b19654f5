package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/sandbox"
	"github.com/capstat/capstat/transform"
)

// TestRefreshedDatasetsEqualFullCrawl: after incremental refreshes over
// epochs of an evolving world, every published dataset (core and metrics
// tables) has the same content as after a fresh full crawl of the last
// epoch.
func TestRefreshedDatasetsEqualFullCrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crawl skipped in -short mode")
	}
	ctx := context.Background()
	names := []string{"gironde", "landes", "meuse"}
	srv, err := sandbox.New(sandbox.Options{Seed: 11, Scale: sandbox.Tiny, Instances: names})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	var sources []ingest.Source
	for _, n := range names {
		sources = append(sources, ingest.Source{Name: n, Endpoint: ts.URL + "/" + n + "/graphql", Timezone: "Europe/Paris"})
	}
	open := func() *sql.DB {
		db, err := duckdbx.Open(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	crawl := func(db *sql.DB, mode string) {
		rep, err := ingest.Ingest(ctx, db, sources, ingest.Options{})
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		for _, s := range rep.Sources {
			if s.Mode != mode {
				t.Fatalf("%s ran %s, want %s", s.Source, s.Mode, mode)
			}
		}
	}
	refreshed := open()
	crawl(refreshed, ingest.ModeFull)
	for epoch := 1; epoch <= 4; epoch++ {
		if err := srv.World().AdvanceTo(epoch); err != nil {
			t.Fatal(err)
		}
		crawl(refreshed, ingest.ModeIncremental)
	}
	fresh := open()
	crawl(fresh, ingest.ModeFull)

	opts := sandboxTransformOptions(srv.World(), "refresh")
	cat, err := datasets.Load()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[*sql.DB]map[string]string{}
	for _, db := range []*sql.DB{refreshed, fresh} {
		if _, err := transform.Run(ctx, db, opts); err != nil {
			t.Fatalf("transform: %v", err)
		}
		sums[db] = map[string]string{}
		for _, d := range cat.Datasets {
			var n int64
			var sum string
			if err := db.QueryRow(`SELECT count(*), `+datasets.HashSumSQL(d.ColumnNames())+` FROM `+d.Table).Scan(&n, &sum); err != nil {
				t.Fatalf("%s: %v", d.Table, err)
			}
			sums[db][d.Table] = fmt.Sprintf("%s/%d", sum, n)
		}
	}
	for table, want := range sums[fresh] {
		if got := sums[refreshed][table]; got != want {
			t.Errorf("%s after refreshes = %s, after a full crawl %s", table, got, want)
		}
	}
}
