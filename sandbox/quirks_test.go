package sandbox

import (
	"bytes"
	"strings"
	"testing"

	"github.com/capstat/capstat/internal/capcoschema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestFaults(t *testing.T) {
	t.Run("fail rate", func(t *testing.T) {
		codes := func() []int {
			_, ts := testServer(t, Options{Seed: 9, FailRate: 0.5})
			var out []int
			for i := 0; i < 60; i++ {
				r := post(t, ts.URL+"/gironde/graphql", `{ __typename }`, nil, nil)
				out = append(out, r.status)
				switch r.status {
				case 200:
				case 429, 503:
					if r.header.Get("Retry-After") == "" {
						t.Errorf("%d without Retry-After", r.status)
					}
					fallthrough
				case 502:
					if !bytes.Contains(r.body, []byte("<center>nginx</center>")) {
						t.Errorf("%d body %q", r.status, r.body)
					}
				default:
					t.Errorf("unexpected status %d", r.status)
				}
			}
			return out
		}
		a, b := codes(), codes()
		seen := map[int]int{}
		for i := range a {
			seen[a[i]]++
			if a[i] != b[i] {
				t.Fatalf("fault sequence not deterministic at %d: %v vs %v", i, a, b)
			}
		}
		for _, c := range []int{200, 429, 502, 503} {
			if seen[c] == 0 {
				t.Errorf("no %d in %v", c, a)
			}
		}
	})
	t.Run("timeout on heavy pages", func(t *testing.T) {
		_, ts := testServer(t, Options{Seed: 9, TimeoutAfter: 2e9, NodeCost: 50e6}) // 2 s, 50 ms per object: 40 objects max
		url := ts.URL + "/gironde/graphql"
		r := post(t, url, `{ users(first: 100) { edges { node { id userType { name } } } } }`, nil, nil)
		if r.status != 502 || !strings.Contains(string(r.body), "502 Bad Gateway") || r.header.Get("Content-Type") != "text/html" {
			t.Fatalf("heavy page: %d %q", r.status, r.body)
		}
		if r := post(t, url, `{ users(first: 10) { edges { node { id } } } }`, nil, nil); r.status != 200 {
			t.Fatalf("light page: %d %s", r.status, r.body)
		}
	})
}

