package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/pabulib"
	"github.com/capstat/capstat/sandbox"
)

// TestPabulibExport: from a sandbox world's release and the admin vote
// exports its administrators would download, capstat export pabulib
// writes one .pb per vote step; each passes the format's rules, and its
// totals are the release's own (votes per project, budget), with no raw
// voter id in it.
func TestPabulibExport(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped in -short mode")
	}
	dir, _, world := demoTree(t, sandbox.Options{Seed: 11, Scale: sandbox.Tiny, Instances: []string{"landes", "tarn"}})
	capstat(t, dir, "run")
	exports := filepath.Join(dir, "exports")
	if err := writeSandboxVoteExports(exports, world); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(exports, "*", "*.csv"))
	if len(files) == 0 {
		t.Fatal("the sandbox wrote no vote export")
	}
	args := []string{"export", "pabulib", "--out", "pb"}
	for _, f := range files {
		args = append(args, "--votes-export", f)
	}
	out := capstat(t, dir, args...)
	pbs, _ := filepath.Glob(filepath.Join(dir, "pb", "*.pb"))
	if len(pbs) != len(files) {
		t.Fatalf("%d .pb files for %d exports:\n%s", len(pbs), len(files), out)
	}

	ctx := context.Background()
	db, err := duckdbx.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest := filepath.Join(dir, "public", "latest")
	votesOf := func(uuid string) int64 {
		var n int64
		id := base64.StdEncoding.EncodeToString([]byte("Proposal:" + uuid))
		q := fmt.Sprintf("SELECT count(*) FROM read_parquet(%s) WHERE proposal_id = ?", duckdbx.Quote(filepath.Join(latest, "data", "proposal_votes", "*", "*.parquet")))
		if err := db.QueryRowContext(ctx, q, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	raw := map[string]bool{}
	for _, f := range files {
		fh, _ := os.Open(f)
		votes, err := pabulib.ReadVoteExport(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range votes {
			raw[v.AuthorID] = true
		}
	}
	for _, p := range pbs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pabulib.Parse(strings.NewReader(string(data)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if errs := pabulib.Validate(f); len(errs) > 0 {
			t.Errorf("%s: %v", p, errs)
		}
		if len(f.Projects) == 0 || len(f.Votes) == 0 {
			t.Errorf("%s: %d projects, %d ballots", p, len(f.Projects), len(f.Votes))
		}
		for _, pr := range f.Projects {
			if want := votesOf(pr.ID); pr.Votes != want {
				t.Errorf("%s: project %s has %d votes, the release %d", filepath.Base(p), pr.ID, pr.Votes, want)
			}
		}
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM read_parquet(%s) WHERE collectivity_name = ? AND edition = ? AND CAST(envelope_eur AS VARCHAR) = ?",
			duckdbx.Quote(filepath.Join(latest, "data", "budget_comparison", "*.parquet")))
		if err := db.QueryRowContext(ctx, q, f.Get("unit"), f.Get("instance"), f.Get("budget")).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: budget %s is not the envelope of %s's %s edition in the release (%v)", p, f.Get("budget"), f.Get("unit"), f.Get("instance"), err)
		}
		for id := range raw {
			if strings.Contains(string(data), id) {
				t.Fatalf("%s carries a raw voter id %s", p, id)
			}
		}
	}
}
