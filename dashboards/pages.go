package dashboards

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/capstat/capstat/reports/release"
)

// A collectivity's ranking charts show every peer up to maxPeersShown,
// else the peersLeaders first and peersAround on each side of it.
const (
	maxPeersShown = 25
	peersLeaders  = 10
	peersAround   = 5
)

// Site paths.
func collectivityPath(c collectivity) string { return "collectivites/" + c.Slug + "/index.html" }
func projectPath(p *project) string          { return "projets/" + p.Slug + "/index.html" }

// --- home -------------------------------------------------------------------

type homeBody struct {
	Count int
	Table dataTable
	All   []link // every collectivity page, editions or not
}

func (b *builder) homePage() *page {
	pg := &page{Path: "index.html", Kind: "home", Nav: "home",
		Title: "Budgets participatifs : la participation comparée", FeedHref: "feed.xml",
		FeedTitle: "Actualité de la participation (toutes collectivités)"}
	latest := b.rel.latestEditions()
	groups := b.rel.peerGroups()
	body := homeBody{Count: len(latest)}
	body.Table = dataTable{Caption: "Indicateurs de la dernière édition terminée de chaque collectivité, comparée aux collectivités du même type, et médiane des collectivités comparées",
		Head: []string{"Collectivité", "Type", "Édition", "Population"}}
	for _, m := range homeMetrics {
		body.Table.Head = append(body.Table.Head, m.Label)
	}
	body.Table.Head = append(body.Table.Head, "Comparaison")
	for _, g := range groups {
		for _, e := range latest {
			if e.CollectivityKind != g {
				continue
			}
			row := []cell{b.collectivityCell(e.CollectivityCode, e.CollectivityName, ""), textCell(b.kindLabel(e.CollectivityKind)),
				textCell(e.Label), intCell(e.Population)}
			for _, m := range homeMetrics {
				v, ok := e.Metrics[m.Col]
				row = append(row, b.metricCell(e, m, v, ok))
			}
			row = append(row, textCell(b.comparedWith(e)))
			body.Table.Rows = append(body.Table.Rows, row)
		}
		bench := []cell{textCell("Médiane des " + groupOf(g).Compared), textCell(""), textCell(""), textCell("")}
		for _, m := range homeMetrics {
			v, ok := b.rel.benchmark(m.Col, g)
			bench = append(bench, numCell(v, ok, m.Format))
		}
		body.Table.Rows = append(body.Table.Rows, append(bench, textCell("")))
	}
	for _, c := range b.rel.Collectivities {
		body.All = append(body.All, link{Href: collectivityPath(c), Text: c.Name})
	}
	sort.SliceStable(body.All, func(i, j int) bool { return body.All[i].Text < body.All[j].Text })
	pg.Body = body

	for _, m := range homeMetrics {
		for _, g := range groups {
			c, err := b.metricChart("home_"+m.Col+"_"+jsID(g), m, g, "", "")
			if err != nil {
				pg.err = err
				return pg
			}
			if len(c.Table.Rows) > 0 { // an empty chart says nothing
				pg.Charts = append(pg.Charts, c)
			}
		}
	}
	return pg
}

// kindLabel is the French name of a collectivity kind, in lower case.
func (b *builder) kindLabel(kind string) string {
	return strings.ToLower(b.cat.Label("collectivity_kind", kind))
}

// comparedWith says how an edition is compared: with the collectivities
// of its kind, or why it is not.
func (b *builder) comparedWith(e edition) string {
	switch {
	case e.InProgress:
		return "non classée : édition en cours"
	case e.ComparableOn == "participation":
		return "sur la participation seulement (exercice d'orientations)"
	}
	return "avec les " + groupOf(e.CollectivityKind).Plural
}

// collectivityCell links to a collectivity page from a page at depth 0
// (prefix is the page's root prefix).
func (b *builder) collectivityCell(code, name, prefix string) cell {
	c := textCell(name)
	if col, ok := b.rel.collectivity(code); ok {
		c.Href = prefix + collectivityPath(col)
	}
	return c
}

// notRanked says why a ranking row has no rank.
func notRanked(x rankingRow) string {
	switch {
	case x.InProgress:
		return "non classée (édition en cours)"
	case !x.Comparable:
		return "non classée (exercice non comparable sur cet indicateur)"
	}
	return "non classée"
}

