package sandbox

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the exact bytes of a few responses for seed 1 / tiny, so
// any change of the generator or the encoder is deliberate
// (go test ./sandbox -run Golden -update).
func TestGolden(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1, Instances: []string{"landes"}, Token: "golden"})
	for _, tt := range []struct {
		name, query string
		hdr         map[string]string
	}{
		{"projects", `{ projects(first: 2, orderBy: {field: PUBLISHED_AT, direction: ASC}) { totalCount pageInfo { hasNextPage endCursor }
			edges { cursor node { id title url publishedAt type { title } themes { id title } contributionsCount contributions(first: 0) { totalCount }
			votes(first: 0) { totalCount } districts(first: 2) { totalCount edges { cursor node { id name } } }
			steps { __typename id title url state timeRange { startAt endAt } } } } } }`, nil},
		{"proposals", `{ projects(first: 1, orderBy: {field: PUBLISHED_AT, direction: ASC}) { edges { node { steps { ... on CollectStep {
			proposals(first: 3, orderBy: [{field: CREATED_AT, direction: ASC}]) { totalCount edges { cursor node { id reference title body createdAt publishedAt
			trashed address { formatted lat lng } category { name } theme { title } selections { status { name color } }
			votes(first: 2) { totalCount edges { cursor node { id createdAt anonymous } } } author { username }
			responses { __typename question { id title } ... on ValueResponse { value } } } } } } } } } } }`, nil},
		{"costs-with-token", `{ projects(first: 1, orderBy: {field: PUBLISHED_AT, direction: ASC}) { edges { node { steps { ... on CollectStep {
			proposals(first: 3) { edges { node { id analyses { estimatedCost } assessment { estimatedCost } decision { estimatedCost isApproved } } } } } } } } } }`,
			map[string]string{"Authorization": "Bearer golden"}},
		{"errors", `{ projects(first: 3) { edges { node { id contributions(first: 2) { edges { node { __typename id } } } } } } viewer { id } }`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, ts.URL+"/landes/graphql", tt.query, nil, tt.hdr)
			path := filepath.Join("testdata", "golden_"+tt.name+".json")
			if *update {
				if err := os.WriteFile(path, r.body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(r.body, want) {
				t.Errorf("response differs from %s (run with -update if intended)\ngot:  %.600s\nwant: %.600s", path, r.body, want)
			}
		})
	}
}
