package transform

import (
	"context"
	"os"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
)

func TestRunUsesEachRunsSecret(t *testing.T) {
	db := fixtureDB(t)
	ctx := context.Background()
	for _, secret := range []string{"first", "second"} {
		opts := fixtureOptions()
		opts.AuthorKeySecret = []byte(secret)
		if _, err := Run(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		want := AuthorKey([]byte(secret), "landes", "U1")
		if got := query(t, db, `SELECT count(*) FROM core.users WHERE author_key = ?`, want)[0]; got != "1" {
			t.Errorf("secret %q: user U1 not keyed with it", secret)
		}
	}
}

func TestParseCostUDF(t *testing.T) {
	db := fixtureDB(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := registerUDFs(ctx, conn, []byte("k")); err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	if err := conn.QueryRowContext(ctx, `SELECT count(c), sum(c) FROM (SELECT capstat_parse_cost(s) AS c FROM (VALUES ('250 000 €'), ('12k'), ('n/a'), (NULL)) t(s))`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 262000 {
		t.Errorf("capstat_parse_cost: %d values summing to %d, want 2 and 262000", n, sum)
	}
}

func TestRunOnEmptyRawTables(t *testing.T) {
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := os.ReadFile("testdata/raw_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, string(b)); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, db, Options{AuthorKeySecret: []byte("k"), Logger: fixtureOptions().Logger, Sources: []SourceMeta{{Name: "gironde"}}})
	if err != nil {
		t.Fatalf("Run on empty raw tables: %v", err)
	}
	if got := query(t, db, `SELECT collectivity_code || '/' || population FROM core.collectivities`)[0]; got != "33/1690493" {
		t.Errorf("configured source without data: collectivity %s", got)
	}
	if len(rep.Failed()) != 0 {
		t.Errorf("failed tests: %v", rep.Failed())
	}
}
