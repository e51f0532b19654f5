package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Khan/genqlient/graphql"
	"github.com/capstat/capstat/ingest/capco"
	"github.com/capstat/capstat/ingest/rawstore"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// stepRowID is the raw.steps id of a step of a project: the step id itself
// when it is a global id, else "<project id>/<raw id>" (raw step ids such as
// "pstep1" of steps outside the SDL repeat across projects, API.md §4).
func stepRowID(project, step string) string {
	if isGlobalID(step) {
		return step
	}
	return project + "/" + step
}

// isGlobalID reports whether id is a Cap Collectif global id: standard
// base64 of "<Type>:<key>" (API.md §4).
func isGlobalID(id string) bool {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil || !utf8.Valid(b) {
		return false
	}
	typ, key, ok := strings.Cut(string(b), ":")
	if !ok || typ == "" || key == "" {
		return false
	}
	for i, r := range typ {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// isGeneric reports whether a decoded value is a generic record of a type no
// schema declares (the CapstatUnknown* fallback types, see decodeData).
func isGeneric(v any) bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && (strings.HasSuffix(t.Name(), fallbackType) || strings.HasSuffix(t.Name(), fallbackResponseType))
}

// nodeTypename names the concrete type of a node() answer.
func nodeTypename(t *string) string {
	if t == nil {
		return "?"
	}
	return *t
}

func (c *crawler) projects(ctx context.Context, key string, cl *client) error {
	return c.paginate(ctx, key, "projects", "", func(ctx context.Context, first int, after *string) (page, error) {
		resp, err := capco.Projects(ctx, cl, first, after)
		if resp == nil || err != nil && !isPartial(err) {
			return page{}, err
		}
		conn := resp.Projects
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		for i, e := range conn.Edges {
			if e == nil || e.Node.Id == "" { // null edge, or null node decoded as a zero struct
				p.nulled++
				continue
			}
			n := &e.Node
			if d := n.Districts; d != nil && d.TotalCount > len(d.Edges) {
				// Project.districts is read in one page of 100 (API.md §10):
				// say so when a project links more.
				p.notes = append(p.notes, &gqlerror.Error{
					Path:    ast.Path{ast.PathName("projects"), ast.PathName("edges"), ast.PathIndex(i), ast.PathName("node"), ast.PathName("districts")},
					Message: fmt.Sprintf("%sproject links %d districts, only the first %d were read", NotePrefix, d.TotalCount, len(d.Edges)),
				})
			}
			r, rerr := c.row(rawstore.Projects, n.Id, &n.ProjectFields)
			if rerr != nil {
				return page{}, rerr
			}
			p.rows = append(p.rows, r)
			for i, st := range n.Steps {
				if st == nil {
					continue
				}
				r, rerr := c.row(rawstore.Steps, stepRowID(n.Id, st.GetId()), st, n.Id, int32(i))
				if rerr != nil {
					return page{}, rerr
				}
				p.rows = append(p.rows, r)
			}
		}
		return p, err
	})
}

func (c *crawler) users(ctx context.Context, key string) error {
	return c.paginate(ctx, key, "users", "", c.usersPage)
}

// usersPage reads one page of Query.users (CREATED_AT DESC, API.md §4).
func (c *crawler) usersPage(ctx context.Context, first int, after *string) (page, error) {
	resp, err := capco.Users(ctx, c.gql, first, after)
	if resp == nil || err != nil && !isPartial(err) {
		return page{}, err
	}
	conn := resp.Users
	p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
	if rerr := edgeRows(c, &p, rawstore.Users, conn.Edges, func(e *capco.UserEdge) (string, any) { return e.Node.Id, &e.Node }); rerr != nil {
		return page{}, rerr
	}
	return p, err
}

func (c *crawler) events(ctx context.Context, key string) error {
	return c.paginate(ctx, key, "events", "", func(ctx context.Context, first int, after *string) (page, error) {
		resp, err := capco.Events(ctx, c.gql, first, after)
		if resp == nil || err != nil && !isPartial(err) {
			return page{}, err
		}
		conn := resp.Events
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		if rerr := edgeRows(c, &p, rawstore.Events, conn.Edges, func(e *capco.EventEdge) (string, any) { return e.Node.Id, &e.Node }); rerr != nil {
			return page{}, rerr
		}
		return p, err
	})
}

func (c *crawler) districts(ctx context.Context, key string) error {
	return c.paginate(ctx, key, "districts", "", func(ctx context.Context, first int, after *string) (page, error) {
		resp, err := capco.Districts(ctx, c.gql, first, after)
		if resp == nil || err != nil && !isPartial(err) {
			return page{}, err
		}
		conn := resp.GlobalDistricts
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		if rerr := edgeRows(c, &p, rawstore.Districts, conn.Edges, func(e *capco.DistrictEdge) (string, any) {
			if e.Node == nil {
				return "", nil
			}
			return e.Node.Id, e.Node
		}); rerr != nil {
			return page{}, rerr
		}
		return p, err
	})
}

func (c *crawler) projectEvents(ctx context.Context, key, project string) error {
	return c.paginate(ctx, key, "event_projects", project, func(ctx context.Context, first int, after *string) (page, error) {
		resp, err := capco.ProjectEvents(ctx, c.gql, project, first, after)
		if resp == nil || err != nil && !isPartial(err) {
			return page{}, err
		}
		conn := resp.Events
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		for _, e := range conn.Edges {
			if e == nil || e.Node.Id == "" { // null edge, or null node decoded as a zero struct
				p.nulled++
				continue
			}
			p.rows = append(p.rows, rawstore.Row{Table: rawstore.EventProjects, Source: c.src.Name, Run: c.run,
				ID: e.Node.Id + "@" + project, Context: []any{e.Node.Id, project}, Payload: []byte("{}")})
		}
		return p, err
	})
}

// contributions stores the Opinion, Version, Argument and Source entries of
// Project.contributions; null edges and other types are counted, not stored.
func (c *crawler) contributions(ctx context.Context, key, project string) error {
	return c.paginate(ctx, key, "contributions", project, func(ctx context.Context, first int, after *string) (page, error) {
		req := &graphql.Request{OpName: "ProjectContributions", Query: capco.ProjectContributions_Operation,
			Variables: map[string]any{"project": project, "first": first, "after": after}}
		body, err := c.gql.post(ctx, req)
		if err != nil {
			return page{}, err
		}
		if p, perr, ok := c.contributionPageFast(body, project); ok {
			return p, perr
		}
		resp := &capco.ProjectContributionsResponse{}
		err = decode(req, body, &graphql.Response{Data: resp})
		if err != nil && !isPartial(err) {
			return page{}, err
		}
		pn, ok, err := asNode[*capco.ProjectContributionsNodeProject](resp.Node, err, project, "Project")
		if !ok {
			return page{}, err // failed request, invisible project or unknown node type
		}
		conn := pn.Contributions
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		for _, e := range conn.Edges {
			if e == nil || e.Node == nil {
				continue
			}
			switch n := e.Node.(type) {
			case *capco.ContributionNodeOpinion, *capco.ContributionNodeVersion, *capco.ContributionNodeArgument, *capco.ContributionNodeSource:
				r, rerr := c.row(rawstore.Contributions, e.Node.GetId(), n, project)
				if rerr != nil {
					return page{}, rerr
				}
				p.rows = append(p.rows, r)
			}
		}
		return p, err
	})
}

// storedContributions are the Project.contributions types capstat stores;
// skippedContributions those it knows and leaves (read elsewhere or out of
// scope, API.md §9.3).
var (
	storedContributions  = map[string]bool{"Opinion": true, "Version": true, "Argument": true, "Source": true}
	skippedContributions = map[string]bool{"Proposal": true, "Reply": true, "DebateArgument": true, "DebateAnonymousArgument": true}
)

// contributionPageFast is the hot path of a contributions page: an answer
// with a Project node, only known types, and no errors but those that null
// edges (the Proposal entries, API.md §9.3: returned as a *PartialError,
// as the generated types would) is decoded once, each stored node kept as
// delivered. Anything else reports false and is decoded by the generated
// types (notes, other errors, nulled nodes).
func (c *crawler) contributionPageFast(body []byte, project string) (page, error, bool) {
	var env struct {
		Data *struct {
			Node *struct {
				Typename      string `json:"__typename"`
				Contributions struct {
					TotalCount int `json:"totalCount"`
					PageInfo   struct {
						HasNextPage bool    `json:"hasNextPage"`
						EndCursor   *string `json:"endCursor"`
					} `json:"pageInfo"`
					Edges []*struct {
						Node *rawContribution `json:"node"`
					} `json:"edges"`
				} `json:"contributions"`
			} `json:"node"`
		} `json:"data"`
		Errors gqlerror.List `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Data == nil || env.Data.Node == nil || env.Data.Node.Typename != "Project" {
		return page{}, nil, false
	}
	conn := env.Data.Node.Contributions
	for _, e := range env.Errors {
		// Only errors that nulled an edge's node: path node.contributions.edges[i].node.
		if len(e.Path) != 5 || e.Path[0] != ast.PathName("node") || e.Path[1] != ast.PathName("contributions") || e.Path[2] != ast.PathName("edges") || e.Path[4] != ast.PathName("node") {
			return page{}, nil, false
		}
		i, ok := e.Path[3].(ast.PathIndex)
		if !ok || int(i) >= len(conn.Edges) || conn.Edges[i] != nil && conn.Edges[i].Node != nil {
			return page{}, nil, false
		}
	}
	p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
	for _, e := range conn.Edges {
		if e == nil || e.Node == nil {
			continue
		}
		switch n := e.Node; {
		case storedContributions[n.Typename]:
			p.rows = append(p.rows, rawstore.Row{Table: rawstore.Contributions, Source: c.src.Name, Run: c.run, ID: n.ID, Context: []any{project}, Payload: n.raw})
		case !skippedContributions[n.Typename]:
			return page{}, nil, false // a type to note: the generated decoder does
		}
	}
	if len(env.Errors) > 0 {
		return p, &PartialError{Errors: env.Errors}, true
	}
	return p, nil, true
}

// rawContribution is a Project.contributions node: its JSON as delivered
// and its type and id, its DateTime fields checked once.
type rawContribution struct {
	raw      []byte
	Typename string
	ID       string
}

func (n *rawContribution) UnmarshalJSON(b []byte) error {
	var f struct {
		Typename    string          `json:"__typename"`
		ID          string          `json:"id"`
		CreatedAt   *capco.DateTime `json:"createdAt"`
		UpdatedAt   *capco.DateTime `json:"updatedAt"`
		PublishedAt *capco.DateTime `json:"publishedAt"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	n.raw, n.Typename, n.ID = bytes.Clone(b), f.Typename, f.ID
	return nil
}

// proposals lists the proposals of a collect or selection step (with the
// token-only cost fields when the source has a token).
func (c *crawler) proposals(ctx context.Context, key string, s stepRef, trashed capco.ProposalTrashedStatus) error {
	kind := "collect"
	if s.typename == "SelectionStep" {
		kind = "selection"
	}
	return c.paginate(ctx, key, "proposals", s.id+"/"+string(trashed), func(ctx context.Context, first int, after *string) (page, error) {
		items, p, err := c.proposalPage(ctx, s, kind, trashed, first, after)
		if err != nil && !isPartial(err) {
			return page{}, err
		}
		var collect any
		if kind == "collect" {
			collect = s.id
		}
		for _, it := range items {
			f := it.fields
			c.observe(f.CreatedAt)
			r, rerr := c.row(rawstore.Proposals, f.Id, it.node, s.project, collect, nil)
			if rerr != nil {
				return page{}, rerr
			}
			p.rows = append(p.rows, r)
			var link any = struct{}{}
			if kind == "selection" {
				for _, sel := range f.Selections {
					if sel.Step.Id == s.apiID {
						link = map[string]any{"status": sel.Status}
						break
					}
				}
			}
			r, rerr = c.row(rawstore.ProposalSteps, f.Id+"@"+s.id, link, f.Id, s.id, kind)
			if rerr != nil {
				return page{}, rerr
			}
			p.rows = append(p.rows, r)
		}
		return p, err
	})
}

type proposalItem struct {
	fields *capco.ProposalFields
	node   any // what is stored as payload
}

// proposalPage runs the right listing operation and returns its non-null
// items and the page metadata (rows not yet filled).
func (c *crawler) proposalPage(ctx context.Context, s stepRef, kind string, trashed capco.ProposalTrashedStatus, first int, after *string) ([]proposalItem, page, error) {
	if c.src.Token == "" || c.noCosts.Load() {
		var conn *capco.ProposalPage
		var err error
		if kind == "collect" {
			resp, e := capco.CollectStepProposals(ctx, c.gql, s.apiID, first, after, trashed)
			if resp == nil {
				return nil, page{}, e
			}
			n, ok, err2 := asNode[*capco.CollectStepProposalsNodeCollectStep](resp.Node, e, s.apiID, s.typename)
			if !ok {
				return nil, page{}, err2
			}
			conn, err = &n.Proposals.ProposalPage, err2
		} else {
			resp, e := capco.SelectionStepProposals(ctx, c.gql, s.apiID, first, after, trashed)
			if resp == nil {
				return nil, page{}, e
			}
			n, ok, err2 := asNode[*capco.SelectionStepProposalsNodeSelectionStep](resp.Node, e, s.apiID, s.typename)
			if !ok {
				return nil, page{}, err2
			}
			conn, err = &n.Proposals.ProposalPage, err2
		}
		var items []proposalItem
		for _, e := range conn.Edges {
			if e != nil && e.Node.Id != "" {
				items = append(items, proposalItem{&e.Node.ProposalFields, &e.Node})
			}
		}
		return items, page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges)), nulled: len(conn.Edges) - len(items)}, err
	}
	var conn *capco.ProposalPageWithCosts
	var err error
	if kind == "collect" {
		resp, e := capco.CollectStepProposalsWithCosts(ctx, c.gql, s.apiID, first, after, trashed)
		if resp == nil {
			return nil, page{}, e
		}
		n, ok, err2 := asNode[*capco.CollectStepProposalsWithCostsNodeCollectStep](resp.Node, e, s.apiID, s.typename)
		if !ok {
			return nil, page{}, err2
		}
		conn, err = &n.Proposals.ProposalPageWithCosts, err2
	} else {
		resp, e := capco.SelectionStepProposalsWithCosts(ctx, c.gql, s.apiID, first, after, trashed)
		if resp == nil {
			return nil, page{}, e
		}
		n, ok, err2 := asNode[*capco.SelectionStepProposalsWithCostsNodeSelectionStep](resp.Node, e, s.apiID, s.typename)
		if !ok {
			return nil, page{}, err2
		}
		conn, err = &n.Proposals.ProposalPageWithCosts, err2
	}
	var items []proposalItem
	for _, e := range conn.Edges {
		if e != nil && e.Node.Id != "" {
			items = append(items, proposalItem{&e.Node.ProposalFields, &e.Node})
		}
	}
	p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges)), nulled: len(conn.Edges) - len(items)}
	if costsDenied(err) && c.noCosts.CompareAndSwap(false, true) {
		// Written at once, not with the page: the page may be retried.
		c.log.Warn("the token may not read proposal costs: proposals are read without them", "source", c.src.Name)
		note := rawstore.ErrorRow{Run: c.run, Source: c.src.Name, At: time.Now(), Operation: "proposals",
			Message: NotePrefix + "the token may not read proposal costs (analyses, assessment and decision need ProposalAnalysisRelatedVoter::VIEW, API.md §6): proposals are read without them from now on"}
		if werr := c.w.put(ctx, &rawstore.Batch{Errors: []rawstore.ErrorRow{note}}, nil); werr != nil {
			return nil, page{}, werr
		}
	}
	return items, p, err
}

