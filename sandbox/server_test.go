package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestTransport(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1})
	url := ts.URL + "/gironde/graphql"
	t.Run("GET is 405 with JSON empty string", func(t *testing.T) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != 405 || b.String() != `""` {
			t.Fatalf("got %d %q", res.StatusCode, b.String())
		}
	})
	t.Run("OPTIONS is 200 []", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != 200 || b.String() != "[]" {
			t.Fatalf("got %d %q", res.StatusCode, b.String())
		}
	})
	tests := []struct {
		name   string
		body   string
		status int
		want   string // exact body, or prefix when ending with "…"
		ctype  string
	}{
		{"unparsable JSON", `{"query": `, 400, "Wrong public query", "text/plain"},
		{"missing query", `{"variables": {}}`, 400, "Wrong public query", "text/plain"},
		{"syntax error", `{"query": "{ projects(first: 1) { "}`, 400, `{"errors":[{"message":"Syntax Error: …`, "application/json"},
		{"validation error", `{"query": "{ projects { nope } }"}`, 200, `{"errors":[{"message":"Cannot query field \u0022nope\u0022 on type \u0022ProjectConnection\u0022.","extensions":{"category":"graphql"},"locations":[{"line":1,"column":14}]}]}`, "application/json"},
		{"introspection refused", `{"query": "{ __schema { queryType { name } } }"}`, 200, `{"errors":[{"message":"GraphQL introspection is not allowed, but the query contained __schema or __type","extensions":{"category":"graphql"},"locations":[{"line":1,"column":3}]}]}`, "application/json"},
		{"typename allowed", `{"query": "{ __typename }"}`, 200, `{"data":{"__typename":"Query"}}`, "application/json"},
		{"variables as JSON string", `{"query": "query($id: ID!) { node(id: $id) { id } }", "variables": "{\"id\":\"bm9wZQ==\"}"}`, 200, `{"data":{"node":null}}`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawPost(t, url, []byte(tt.body), nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if p, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !bytes.HasPrefix(r.body, []byte(p)) {
					t.Fatalf("body %s, want prefix %s", r.body, p)
				}
			} else if string(r.body) != tt.want {
				t.Fatalf("body %s\nwant %s", r.body, tt.want)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Fatalf("content type %q, want %q", ct, tt.ctype)
			}
		})
	}
	t.Run("headers", func(t *testing.T) {
		r := post(t, url, `{ __typename }`, nil, nil)
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "public, s-maxage=60" {
			t.Fatalf("headers %v", r.header)
		}
	})
	t.Run("unknown instance", func(t *testing.T) {
		if r := post(t, ts.URL+"/paris/graphql", `{ __typename }`, nil, nil); r.status != 404 {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		res, err := http.Get(ts.URL + "/healthz")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", err, res)
		}
		res.Body.Close()
	})
}

func TestSchemaSwitchOnAccept(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1})
	url := ts.URL + "/gironde/graphql"
	q := `{ projects(first: 1) { totalCount } }`
	for _, tt := range []struct {
		accept  string
		preview bool
	}{
		{PreviewAccept, true},
		{PreviewAccept + "; charset=utf-8", false},
		{"application/json", false},
		{PreviewAccept + ", application/json", false},
	} {
		t.Run(tt.accept, func(t *testing.T) {
			m := post(t, url, q, nil, map[string]string{"Accept": tt.accept}).json(t)
			if tt.preview {
				if dig(m, "data", "projects", "totalCount") == nil {
					t.Fatalf("preview schema expected: %v", m)
				}
				return
			}
			if _, ok := m["data"]; ok {
				t.Fatalf("public schema must fail validation without data: %v", m)
			}
			if dig(m, "errors", 0, "message") != `Cannot query field "projects" on type "Query".` || dig(m, "errors", 0, "extensions", "category") != "graphql" {
				t.Fatalf("errors %v", m["errors"])
			}
		})
	}
	// node works on the public schema too
	m := post(t, url, `{ node(id: "x") { id } }`, nil, map[string]string{"Accept": ""}).json(t)
	if _, ok := m["data"]; !ok || m["errors"] != nil {
		t.Fatalf("public node: %v", m)
	}
}

