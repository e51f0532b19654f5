package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/Khan/genqlient/graphql"
	"github.com/capstat/capstat/ingest/capco"
	"github.com/capstat/capstat/ingest/rawstore"
	"github.com/capstat/capstat/sandbox"
)

// TestHotPathDecodesAsTheGeneratedTypes: the decode-once pages of votes and
// contributions store, for real answers of the sandbox, the same records
// as the generated types re-encoded (same ids, context, payload as JSON
// values; only the bytes may differ, as delivered).
func TestHotPathDecodesAsTheGeneratedTypes(t *testing.T) {
	w := sandbox.GenerateInstances(3, sandbox.Tiny, []string{"gironde"})
	srv, err := sandbox.NewFromWorld(w, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	in := w.Instances[0]
	c := &crawler{src: Source{Name: "gironde"}, run: 1}
	c.gql = &client{endpoint: ts.URL + "/gironde/graphql", http: ts.Client()}
	ctx := context.Background()

	same := func(t *testing.T, fast, typed []rawstore.Row) {
		t.Helper()
		if len(fast) != len(typed) || len(fast) == 0 {
			t.Fatalf("%d rows on the hot path, %d with the generated types", len(fast), len(typed))
		}
		for i := range fast {
			f, g := fast[i], typed[i]
			var fv, gv any
			if err := json.Unmarshal(f.Payload, &fv); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(g.Payload, &gv); err != nil {
				t.Fatal(err)
			}
			if f.ID != g.ID || !reflect.DeepEqual(f.Context, g.Context) || !reflect.DeepEqual(fv, gv) {
				t.Errorf("row %d: hot path %s %v %s\ngenerated %s %v %s", i, f.ID, f.Context, f.Payload, g.ID, g.Context, g.Payload)
			}
		}
	}

	t.Run("votes", func(t *testing.T) {
		var pr *sandbox.Proposal
		for _, p := range in.Proposals {
			if p.Visible() && len(p.Votes) > 3 && (pr == nil || len(p.Votes) > len(pr.Votes)) {
				pr = p
			}
		}
		fast, err := c.votePage(ctx, "ProposalVotes", capco.ProposalVotes_Operation, pr.ID, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := capco.ProposalVotes(ctx, c.gql, pr.ID, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var typed []rawstore.Row
		for _, e := range (*resp.Node).(*capco.ProposalVotesNodeProposal).Votes.Edges {
			r, err := c.row(rawstore.ProposalVotes, e.Node.Id, &e.Node, pr.ID)
			if err != nil {
				t.Fatal(err)
			}
			typed = append(typed, r)
		}
		same(t, fast.rows, typed)
		if fast.total != int64(len(pr.Votes)) {
			t.Errorf("totalCount %d, want %d", fast.total, len(pr.Votes))
		}
	})

	t.Run("contributions", func(t *testing.T) {
		var project string
		for _, cb := range in.Contribs {
			if cb.Published {
				project = cb.Project.ID
				break
			}
		}
		req := &graphql.Request{OpName: "ProjectContributions", Query: capco.ProjectContributions_Operation,
			Variables: map[string]any{"project": project, "first": 100, "after": nil}}
		body, err := c.gql.post(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		fast, ferr, ok := c.contributionPageFast(body, project)
		resp := &capco.ProjectContributionsResponse{}
		derr := decode(req, body, &graphql.Response{Data: resp})
		if !ok {
			t.Fatalf("the hot path refused the answer (the generated types: %v)", derr)
		}
		// The concertation mixes proposals, whose edges the API nulls
		// with an error (API.md §9.3): both report the same errors.
		if fmt.Sprint(ferr) != fmt.Sprint(derr) {
			t.Errorf("hot path error %v, generated types %v", ferr, derr)
		}
		var typed []rawstore.Row
		for _, e := range (*resp.Node).(*capco.ProjectContributionsNodeProject).Contributions.Edges {
			if e == nil || e.Node == nil || !storedContributions[*e.Node.GetTypename()] {
				continue
			}
			r, err := c.row(rawstore.Contributions, e.Node.GetId(), e.Node, project)
			if err != nil {
				t.Fatal(err)
			}
			typed = append(typed, r)
		}
		same(t, fast.rows, typed)
	})
}

// FuzzContributionPageFast: any body either is refused (left to the
// generated types) or yields rows whose payloads are JSON objects with the
// row's id.
func FuzzContributionPageFast(f *testing.F) {
	f.Add([]byte(`{"data":{"node":{"__typename":"Project","contributions":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[{"node":{"__typename":"Opinion","id":"o1","url":"u","createdAt":"2024-01-01 00:00:00","updatedAt":null,"published":true,"publishedAt":null,"title":"T"}},null]}}},"errors":[{"message":"Internal server Error","path":["node","contributions","edges",1,"node"]}]}`))
	f.Add([]byte(`{"data":{"node":{"__typename":"Project","contributions":{"totalCount":1,"pageInfo":{"hasNextPage":false},"edges":[{"node":{"__typename":"Opinion","id":"o1","createdAt":"bad"}}]}}}}`))
	f.Add([]byte(`{"data":null}`))
	c := &crawler{src: Source{Name: "s"}, run: 1}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, _, ok := c.contributionPageFast(body, "P")
		if !ok {
			return
		}
		for _, r := range p.rows {
			var v map[string]any
			if err := json.Unmarshal(r.Payload, &v); err != nil || v["id"] != r.ID {
				t.Fatalf("payload %s of row %q: %v", r.Payload, r.ID, err)
			}
		}
	})
}