// metricChart compares one metric among the collectivities of one kind,
// as collectivity_ranking ranks them (the one rank rule): ranked ones by
// rank, then, greyed and marked, those not ranked. highlight (a
// collectivity code) is drawn in another colour.
func (b *builder) metricChart(id string, m metricDef, group, highlight, highlightName string) (chart, error) {
	rows := b.rel.rankingOf(m.Col, group)
	bench, hasBench := b.rel.benchmark(m.Col, group)
	g := groupOf(group)
	ranked := 0
	for _, x := range rows {
		if x.Rank.Valid {
			ranked++
		}
	}

	c := chart{ID: id, Title: m.Label + " des " + g.Plural + " (dernière édition terminée)", Definition: definition(b.cat, "budget_comparison", m.Col),
		APIHref: apiHref("collectivity_ranking", "metric", m.Col, "limit", "1000")}
	c.Table = dataTable{Caption: m.Label + " : " + g.Plural + " (dernière édition terminée de chacun·e)",
		Head: []string{"Collectivité", "Édition", m.Label, "Rang"}}
	// On a collectivity page with many peers, show the leaders and the
	// collectivity's neighbours only: every page listing every peer would
	// make the site grow with the square of the number of collectivities.
	shown := func(int) bool { return true }
	if h := slices.IndexFunc(rows, func(x rankingRow) bool { return x.CollectivityCode == highlight }); h >= 0 && len(rows) > maxPeersShown {
		shown = func(i int) bool { return i < peersLeaders || (i >= h-peersAround && i <= h+peersAround) }
		c.Table.Caption += fmt.Sprintf(" : les %d premières et les voisines de %s", peersLeaders, rows[h].CollectivityName)
	}
	var bars []barItem
	for i, x := range rows {
		if !shown(i) {
			continue
		}
		label := x.CollectivityName
		rank := cell{Text: notRanked(x), Num: true}
		if x.Rank.Valid {
			rank = cell{Text: fmt.Sprintf("%d sur %d", x.Rank.Int64, x.Peers.Int64), Raw: fmt.Sprint(x.Rank.Int64), Num: true}
			if len(rows) > maxPeersShown {
				label = fmt.Sprintf("%d. %s", x.Rank.Int64, label)
			}
		} else {
			label += " (non classée)"
		}
		bars = append(bars, barItem{Label: label, Value: x.Value.Float64, Highlight: x.CollectivityCode == highlight, Apart: !x.Rank.Valid})
		c.Table.Rows = append(c.Table.Rows, []cell{textCell(x.CollectivityName), textCell(b.editionLabel(x)),
			numCell(x.Value.Float64, true, m.Format), rank})
	}
	if hasBench {
		c.Table.Rows = append(c.Table.Rows, []cell{textCell("Médiane des " + g.Compared), textCell(""), numCell(bench, true, m.Format), textCell("")})
	}
	benchText := ""
	if hasBench {
		benchText = ", contre " + m.Format(bench) + " en médiane des " + g.Compared
	}
	switch {
	case len(rows) == 0:
		c.Summary = "Aucune collectivité de ce type ne publie encore cet indicateur."
	case highlight != "":
		h := slices.IndexFunc(rows, func(x rankingRow) bool { return x.CollectivityCode == highlight })
		switch {
		case h < 0:
			c.Summary = fmt.Sprintf("Cet indicateur n'est pas disponible pour %s ; %d %s sont classé·es.", highlightName, ranked, g.Plural)
		case rows[h].Rank.Valid:
			c.Summary = fmt.Sprintf("%s : %s%s (rang %d sur %d).", rows[h].CollectivityName,
				m.Phrase(m.Format(rows[h].Value.Float64)), benchText, rows[h].Rank.Int64, rows[h].Peers.Int64)
		default:
			c.Summary = fmt.Sprintf("%s : %s, %s ; %d %s classé·es.", rows[h].CollectivityName,
				m.Phrase(m.Format(rows[h].Value.Float64)), notRanked(rows[h]), ranked, g.Plural)
		}
	case ranked == 0:
		c.Summary = fmt.Sprintf("Aucune des %d %s n'est classée sur cet indicateur.", len(rows), g.Plural)
	case ranked == 1:
		c.Summary = fmt.Sprintf("%s : %s (seule collectivité de ce type classée).", rows[0].CollectivityName, m.Phrase(m.Format(rows[0].Value.Float64)))
	case rows[0].Value.Float64 == rows[ranked-1].Value.Float64:
		c.Summary = fmt.Sprintf("Les %d %s ont la même valeur : %s.", ranked, g.Compared, m.Format(rows[0].Value.Float64))
	default:
		c.Summary = fmt.Sprintf("%s arrive en tête avec %s%s (%d %s).",
			rows[0].CollectivityName, m.Phrase(m.Format(rows[0].Value.Float64)), benchText, ranked, g.Compared)
	}
	if ranked < len(rows) {
		c.Summary += " Les collectivités non classées (édition en cours ou exercice non comparable) sont grisées, après les autres."
	}
	opt, err := metricBars(bars, m.AxisName, m.Scale, bench, hasBench, "Médiane des "+g.Compared)
	if err != nil {
		return c, err
	}
	c.Option = opt
	return c, nil
}

