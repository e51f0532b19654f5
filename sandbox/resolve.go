package sandbox

import (
	"strconv"
	"time"
)

// The resolvers: resolve dispatches a field of a resolved object to the
// resolver of its GraphQL type, one file per type (resolve_*.go); this file
// holds the dispatch, the access rules and the small wrapper types.

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
