package sandbox

// Opinion, Version, Argument and Source fields (one Contribution record).

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
