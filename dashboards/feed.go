package dashboards

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"
)

const atomNS = "http://www.w3.org/2005/Atom"

// maxFeedEntries keeps feeds small; the newest entries are kept.
const maxFeedEntries = 100

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Links   []atomLink `xml:"link"`
	Summary atomText   `xml:"summary"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// feedEvent is one piece of participation news.
type feedEvent struct {
	ID      string // stable across releases (feed readers deduplicate on it)
	Title   string
	Summary string
	When    time.Time
	Target  string // page path relative to the site root
}

// projectEvents lists what happened in a project up to the release date:
// phases opening and closing, participation milestones, winners, and the
// proposals this release adds.
func (b *builder) projectEvents(p *project) []feedEvent {
	asOf := b.rel.CreatedAt
	target := projectPath(p)
	base := "urn:capstat:project:" + p.Slug
	var out []feedEvent
	for _, s := range p.Steps {
		phase := strings.ToLower(phaseNames[s.Phase])
		if phase == "" {
			phase = s.Phase
		}
		key := shortHash(s.ID)
		if !s.Start.IsZero() && !s.Start.After(asOf) {
			out = append(out, feedEvent{ID: base + ":open:" + key, When: s.Start, Target: target,
				Title:   fmt.Sprintf("Ouverture de l'étape « %s » (%s) : %s", s.Title, phase, p.Title),
				Summary: fmt.Sprintf("L'étape « %s » du projet « %s » s'est ouverte le %s.", s.Title, p.Title, frDateTime(s.Start, b.loc))})
		}
		if !s.End.IsZero() && !s.End.After(asOf) {
			out = append(out, feedEvent{ID: base + ":close:" + key, When: s.End, Target: target,
				Title:   fmt.Sprintf("Clôture de l'étape « %s » (%s) : %s", s.Title, phase, p.Title),
				Summary: fmt.Sprintf("L'étape « %s » du projet « %s » s'est terminée le %s.", s.Title, p.Title, frDateTime(s.End, b.loc))})
		}
	}
	out = append(out, milestones(p, base, target, "votes", func(d dayRow) int64 { return d.CumVotes })...)
	out = append(out, milestones(p, base, target, "propositions", func(d dayRow) int64 { return d.CumProposals })...)
	// Winners are announced once a vote or selection step has closed.
	var announced time.Time
	for _, s := range p.Steps {
		if (s.Phase == "vote" || s.Phase == "selection") && !s.End.IsZero() && !s.End.After(asOf) && s.End.After(announced) {
			announced = s.End
		}
	}
	if p.Winners > 0 && !announced.IsZero() {
		out = append(out, feedEvent{ID: base + ":winners", When: announced, Target: target,
			Title:   fmt.Sprintf("%s : %s", frCount(p.Winners, "proposition lauréate", "propositions lauréates"), p.Title),
			Summary: fmt.Sprintf("Le projet « %s » compte %s sur %s.", p.Title, frCount(p.Winners, "proposition lauréate", "propositions lauréates"), frCount(p.Proposals, "proposition", "propositions"))})
	}
	if p.NewSince > 0 {
		out = append(out, feedEvent{ID: base + ":release:" + b.rel.ID, When: asOf, Target: target,
			Title: fmt.Sprintf("%s : %s", frCount(p.NewSince, "nouvelle proposition", "nouvelles propositions"), p.Title),
			Summary: fmt.Sprintf("La publication des données du %s ajoute %s au projet « %s ».",
				frDate(asOf, b.loc), frCount(p.NewSince, "proposition", "propositions"), p.Title)})
	}
	return out
}

var milestoneSteps = []int64{100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000}

// milestones returns one event per threshold a cumulative count crossed,
// dated by the day it was crossed.
func milestones(p *project, base, target, noun string, cum func(dayRow) int64) []feedEvent {
	var out []feedEvent
	next := 0
	for _, d := range p.Days {
		for next < len(milestoneSteps) && cum(d) >= milestoneSteps[next] {
			m := milestoneSteps[next]
			out = append(out, feedEvent{ID: fmt.Sprintf("%s:milestone:%s:%d", base, noun, m), When: d.Day, Target: target,
				Title:   fmt.Sprintf("Cap des %s %s franchi : %s", frInt(m), noun, p.Title),
				Summary: fmt.Sprintf("Le projet « %s » a dépassé %s %s le %s.", p.Title, frInt(m), noun, frDate(d.Day, time.UTC))})
			next++
		}
	}
	return out
}

// writeFeeds writes feed.xml for the site, each collectivity and each project.
func (b *builder) writeFeeds() error {
	var all []feedEvent
	byCollectivity := map[string][]feedEvent{}
	for _, p := range b.rel.Projects {
		evs := b.projectEvents(p)
		if err := b.writeFeed("projets/"+p.Slug+"/feed.xml", "urn:capstat:feed:project:"+p.Slug,
			"Participation : "+p.Title, projectPath(p), evs); err != nil {
			return err
		}
		byCollectivity[p.CollectivityCode] = append(byCollectivity[p.CollectivityCode], evs...)
		all = append(all, evs...)
	}
	for _, c := range b.rel.Collectivities {
		if err := b.writeFeed("collectivites/"+c.Slug+"/feed.xml", "urn:capstat:feed:collectivity:"+c.Slug,
			"Participation : "+c.Name, collectivityPath(c), byCollectivity[c.Code]); err != nil {
			return err
		}
	}
	if ch, ok := b.rel.Changes.Datasets["proposals"]; ok && ch.Added > 0 {
		all = append(all, feedEvent{ID: "urn:capstat:release:" + b.rel.ID + ":proposals", When: b.rel.CreatedAt,
			Target:  "about.html",
			Title:   fmt.Sprintf("Nouvelle publication des données : %s", frCount(ch.Added, "proposition ajoutée", "propositions ajoutées")),
			Summary: fmt.Sprintf("La publication %s ajoute %s et en met à jour %s.", b.rel.ID, frCount(ch.Added, "proposition", "propositions"), frInt(ch.Updated))})
	}
	return b.writeFeed("feed.xml", "urn:capstat:feed:site", "Budgets participatifs : actualité de la participation", "index.html", all)
}

func (b *builder) writeFeed(feedPath, id, title, page string, evs []feedEvent) error {
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].When.Equal(evs[j].When) {
			return evs[i].When.After(evs[j].When)
		}
		return evs[i].ID < evs[j].ID
	})
	if len(evs) > maxFeedEntries {
		evs = evs[:maxFeedEntries]
	}
	root := rootOf(feedPath)
	updated := b.rel.CreatedAt
	f := atomFeed{ID: id, Title: title, Author: atomPerson{Name: "capstat"},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: "feed.xml"},
			{Rel: "alternate", Type: "text/html", Href: root + page},
		}}
	for _, e := range evs {
		f.Entries = append(f.Entries, atomEntry{ID: e.ID, Title: e.Title, Updated: e.When.UTC().Format(time.RFC3339),
			Links:   []atomLink{{Rel: "alternate", Type: "text/html", Href: root + e.Target}},
			Summary: atomText{Type: "text", Body: e.Summary}})
	}
	f.Updated = updated.UTC().Format(time.RFC3339)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("feed %s: %w", feedPath, err)
	}
	buf.WriteByte('\n')
	if err := b.write(feedPath, buf.Bytes()); err != nil {
		return err
	}
	b.site.Feeds = append(b.site.Feeds, feedPath)
	return nil
}
