package sandbox

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

type rootQuery struct{}

// small wrapper objects
type (
	timeRange struct{ start, end *time.Time }
	category  string
	media     string
	projType  string
	analysis  struct{ p *Proposal }
	assess    struct{ p *Proposal }
	decision  struct{ p *Proposal }
	evTrans   struct{ e *Event }
	distTrans struct{ d *District }
	utTrans   struct{ u *UserType }
	position  struct {
		d   *District
		p   *Project
		pos int
	}
)

// typeName returns the GraphQL type of a resolved object.
func typeName(v any) string {
	switch o := v.(type) {
	case *Project:
		return "Project"
	case *Step:
		return o.Typename
	case *Proposal:
		return "Proposal"
	case *User:
		return "User"
	case *Event:
		return "Event"
	case *District:
		return "GlobalDistrict"
	case *Contribution:
		return o.Typename
	case *Reply:
		return "Reply"
	case *Questionnaire:
		return "Questionnaire"
	case *Question:
		return o.Typename
	case *Response:
		return o.Typename
	case *UserType:
		return "UserType"
	case *Theme:
		return "Theme"
	case *Vote:
		return "ProposalVote"
	case *conn:
		return o.typ
	case *edge:
		return o.c.edgeTyp
	case *pageInfo:
		return "PageInfo"
	case category:
		return "ProposalCategory"
	case media:
		return "Media"
	case projType:
		return "ProjectType"
	case timeRange:
		return "TimeRange"
	case *Address:
		return "GoogleMapsAddress"
	case *Selection:
		return "ProposalSelection"
	case *Status:
		return "ProposalStepStatus"
	case analysis:
		return "ProposalAnalysis"
	case assess:
		return "ProposalAssessment"
	case decision:
		return "ProposalDecision"
	case evTrans:
		return "EventTranslation"
	case distTrans:
		return "DistrictTranslation"
	case utTrans:
		return "UserTypeTranslation"
	case position:
		return "ProjectDistrictPositioner"
	case *Choice:
		return "QuestionChoice"
	}
	return introTypeName(v)
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func optStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// visible applies the anonymous access rules to a node.
func (x *executor) visible(rec any) bool {
	if x.authed {
		switch o := rec.(type) {
		case *Proposal:
			return !o.Draft
		case *Reply:
			return !o.Draft
		}
		return true
	}
	switch o := rec.(type) {
	case *Project:
		return o.Public
	case *Step:
		return o.Project.Public
	case *Proposal:
		return o.Visible()
	case *Reply:
		return o.Visible() && o.Project.Public
	case *Contribution:
		return o.Published && o.Project.Public
	case *Questionnaire:
		return o.Step.Project.Public
	case *Event:
		return o.Enabled
	}
	return true
}

func (x *executor) lookup(id string) any {
	rec, ok := x.in.byGlobalID[id]
	if !ok {
		rec, ok = x.in.byRawID[id]
	}
	if !ok || !x.visible(rec) {
		return nil
	}
	return rec
}

func (x *executor) resolve(obj any, cf *cfield) (any, error) {
	switch o := obj.(type) {
	case rootQuery:
		return x.query(cf)
	case *edge:
		switch cf.name {
		case "node":
			return o.c.at(o.i), nil
		case "cursor":
			return o.c.cursor(o.i), nil
		}
	case *conn:
		switch cf.name {
		case "totalCount":
			return o.total, nil
		case "pageInfo":
			return &pageInfo{o}, nil
		case "edges":
			return &edgeList{c: o}, nil
		}
	case *pageInfo:
		switch cf.name {
		case "hasNextPage":
			return o.c.hasNext, nil
		case "hasPreviousPage":
			return false, nil
		case "startCursor":
			if o.c.count == 0 {
				return nil, nil
			}
			return o.c.cursor(o.c.start), nil
		case "endCursor":
			if o.c.count == 0 {
				return nil, nil
			}
			return o.c.cursor(o.c.start + o.c.count - 1), nil
		}
	case *Project:
		return x.project(o, cf)
	case *Step:
		return x.step(o, cf)
	case *Proposal:
		return x.proposal(o, cf)
	case *Vote:
		switch cf.name {
		case "id":
			return strconv.FormatInt(o.ID, 10), nil
		case "published":
			return true, nil
		case "publishedAt":
			return unixTime(o.PublishedAt), nil
		case "createdAt":
			return unixTime(o.CreatedAt), nil
		case "anonymous", "private":
			return o.Anonymous, nil
		}
	case *User:
		return x.user(o, cf)
	case *UserType:
		switch cf.name {
		case "id":
			return o.ID, nil
		case "name":
			return o.Name, nil
		case "translations":
			return sliceList[any]{utTrans{o}}, nil
		}
	case utTrans:
		switch cf.name {
		case "locale":
			return "FR_FR", nil
		case "name":
			return o.u.Name, nil
		case "slug":
			return slugify(o.u.Name), nil
		}
	case *Theme:
		switch cf.name {
		case "id":
			return o.ID, nil
		case "title":
			return o.Title, nil
		case "body":
			return o.Body, nil
		}
	case category:
		if cf.name == "name" {
			return string(o), nil
		}
	case media:
		if cf.name == "url" {
			return string(o), nil
		}
	case projType:
		if cf.name == "title" {
			return string(o), nil
		}
	case timeRange:
		switch cf.name {
		case "startAt":
			return optTime(o.start), nil
		case "endAt":
			return optTime(o.end), nil
		}
	case *Address:
		switch cf.name {
		case "formatted":
			return o.Formatted, nil
		case "lat":
			return o.Lat, nil
		case "lng":
			return o.Lng, nil
		case "json":
			return o.JSON, nil
		case "types":
			return sliceList[string](o.Types), nil
		}
	case *Selection:
		switch cf.name {
		case "step":
			return o.Step, nil
		case "status":
			if o.Status == nil {
				return nil, nil
			}
			return o.Status, nil
		}
	case *Status:
		switch cf.name {
		case "id":
			return o.ID, nil
		case "name":
			return o.Name, nil
		case "color":
			return o.Color, nil
		}
	case analysis, assess, decision:
		return x.analysis(o, cf)
	case *Event:
		return x.event(o, cf)
	case evTrans:
		switch cf.name {
		case "locale":
			return "FR_FR", nil
		case "title":
			return o.e.Title, nil
		case "body":
			return o.e.Body, nil
		case "link":
			return optStr(o.e.Link), nil
		}
	case *District:
		return x.district(o, cf)
	case distTrans:
		switch cf.name {
		case "locale":
			return "fr-FR", nil
		case "name":
			return o.d.Name, nil
		case "slug":
			return o.d.Slug, nil
		case "titleOnMap":
			return optStr(o.d.TitleOnMap), nil
		case "description":
			return optStr(o.d.Description), nil
		}
	case position:
		switch cf.name {
		case "district":
			return o.d, nil
		case "project":
			return o.p, nil
		case "position":
			return o.pos, nil
		}
	case *Questionnaire:
		return x.questionnaire(o, cf)
	case *Question:
		return x.question(o, cf)
	case *Choice:
		switch cf.name {
		case "id":
			return o.ID, nil
		case "title":
			return o.Title, nil
		case "responses":
			return offsetConn("Response", 0, nil, cf.args, false)
		}
	case *Response:
		switch cf.name {
		case "id":
			return optStr(o.ID), nil
		case "question":
			return o.Question, nil
		case "value", "formattedValue":
			if !o.HasValue {
				return nil, nil
			}
			return o.Value, nil
		case "medias":
			l := make(sliceList[any], len(o.Media))
			for i, m := range o.Media {
				l[i] = media(m)
			}
			return l, nil
		}
	case *Reply:
		return x.reply(o, cf)
	case *Contribution:
		return x.contribution(o, cf)
	case introSchema, introType, introField, introInput, introEnum, introDir:
		return x.introspect(o, cf)
	}
	// a schema field the sandbox has no data for: null (errors if non-null)
	return nil, nil
}

func (x *executor) query(cf *cfield) (any, error) {
	in := x.in
	switch cf.name {
	case "__schema":
		return introSchema{x.schema}, nil
	case "__type":
		name, _ := cf.args["name"].(string)
		if d := x.schema.Types[name]; d != nil {
			return introType{s: x.schema, def: d}, nil
		}
		return nil, nil
	case "viewer":
		if !x.authed {
			return nil, errAccessDenied
		}
		return in.Users[0], nil
	case "node":
		id, _ := cf.args["id"].(string)
		return x.lookup(id), nil
	case "nodes":
		ids, _ := cf.args["ids"].([]any)
		out := make(sliceList[any], len(ids))
		for i, v := range ids {
			if s, ok := v.(string); ok {
				out[i] = x.lookup(s)
			}
		}
		return out, nil
	case "projects":
		dir, field := orderArg(cf.args, "direction", "DESC"), orderArg(cf.args, "field", "PUBLISHED_AT")
		theme, _ := cf.args["theme"].(string)
		key := fmt.Sprintf("projects|%v|%s|%s|%s", x.authed, dir, field, theme)
		v := in.cache.get(key, func() *view {
			var items []any
			for _, p := range in.Projects {
				if !x.visible(p) {
					continue
				}
				if theme != "" && !hasTheme(p, theme) {
					continue
				}
				items = append(items, p)
			}
			return newView(items, func(it any) keyset {
				p := it.(*Project)
				if field == "POPULAR" {
					return keyset{vals: []int64{int64(len(p.Contributions) + p.VotesCount)}, id: p.UUID}
				}
				return keyset{vals: []int64{p.PublishedAt.UnixMilli()}, id: p.UUID}
			}, []bool{dir == "DESC"})
		})
		return offsetConn("Project", len(v.items), func(i int) any { return v.items[i] }, cf.args, true)
	case "events":
		dir, field := orderArg(cf.args, "direction", "DESC"), orderArg(cf.args, "field", "START_AT")
		var proj *Project
		if pid, ok := cf.args["project"].(string); ok {
			p, _ := x.lookup(pid).(*Project)
			if p == nil {
				return keysetPage("Event", 0, nil, []bool{true}, nil, cf.args, true)
			}
			proj = p
		}
		pkey := ""
		if proj != nil {
			pkey = proj.UUID
		}
		v := in.cache.get("events|"+dir+"|"+field+"|"+pkey, func() *view {
			var items []any
			for _, e := range in.Events {
				if !e.Enabled || proj != nil && !containsProject(e.Projects, proj) {
					continue
				}
				items = append(items, e)
			}
			return newView(items, func(it any) keyset {
				e := it.(*Event)
				t := e.Start
				if field == "END_AT" {
					if e.End == nil {
						return keyset{vals: []int64{0}, id: e.UUID}
					}
					t = *e.End
				}
				return keyset{vals: []int64{t.UnixMilli()}, id: e.UUID}
			}, []bool{dir == "DESC"})
		})
		return v.page("Event", cf.args, true)
	case "users":
		v := in.cache.get("users", func() *view {
			var items []any
			for _, u := range in.Users {
				if u.Listed() {
					items = append(items, u)
				}
			}
			return newView(items, userKey, []bool{true})
		})
		return v.page("User", cf.args, true)
	case "globalDistricts":
		name, _ := cf.args["name"].(string)
		v := in.cache.get("districts|"+name, func() *view {
			var items []any
			for _, d := range in.Districts {
				if name == "" || strings.Contains(strings.ToLower(d.Name), strings.ToLower(name)) {
					items = append(items, d)
				}
			}
			v := &view{items: items}
			sortByName(v.items)
			return v
		})
		return offsetConn("GlobalDistrict", len(v.items), func(i int) any { return v.items[i] }, cf.args, false)
	}
	return nil, nil
}

func userKey(it any) keyset {
	u := it.(*User)
	return keyset{vals: []int64{u.CreatedAt.UnixMilli()}, id: u.UUID}
}

func sortByName(items []any) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].(*District).Name < items[j-1].(*District).Name; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