// costsDenied tells whether err holds a refusal of the token-only cost
// fields (a "user" error on analyses, assessment or decision).
func costsDenied(err error) bool {
	var pe *PartialError
	if !errors.As(err, &pe) {
		return false
	}
	for _, e := range pe.Errors {
		if e.Extensions["category"] != "user" {
			continue
		}
		for _, el := range e.Path {
			if name, ok := el.(ast.PathName); ok && (name == "analyses" || name == "assessment" || name == "decision") {
				return true
			}
		}
	}
	return false
}

// typenamed is what every generated node() answer implements.
type typenamed interface{ GetTypename() *string }

// asNode unwraps a node(id) answer as T. ok is false when there is nothing
// to read: a failed request (err), no node (invisible or unknown id), or a
// node of a type the decoder did not know (already noted); a node of another
// known type is an error, and so is no node with errors (a NulledError: an
// error nulled the node, API.md §8). A partial error is passed through with
// ok true.
func asNode[T typenamed, I typenamed](node *I, err error, id, want string) (n T, ok bool, _ error) {
	if err != nil && !isPartial(err) {
		return n, false, err
	}
	if node == nil {
		return n, false, nulled(err, "node "+id)
	}
	v := typenamed(*node)
	if v == nil {
		return n, false, err
	}
	if n, ok = v.(T); ok {
		return n, true, err
	}
	if isGeneric(v) {
		return n, false, err
	}
	return n, false, fmt.Errorf("node %s is a %s, not a %s", id, nodeTypename(v.GetTypename()), want)
}