// editionLabel is the label of the edition a ranking row compares.
func (b *builder) editionLabel(x rankingRow) string {
	for _, e := range b.rel.Editions {
		if e.CollectivityCode == x.CollectivityCode && e.ProjectID == x.ProjectID {
			return e.Label
		}
	}
	return x.Edition
}

// --- collectivity --------------------------------------------------------------

type collectivityBody struct {
	C        collectivity
	Kind     string
	Latest   *edition // the latest finished edition (else the latest)
	Previous *edition // the finished one before it
	Current  *edition // an edition in progress after Latest
	KPIs     dataTable
	Editions dataTable
	Projects []link
}

func (b *builder) collectivityPage(col collectivity) *page {
	pg := &page{Path: collectivityPath(col), Kind: "collectivity", Title: col.Name, FeedHref: "feed.xml",
		FeedTitle: "Actualité de la participation : " + col.Name, Codes: []string{col.Code}}
	root := rootOf(pg.Path)
	pg.Crumbs = []link{{Href: root + "index.html", Text: "Accueil"}}
	eds := b.rel.editionsOf(col.Code)
	body := collectivityBody{C: col, Kind: b.kindLabel(col.Kind)}
	// Compare finished editions only: an edition whose vote is not over
	// is shown "en cours", out of evolutions and ranks.
	var finished []*edition
	for i := range eds {
		if !eds[i].InProgress {
			finished = append(finished, &eds[i])
		}
	}
	switch n := len(finished); {
	case n > 0:
		body.Latest = finished[n-1]
		if n > 1 {
			body.Previous = finished[n-2]
		}
	case len(eds) > 0:
		body.Latest = &eds[len(eds)-1]
	}
	if n := len(eds); n > 0 && eds[n-1].InProgress && body.Latest != &eds[n-1] {
		body.Current = &eds[n-1]
	}
	g := groupOf(col.Kind)
	if body.Latest != nil {
		head := []string{"Indicateur", body.Latest.Label}
		if body.Previous != nil {
			head = append(head, body.Previous.Label, "Évolution")
		}
		head = append(head, "Rang parmi les "+g.Plural, "Médiane des "+g.Compared)
		body.KPIs = dataTable{Caption: "Indicateurs clés de la dernière édition terminée et évolution depuis la précédente", Head: head}
		for _, m := range homeMetrics {
			v, ok := body.Latest.Metrics[m.Col]
			row := []cell{textCell(m.Label), b.metricCell(*body.Latest, m, v, ok)}
			if body.Previous != nil {
				pv, pok := body.Previous.Metrics[m.Col]
				row = append(row, numCell(pv, pok, m.Format))
				if ok && pok {
					row = append(row, cell{Text: m.delta(v - pv), Raw: fmt.Sprint(v - pv), Num: true})
				} else {
					row = append(row, cell{Text: "–", Num: true})
				}
			}
			if r, ok := b.rel.ranking(col.Code, m.Col); ok && r.Rank.Valid {
				row = append(row, cell{Text: fmt.Sprintf("%d sur %d", r.Rank.Int64, r.Peers.Int64), Raw: fmt.Sprint(r.Rank.Int64), Num: true})
			} else if ok {
				row = append(row, cell{Text: notRanked(r), Num: true})
			} else {
				row = append(row, cell{Text: "non classée", Num: true})
			}
			bv, bok := b.rel.benchmark(m.Col, col.Kind)
			row = append(row, numCell(bv, bok, m.Format))
			body.KPIs.Rows = append(body.KPIs.Rows, row)
		}
	}
	body.Editions = dataTable{Caption: "Éditions du budget participatif",
		Head: []string{"Édition", "Projet", "Propositions", "Votes", "Participants", "Lauréats", "Enveloppe"}}
	byProject := b.rel.projectIndex()
	for _, e := range eds {
		title := textCell(e.ProjectTitle)
		if p := byProject[[2]string{e.Source, e.ProjectID}]; p != nil {
			title.Href = root + projectPath(p)
		}
		env := cell{Text: "non renseignée", Num: true}
		if e.EnvelopeEUR.Valid {
			env = cell{Text: frInt(e.EnvelopeEUR.Int64) + nnbsp + "€", Raw: fmt.Sprint(e.EnvelopeEUR.Int64), Num: true}
		}
		winners := intCell(e.Winners)
		if e.InProgress {
			winners = cell{Text: "vote en cours", Num: true}
		}
		body.Editions.Rows = append(body.Editions.Rows, []cell{textCell(e.Label), title, intCell(e.Proposals),
			intCell(e.Votes), intCell(e.Participants), winners, env})
	}
	for _, p := range b.rel.Projects {
		if p.CollectivityCode == col.Code {
			body.Projects = append(body.Projects, link{Href: root + projectPath(p), Text: p.Title})
		}
	}
	pg.Body = body

	id := "c_" + jsID(col.Slug)
	if len(eds) > 0 {
		c, err := b.editionsChart(id+"_editions", col, eds)
		if err != nil {
			pg.err = err
			return pg
		}
		pg.Charts = append(pg.Charts, c)
		for _, m := range []metricDef{homeMetrics[2], homeMetrics[0]} { // votes per 1 000, participation
			c, err := b.metricChart(id+"_rank_"+m.Col, m, col.Kind, col.Code, col.Name)
			if err != nil {
				pg.err = err
				return pg
			}
			c.Title = m.Label + " : " + col.Name + " parmi les " + g.Plural
			pg.Charts = append(pg.Charts, c)
		}
	}
	return pg
}