func hasTheme(p *Project, id string) bool {
	for _, t := range p.Themes {
		if t.ID == id {
			return true
		}
	}
	return false
}

func containsProject(ps []*Project, p *Project) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// orderArg reads orderBy.<name> (an input object) with a default.
func orderArg(args map[string]any, name, def string) string {
	if m, ok := args["orderBy"].(map[string]any); ok {
		if s, ok := m[name].(string); ok {
			return s
		}
	}
	return def
}

func (x *executor) project(p *Project, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return p.ID, nil
	case "url":
		return p.URL, nil
	case "title":
		return p.Title, nil
	case "publishedAt":
		return p.PublishedAt, nil
	case "metaDescription":
		return p.MetaDescription, nil
	case "cover":
		if p.CoverURL == "" {
			return nil, nil
		}
		return media(p.CoverURL), nil
	case "type":
		return projType(p.TypeTitle), nil
	case "steps":
		return sliceList[*Step](p.Steps), nil
	case "authors":
		return sliceList[*User](p.Authors), nil
	case "themes":
		return sliceList[*Theme](p.Themes), nil
	case "contributionsCount":
		return p.ContributionsCount, nil
	case "votes":
		if _, err := firstArg(cf.args, false); err != nil {
			return nil, err
		}
		// count only: edges are always empty (ProjectVotesResolver)
		return &conn{typ: "VoteConnection", edgeTyp: "VoteEdge", total: p.VotesCount}, nil
	case "contributions":
		return keysetPage("Contribution", len(p.Contributions), func(i int) keyset { return contribKey(p.Contributions[i]) },
			[]bool{true}, func(i int) any { return p.Contributions[i] }, cf.args, false)
	case "contributors":
		return keysetPage("User", len(p.Contributors), func(i int) keyset { return userKey(p.Contributors[i]) },
			[]bool{true}, func(i int) any { return p.Contributors[i] }, cf.args, false)
	case "districts":
		return offsetConn("GlobalDistrict", len(p.Districts), func(i int) any { return p.Districts[i] }, cf.args, false)
	}
	return nil, nil
}