func TestAuth(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 1, Token: "s3cret"})
	url := ts.URL + "/gironde/graphql"
	var pid string
	for _, p := range s.World().ByName["gironde"].Proposals {
		if p.Visible() && p.Cost > 0 {
			pid = p.ID
			break
		}
	}
	q := `query($id: ID!) { node(id: $id) { ... on Proposal { id analyses { estimatedCost } assessment { estimatedCost } decision { estimatedCost isApproved } } } }`
	t.Run("wrong token", func(t *testing.T) {
		r := post(t, url, q, map[string]any{"id": pid}, map[string]string{"Authorization": "Bearer nope"})
		if r.status != 401 || string(r.body) != "Invalid API Key" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		m := post(t, url, q, map[string]any{"id": pid}, nil).json(t)
		if dig(m, "data", "node", "id") != pid {
			t.Fatalf("node lost: %v", m)
		}
		for _, f := range []string{"analyses", "assessment", "decision"} {
			if v, ok := dig(m, "data", "node").(map[string]any)[f]; !ok || v != nil {
				t.Errorf("%s = %v, want null", f, v)
			}
		}
		errs := m["errors"].([]any)
		if len(errs) != 3 {
			t.Fatalf("errors %v", errs)
		}
		for i, f := range []string{"analyses", "assessment", "decision"} {
			if dig(errs, i, "message") != "Access denied to this field." || dig(errs, i, "extensions", "category") != "user" ||
				dig(errs, i, "path", 1) != f || dig(errs, i, "path", 0) != "node" {
				t.Errorf("error %d: %v", i, errs[i])
			}
		}
	})
	t.Run("token", func(t *testing.T) {
		m := post(t, url, q, map[string]any{"id": pid}, map[string]string{"Authorization": "Bearer s3cret"}).json(t)
		if m["errors"] != nil {
			t.Fatalf("errors %v", m["errors"])
		}
		if c, ok := dig(m, "data", "node", "assessment", "estimatedCost").(float64); !ok || c <= 0 {
			t.Fatalf("estimatedCost %v", m)
		}
		if dig(m, "data", "node", "analyses", 0, "estimatedCost") == nil {
			t.Fatalf("analyses %v", m)
		}
	})
}

func TestIDFormats(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 3})
	url := ts.URL + "/gironde/graphql"
	in := s.World().ByName["gironde"]
	q := `{ projects(first: 100) { edges { node { id themes { id } steps { __typename id } districts { edges { node { id } } } } } }
	        globalDistricts { edges { node { id } } } users(first: 3) { edges { node { id } } } }`
	m := post(t, url, q, nil, nil).json(t)
	decode := func(id string) (string, string) {
		b, err := base64.StdEncoding.DecodeString(id)
		if err != nil {
			return "", ""
		}
		typ, raw, _ := strings.Cut(string(b), ":")
		return typ, raw
	}
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	check := func(id, wantType string) {
		t.Helper()
		typ, raw := decode(id)
		if typ != wantType || !uuidRe.MatchString(raw) {
			t.Errorf("id %s decodes to %q:%q, want %s:<uuid>", id, typ, raw, wantType)
		}
	}
	unknown := 0
	for _, e := range dig(m, "data", "projects", "edges").([]any) {
		check(dig(e, "node", "id").(string), "Project")
		for _, s := range dig(e, "node", "steps").([]any) {
			typ, id := dig(s, "__typename").(string), dig(s, "id").(string)
			switch typ {
			case "PresentationStep", "OtherStep", "RankingStep":
				unknown++
				if !regexp.MustCompile(`^[a-z]+step\d+$`).MatchString(id) {
					t.Errorf("%s id %q is not raw", typ, id)
				}
			default:
				check(id, typ)
			}
		}
		for _, th := range dig(e, "node", "themes").([]any) {
			if !uuidRe.MatchString(dig(th, "id").(string)) {
				t.Errorf("theme id %v not raw", th)
			}
		}
		for _, d := range dig(e, "node", "districts", "edges").([]any) {
			check(dig(d, "node", "id").(string), "District")
		}
	}
	if unknown == 0 {
		t.Error("no step of a type outside the SDL")
	}
	for _, d := range dig(m, "data", "globalDistricts", "edges").([]any) {
		check(dig(d, "node", "id").(string), "District")
	}
	for _, d := range dig(m, "data", "users", "edges").([]any) {
		check(dig(d, "node", "id").(string), "User")
	}
	// questions, votes and statuses
	var prop *Proposal
	for _, p := range in.Proposals {
		if p.Visible() && len(p.Votes) > 0 && len(p.Selections) > 0 {
			prop = p
			break
		}
	}
	m = post(t, url, `query($id: ID!, $q: ID!) { node(id: $id) { ... on Proposal { votes(first: 1) { edges { node { id } } }
		selections { status { id } } responses { question { id } } } } q: node(id: $q) { id } }`,
		map[string]any{"id": prop.ID, "q": in.Quests[0].ID}, nil).json(t)
	if v := dig(m, "data", "node", "votes", "edges", 0, "node", "id").(string); !regexp.MustCompile(`^\d+$`).MatchString(v) {
		t.Errorf("vote id %q not numeric", v)
	}
	if v := dig(m, "data", "node", "selections", 0, "status", "id").(string); !uuidRe.MatchString(v) {
		t.Errorf("status id %q not raw", v)
	}
	if typ, raw := decode(dig(m, "data", "node", "responses", 0, "question", "id").(string)); typ != "Question" || !regexp.MustCompile(`^\d+$`).MatchString(raw) {
		t.Errorf("question id %s:%s", typ, raw)
	}
	check(dig(m, "data", "q", "id").(string), "Questionnaire")
	// node/nodes with unknown and malformed ids: null, no error
	m = post(t, url, `query($ids: [ID!]!) { a: node(id: "UHJvamVjdDpub3BlCg==") { id } b: node(id: "%%%") { id } c: node(id: "pstep1") { id __typename } nodes(ids: $ids) { id } }`,
		map[string]any{"ids": []string{in.Projects[0].ID, "bad", in.Projects[0].UUID}}, nil).json(t)
	if m["errors"] != nil || dig(m, "data", "a") != nil || dig(m, "data", "b") != nil {
		t.Fatalf("unknown ids: %v", m)
	}
	if dig(m, "data", "c", "__typename") != "PresentationStep" {
		t.Errorf("raw step id lookup: %v", dig(m, "data", "c"))
	}
	nodes := dig(m, "data", "nodes").([]any)
	if len(nodes) != 3 || dig(nodes, 0, "id") != in.Projects[0].ID || nodes[1] != nil || dig(nodes, 2, "id") != in.Projects[0].ID {
		t.Fatalf("nodes %v", nodes)
	}
}