// metricCell shows an edition's metric; a winner rate while the vote runs
// reads "en cours", never 0 %.
func (b *builder) metricCell(e edition, m metricDef, v float64, ok bool) cell {
	if !ok && e.InProgress && (m.Col == "winner_rate" || m.Col == "cost_to_envelope") {
		return cell{Text: "en cours", Num: true}
	}
	return numCell(v, ok, m.Format)
}

func (b *builder) editionsChart(id string, col collectivity, eds []edition) (chart, error) {
	votes, props := homeMetrics[2], homeMetrics[1]
	c := chart{ID: id, Title: "Participation par édition (votes à gauche, propositions à droite)",
		APIHref:    apiHref("edition_change", "collectivity", col.Code),
		Definition: definition(b.cat, "budget_comparison", votes.Col) + " " + definition(b.cat, "budget_comparison", props.Col)}
	c.Table = dataTable{Caption: "Participation par édition : " + col.Name,
		Head: []string{"Édition", votes.Label, props.Label, "Votes", "Propositions"}}
	labels := make([]string, len(eds))
	vs := make([]float64, len(eds))
	ps := make([]float64, len(eds))
	var finished []int
	for i, e := range eds {
		labels[i] = e.Label
		v, vok := e.Metrics[votes.Col]
		p, pok := e.Metrics[props.Col]
		vs[i], ps[i] = v, p
		c.Table.Rows = append(c.Table.Rows, []cell{textCell(e.Label), numCell(v, vok, votes.Format),
			numCell(p, pok, props.Format), intCell(e.Votes), intCell(e.Proposals)})
		if !e.InProgress {
			finished = append(finished, i)
		}
	}
	switch n := len(finished); {
	case n == 0:
		c.Summary = fmt.Sprintf("Aucune édition terminée ; %s : %s à ce jour.", eds[len(eds)-1].Label, votes.Phrase(votes.Format(vs[len(eds)-1])))
	case n == 1:
		c.Summary = fmt.Sprintf("Une seule édition terminée (%s) : %s.", eds[finished[0]].Label, votes.Phrase(votes.Format(vs[finished[0]])))
	default:
		last, prev := finished[n-1], finished[n-2]
		c.Summary = fmt.Sprintf("%s : %s compte %s, contre %s pour %s.", eds[last].Label, col.Name,
			votes.Phrase(votes.Format(vs[last])), votes.Format(vs[prev]), eds[prev].Label)
	}
	if eds[len(eds)-1].InProgress {
		c.Summary += " " + eds[len(eds)-1].Label + " : chiffres provisoires, le vote n'est pas terminé."
	}
	opt, err := groupedBars(labels, []struct {
		Name   string
		Values []float64
	}{{votes.Label, vs}, {props.Label, ps}})
	c.Option = opt
	return c, err
}

// --- project -------------------------------------------------------------------

type projectBody struct {
	P            *project
	TopAPIHref   string
	Collectivity link
	Steps        dataTable
	Top          dataTable
	Totals       struct{ Proposals, Votes, Contributions, Winners string }
	// ShowContributions: the project has consultation steps or
	// contributions. A budget's Project.contributions holds its proposals,
	// which the API refuses there (API.md §9.3): its page says nothing of
	// contributions rather than a false 0.
	ShowContributions bool
}

