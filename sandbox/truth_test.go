package sandbox

import (
	"fmt"
	"testing"
)

// crawler walks the sandbox over HTTP like an anonymous ingester following
// API.md §10, and counts what it would store per raw table.
type crawler struct {
	t      *testing.T
	url    string
	counts Counts
	seen   map[string]map[string]bool
	page   int
}

func (c *crawler) add(entity, id string) {
	if c.seen[entity] == nil {
		c.seen[entity] = map[string]bool{}
	}
	if !c.seen[entity][id] {
		c.seen[entity][id] = true
		c.counts[entity]++
	}
}

// paginate runs query with $after until hasNextPage is false and calls fn on
// each non-null node; conn is the path to the connection in data.
func (c *crawler) paginate(query string, vars map[string]any, conn []any, fn func(node map[string]any)) {
	c.t.Helper()
	var after any
	for pages := 0; ; pages++ {
		if pages > 10000 {
			c.t.Fatalf("pagination loop on %s", query)
		}
		v := map[string]any{"after": after, "first": c.page}
		for k, x := range vars {
			v[k] = x
		}
		r := post(c.t, c.url, query, v, nil)
		if r.status != 200 {
			c.t.Fatalf("status %d: %s", r.status, r.body)
		}
		m := r.json(c.t)
		cn, _ := dig(m["data"], conn...).(map[string]any)
		if cn == nil {
			c.t.Fatalf("no connection at %v: %s", conn, r.body)
		}
		for _, e := range cn["edges"].([]any) {
			if e == nil {
				continue
			}
			fn(e.(map[string]any)["node"].(map[string]any))
		}
		pi := cn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			return
		}
		after = pi["endCursor"]
	}
}

func (c *crawler) crawl() Counts {
	type stepRef struct{ id, typ string }
	var steps []stepRef
	var projects []string
	c.paginate(`query($after: String, $first: Int) { projects(first: $first, after: $after, orderBy: {field: PUBLISHED_AT, direction: ASC}) {
		pageInfo { hasNextPage endCursor } edges { node { id steps { __typename id ... on QuestionnaireStep { questionnaire { id } } } } } } }`,
		nil, []any{"projects"}, func(n map[string]any) {
			c.add("projects", n["id"].(string))
			projects = append(projects, n["id"].(string))
			for _, s := range n["steps"].([]any) {
				s := s.(map[string]any)
				c.add("steps", s["id"].(string))
				steps = append(steps, stepRef{s["id"].(string), s["__typename"].(string)})
				if q, ok := s["questionnaire"].(map[string]any); ok {
					c.crawlQuestionnaire(q["id"].(string))
				}
			}
		})
	var proposals []string
	for _, s := range steps {
		if s.typ != "CollectStep" && s.typ != "SelectionStep" {
			continue
		}
		kind := "collect"
		statuses := []string{"NOT_TRASHED"}
		if s.typ == "CollectStep" {
			statuses = append(statuses, "TRASHED")
		} else {
			kind = "selection"
		}
		for _, ts := range statuses {
			c.paginate(fmt.Sprintf(`query($id: ID!, $after: String, $first: Int, $ts: ProposalTrashedStatus) { node(id: $id) { ... on %s {
				proposals(first: $first, after: $after, trashedStatus: $ts, orderBy: [{field: CREATED_AT, direction: ASC}]) {
				pageInfo { hasNextPage endCursor } edges { node { id votes(first: 0) { totalCount } } } } } } }`, s.typ),
				map[string]any{"id": s.id, "ts": ts}, []any{"node", "proposals"}, func(n map[string]any) {
					id := n["id"].(string)
					if !c.seen["proposals"][id] && dig(n, "votes", "totalCount").(float64) > 0 {
						proposals = append(proposals, id)
					}
					c.add("proposals", id)
					c.add("proposal_steps", id+"@"+s.id+"/"+kind)
				})
		}
	}
	for _, id := range proposals {
		c.paginate(`query($id: ID!, $after: String, $first: Int) { node(id: $id) { ... on Proposal {
			votes(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id createdAt } } } } } }`,
			map[string]any{"id": id}, []any{"node", "votes"}, func(n map[string]any) { c.add("proposal_votes", n["id"].(string)) })
	}
	for _, p := range projects {
		c.paginate(`query($id: ID!, $after: String, $first: Int) { node(id: $id) { ... on Project {
			contributions(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { __typename id } } } } } }`,
			map[string]any{"id": p}, []any{"node", "contributions"}, func(n map[string]any) {
				switch n["__typename"] {
				case "Opinion", "Version", "Argument", "Source":
					c.add("contributions", n["id"].(string))
				}
			})
		c.paginate(`query($p: ID, $after: String, $first: Int) { events(project: $p, first: $first, after: $after) {
			pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
			map[string]any{"p": p}, []any{"events"}, func(n map[string]any) { c.add("event_projects", n["id"].(string)+"@"+p) })
	}
	c.paginate(`query($after: String, $first: Int) { events(first: $first, after: $after, orderBy: {field: START_AT, direction: ASC}) {
		pageInfo { hasNextPage endCursor } edges { node { id } } } }`, nil, []any{"events"}, func(n map[string]any) { c.add("events", n["id"].(string)) })
	c.paginate(`query($after: String, $first: Int) { users(first: $first, after: $after) {
		pageInfo { hasNextPage endCursor } edges { node { id } } } }`, nil, []any{"users"}, func(n map[string]any) { c.add("users", n["id"].(string)) })
	c.paginate(`query($after: String, $first: Int) { globalDistricts(first: $first, after: $after) {
		pageInfo { hasNextPage endCursor } edges { node { id } } } }`, nil, []any{"globalDistricts"}, func(n map[string]any) { c.add("districts", n["id"].(string)) })
	return c.counts
}

func (c *crawler) crawlQuestionnaire(id string) {
	r := post(c.t, c.url, `query($id: ID!) { node(id: $id) { ... on Questionnaire { questions { __typename id title } } } }`, map[string]any{"id": id}, nil)
	for _, q := range dig(r.json(c.t), "data", "node", "questions").([]any) {
		c.add("questions", q.(map[string]any)["id"].(string))
	}
	c.paginate(`query($id: ID!, $after: String, $first: Int) { node(id: $id) { ... on Questionnaire {
		replies(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } } } }`,
		map[string]any{"id": id}, []any{"node", "replies"}, func(n map[string]any) { c.add("replies", n["id"].(string)) })
}

// TestGroundTruthMatchesHTTPCrawl crawls every tiny instance over HTTP with
// small pages and compares the counts with GroundTruth.
func TestGroundTruthMatchesHTTPCrawl(t *testing.T) {
	const seed = 42
	truth := GroundTruth(seed, Tiny)
	s, ts := testServer(t, Options{Seed: seed, Scale: Tiny, Instances: DefaultInstances})
	if len(truth) != len(s.World().Instances) {
		t.Fatalf("truth has %d instances, world %d", len(truth), len(s.World().Instances))
	}
	for _, name := range DefaultInstances {
		t.Run(name, func(t *testing.T) {
			c := &crawler{t: t, url: ts.URL + "/" + name + "/graphql", counts: Counts{}, seen: map[string]map[string]bool{}, page: 3}
			got := c.crawl()
			want := truth[name]
			for _, e := range Entities {
				if got[e] != want[e] {
					t.Errorf("%s: crawl found %d, ground truth %d", e, got[e], want[e])
				}
				if want[e] == 0 && e != "event_projects" {
					t.Errorf("%s: ground truth is 0, the world lacks that entity", e)
				}
			}
		})
	}
}