func TestDates(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1})
	m := post(t, ts.URL+"/gironde/graphql", `{ users(first: 50) { edges { node { createdAt updatedAt deletedAccountAt } } } }`, nil, nil).json(t)
	re := regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	nulls := 0
	for _, e := range dig(m, "data", "users", "edges").([]any) {
		if !re.MatchString(dig(e, "node", "createdAt").(string)) {
			t.Errorf("createdAt %v", dig(e, "node", "createdAt"))
		}
		if v := dig(e, "node", "updatedAt"); v == nil {
			nulls++
		} else if !re.MatchString(v.(string)) {
			t.Errorf("updatedAt %v", v)
		}
	}
	if nulls == 0 {
		t.Error("no null updatedAt")
	}
	// publishedAt of a project is Paris wall time (10:00 local)
	m = post(t, ts.URL+"/gironde/graphql", `{ projects(first: 1, orderBy: {field: PUBLISHED_AT, direction: ASC}) { edges { node { publishedAt } } } }`, nil, nil).json(t)
	if got := dig(m, "data", "projects", "edges", 0, "node", "publishedAt"); got != "2024-01-10 10:00:00" {
		t.Errorf("publishedAt %v", got)
	}
}

func TestVariableErrors(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 1})
	url := ts.URL + "/gironde/graphql"
	for _, tt := range []struct {
		name string
		vars map[string]any
		want string
	}{
		{"missing", map[string]any{}, `Variable "$id" of required type "ID!" was not provided.`},
		{"null", map[string]any{"id": nil}, `Variable "$id" of non-null type "ID!" must not be null.`},
		{"wrong type", map[string]any{"id": "x", "n": "abc"}, `Variable "$n" got invalid value "abc"; …`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := post(t, url, `query($id: ID!, $n: Int) { node(id: $id) { id } projects(first: $n) { totalCount } }`, tt.vars, nil).json(t)
			msg, _ := dig(m, "errors", 0, "message").(string)
			if p, ok := strings.CutSuffix(tt.want, "…"); ok && !strings.HasPrefix(msg, p) || !ok && msg != tt.want {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
			if _, ok := m["data"]; ok || dig(m, "errors", 0, "extensions", "category") != "graphql" || dig(m, "errors", 0, "locations", 0, "line") == nil {
				t.Errorf("shape %v", m)
			}
		})
	}
}

func TestListenAndServe(t *testing.T) {
	s, err := New(Options{Seed: 1, Instances: []string{"tarn"}, Latency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, "127.0.0.1:0") }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Instances: []string{"a/b"}}); err == nil {
		t.Error("bad instance name accepted")
	}
	if _, err := New(Options{FailRate: 2}); err == nil {
		t.Error("fail rate 2 accepted")
	}
}
