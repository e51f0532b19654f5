package sandbox

import (
	"fmt"
	"hash/fnv"
)

// Step fields (collect, selection, consultation, questionnaire and the
// types absent from the SDL) and their proposal lists.

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
		return stepState(s, x.in.now), nil
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