var phaseNames = map[string]string{
	"deposit": "Dépôt", "vote": "Vote", "selection": "Sélection", "consultation": "Consultation",
	"questionnaire": "Questionnaire", "other": "Autre",
}

var stateNames = map[string]string{"FUTURE": "À venir", "OPENED": "En cours", "CLOSED": "Terminée"}

func (b *builder) projectPage(p *project) *page {
	pg := &page{Path: projectPath(p), Kind: "project", Title: p.Title, FeedHref: "feed.xml",
		FeedTitle: "Actualité de la participation : " + p.Title, Codes: []string{p.CollectivityCode}}
	root := rootOf(pg.Path)
	pg.Crumbs = []link{{Href: root + "index.html", Text: "Accueil"}}
	body := projectBody{P: p, TopAPIHref: root + apiHref("top_proposals", "project", p.ID, "source", p.Source, "limit", "100")}
	if col, ok := b.rel.collectivity(p.CollectivityCode); ok {
		body.Collectivity = link{Href: root + collectivityPath(col), Text: col.Name}
		pg.Crumbs = append(pg.Crumbs, body.Collectivity)
	}
	body.Steps = dataTable{Caption: "Étapes du projet", Head: []string{"Étape", "Phase", "État", "Début", "Fin"}}
	for _, s := range p.Steps {
		phase := phaseNames[s.Phase]
		if phase == "" {
			phase = s.Phase
		}
		state := stateNames[s.State]
		if state == "" {
			state = s.State
		}
		body.Steps.Rows = append(body.Steps.Rows, []cell{textCell(s.Title), textCell(phase), textCell(state),
			dateCell(s.Start, b.loc), dateCell(s.End, b.loc)})
	}
	body.Top = dataTable{Caption: fmt.Sprintf("Les %d propositions les plus soutenues", len(p.Top)),
		Head: []string{"Rang", "Proposition", "Votes", "Statut", "Catégorie"}}
	for i, x := range p.Top {
		title := textCell(x.Title)
		if strings.HasPrefix(x.URL, "https://") || strings.HasPrefix(x.URL, "http://") {
			title.Href = x.URL
		}
		status := x.Status
		if x.Winner && status == "" {
			status = "Lauréate"
		}
		body.Top.Rows = append(body.Top.Rows, []cell{intCell(int64(i + 1)), title, intCell(x.Votes), textCell(status), textCell(x.Category)})
	}
	var tv, tc int64
	if n := len(p.Days); n > 0 {
		tv, tc = p.Days[n-1].CumVotes, p.Days[n-1].CumContr
	}
	body.Totals.Proposals, body.Totals.Votes, body.Totals.Contributions = frInt(p.Proposals), frInt(tv), frInt(tc)
	body.Totals.Winners = frInt(p.Winners)
	body.ShowContributions = tc > 0 || slices.ContainsFunc(p.Steps, func(s step) bool { return s.Phase == "consultation" || s.Phase == "questionnaire" })
	pg.Body = body

	id := "p_" + jsID(p.Slug)
	add := func(c chart, err error) {
		if err != nil && pg.err == nil {
			pg.err = err
		}
		pg.Charts = append(pg.Charts, c)
	}
	if len(p.Days) > 0 {
		add(b.timelineChart(id+"_timeline", p))
		add(b.cumulativeChart(id+"_cumulative", p))
	}
	for _, dim := range []string{"category", "theme"} {
		if c, ok, err := b.categoryChart(id+"_"+dim, p, dim); ok {
			add(c, err)
		}
	}
	if len(p.Points) > 0 {
		add(b.mapChart(id+"_map", p))
	}
	return pg
}

// everyDay returns days (sorted, one row per day with activity) with the
// days in between filled in: no activity, cumulative counts carried over.
// Time charts put one point per calendar day on their axis, so that a
// quiet month takes a month's width instead of vanishing.
func everyDay(days []dayRow) []dayRow {
	if len(days) == 0 {
		return nil
	}
	out := make([]dayRow, 0, len(days))
	for i, d := range days {
		if i > 0 {
			prev := out[len(out)-1]
			for t := prev.Day.AddDate(0, 0, 1); t.Before(d.Day); t = t.AddDate(0, 0, 1) {
				out = append(out, dayRow{Day: t, CumProposals: prev.CumProposals, CumVotes: prev.CumVotes, CumContr: prev.CumContr})
			}
		}
		out = append(out, d)
	}
	return out
}