func contribKey(rec any) keyset {
	switch o := rec.(type) {
	case *Proposal:
		return keyset{vals: []int64{o.CreatedAt.UnixMilli()}, id: o.UUID}
	case *Reply:
		return keyset{vals: []int64{o.CreatedAt.UnixMilli()}, id: o.UUID}
	case *Contribution:
		return keyset{vals: []int64{o.CreatedAt.UnixMilli()}, id: o.UUID}
	}
	return keyset{vals: []int64{0}}
}

func (x *executor) step(s *Step, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return s.ID, nil
	case "url":
		return s.URL, nil
	case "title":
		return s.Title, nil
	case "timeRange":
		return timeRange{s.Start, s.End}, nil
	case "state":
		switch {
		case s.Start != nil && worldNow.Before(*s.Start):
			return "FUTURE", nil
		case s.End != nil && worldNow.After(*s.End):
			return "CLOSED", nil
		}
		return "OPENED", nil
	case "proposals":
		return x.stepProposals(s, cf)
	case "questionnaire":
		if s.Questionnaire == nil {
			return nil, nil
		}
		return s.Questionnaire, nil
	case "votesCount":
		return s.VotesCount, nil
	case "votes":
		// wired to an int in the preview YAML: the real server fails here
		return nil, errInternal
	case "contributors":
		p := s.Project
		return keysetPage("User", len(p.Contributors), func(i int) keyset { return userKey(p.Contributors[i]) },
			[]bool{true}, func(i int) any { return p.Contributors[i] }, cf.args, false)
	}
	return nil, nil
}