func TestQuirks(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 11})
	url := ts.URL + "/gironde/graphql"
	in := s.World().ByName["gironde"]
	t.Run("proposal in collect and selection steps", func(t *testing.T) {
		var pr *Proposal
		for _, p := range in.Proposals {
			if p.Visible() && len(p.Selections) > 0 {
				pr = p
				break
			}
		}
		ids := func(step string) map[string]bool {
			m := post(t, url, `query($id: ID!) { node(id: $id) { ... on CollectStep { proposals { edges { node { id } } } } ... on SelectionStep { proposals { edges { node { id } } } } } }`,
				map[string]any{"id": step}, nil).json(t)
			out := map[string]bool{}
			for _, e := range dig(m, "data", "node", "proposals", "edges").([]any) {
				out[dig(e, "node", "id").(string)] = true
			}
			return out
		}
		if !ids(pr.Collect.ID)[pr.ID] || !ids(pr.Selections[0].Step.ID)[pr.ID] {
			t.Fatal("proposal not listed in both steps")
		}
	})
	t.Run("contributions: proposal edges null with internal errors", func(t *testing.T) {
		var p *Project
		for _, x := range in.Projects {
			if x.Public && x.Budget == nil {
				p = x
			}
		}
		m := post(t, url, `query($id: ID!) { node(id: $id) { ... on Project { contributions(first: 1000) { totalCount edges { node { __typename id } } } } } }`,
			map[string]any{"id": p.ID}, nil).json(t)
		edges := dig(m, "data", "node", "contributions", "edges").([]any)
		types := map[string]int{}
		nulls := 0
		for _, e := range edges {
			if e == nil {
				nulls++
				continue
			}
			types[dig(e, "node", "__typename").(string)]++
		}
		for _, typ := range []string{"Opinion", "Version", "Argument", "Source", "Reply"} {
			if types[typ] == 0 {
				t.Errorf("no %s in contributions: %v", typ, types)
			}
		}
		errs, _ := m["errors"].([]any)
		if nulls == 0 || len(errs) != nulls {
			t.Fatalf("%d null edges, %d errors", nulls, len(errs))
		}
		if dig(errs, 0, "message") != "Internal server Error" || dig(errs, 0, "extensions", "category") != "internal" || dig(errs, 0, "path", 4) != "node" {
			t.Errorf("error %v", errs[0])
		}
		if int(dig(m, "data", "node", "contributions", "totalCount").(float64)) != len(edges) || p.ContributionsCount == len(edges) {
			t.Errorf("counters: totalCount %v, edges %d, contributionsCount %d", dig(m, "data", "node", "contributions", "totalCount"), len(edges), p.ContributionsCount)
		}
	})
	t.Run("deleted author nulls the proposal", func(t *testing.T) {
		var gone, ok *Proposal
		for _, p := range in.Proposals {
			if p.Visible() && p.Author == nil && gone == nil {
				gone = p
			}
			if p.Visible() && p.Author != nil && ok == nil {
				ok = p
			}
		}
		if gone == nil {
			t.Skip("no deleted author in this world")
		}
		m := post(t, url, `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Proposal { author { id } } } }`,
			map[string]any{"ids": []string{ok.ID, gone.ID}}, nil).json(t)
		nodes := dig(m, "data", "nodes").([]any)
		if dig(nodes, 0, "author", "id") != ok.Author.ID || nodes[1] != nil {
			t.Fatalf("nodes %v", nodes)
		}
		if dig(m, "errors", 0, "message") != "Internal server Error" || dig(m, "errors", 0, "path", 1).(float64) != 1 || dig(m, "errors", 0, "path", 2) != "author" {
			t.Fatalf("errors %v", m["errors"])
		}
	})
	t.Run("trashed only with TRASHED, drafts hidden", func(t *testing.T) {
		for _, st := range in.Steps {
			if st.Typename != TCollect || !st.Project.Public {
				continue
			}
			var wantT, wantN int
			for _, p := range st.Proposals {
				switch {
				case !p.Visible():
				case p.Trashed:
					wantT++
				default:
					wantN++
				}
			}
			m := post(t, url, `query($id: ID!) { node(id: $id) { ... on CollectStep { n: proposals { totalCount } t: proposals(trashedStatus: TRASHED) { totalCount edges { node { trashed trashedStatus } } }
				d: proposals(includeDraft: true) { totalCount } } } }`, map[string]any{"id": st.ID}, nil).json(t)
			if int(dig(m, "data", "node", "n", "totalCount").(float64)) != wantN || int(dig(m, "data", "node", "t", "totalCount").(float64)) != wantT ||
				int(dig(m, "data", "node", "d", "totalCount").(float64)) != wantN {
				t.Errorf("step %s: %v, want %d/%d", st.Title, m["data"], wantN, wantT)
			}
			for _, e := range dig(m, "data", "node", "t", "edges").([]any) {
				if dig(e, "node", "trashed") != true {
					t.Errorf("untrashed in TRASHED listing")
				}
			}
		}
	})
	t.Run("project votes count only", func(t *testing.T) {
		m := post(t, url, `{ projects { edges { node { votes { totalCount edges { cursor } } } } } }`, nil, nil).json(t)
		if dig(m, "data", "projects", "edges", 0, "node", "votes", "totalCount").(float64) == 0 ||
			len(dig(m, "data", "projects", "edges", 0, "node", "votes", "edges").([]any)) != 0 {
			t.Fatalf("votes %v", dig(m, "data", "projects", "edges", 0, "node", "votes"))
		}
	})
	t.Run("hostile strings are escaped", func(t *testing.T) {
		r := post(t, url, `{ projects(orderBy: {field: PUBLISHED_AT, direction: ASC}) { edges { node { steps { ... on CollectStep { proposals { edges { node { title body } } } } } } } } }`, nil, nil)
		body := string(r.body)
		for _, bad := range []string{"<script>", "<img", "onerror=alert(1)>"} {
			if strings.Contains(body, bad) {
				t.Errorf("raw %q in body", bad)
			}
		}
		for _, want := range []string{`\u003Cscript\u003Ealert(1)\u003C\/script\u003E`, `\u003Cimg src=x onerror=alert(1)\u003E`} {
			if !strings.Contains(body, want) {
				t.Errorf("no %s in body", want)
			}
		}
		m := r.json(t)
		found := false
		for _, e := range dig(m, "data", "projects", "edges", 0, "node", "steps", 1, "proposals", "edges").([]any) {
			found = found || dig(e, "node", "title") == "<script>alert(1)</script>"
		}
		if !found {
			t.Error("hostile title does not decode back")
		}
	})
	t.Run("free-text costs and JSON values", func(t *testing.T) {
		m := post(t, url, `{ projects { edges { node { steps { ... on CollectStep { proposals { edges { node { responses { question { title } ... on ValueResponse { value } } } } } } } } } } }`, nil, nil).json(t)
		var costs, multi int
		for _, p := range dig(m, "data", "projects", "edges").([]any) {
			for _, s := range dig(p, "node", "steps").([]any) {
				edges, _ := dig(s, "proposals", "edges").([]any)
				for _, e := range edges {
					for _, r := range dig(e, "node", "responses").([]any) {
						v, _ := dig(r, "value").(string)
						if strings.HasPrefix(dig(r, "question", "title").(string), "Coût") {
							costs++
						}
						if strings.HasPrefix(v, `{"labels":[`) {
							multi++
						}
					}
				}
			}
		}
		if costs == 0 || multi == 0 {
			t.Errorf("costs %d, multiple-choice JSON %d", costs, multi)
		}
	})
}

