package reports

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// TestNoIdentityLeaks publishes with the default policy and searches every
// published file, raw and decoded, for the fixture citizens' usernames, raw
// account ids, e-mails and biographies.
func TestNoIdentityLeaks(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	// The working database does hold them (the test could fail).
	var n int
	if err := db.QueryRow("SELECT count(*) FROM core.users WHERE username = 'jean.dupont42'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("fixture: %d, %v", n, err)
	}
	opts := testOptions(t, t.TempDir())
	opts.Privacy = DefaultPrivacy()
	pub := publish(t, db, opts)

	var secrets []string
	for _, u := range fixtureUsers {
		secrets = append(secrets, u.RawID, u.Username, u.Email, u.Bio)
	}
	files := 0
	err := filepath.WalkDir(pub.Dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		files++
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		texts := []string{string(raw)}
		switch {
		case strings.HasSuffix(p, ".parquet"):
			for _, row := range arrowRows(t, p) {
				for k, v := range row {
					texts = append(texts, k, fmt.Sprint(v))
				}
			}
		case strings.HasSuffix(p, ".duckdb"):
			texts = append(texts, snapshotStrings(t, p)...)
		}
		for _, s := range secrets {
			for _, text := range texts {
				if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
					t.Errorf("%s leaks %q", rel(pub.Dir, p), s)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("only %d files searched", files)
	}
}

// snapshotStrings dumps every table and view of a DuckDB file as text.
func snapshotStrings(t testing.TB, path string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT schema_name, table_name FROM duckdb_tables() UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal")
	if err != nil {
		t.Fatal(err)
	}
	var rels [][2]string
	for rows.Next() {
		var s, n string
		rows.Scan(&s, &n)
		rels = append(rels, [2]string{s, n})
	}
	rows.Close()
	var out []string
	for _, r := range rels {
		out = append(out, r[0]+"."+r[1])
		if r[0] != "data" && r[0] != "main" {
			t.Errorf("snapshot holds unexpected relation %s.%s", r[0], r[1])
		}
		out = append(out, dumpRelation(t, db, duckdbx.Ident(r[0])+"."+duckdbx.Ident(r[1]))...)
	}
	return out
}

func dumpRelation(t testing.TB, db *sql.DB, rel string) []string {
	rows, err := db.Query("SELECT * FROM " + rel)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := append([]string{}, cols...)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		for _, v := range vals {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

func TestPrivacyPolicyApplied(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	opts := testOptions(t, t.TempDir())
	opts.Privacy = DefaultPrivacy()
	rel := publish(t, db, opts)
	votes := duckdbx.Quote(filepath.Join(rel.Dir, "data", "proposal_votes", "**", "*.parquet"))
	var notHour, total int
	if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FILTER (WHERE created_at <> date_trunc('hour', created_at)), count(created_at) FROM read_parquet(%s)", votes)).Scan(&notHour, &total); err != nil {
		t.Fatal(err)
	}
	if notHour != 0 || total == 0 {
		t.Errorf("%d of %d vote times not coarsened to the hour", notHour, total)
	}
	var workNotHour int
	db.QueryRow("SELECT count(*) FILTER (WHERE created_at <> date_trunc('hour', created_at)) FROM core.proposal_votes").Scan(&workNotHour)
	if workNotHour == 0 {
		t.Fatal("fixture votes are already on the hour")
	}
	// Users by type: citoyen has 6 accounts on src0 (kept), association
	// and élu 1 each (suppressed: user_type becomes NULL, rows kept).
	users := duckdbx.Quote(filepath.Join(rel.Dir, "data", "users", "users.parquet"))
	got := map[string]int{}
	rows, err := db.Query(fmt.Sprintf("SELECT coalesce(user_type, '<NULL>'), count(*) FROM read_parquet(%s) GROUP BY ALL", users))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		rows.Scan(&k, &n)
		got[k] = n
	}
	rows.Close()
	if len(got) != 2 || got["citoyen"] != 6 || got["<NULL>"] != 2 {
		t.Errorf("users by type = %v, want citoyen 6 and 2 suppressed", got)
	}
	// Published counts below k never appear.
	csvUsers, _ := os.ReadFile(filepath.Join(rel.Dir, "csv", "users.csv"))
	for _, typ := range []string{"association", "élu"} {
		if bytes.Contains(csvUsers, []byte(typ)) {
			t.Errorf("users.csv names the small group %s", typ)
		}
	}
}

func TestForbiddenColumnFailsRelease(t *testing.T) {
	for _, col := range []string{"username", "author_id", "email", "biography", "profile_url", "user_email"} {
		t.Run(col, func(t *testing.T) {
			cat := loadCatalog(t)
			users, _ := cat.Dataset("users")
			users.Columns = append(users.Columns, datasets.Column{Name: col, Type: "VARCHAR", Description: "x", DescriptionFR: "x"})
			out := t.TempDir()
			opts := testOptions(t, out)
			opts.Catalog = cat
			_, err := Publish(context.Background(), nil, opts)
			if err == nil || !strings.Contains(err.Error(), "users."+col) {
				t.Fatalf("Publish = %v, want a privacy error naming users.%s", err, col)
			}
			if _, err := os.Lstat(filepath.Join(out, release.Latest)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("latest exists after a refused release: %v", err)
			}
		})
	}
	for _, ok := range []string{"author_key", "user_type", "collectivity_name", "name", "has_geometry"} {
		if forbiddenColumn.MatchString(ok) {
			t.Errorf("%s flagged as identity column", ok)
		}
	}
	if err := checkForbiddenColumns(loadCatalog(t)); err != nil {
		t.Errorf("the real catalogue is refused: %v", err)
	}
}

var _ = time.Now