// edgeRows appends to p a row of table for each non-null node of edges;
// node gives its id ("" for a null node decoded as a zero struct) and payload.
func edgeRows[E any](c *crawler, p *page, table string, edges []*E, node func(*E) (string, any), ctx ...any) error {
	for _, e := range edges {
		if e == nil {
			p.nulled++
			continue
		}
		id, payload := node(e)
		if id == "" {
			p.nulled++
			continue
		}
		r, err := c.row(table, id, payload, ctx...)
		if err != nil {
			return err
		}
		p.rows = append(p.rows, r)
	}
	return nil
}

func (c *crawler) votes(ctx context.Context, key, proposal string) error {
	return c.paginate(ctx, key, "proposal_votes", proposal, func(ctx context.Context, first int, after *string) (page, error) {
		return c.votePage(ctx, "ProposalVotes", capco.ProposalVotes_Operation, proposal, first, after)
	})
}

// votePage reads one page of a proposal's votes (operation ProposalVotes
// or ProposalVotesNewest, whose answers have the same shape) on the hot
// path: each vote node is decoded once, into the few fields capstat reads
// (id, createdAt), its JSON kept as delivered for the payload — no typed
// decoding of the whole node, no re-encoding. The generated types stay the
// contract (the operation text, validated against the schema).
func (c *crawler) votePage(ctx context.Context, op, query, proposal string, first int, after *string) (page, error) {
	var data votePageData
	err := c.gql.MakeRequest(ctx, &graphql.Request{OpName: op, Query: query,
		Variables: map[string]any{"proposal": proposal, "first": first, "after": after}}, &graphql.Response{Data: &data})
	if err != nil && !isPartial(err) {
		return page{}, err
	}
	n := data.Node
	if n == nil {
		return page{}, nulled(err, "node "+proposal)
	}
	if n.Typename != "Proposal" {
		return page{}, fmt.Errorf("node %s is a %s, not a Proposal", proposal, n.Typename)
	}
	return c.votePageOf(&n.Votes, proposal), err
}

