package sandbox

import (
	"fmt"
)

// Questionnaire, Question and Reply fields.

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
