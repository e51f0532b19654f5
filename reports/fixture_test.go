package reports

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

const (
	hostileTitle = `<img src=x onerror=alert(1)>`
	accentTitle  = "Été 🌳 « vélo », ligne\nsuivante \"guillemets\" ; l'école"
)

// fixtureUser is a citizen account as the API delivers it; none of its
// identifying fields may appear in a release.
type fixtureUser struct {
	RawID, Username, Email, Bio, Type string
}

var fixtureUsers = []fixtureUser{
	{"VXNlcjp1c2VyMTAx", "jean.dupont42", "jean.dupont42@example.org", "Cycliste passionné de Mont-de-Marsan", "citoyen"},
	{"VXNlcjp1c2VyMTAy", "marie_lafleur", "marie.lafleur@example.org", "Présidente du comité des fêtes", "citoyen"},
	{"VXNlcjp1c2VyMTAz", "zorglub_landes", "zorglub@example.org", "Élu municipal à Dax", "citoyen"},
	{"VXNlcjp1c2VyMTA0", "AssoVeloLandes", "contact@velolandes.example.org", "Association vélo", "citoyen"},
	{"VXNlcjp1c2VyMTA1", "pierre.m", "pierre.m@example.org", "Retraité", "citoyen"},
	{"VXNlcjp1c2VyMTA2", "LucieBzh", "lucie@example.org", "Étudiante 🎓", "citoyen"},
	{"VXNlcjp1c2VyMTA3", "asso_quartier_nord", "nord@example.org", "Association de quartier", "association"},
	{"VXNlcjp1c2VyMTA4", "conseillere.d", "d@example.org", "Conseillère départementale", "élu"},
}

// fixtureRows is the number of generated rows per dataset.
const fixtureRows = 24

// newWorkingDB builds an in-memory working database with every catalogue
// table (plus a leaky extra column and raw tables that must never be
// published) filled with deterministic hand-made rows.
func newWorkingDB(t testing.TB, cat *datasets.Contract) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if err := fillWorkingDB(ctx, db, cat, fixtureRows); err != nil {
		t.Fatal(err)
	}
	// Publish writes datasets on several connections at once when the pool
	// allows it (tests that need the one-connection path set it back to 1).
	db.SetMaxOpenConns(0)
	return db
}

func fillWorkingDB(ctx context.Context, db *sql.DB, cat *datasets.Contract, n int) error {
	exec := func(q string, args ...any) error {
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%.80s: %w", q, err)
		}
		return nil
	}
	if err := exec("CREATE SCHEMA IF NOT EXISTS raw"); err != nil {
		return err
	}
	if err := exec("CREATE TABLE raw.users (source VARCHAR, id VARCHAR, username VARCHAR, email VARCHAR, biography VARCHAR, user_type VARCHAR)"); err != nil {
		return err
	}
	for _, u := range fixtureUsers {
		if err := exec("INSERT INTO raw.users VALUES ('src0', ?, ?, ?, ?, ?)", u.RawID, u.Username, u.Email, u.Bio, u.Type); err != nil {
			return err
		}
	}
	for _, d := range cat.Datasets {
		schema, _, _ := strings.Cut(d.Table, ".")
		if err := exec("CREATE SCHEMA IF NOT EXISTS " + duckdbx.Ident(schema)); err != nil {
			return err
		}
		var defs, exprs []string
		for _, c := range d.Columns {
			defs = append(defs, duckdbx.Ident(c.Name)+" "+c.Type)
			exprs = append(exprs, fixtureExpr(d.Name, c))
		}
		if d.Name == "users" {
			// Users come from raw.users (pseudonymised like transform does)
			// and the table keeps a leaky extra column the release must drop.
			defs = append(defs, "username VARCHAR")
			if err := exec(fmt.Sprintf("CREATE TABLE %s (%s)", tableRef(d.Table), strings.Join(defs, ", "))); err != nil {
				return err
			}
			if err := exec(`INSERT INTO core.users SELECT source, sha256('secret:' || source || ':' || id),
				TIMESTAMPTZ '2024-05-01 10:00:00+00' + to_days(CAST(row_number() OVER (ORDER BY id) AS INTEGER)),
				user_type, false, username FROM raw.users`); err != nil {
				return err
			}
			continue
		}
		if err := exec(fmt.Sprintf("CREATE TABLE %s (%s)", tableRef(d.Table), strings.Join(defs, ", "))); err != nil {
			return err
		}
		if err := exec(fmt.Sprintf("INSERT INTO %s SELECT %s FROM range(%d) r(i)", tableRef(d.Table), strings.Join(exprs, ", "), n)); err != nil {
			return err
		}
	}
	return nil
}

// fixtureExpr generates column c of row i.
func fixtureExpr(dataset string, c datasets.Column) string {
	switch {
	case c.Name == "source":
		return "'src' || (i % 2)"
	case c.Name == "title" || c.Name == "name" || c.Name == "project_title":
		return fmt.Sprintf("CASE i WHEN 0 THEN %s WHEN 1 THEN %s ELSE 'Titre n°' || i END", duckdbx.Quote(hostileTitle), duckdbx.Quote(accentTitle))
	case c.Name == "author_key":
		return "CASE WHEN i % 4 = 3 THEN NULL ELSE sha256('secret:author:' || (i % 5)) END"
	}
	switch c.Type {
	case "VARCHAR":
		return fmt.Sprintf("%s || '-' || i", duckdbx.Quote(c.Name))
	case "BIGINT":
		return "CAST(i * 7 + 1 AS BIGINT)"
	case "INTEGER":
		return "CAST(i AS INTEGER)"
	case "DOUBLE":
		return "CASE WHEN i % 5 = 0 THEN NULL ELSE i / 3.0 END"
	case "BOOLEAN":
		return "i % 3 = 0"
	case "TIMESTAMPTZ":
		return "CASE WHEN i % 7 = 3 THEN NULL ELSE TIMESTAMPTZ '2025-03-01 08:00:00+00' + to_seconds(CAST(i * 3671 + 17 AS BIGINT)) END"
	case "DATE":
		return "DATE '2025-01-01' + CAST(i AS INTEGER)"
	}
	panic("fixture: unknown type " + c.Type)
}

// testOptions publishes into dir at a fixed clock that advances one hour
// per release.
func testOptions(t testing.TB, dir string) Options {
	t.Helper()
	clock := time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC)
	return Options{
		OutDir:  dir,
		Privacy: Privacy{CoarsenVoteTimes: false, MinGroupSize: 1},
		Sources: []SourceInfo{{Name: "src0", Endpoint: "https://src0.example.org/graphql"}},
		Now: func() time.Time {
			clock = clock.Add(time.Hour)
			return clock
		},
	}
}
