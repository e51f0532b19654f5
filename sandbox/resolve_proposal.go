package sandbox

import (
	"strconv"
	"strings"
	"time"
)

// Proposal fields and its analyses, assessment and decision.

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
		if s.Step.End != nil && x.in.now.After(*s.Step.End) {
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