type propOrder struct{ field, dir string }

func proposalOrders(args map[string]any) []propOrder {
	var out []propOrder
	l, _ := args["orderBy"].([]any)
	if m, ok := args["orderBy"].(map[string]any); ok { // single object coerced to a list
		l = []any{m}
	}
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		f, _ := m["field"].(string)
		d, _ := m["direction"].(string)
		if d == "" {
			d = "ASC"
		}
		if f != "" {
			out = append(out, propOrder{f, d})
		}
	}
	if len(out) == 0 {
		out = []propOrder{{"PUBLISHED_AT", "ASC"}}
	}
	return out
}

func (x *executor) stepProposals(s *Step, cf *cfield) (any, error) {
	trashed, _ := cf.args["trashedStatus"].(string)
	wantTrashed := trashed == "TRASHED"
	includeDraft, _ := cf.args["includeDraft"].(bool)
	includeDraft = includeDraft && x.authed
	author, _ := cf.args["author"].(string)
	orders := proposalOrders(cf.args)
	key := fmt.Sprintf("props|%s|%v|%v|%s|%v|%v", s.ID, wantTrashed, includeDraft, author, orders, x.authed)
	v := x.in.cache.get(key, func() *view {
		var items []any
		if x.visible(s.Project) {
			for _, p := range s.Proposals {
				if p.Trashed != wantTrashed || (!p.Published || p.Draft) && !includeDraft {
					continue
				}
				if author != "" && (p.Author == nil || p.Author.ID != author) {
					continue
				}
				items = append(items, p)
			}
		}
		desc := make([]bool, len(orders))
		for i, o := range orders {
			desc[i] = o.dir == "DESC"
		}
		return newView(items, func(it any) keyset {
			p := it.(*Proposal)
			k := keyset{vals: make([]int64, len(orders)), id: p.UUID}
			for i, o := range orders {
				switch o.field {
				case "CREATED_AT":
					k.vals[i] = p.CreatedAt.UnixMilli()
				case "PUBLISHED_AT":
					if p.PublishedAt != nil {
						k.vals[i] = p.PublishedAt.UnixMilli()
					}
				case "VOTES", "POINTS":
					k.vals[i] = int64(len(p.Votes))
				case "COST":
					k.vals[i] = p.Cost
				case "RANDOM":
					h := fnv.New64a()
					h.Write([]byte(p.UUID))
					k.vals[i] = int64(h.Sum64() >> 1)
				}
			}
			return k
		}, desc)
	})
	return v.page("Proposal", cf.args, true)
}

