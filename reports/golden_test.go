package reports

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/reports/release"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// miniCatalog is a small fixed catalogue so that the golden files do not
// change when the real catalogue grows.
func miniCatalog() *datasets.Contract {
	return &datasets.Contract{
		Licence:     "etalab-2.0",
		Attribution: "Source : tests.",
		Datasets: []datasets.Dataset{
			{Name: "projects", Table: "core.projects", Title: "Projets", Description: "One row per project.", DescriptionFR: "Une ligne par projet.",
				PrimaryKey: []string{"source", "project_id"},
				Columns: []datasets.Column{
					{Name: "source", Type: "VARCHAR", Description: "Source name.", DescriptionFR: "Nom de la plateforme."},
					{Name: "project_id", Type: "VARCHAR", Description: "Project id | API.", DescriptionFR: "Identifiant du projet."},
					{Name: "published_at", Type: "TIMESTAMPTZ", Description: "Publication time (UTC).", DescriptionFR: "Date de publication (UTC)."},
				}},
			{Name: "proposal_votes", Table: "core.proposal_votes", Title: "Votes", Description: "One row per vote.", DescriptionFR: "Une ligne par vote.",
				PrimaryKey:  []string{"source", "vote_id"},
				ForeignKeys: []datasets.ForeignKey{{Fields: []string{"source", "project_id"}, Reference: "projects"}},
				Columns: []datasets.Column{
					{Name: "source", Type: "VARCHAR", Description: "Source name.", DescriptionFR: "Nom de la plateforme."},
					{Name: "vote_id", Type: "VARCHAR", Description: "Vote id.", DescriptionFR: "Identifiant du vote."},
					{Name: "project_id", Type: "VARCHAR", Description: "Project.", DescriptionFR: "Projet."},
					{Name: "day", Type: "DATE", Description: "Day.", DescriptionFR: "Jour."},
					{Name: "weight", Type: "DOUBLE", Description: "Weight.", DescriptionFR: "Poids."},
					{Name: "anonymous", Type: "BOOLEAN", Description: "Anonymous vote.", DescriptionFR: "Vote anonyme."},
					{Name: "rank", Type: "INTEGER", Description: "Rank.", DescriptionFR: "Rang."},
					{Name: "n", Type: "BIGINT", Description: "Count.", DescriptionFR: "Nombre."},
				}},
		},
	}
}

func TestGoldenMetadata(t *testing.T) {
	rows := func(n int64) *int64 { return &n }
	m := &release.Manifest{
		ReleaseID: "20261129T171502Z", CreatedAt: time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC),
		PreviousReleaseID: "20261128T171502Z", Licence: "etalab-2.0",
		Datasets: map[string]int64{"projects": 2, "proposal_votes": 3}, CSVMaxRows: SpreadsheetMaxRows,
		Files: []release.FileEntry{
			{Path: "data/projects/projects.parquet", Bytes: 100, Rows: rows(2), SHA256: "aa", Dataset: "projects", Format: "parquet"},
			{Path: "csv/projects.csv", Bytes: 50, Rows: rows(2), SHA256: "bb", Dataset: "projects", Format: "csv"},
			{Path: "data/proposal_votes/source=a/part-0.parquet", Bytes: 70, Rows: rows(2), SHA256: "cc", Dataset: "proposal_votes", Format: "parquet"},
			{Path: "data/proposal_votes/source=b/part-0.parquet", Bytes: 60, Rows: rows(1), SHA256: "dd", Dataset: "proposal_votes", Format: "parquet"},
			{Path: "csv/proposal_votes.csv", Bytes: 80, Rows: rows(3), SHA256: "ee", Dataset: "proposal_votes", Format: "csv"},
		},
	}
	cat := miniCatalog()
	dp, err := buildDataPackage(cat, m, licences["etalab-2.0"], []SourceInfo{{Name: "a", Endpoint: "https://a.example.org/graphql"}})
	if err != nil {
		t.Fatal(err)
	}
	dpJSON, err := json.MarshalIndent(dp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	readme := buildReadme(cat, m, licences["etalab-2.0"], DefaultPrivacy(), map[string]bool{"proposal_votes": true})
	golden(t, "datapackage.golden.json", append(dpJSON, '\n'))
	golden(t, "README.golden.md", []byte(readme))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden ./reports/ -args -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run go test -run Golden ./reports/ -args -update and review the diff)", name)
	}
}
