package sandbox

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func decodeCursor(t *testing.T, c any) string {
	t.Helper()
	s, _ := c.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("cursor %v: %v", c, err)
	}
	return string(b)
}

func TestCursorFormats(t *testing.T) {
	_, ts := testServer(t, Options{Seed: 5})
	url := ts.URL + "/gironde/graphql"
	m := post(t, url, `{ projects(first: 1) { edges { cursor } pageInfo { endCursor hasNextPage } }
		globalDistricts(first: 1) { edges { cursor } }
		events(first: 1) { edges { cursor } }
		users(first: 1) { edges { cursor } } }`, nil, nil).json(t)
	if got := decodeCursor(t, dig(m, "data", "projects", "edges", 0, "cursor")); got != "arrayconnection:0" {
		t.Errorf("projects cursor %q", got)
	}
	if got := decodeCursor(t, dig(m, "data", "globalDistricts", "edges", 0, "cursor")); got != "arrayconnection:0" {
		t.Errorf("districts cursor %q", got)
	}
	keyset := regexp.MustCompile(`^a:2:\{i:0;i:\d{13};i:1;s:36:"[0-9a-f-]{36}";\}$`)
	for _, c := range []string{"events", "users"} {
		if got := decodeCursor(t, dig(m, "data", c, "edges", 0, "cursor")); !keyset.MatchString(got) {
			t.Errorf("%s cursor %q", c, got)
		}
	}
	// an offset cursor fed to a keyset connection is an internal error
	m = post(t, url, `query($a: String) { events(first: 1, after: $a) { totalCount } }`,
		map[string]any{"a": dig(m, "data", "projects", "edges", 0, "cursor")}, nil).json(t)
	if m["data"] != nil || dig(m, "errors", 0, "message") != "Internal server Error" || dig(m, "errors", 0, "extensions", "category") != "internal" ||
		dig(m, "errors", 0, "path", 0) != "events" {
		t.Fatalf("offset cursor on events: %v", m)
	}
	// an unparseable offset cursor restarts at 0
	a := post(t, url, `{ projects(first: 2) { edges { node { id } } } }`, nil, nil).json(t)
	b := post(t, url, `{ projects(first: 2, after: "garbage!") { edges { node { id } } } }`, nil, nil).json(t)
	if dig(a, "data", "projects", "edges", 0, "node", "id") != dig(b, "data", "projects", "edges", 0, "node", "id") || b["errors"] != nil {
		t.Fatalf("garbage cursor did not restart: %v vs %v", a, b)
	}
}