// dailySeries returns every calendar day from the first to the last of
// days (ISO dates, everyDay) and the votes, proposals and contributions of
// each, per day or cumulative: the series of a time chart.
func dailySeries(days []dayRow, cumulative bool) ([]string, []seriesDef) {
	dense := everyDay(days)
	iso := make([]string, len(dense))
	series := []seriesDef{{Name: "Votes"}, {Name: "Propositions"}, {Name: "Contributions"}}
	for i, d := range dense {
		iso[i] = d.Day.Format(time.DateOnly)
		v := [3]int64{d.Votes, d.Proposals, d.Contributions}
		if cumulative {
			v = [3]int64{d.CumVotes, d.CumProposals, d.CumContr}
		}
		for j := range series {
			series[j].Values = append(series[j].Values, v[j])
		}
	}
	return iso, series
}

// dayLabel is a day on a chart axis, French numeric style (DATE values
// are calendar days, read as UTC midnight).
func dayLabel(t time.Time) string { return t.Format("02/01/2006") }

// displayDays turns sorted ISO days into axis labels, and phase areas
// found on ISO days into the same labels.
func displayDays(iso []string, areas []phaseArea) ([]string, []phaseArea) {
	labels := make([]string, len(iso))
	for i, d := range iso {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			labels[i] = d
			continue
		}
		labels[i] = dayLabel(t)
	}
	index := map[string]string{}
	for i, d := range iso {
		index[d] = labels[i]
	}
	out := make([]phaseArea, len(areas))
	for i, a := range areas {
		out[i] = phaseArea{Name: a.Name, Start: index[a.Start], End: index[a.End]}
	}
	return labels, out
}

// phaseAreas returns the deposit and vote phases clipped to the chart's days.
func (b *builder) phaseAreas(p *project, days []string) []phaseArea {
	if len(days) == 0 {
		return nil
	}
	first, last := days[0], days[len(days)-1]
	var out []phaseArea
	for _, s := range p.Steps {
		if (s.Phase != "deposit" && s.Phase != "vote") || s.Start.IsZero() {
			continue
		}
		start := s.Start.In(b.loc).Format(time.DateOnly)
		end := last
		if !s.End.IsZero() {
			end = s.End.In(b.loc).Format(time.DateOnly)
		}
		if end < first || start > last {
			continue
		}
		start, end = maxStr(start, first), minStr(end, last)
		// Snap to days present on the category axis.
		i := sort.SearchStrings(days, start)
		j := sort.SearchStrings(days, end)
		if j >= len(days) || days[j] != end {
			j--
		}
		if i > j || i >= len(days) || j < 0 {
			continue
		}
		out = append(out, phaseArea{Name: phaseNames[s.Phase], Start: days[i], End: days[j]})
	}
	return out
}

func maxStr(a, b string) string {
	if a > b {
		return a
	}
	return b
}

func minStr(a, b string) string {
	if a < b {
		return a
	}
	return b
}

func (b *builder) timelineChart(id string, p *project) (chart, error) {
	c := chart{ID: id, Title: "Activité jour par jour (votes, propositions et contributions, sur une même échelle)", Tall: true,
		APIHref:    apiHref("participation_daily_range", "project", p.ID, "source", p.Source),
		Definition: definition(b.cat, "participation_daily", "votes") + " " + definition(b.cat, "participation_daily", "proposals")}
	c.Table = dataTable{Caption: "Activité jour par jour : " + p.Title,
		Head: []string{"Jour", "Propositions", "Votes", "Contributions"}}
	best := p.Days[0]
	for _, d := range p.Days {
		if d.Votes > best.Votes {
			best = d
		}
		c.Table.Rows = append(c.Table.Rows, []cell{{Text: frDate(d.Day, time.UTC), Raw: d.Day.Format(time.DateOnly)},
			intCell(d.Proposals), intCell(d.Votes), intCell(d.Contributions)})
	}
	days, series := dailySeries(p.Days, false)
	lastDay := p.Days[len(p.Days)-1]
	c.Summary = fmt.Sprintf("Du %s au %s : %s propositions, %s votes et %s contributions",
		frDate(p.Days[0].Day, time.UTC), frDate(lastDay.Day, time.UTC),
		frInt(lastDay.CumProposals), frInt(lastDay.CumVotes), frInt(lastDay.CumContr))
	if best.Votes > 0 {
		c.Summary += fmt.Sprintf(" ; le jour le plus actif, le %s, compte %s votes", frDate(best.Day, time.UTC), frInt(best.Votes))
	}
	c.Summary += "."
	areas := b.phaseAreas(p, days)
	if len(areas) > 0 {
		c.Summary = strings.TrimSuffix(c.Summary, ".") + ". Les zones grisées marquent les phases de dépôt et de vote."
	}
	labels, shaded := displayDays(days, areas)
	opt, err := timeLines(labels, series, shaded, false, "par jour")
	c.Option = opt
	return c, err
}