func (x *executor) proposal(p *Proposal, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return p.ID, nil
	case "url":
		return p.URL, nil
	case "reference":
		return p.Reference, nil
	case "title":
		return p.Title, nil
	case "body":
		return p.Body, nil
	case "bodyText":
		return stripTags(p.Body), nil
	case "summary":
		return optStr(p.Summary), nil
	case "createdAt":
		return p.CreatedAt, nil
	case "updatedAt":
		return optTime(p.UpdatedAt), nil
	case "publishedAt":
		return optTime(p.PublishedAt), nil
	case "published":
		return p.Published, nil
	case "publishableUntil", "undraftAt":
		return nil, nil
	case "notPublishedReason":
		return optStr(p.NotPublishedReason), nil
	case "draft":
		return p.Draft, nil
	case "trashed":
		return p.Trashed, nil
	case "trashedStatus":
		return optStr(p.TrashedStatus), nil
	case "trashedAt":
		return optTime(p.TrashedAt), nil
	case "trashedReason":
		return optStr(p.TrashedReason), nil
	case "author":
		if p.Author == nil {
			return nil, nil // deleted account: non-null violation nulls the parent
		}
		return p.Author, nil
	case "responses":
		return sliceList[*Response](p.Responses), nil
	case "address":
		if p.Address == nil {
			return nil, nil
		}
		return p.Address, nil
	case "theme":
		if p.Theme == nil {
			return nil, nil
		}
		return p.Theme, nil
	case "category":
		if p.Category == "" {
			return nil, nil
		}
		return category(p.Category), nil
	case "selections":
		l := make(sliceList[*Selection], len(p.Selections))
		for i := range p.Selections {
			l[i] = &p.Selections[i]
		}
		return l, nil
	case "votes":
		desc := orderArg(cf.args, "direction", "DESC") == "DESC"
		n := len(p.Votes)
		idx := func(i int) int { // stored DESC
			if desc {
				return i
			}
			return n - 1 - i
		}
		return keysetPage("ProposalVote", n, func(i int) keyset {
			v := &p.Votes[idx(i)]
			return keyset{vals: []int64{ms(v.PublishedAt)}, id: strconv.FormatInt(v.ID, 10)}
		}, []bool{desc}, func(i int) any { return &p.Votes[idx(i)] }, cf.args, false)
	case "analyses":
		if !x.analyst {
			return nil, errAccessDenied
		}
		return sliceList[any]{analysis{p}}, nil
	case "assessment":
		if !x.analyst {
			return nil, errAccessDenied
		}
		return assess{p}, nil
	case "decision":
		if !x.analyst {
			return nil, errAccessDenied
		}
		return decision{p}, nil
	}
	return nil, nil
}