// votePageOf is the page of a proposal's decoded vote connection.
func (c *crawler) votePageOf(conn *voteConn, proposal string) page {
	p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
	p.rows = make([]rawstore.Row, 0, len(conn.Edges))
	for _, e := range conn.Edges {
		if e == nil || e.Node == nil || e.Node.ID == "" {
			p.nulled++
			continue
		}
		c.observe(e.Node.CreatedAt)
		p.rows = append(p.rows, rawstore.Row{Table: rawstore.ProposalVotes, Source: c.src.Name, Run: c.run, ID: e.Node.ID, Context: []any{proposal}, Payload: e.Node.raw})
	}
	return p
}

// votePageData is the answer of ProposalVotes and ProposalVotesNewest, and
// voteHeadsData that of ProposalVoteHeads, as the hot path decodes them
// (fragment VotePage).
type (
	votePageData struct {
		Node *struct {
			Typename string   `json:"__typename"`
			Votes    voteConn `json:"votes"`
		} `json:"node"`
	}
	voteHeadsData struct {
		Nodes []*struct {
			Typename string   `json:"__typename"`
			ID       string   `json:"id"`
			Votes    voteConn `json:"votes"`
		} `json:"nodes"`
	}
	voteConn struct {
		TotalCount int `json:"totalCount"`
		PageInfo   struct {
			HasNextPage bool    `json:"hasNextPage"`
			EndCursor   *string `json:"endCursor"`
		} `json:"pageInfo"`
		Edges []*struct {
			Node *rawVote `json:"node"`
		} `json:"edges"`
	}
)