func (b *builder) cumulativeChart(id string, p *project) (chart, error) {
	c := chart{ID: id, Title: "Participation cumulée (votes, propositions et contributions, sur une même échelle)",
		Definition: definition(b.cat, "participation_daily", "cumulative_votes") + " " + definition(b.cat, "participation_daily", "cumulative_proposals")}
	c.Table = dataTable{Caption: "Participation cumulée : " + p.Title,
		Head: []string{"Jour", "Propositions (cumul)", "Votes (cumul)", "Contributions (cumul)"}}
	last := p.Days[len(p.Days)-1]
	half := time.Time{}
	for _, d := range p.Days {
		if half.IsZero() && last.CumVotes > 0 && d.CumVotes*2 >= last.CumVotes {
			half = d.Day
		}
		c.Table.Rows = append(c.Table.Rows, []cell{{Text: frDate(d.Day, time.UTC), Raw: d.Day.Format(time.DateOnly)},
			intCell(d.CumProposals), intCell(d.CumVotes), intCell(d.CumContr)})
	}
	days, series := dailySeries(p.Days, true)
	c.Summary = fmt.Sprintf("Au %s, le projet cumule %s votes et %s propositions", frDate(last.Day, time.UTC),
		frInt(last.CumVotes), frInt(last.CumProposals))
	if !half.IsZero() {
		c.Summary += "; la moitié des votes était atteinte le " + frDate(half, time.UTC)
	}
	c.Summary = strings.Replace(c.Summary, "; ", " ; ", 1) + "."
	labels, shaded := displayDays(days, b.phaseAreas(p, days))
	opt, err := timeLines(labels, series, shaded, true, "cumul")
	c.Option = opt
	return c, err
}

