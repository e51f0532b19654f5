package sandbox

// Project fields.

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