// rawVote is a ProposalVote node: its JSON as delivered, and the fields
// capstat reads, decoded (and their DateTime layout checked) once.
type rawVote struct {
	raw       []byte
	ID        string
	CreatedAt capco.DateTime
}

func (v *rawVote) UnmarshalJSON(b []byte) error {
	var f struct {
		ID          string          `json:"id"`
		CreatedAt   capco.DateTime  `json:"createdAt"`
		PublishedAt *capco.DateTime `json:"publishedAt"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	v.raw, v.ID, v.CreatedAt = bytes.Clone(b), f.ID, f.CreatedAt
	return nil
}

func (c *crawler) questions(ctx context.Context, key, questionnaire string) error {
	return c.single(ctx, key, "questions", func(ctx context.Context) (*rawstore.Batch, int64, error) {
		resp, err := capco.QuestionnaireQuestions(ctx, c.gql, questionnaire)
		if resp == nil || err != nil && !isPartial(err) {
			return nil, 0, err
		}
		b := &rawstore.Batch{}
		qn, ok, err := asNode[*capco.QuestionnaireQuestionsNodeQuestionnaire](resp.Node, err, questionnaire, "Questionnaire")
		if !ok {
			return b, 0, err
		}
		for i, q := range qn.Questions {
			if q == nil {
				continue
			}
			if mc, ok := q.(*capco.QuestionNodeMultipleChoiceQuestion); ok && mc.Choices.TotalCount > len(mc.Choices.Edges) {
				// choices are read in one page of 100 (API.md §10.6).
				b.Errors = append(b.Errors, c.partialRows(key, gqlerror.List{{
					Path:    ast.Path{ast.PathName("node"), ast.PathName("questions"), ast.PathIndex(i), ast.PathName("choices")},
					Message: fmt.Sprintf("%squestion %s has %d choices, only the first %d were read", NotePrefix, mc.Id, mc.Choices.TotalCount, len(mc.Choices.Edges)),
				}})...)
			}
			r, rerr := c.row(rawstore.Questions, q.GetId(), q, questionnaire)
			if rerr != nil {
				return nil, 0, rerr
			}
			b.Rows = append(b.Rows, r)
		}
		return b, int64(len(b.Rows)), err
	})
}

func (c *crawler) replies(ctx context.Context, key string, s stepRef) error {
	return c.paginate(ctx, key, "replies", s.questionnaire, func(ctx context.Context, first int, after *string) (page, error) {
		resp, err := capco.QuestionnaireReplies(ctx, c.gql, s.questionnaire, first, after)
		if resp == nil || err != nil && !isPartial(err) {
			return page{}, err
		}
		qn, ok, err := asNode[*capco.QuestionnaireRepliesNodeQuestionnaire](resp.Node, err, s.questionnaire, "Questionnaire")
		if !ok {
			return page{}, err
		}
		conn := qn.Replies
		p := page{total: int64(conn.TotalCount), hasNext: conn.PageInfo.HasNextPage, end: conn.PageInfo.EndCursor, fetched: int64(len(conn.Edges))}
		if rerr := edgeRows(c, &p, rawstore.Replies, conn.Edges, func(e *capco.ReplyEdge) (string, any) {
			if e.Node.Id != "" { // null nodes decode as zero structs
				c.observe(e.Node.CreatedAt)
			}
			return e.Node.Id, &e.Node
		}, s.project, s.id, s.questionnaire, nil); rerr != nil {
			return page{}, rerr
		}
		return p, err
	})
}

// authors resolves the authors of ≤100 proposals or replies with nodes(ids):
// an author that fails nulls only its own item (left unchanged).
func (c *crawler) authors(ctx context.Context, key, table string, ids []string) error {
	return c.single(ctx, key, "authors", func(ctx context.Context) (*rawstore.Batch, int64, error) {
		resp, err := capco.Authors(ctx, c.gql, ids)
		if resp == nil || err != nil && !isPartial(err) {
			return nil, 0, err
		}
		b := &rawstore.Batch{}
		for _, it := range resp.Nodes {
			if it == nil || *it == nil {
				continue
			}
			var id, author string
			switch n := (*it).(type) {
			case *capco.AuthorItemProposal:
				id, author = n.Id, n.Author.Id
			case *capco.AuthorItemReply:
				id, author = n.Id, n.Author.Id
			default:
				continue
			}
			u := rawstore.AuthorUpdate{Table: table, Source: c.src.Name, Run: c.run, ID: id}
			if author != "" {
				u.AuthorID = &author
			}
			b.Authors = append(b.Authors, u)
		}
		return b, int64(len(b.Authors)), err
	})
}

func isPartial(err error) bool {
	var pe *PartialError
	return errors.As(err, &pe)
}