func (b *builder) categoryChart(id string, p *project, dim string) (chart, bool, error) {
	var rows []categoryRow
	for _, r := range p.Categories {
		if r.Dimension == dim {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return chart{}, false, nil
	}
	noun, article := "Catégorie", "La catégorie"
	title := "Catégories"
	if dim == "theme" {
		noun, article, title = "Thème", "Le thème", "Thèmes"
	}
	c := chart{ID: id, Title: title + " : part des propositions et des votes",
		APIHref:    apiHref("winning_categories", "project", p.ID, "source", p.Source),
		Definition: definition(b.cat, "budget_categories", "proposals_share") + " " + definition(b.cat, "budget_categories", "votes_share")}
	c.Table = dataTable{Caption: title + " : " + p.Title,
		Head: []string{noun, "Propositions", "Part des propositions", "Votes", "Part des votes", "Lauréats"}}
	labels := make([]string, len(rows))
	ps := make([]float64, len(rows))
	vs := make([]float64, len(rows))
	pct := func(v float64) string { return frPct(v, 1) }
	for i, r := range rows {
		labels[i], ps[i], vs[i] = r.Label, r.ProposalsShare, r.VotesShare
		c.Table.Rows = append(c.Table.Rows, []cell{textCell(r.Label), intCell(r.Proposals), numCell(r.ProposalsShare, true, pct),
			intCell(r.Votes), numCell(r.VotesShare, true, pct), intCell(r.Winners)})
	}
	c.Summary = fmt.Sprintf("%s « %s » rassemble la plus grande part des propositions (%s) ; elle reçoit %s des votes.",
		article, rows[0].Label, pct(rows[0].ProposalsShare), pct(rows[0].VotesShare))
	if dim == "theme" {
		c.Summary = strings.Replace(c.Summary, "; elle reçoit", "; il reçoit", 1)
	}
	opt, err := shareBars(labels, []struct {
		Name   string
		Shares []float64
	}{{"Part des propositions", ps}, {"Part des votes", vs}})
	c.Option = opt
	return c, true, err
}

func (b *builder) mapChart(id string, p *project) (chart, error) {
	c := chart{ID: id, Title: "Localisation des propositions", Tall: true,
		Definition: definition(b.cat, "proposals", "latitude") + " " + definition(b.cat, "proposals", "longitude")}
	c.Table = dataTable{Caption: "Propositions géolocalisées : " + p.Title,
		Head: []string{"Proposition", "Latitude", "Longitude", "Votes", "Lauréate"}}
	coord := func(v float64) string { return frDec(v, 5) }
	winners := 0
	for _, x := range p.Points {
		w := "non"
		if x.Winner {
			w = "oui"
			winners++
		}
		c.Table.Rows = append(c.Table.Rows, []cell{textCell(x.Title), numCell(x.Lat, true, coord), numCell(x.Lng, true, coord),
			intCell(x.Votes), textCell(w)})
	}
	c.Summary = fmt.Sprintf("%s sur %s %s une adresse", frCount(p.Located, "proposition", "propositions"), frInt(p.Proposals),
		map[bool]string{true: "a", false: "ont"}[p.Located < 2])
	if int64(len(p.Points)) < p.Located {
		c.Summary += fmt.Sprintf(" ; les %s plus soutenues sont placées", frInt(int64(len(p.Points))))
	}
	c.Summary += fmt.Sprintf(" ; %s en vermillon, les autres en bleu ciel.",
		frCount(int64(winners), "lauréate apparaît", "lauréates apparaissent"))
	opt, err := pointsScatter(p.Points)
	c.Option = opt
	return c, err
}

// --- about ---------------------------------------------------------------------

type aboutBody struct {
	ReleaseID, PreviousID, CreatedAt string
	Licence, Attribution             string
	LicenceNames                     []string
	Sources                          []string
	Metrics                          []metricDoc
	Datasets                         []datasetDoc
	Changes                          dataTable
	Downloads                        dataTable
	Queries                          []link
}

type metricDoc struct{ Name, Label, FR, EN string }
type datasetDoc struct{ Name, Title, FR string }

func (b *builder) aboutPage() *page {
	pg := &page{Path: "about.html", Kind: "about", Nav: "about", Title: "À propos des données", FeedHref: "feed.xml",
		FeedTitle: "Actualité de la participation (toutes collectivités)"}
	body := aboutBody{ReleaseID: b.rel.ID, PreviousID: b.rel.PreviousID, CreatedAt: frDateTime(b.rel.CreatedAt, b.loc),
		Licence: b.cat.Licence, Attribution: b.cat.Attribution}
	for _, l := range b.rel.Package.Licenses {
		name := l.Title
		if name == "" {
			name = l.Name
		}
		body.LicenceNames = append(body.LicenceNames, name)
	}
	// Each platform by the collectivity that runs it, with its address.
	names := map[string]string{}
	for _, p := range b.rel.Projects {
		if c, ok := b.rel.collectivity(p.CollectivityCode); ok {
			names[p.Source] = c.Name
		}
	}
	for _, s := range b.rel.Package.Sources {
		name := names[s.Title]
		if name == "" {
			name = s.Title
		}
		host := s.Path
		if u, err := url.Parse(s.Path); err == nil && u.Host != "" {
			host = u.Host
		}
		body.Sources = append(body.Sources, name+" ("+host+")")
	}
	if d, ok := b.cat.Dataset("budget_comparison"); ok {
		for _, col := range d.Columns {
			body.Metrics = append(body.Metrics, metricDoc{Name: col.Name, FR: col.DescriptionFR, EN: col.Description})
		}
	}
	for _, d := range b.cat.Datasets {
		body.Datasets = append(body.Datasets, datasetDoc{Name: d.Name, Title: d.Title, FR: d.DescriptionFR})
	}
	body.Changes = dataTable{Caption: "Changements depuis la publication précédente",
		Head: []string{"Jeu de données", "Ajouts", "Mises à jour", "Suppressions"}}
	for _, name := range sortedKeys(b.rel.Changes.Datasets) {
		ch := b.rel.Changes.Datasets[name]
		body.Changes.Rows = append(body.Changes.Rows, []cell{textCell(name), intCell(ch.Added), intCell(ch.Updated), intCell(ch.Removed)})
	}
	body.Downloads = dataTable{Caption: "Fichiers de la publication " + b.rel.ID + " (tailles et empreintes SHA-256 du manifeste)",
		Head: []string{"Fichier", "Jeu de données", "Format", "Taille", "Lignes", "SHA-256"}}
	files := append([]release.FileEntry(nil), b.rel.Manifest.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		rows := cell{Text: "–", Num: true}
		if f.Rows != nil {
			rows = intCell(*f.Rows)
		}
		body.Downloads.Rows = append(body.Downloads.Rows, []cell{
			{Text: f.Path, Raw: f.Path, Href: "data/latest/" + f.Path, FileHref: "../latest/" + f.Path}, textCell(f.Dataset), textCell(f.Format),
			{Text: frBytes(f.Bytes), Raw: fmt.Sprint(f.Bytes), Num: true}, rows, {Text: f.SHA256, Raw: f.SHA256, Hash: true}})
	}
	for _, q := range b.opts.Queries {
		t := q.Title
		if t == "" {
			t = q.Name
		}
		body.Queries = append(body.Queries, link{Href: apiHref(q.Name), Text: t})
	}
	pg.Body = body
	return pg
}