func (x *executor) analysis(o any, cf *cfield) (any, error) {
	var p *Proposal
	var id string
	switch a := o.(type) {
	case analysis:
		p, id = a.p, a.p.AnalysisID
	case assess:
		p, id = a.p, a.p.AssessID
	case decision:
		p, id = a.p, a.p.DecisionID
	}
	closed := false
	for _, s := range p.Selections {
		if s.Step.End != nil && worldNow.After(*s.Step.End) {
			closed = true
		}
	}
	switch cf.name {
	case "id":
		return id, nil
	case "createdAt":
		return p.CreatedAt.Add(30 * 24 * time.Hour), nil
	case "updatedAt":
		return nil, nil
	case "estimatedCost":
		if p.Cost == 0 {
			return nil, nil
		}
		return p.Cost, nil
	case "state":
		if _, ok := o.(decision); ok {
			if closed {
				return "DONE", nil
			}
			return "IN_PROGRESS", nil
		}
		if p.Cost == 0 {
			return "IN_PROGRESS", nil
		}
		return "FAVOURABLE", nil
	case "isApproved":
		return p.Winner, nil
	case "body", "officialResponse":
		return nil, nil
	}
	return nil, nil
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, c := range s {
		switch {
		case c == '<':
			in = true
		case c == '>':
			in = false
		case !in:
			b.WriteRune(c)
		}
	}
	return strings.ReplaceAll(b.String(), "&amp;", "&")
}

func (x *executor) user(u *User, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return u.ID, nil
	case "url":
		return u.URL, nil
	case "username":
		return optStr(u.Username), nil
	case "createdAt":
		return u.CreatedAt, nil
	case "updatedAt":
		return optTime(u.UpdatedAt), nil
	case "deletedAccountAt":
		return optTime(u.DeletedAccountAt), nil
	case "enabled":
		return u.Enabled, nil
	case "biography":
		return optStr(u.Biography), nil
	case "websiteUrl":
		return optStr(u.WebsiteURL), nil
	case "userType":
		if u.Type == nil {
			return nil, nil
		}
		return u.Type, nil
	}
	return nil, nil
}

func (x *executor) event(e *Event, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return e.ID, nil
	case "url":
		return e.URL, nil
	case "title":
		return e.Title, nil
	case "body":
		return e.Body, nil
	case "link":
		return optStr(e.Link), nil
	case "createdAt":
		return e.CreatedAt, nil
	case "updatedAt":
		return optTime(e.UpdatedAt), nil
	case "timeRange":
		return timeRange{&e.Start, e.End}, nil
	case "startAt":
		return e.Start, nil
	case "endAt":
		return optTime(e.End), nil
	case "enabled":
		return e.Enabled, nil
	case "author":
		if e.Author == nil {
			return nil, nil
		}
		return e.Author, nil
	case "googleMapsAddress":
		if e.Address == nil {
			return nil, nil
		}
		return e.Address, nil
	case "lat", "lng":
		if e.Address == nil {
			return nil, nil
		}
		if cf.name == "lat" {
			return e.Address.Lat, nil
		}
		return e.Address.Lng, nil
	case "zipCode":
		return optStr(e.ZipCode), nil
	case "fullAddress":
		if e.Address == nil {
			return nil, nil
		}
		return e.Address.Formatted, nil
	case "translations":
		return sliceList[any]{evTrans{e}}, nil
	}
	return nil, nil
}