func TestDeterminism(t *testing.T) {
	q := `{ projects { edges { cursor node { id title publishedAt steps { __typename id ... on CollectStep { proposals(first: 50) { edges { cursor node { id title body reference createdAt
		address { lat lng } votes(first: 5) { totalCount edges { cursor node { id createdAt anonymous } } } responses { ... on ValueResponse { value } } } } } } } } } }
		users(first: 30) { edges { cursor node { id username createdAt } } } events { edges { node { id title } } } }`
	get := func(seed int64) []byte {
		_, ts := testServer(t, Options{Seed: seed})
		r := post(t, ts.URL+"/landes/graphql", q, nil, nil)
		if r.status != 200 || bytes.Contains(r.body, []byte(`"errors"`)) {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return r.body
	}
	a, b, c := get(7), get(7), get(8)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same bytes")
	}
}

func TestExecutorFeatures(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 2})
	url := ts.URL + "/gironde/graphql"
	p := s.World().ByName["gironde"].Projects[0]
	q := `query Q($id: ID!, $skip: Boolean!, $n: Int = 1) {
		a: node(id: $id) { __typename ...P }
		b: node(id: $id) { id @skip(if: $skip) ... on Project { t: title title @include(if: $skip) } }
		projects(first: $n) { ...C }
	}
	fragment P on Project { id steps { __typename ... on Node { id } } }
	fragment C on ProjectConnection { totalCount edges { node { id } } }`
	m := post(t, url, q, map[string]any{"id": p.ID, "skip": true}, nil).json(t)
	if m["errors"] != nil {
		t.Fatalf("errors %v", m["errors"])
	}
	if dig(m, "data", "a", "__typename") != "Project" || dig(m, "data", "a", "id") != p.ID || dig(m, "data", "a", "steps", 0, "id") != p.Steps[0].ID {
		t.Errorf("named fragment: %v", dig(m, "data", "a"))
	}
	b := dig(m, "data", "b").(map[string]any)
	if _, ok := b["id"]; ok || b["t"] != p.Title || b["title"] != p.Title {
		t.Errorf("skip/include/alias: %v", b)
	}
	if len(dig(m, "data", "projects", "edges").([]any)) != 1 {
		t.Errorf("variable default: %v", dig(m, "data", "projects"))
	}
	// variable type errors are GraphQL errors without data
	m = post(t, url, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{}, nil).json(t)
	if _, ok := m["data"]; ok || dig(m, "errors", 0, "extensions", "category") != "graphql" {
		t.Errorf("missing variable: %v", m)
	}
	// mutations are refused
	m = post(t, url, `mutation { addEvent { clientMutationId } }`, nil, nil).json(t)
	if m["errors"] == nil {
		t.Errorf("mutation accepted: %v", m)
	}
}

// TestUnknownSchemaFields checks that fields appended to the schema without
// sandbox data never panic: null when nullable, an error nulling the parent
// when non-null.
func TestUnknownSchemaFields(t *testing.T) {
	schema, err := gqlparser.LoadSchema(
		&ast.Source{Name: "schema.graphql", Input: capcoschema.Schema},
		&ast.Source{Name: "schema_ext.graphql", Input: capcoschema.SchemaExt},
		&ast.Source{Name: "extra.graphql", Input: "extend type Project { futureText: String futureCount: Int! }"},
	)
	if err != nil {
		t.Fatal(err)
	}
	w := GenerateInstances(1, Tiny, []string{"meuse"})
	run := func(q string) (string, []gqlError) {
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		x := &executor{schema: schema, in: w.Instances[0], collected: map[collectKey][]*cfield{}, doc: doc}
		ok := x.run(doc.Operations[0])
		if !ok {
			return "null", x.errs
		}
		return string(x.buf), x.errs
	}
	out, errs := run(`{ projects(first: 1) { edges { node { id futureText } } } }`)
	if len(errs) != 0 || !strings.Contains(out, `"futureText":null`) {
		t.Errorf("nullable unknown field: %s %v", out, errs)
	}
	out, errs = run(`{ projects(first: 1) { edges { node { id futureCount } } } }`)
	if len(errs) != 1 || !strings.Contains(out, `"edges":[null]`) {
		t.Errorf("non-null unknown field: %s %v", out, errs)
	}
}

func TestIntrospectionEnabled(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1, Introspection: true})
	m := post(t, ts.URL+"/gironde/graphql", `{ __schema { queryType { name fields { name args { name defaultValue type { kind name ofType { name } } } } } types { name kind } }
		__type(name: "Step") { kind possibleTypes { name } } }`, nil, nil).json(t)
	if m["errors"] != nil {
		t.Fatalf("errors %v", m["errors"])
	}
	names := map[string]bool{}
	for _, f := range dig(m, "data", "__schema", "queryType", "fields").([]any) {
		names[dig(f, "name").(string)] = true
	}
	if !names["projects"] || !names["nodes"] {
		t.Errorf("query fields %v", names)
	}
	steps := map[string]bool{}
	for _, p := range dig(m, "data", "__type", "possibleTypes").([]any) {
		steps[dig(p, "name").(string)] = true
	}
	if !steps["PresentationStep"] || !steps["CollectStep"] || dig(m, "data", "__type", "kind") != "INTERFACE" {
		t.Errorf("Step: %v", dig(m, "data", "__type"))
	}
}