func TestPaginationWalkIsComplete(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 5, Scale: Small, Instances: []string{"tarn"}})
	url := ts.URL + "/tarn/graphql"
	in := s.World().ByName["tarn"]
	var prop *Proposal
	for _, p := range in.Proposals {
		if p.Visible() && (prop == nil || len(p.Votes) > len(prop.Votes)) {
			prop = p
		}
	}
	for _, tt := range []struct {
		name, query string
		vars        map[string]any
		conn        []any
		total       int
		sortKey     string
		asc         bool
	}{
		{"votes DESC", `query($id: ID!, $after: String, $first: Int) { node(id: $id) { ... on Proposal { votes(first: $first, after: $after) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id publishedAt } } } } } }`,
			map[string]any{"id": prop.ID}, []any{"node", "votes"}, len(prop.Votes), "publishedAt", false},
		{"votes ASC", `query($id: ID!, $after: String, $first: Int) { node(id: $id) { ... on Proposal { votes(first: $first, after: $after, orderBy: {field: PUBLISHED_AT, direction: ASC}) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id publishedAt } } } } } }`,
			map[string]any{"id": prop.ID}, []any{"node", "votes"}, len(prop.Votes), "publishedAt", true},
		{"users", `query($after: String, $first: Int) { users(first: $first, after: $after) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt } } } }`,
			nil, []any{"users"}, in.GroundTruth()["users"], "createdAt", false},
		{"events START_AT ASC", `query($after: String, $first: Int) { events(first: $first, after: $after, orderBy: {field: START_AT, direction: ASC}) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id startAt } } } }`,
			nil, []any{"events"}, in.GroundTruth()["events"], "startAt", true},
		{"projects default DESC", `query($after: String, $first: Int) { projects(first: $first, after: $after) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id publishedAt } } } }`,
			nil, []any{"projects"}, in.GroundTruth()["projects"], "publishedAt", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			var after any
			prev := ""
			for pages := 0; pages < 1000; pages++ {
				vars := map[string]any{"after": after, "first": 7}
				for k, v := range tt.vars {
					vars[k] = v
				}
				m := post(t, url, tt.query, vars, nil).json(t)
				c := dig(m["data"], tt.conn...)
				if int(dig(c, "totalCount").(float64)) != tt.total {
					t.Fatalf("totalCount %v, want %d", dig(c, "totalCount"), tt.total)
				}
				for _, e := range dig(c, "edges").([]any) {
					id := dig(e, "node", "id").(string)
					if seen[id] {
						t.Fatalf("duplicate %s", id)
					}
					seen[id] = true
					k := dig(e, "node", tt.sortKey).(string)
					if prev != "" && (tt.asc && k < prev || !tt.asc && k > prev) {
						t.Fatalf("order broken: %s after %s", k, prev)
					}
					prev = k
				}
				if dig(c, "pageInfo", "hasNextPage") != true {
					break
				}
				after = dig(c, "pageInfo", "endCursor")
			}
			if len(seen) != tt.total {
				t.Fatalf("walk found %d, want %d", len(seen), tt.total)
			}
		})
	}
}

func TestFirstArgument(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 5, Scale: Small, Instances: []string{"gironde"}})
	url := ts.URL + "/gironde/graphql"
	in := s.World().ByName["gironde"]
	var big *Project
	for _, p := range in.Projects {
		if big == nil || len(p.Contributions) > len(big.Contributions) {
			big = p
		}
	}
	if len(big.Contributions) <= 100 || in.GroundTruth()["users"] <= 100 {
		t.Fatal("world too small for the clamping test")
	}
	m := post(t, url, `query($p: ID!) { users(first: 500) { totalCount edges { cursor } }
		node(id: $p) { ... on Project { contributions(first: 150) { edges { cursor } } } } }`, map[string]any{"p": big.ID}, nil).json(t)
	if n := len(dig(m, "data", "users", "edges").([]any)); n != 100 {
		t.Errorf("users(first: 500) returned %d edges, want 100 (clamped)", n)
	}
	if n := len(dig(m, "data", "node", "contributions", "edges").([]any)); n != 150 {
		t.Errorf("contributions(first: 150) returned %d edges, want 150 (not clamped)", n)
	}
	// first: 0 returns only totalCount
	m = post(t, url, `{ users(first: 0) { totalCount pageInfo { endCursor } edges { cursor } } }`, nil, nil).json(t)
	if dig(m, "data", "users", "totalCount").(float64) == 0 || len(dig(m, "data", "users", "edges").([]any)) != 0 || dig(m, "data", "users", "pageInfo", "endCursor") != nil {
		t.Errorf("first: 0: %v", m)
	}
	// negative first: the real error, and the non-null connection nulls its parent
	m = post(t, url, `query($p: ID!) { node(id: $p) { id ... on Project { contributions(first: -1) { totalCount } } } }`, map[string]any{"p": big.ID}, nil).json(t)
	if dig(m, "data", "node") != nil || dig(m, "errors", 0, "message") != `Argument "first" must be a non-negative integer` ||
		strings.Join([]string{dig(m, "errors", 0, "path", 0).(string), dig(m, "errors", 0, "path", 1).(string)}, ".") != "node.contributions" {
		t.Errorf("negative first: %v", m)
	}
}