func (x *executor) district(d *District, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return d.ID, nil
	case "name":
		return d.Name, nil
	case "slug":
		return d.Slug, nil
	case "titleOnMap":
		return optStr(d.TitleOnMap), nil
	case "description":
		return optStr(d.Description), nil
	case "geojson":
		return d.GeoJSON, nil
	case "displayedOnMap":
		return d.DisplayedOnMap, nil
	case "translations":
		return sliceList[any]{distTrans{d}}, nil
	case "projects":
		var ps []*Project
		for _, p := range d.Projects {
			if x.visible(p) {
				ps = append(ps, p)
			}
		}
		return offsetConn("Project", len(ps), func(i int) any { return ps[i] }, cf.args, false)
	case "projectDistrictPositioners":
		var l sliceList[any]
		for i, p := range d.Projects {
			if x.visible(p) {
				l = append(l, position{d, p, i})
			}
		}
		return l, nil
	}
	return nil, nil
}

func (x *executor) questionnaire(q *Questionnaire, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return q.ID, nil
	case "title":
		return q.Title, nil
	case "questions":
		return sliceList[*Question](q.Questions), nil
	case "replies":
		incUnpub, _ := cf.args["includeUnpublished"].(bool)
		incDraft, _ := cf.args["includeDraft"].(bool)
		incUnpub, incDraft = incUnpub && x.authed, incDraft && x.authed
		v := x.in.cache.get(fmt.Sprintf("replies|%s|%v|%v", q.ID, incUnpub, incDraft), func() *view {
			v := &view{desc: []bool{true}}
			for _, r := range q.Replies { // already createdAt DESC, id DESC
				if (r.Draft && !incDraft) || (!r.Published && !r.Draft && !incUnpub) {
					continue
				}
				v.items = append(v.items, r)
				v.keys = append(v.keys, keyset{vals: []int64{r.CreatedAt.UnixMilli()}, id: r.UUID})
			}
			return v
		})
		return v.page("Reply", cf.args, false)
	}
	return nil, nil
}

func (x *executor) question(q *Question, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return q.ID, nil
	case "title":
		return q.Title, nil
	case "level":
		if q.Typename != "SectionQuestion" {
			return nil, nil
		}
		return q.Level, nil
	case "choices":
		return offsetConn("QuestionChoice", len(q.Choices), func(i int) any { return q.Choices[i] }, cf.args, false)
	case "responses":
		return offsetConn("Response", len(q.answers), func(i int) any { return q.answers[i] }, cf.args, false)
	}
	return nil, nil
}

func (x *executor) reply(r *Reply, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return r.ID, nil
	case "url":
		return r.URL, nil
	case "createdAt":
		return r.CreatedAt, nil
	case "updatedAt":
		return optTime(r.UpdatedAt), nil
	case "publishedAt":
		return optTime(r.PublishedAt), nil
	case "published":
		return r.Published, nil
	case "draft":
		return r.Draft, nil
	case "undraftAt", "publishableUntil", "notPublishedReason", "related":
		return nil, nil
	case "responses":
		return sliceList[*Response](r.Responses), nil
	case "author":
		if r.Author == nil {
			return nil, nil
		}
		return r.Author, nil
	}
	return nil, nil
}

func (x *executor) contribution(c *Contribution, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return c.ID, nil
	case "url":
		return c.URL, nil
	case "title":
		return c.Title, nil
	case "body":
		return c.Body, nil
	case "bodyText":
		return stripTags(c.Body), nil
	case "createdAt":
		return c.CreatedAt, nil
	case "updatedAt":
		return optTime(c.UpdatedAt), nil
	case "published":
		return c.Published, nil
	case "publishedAt":
		return optTime(c.PublishedAt), nil
	case "publishableUntil", "notPublishedReason", "comment":
		return nil, nil
	case "pinned":
		return c.Pinned, nil
	case "trashed":
		return c.Trashed, nil
	case "trashedStatus":
		return optStr(c.TrashedStatus), nil
	case "trashedAt":
		return optTime(c.TrashedAt), nil
	case "trashedReason":
		return optStr(c.TrashedReason), nil
	case "type":
		return c.ArgType, nil
	case "parent":
		if c.Parent == nil {
			return nil, nil
		}
		return c.Parent, nil
	case "related":
		if c.Related == nil {
			return nil, nil
		}
		return c.Related, nil
	case "project":
		return c.Project, nil
	case "contribuable":
		return true, nil
	case "viewerHasReport":
		return false, nil
	case "viewerHasVote":
		if !x.authed {
			return nil, errAccessDenied
		}
		return false, nil
	}
	return nil, nil
}
