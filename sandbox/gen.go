package sandbox

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on minimal systems
)

// paris is the platform timezone (DateTime values are Paris wall time).
var paris = mustLoadParis()

func mustLoadParis() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(fmt.Sprintf("sandbox: load Europe/Paris: %v", err))
	}
	return loc
}

// worldNow is the fixed "current time" of every world: the last edition's
// vote is still open, earlier ones are closed.
var worldNow = time.Date(2025, 10, 20, 12, 0, 0, 0, paris)

// Generate builds the world of the default nine instances for a seed and a
// scale. The same arguments always give the same world.
func Generate(seed int64, scale Scale) *World {
	return GenerateInstances(seed, scale, DefaultInstances)
}

// GenerateInstances builds the world for the named instances (in that order).
// An instance's data depends only on the seed, the scale and its name.
func GenerateInstances(seed int64, scale Scale, names []string) *World {
	w := &World{Seed: seed, Scale: scale, Now: worldNow, ByName: map[string]*Instance{}}
	w.Instances = make([]*Instance, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Instances[i] = genInstance(seed, scale, n)
		}()
	}
	wg.Wait()
	for _, in := range w.Instances {
		w.ByName[in.Name] = in
	}
	return w
}

type gen struct {
	r    *rand.Rand
	in   *Instance
	p    params
	c    collectivity
	qNum int
	vote int64
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// collectivityOf returns the geography and habits of an instance (a
// generic collectivity for unknown names).
func collectivityOf(name string) collectivity {
	c, ok := collectivities[name]
	if !ok {
		c = collectivity{"Collectivité " + name, 45, 46, 1, 2, []town{{"Villeneuve", "00000"}}, "bp", 1_000_000, "Lauréat", "Non retenu"}
	}
	return c
}

func genInstance(seed int64, scale Scale, name string) *Instance {
	c := collectivityOf(name)
	g := &gen{
		r: rand.New(rand.NewPCG(uint64(seed), hashName(name))),
		in: &Instance{Name: name, Label: c.label, BaseURL: "https://" + name + ".sandbox.cap-collectif.com",
			byGlobalID: map[string]any{}, byRawID: map[string]any{}, cache: newViewCache()},
		p: scale.params(), c: c, vote: 1000,
	}
	g.users()
	g.themes()
	g.districts()
	first := 2026 - g.p.editions
	for e := 0; e < g.p.editions; e++ {
		g.edition(e, first+e)
	}
	g.concertation(first + g.p.editions - 2)
	g.privateProject(first + g.p.editions - 1)
	g.events()
	g.finish()
	g.in.now = worldNow
	g.in.lastVote = g.vote
	return g.in
}

// uuid returns a deterministic version-4 UUID.
func (g *gen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12)
	b = (b &^ (3 << 62)) | (2 << 62)
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], a)
	binary.BigEndian.PutUint64(raw[8:], b)
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:], raw[10:])
	return string(out[:])
}

// GlobalID returns the base64 global id of "typ:raw".
func GlobalID(typ, raw string) string {
	return base64.StdEncoding.EncodeToString([]byte(typ + ":" + raw))
}

func (g *gen) pick(n int) int { return g.r.IntN(n) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pickS[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// between returns a time uniformly in [a, b), at whole seconds.
func (g *gen) between(a, b time.Time) time.Time {
	d := b.Sub(a)
	if d <= 0 {
		return a
	}
	return a.Add(time.Duration(g.r.Int64N(int64(d/time.Second))) * time.Second)
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, paris) }

func tp(t time.Time) *time.Time { return &t }

// accents folds the accents slugs drop (read-only).
var accents = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "à", "a", "â", "a", "ô", "o", "î", "i", "ù", "u", "û", "u", "ç", "c", "É", "e", "'", "-", "’", "-", " ", "-")

func slugify(s string) string {
	s = strings.ToLower(accents.Replace(s))
	var b strings.Builder
	dash := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (g *gen) register(global, raw string, rec any) {
	if global != "" {
		g.in.byGlobalID[global] = rec
	}
	if raw != "" {
		g.in.byRawID[raw] = rec
	}
}

var (
	firstNames = []string{"Camille", "Léa", "Hugo", "Chloé", "Lucas", "Inès", "Nathan", "Zoé", "Théo", "Manon", "Jérôme", "Hélène", "François", "Anaïs", "Gaëlle", "Noé", "Maël", "Agnès"}
	lastNames  = []string{"Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Chevalier", "Robin"}
	userTypes  = []string{"Citoyen·ne", "Association", "Élu·e", "Agent de la collectivité"}
	themeNames = []string{"Environnement", "Mobilités", "Solidarité", "Culture & patrimoine", "Sport", "Éducation & jeunesse"}
	categories = []string{"Aménagement", "Nature en ville", "Vélo", "Lien social", "Numérique", "Alimentation", "Santé"}
	objects    = []string{"Aire de jeux", "Jardin partagé", "Piste cyclable", "Boîte à livres", "Composteur collectif", "Parcours sportif", "Abri vélos sécurisé", "Fresque murale", "Verger conservatoire", "Ombrières", "Tiers-lieu", "Rucher pédagogique", "Fontaine à eau", "Bancs et tables de pique-nique", "Skatepark", "Éclairage solaire"}
	places     = []string{"le quartier de la gare", "le bourg", "l’école Jean-Jaurès", "la place de la mairie", "les bords de la rivière", "le collège Jules-Ferry", "la zone d’activités", "le parc municipal", "la médiathèque"}
	extras     = []string{"", "", "", " 🌳", " 🚲", " — « pour tous »", " (2ᵉ tranche)", " & accessibilité PMR", " : c'est \"urgent\" !"}
	publics    = []string{"Enfants", "Adolescents", "Familles", "Seniors", "Personnes en situation de handicap", "Tous publics"}
)

func (g *gen) users() {
	in := g.in
	for i, n := range userTypes {
		ut := &UserType{UUID: g.uuid(), Name: n}
		ut.ID = GlobalID("UserType", ut.UUID)
		_ = i
		in.UserTypes = append(in.UserTypes, ut)
		g.register(ut.ID, ut.UUID, ut)
	}
	start := day(2019, 1, 1)
	span := worldNow.Sub(start)
	times := make([]time.Time, g.p.users)
	for i := range times {
		times[i] = start.Add(time.Duration(g.r.Int64N(int64(span/time.Second))) * time.Second)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 0; i < g.p.users; i++ {
		u := g.account(times[i])
		if g.chance(0.4) {
			u.UpdatedAt = tp(g.between(u.CreatedAt, worldNow))
		}
		if g.chance(0.7) {
			u.Type = pickS(g, in.UserTypes)
		}
		if g.chance(0.2) {
			u.Biography = "Habitant·e de " + pickS(g, g.c.towns).name + ".\nPassionné·e par « la vie locale » 😊"
		}
		if g.chance(0.05) {
			u.WebsiteURL = "https://example.org/" + u.Slug
		}
		switch {
		case i == 0:
			u.SuperAdmin = true
			u.Username = "admin"
		case g.chance(0.03):
			u.Enabled = false
		case g.chance(0.04):
			u.DeletedAccountAt = tp(g.between(u.CreatedAt, worldNow))
			u.Username = "" // anonymised
		}
		in.Users = append(in.Users, u)
		g.register(u.ID, u.UUID, u)
	}
}

// account is a new enabled account created at t: its ids, username and
// profile URL.
func (g *gen) account(t time.Time) *User {
	u := &User{UUID: g.uuid(), CreatedAt: t, Enabled: true}
	u.ID = GlobalID("User", u.UUID)
	fn, ln := pickS(g, firstNames), pickS(g, lastNames)
	u.Username = fn + " " + ln
	if g.chance(0.3) {
		u.Username = strings.ToLower(fn) + fmt.Sprint(g.pick(100))
	}
	u.Slug = slugify(u.Username) + "-" + u.UUID[:4]
	u.URL = g.in.BaseURL + "/profile/" + u.Slug
	return u
}

// author picks a proposal/reply author: nil (deleted account) 3 % of the time.
func (g *gen) author() *User {
	if g.chance(0.03) {
		return nil
	}
	return g.in.Users[1+g.pick(len(g.in.Users)-1)]
}

func (g *gen) themes() {
	for _, n := range themeNames {
		th := &Theme{ID: g.uuid(), Title: n, Body: "<p>Thème « " + n + " »</p>"}
		g.in.Themes = append(g.in.Themes, th)
	}
}

func (g *gen) districts() {
	n := g.p.districts
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	dLat := (g.c.latMax - g.c.latMin) / float64(rows)
	dLng := (g.c.lngMax - g.c.lngMin) / float64(cols)
	for i := 0; i < n; i++ {
		r, c := i/cols, i%cols
		la, lo := g.c.latMin+float64(r)*dLat, g.c.lngMin+float64(c)*dLng
		d := &District{UUID: g.uuid(), DisplayedOnMap: i%4 != 3}
		d.ID = GlobalID("District", d.UUID)
		d.Name = fmt.Sprintf("Canton de %s-%d", g.c.towns[i%len(g.c.towns)].name, i/len(g.c.towns)+1)
		d.Slug = slugify(d.Name)
		d.TitleOnMap = d.Name
		if i%2 == 0 {
			d.Description = "<p>Secteur n°" + fmt.Sprint(i+1) + " — « " + g.c.label + " »</p>"
		}
		poly := [][][2]float64{{{lo, la}, {lo + dLng, la}, {lo + dLng, la + dLat}, {lo, la + dLat}, {lo, la}}}
		gj, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": []any{map[string]any{
			"type": "Feature", "properties": map[string]any{"name": d.Name},
			"geometry": map[string]any{"type": "Polygon", "coordinates": poly}}}})
		d.GeoJSON = string(gj)
		g.in.Districts = append(g.in.Districts, d)
		g.register(d.ID, d.UUID, d)
	}
}

func (g *gen) newProject(title, typeTitle string, published time.Time) *Project {
	p := &Project{UUID: g.uuid(), Title: title, TypeTitle: typeTitle, PublishedAt: published, Public: true}
	p.ID = GlobalID("Project", p.UUID)
	p.Slug = slugify(title)
	p.URL = g.in.BaseURL + "/project/" + p.Slug + "/presentation"
	p.MetaDescription = title + " — " + g.c.label
	if g.chance(0.5) {
		p.CoverURL = g.in.BaseURL + "/media/default/0001/01/" + p.UUID[:8] + ".jpg"
	}
	p.Authors = []*User{g.in.Users[0]}
	g.in.Projects = append(g.in.Projects, p)
	g.register(p.ID, p.UUID, p)
	return p
}

var rawStepSeq = map[string]string{TPresentation: "pstep", TOther: "ostep", TRanking: "rstep"}

func (g *gen) newStep(p *Project, typ, title string, start, end *time.Time) *Step {
	s := &Step{Typename: typ, Title: title, Start: start, End: end, Project: p, Position: len(p.Steps)}
	s.Slug = slugify(title)
	if pre, ok := rawStepSeq[typ]; ok {
		s.ID = fmt.Sprintf("%s%d", pre, len(g.in.Steps)+1)
		g.register("", s.ID, s)
	} else {
		s.UUID = g.uuid()
		s.ID = GlobalID(typ, s.UUID)
		g.register(s.ID, s.UUID, s)
	}
	kind := map[string]string{TCollect: "collect", TSelection: "selection", TConsultation: "consultation", TQuestionnaire: "questionnaire", TPresentation: "presentation", TOther: "step", TRanking: "ranking"}[typ]
	s.URL = g.in.BaseURL + "/project/" + p.Slug + "/" + kind + "/" + s.Slug
	p.Steps = append(p.Steps, s)
	g.in.Steps = append(g.in.Steps, s)
	return s
}

// costText renders a citizen's free-text cost estimate (often unparseable).
func (g *gen) costText(cost int64) string {
	switch g.pick(10) {
	case 0:
		return fmt.Sprintf("%s €", thousands(cost))
	case 1:
		return fmt.Sprintf("%.1f M€", float64(cost)/1e6)
	case 2:
		return fmt.Sprintf("%dk", cost/1000)
	case 3:
		return fmt.Sprintf("environ %d euros", cost)
	case 4:
		return fmt.Sprint(cost)
	case 5:
		return fmt.Sprintf("%s,50 €", thousands(cost))
	case 6:
		return fmt.Sprintf("entre %d et %d €", cost/2, cost)
	case 7:
		return pickS(g, []string{"je ne sais pas", "???", "gratuit 😉", "à définir avec les services", "N/A"})
	case 8:
		return fmt.Sprintf("%s€ TTC", thousands(cost))
	default:
		return fmt.Sprintf("%d €", cost)
	}
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (g *gen) newQuestion(typ, title string) *Question {
	g.qNum++
	q := &Question{Num: g.qNum, Typename: typ, Title: title}
	q.ID = GlobalID("Question", fmt.Sprint(q.Num))
	g.in.Questions = append(g.in.Questions, q)
	g.register(q.ID, "", q)
	return q
}

func (g *gen) choices(q *Question, labels []string) {
	for _, l := range labels {
		q.Choices = append(q.Choices, &Choice{ID: GlobalID("QuestionChoice", g.uuid()), Title: l})
	}
}

// CostQuestion is the title of the proposal-form question that holds each
// proposal's estimated cost (a free-text answer, as on real platforms).
const CostQuestion = "Coût estimé de votre projet (en euros)"

// form is the custom proposal form of a collect step.
type form struct{ cost, public, media *Question }

func (g *gen) newForm() form {
	f := form{
		cost:   g.newQuestion("SimpleQuestion", CostQuestion),
		public: g.newQuestion("MultipleChoiceQuestion", "Public concerné"),
		media:  g.newQuestion("MediaQuestion", "Photos ou plans (facultatif)"),
	}
	g.choices(f.public, publics)
	return f
}

func (g *gen) valueResp(q *Question, v string) *Response {
	return &Response{Typename: "ValueResponse", ID: GlobalID("ValueResponse", g.uuid()), Question: q, Value: v, HasValue: true}
}

func (g *gen) multiValue(q *Question) string {
	var labels []string
	for _, c := range q.Choices {
		if g.chance(0.35) {
			labels = append(labels, c.Title)
		}
	}
	if len(labels) == 0 {
		labels = []string{q.Choices[0].Title}
	}
	b := []byte(`{"labels":[`)
	for i, l := range labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, l)
	}
	b = append(b, `],"other":`...)
	if g.chance(0.1) {
		b = append(b, `"Les \"habitants\" du quartier"`...)
	} else {
		b = append(b, "null"...)
	}
	return string(append(b, '}'))
}

// edition generates one participatory-budget project.
func (g *gen) edition(e, year int) {
	in := g.in
	c := g.c
	titles := map[string]string{"bp": "Budget participatif %d", "bp-thematique": "Budget participatif citoyen %d", "appel-a-projets": "Appel à projets citoyens %d", "orientations": "Budget participatif %d : vos orientations"}
	p := g.newProject(fmt.Sprintf(titles[c.model], year), "Budget participatif", day(year, 1, 10).Add(10*time.Hour))
	p.Themes = []*Theme{in.Themes[e%len(in.Themes)], in.Themes[(e+2)%len(in.Themes)]}
	for _, d := range in.Districts {
		if g.chance(0.6) {
			p.Districts = append(p.Districts, d)
		}
	}
	meta := &BudgetMeta{Edition: year, Model: c.model, WinnerStatuses: []string{c.winnerStatus}, LoserStatuses: []string{c.loserStr}}
	p.Budget = meta

	g.newStep(p, TPresentation, "Présentation", tp(day(year, 1, 15)), nil)
	collect := g.newStep(p, TCollect, "Dépôt des projets", tp(day(year, 2, 1)), tp(day(year, 4, 15).Add(23*time.Hour+59*time.Minute)))
	var analysis *Step
	if c.model == "bp" || c.model == "bp-thematique" {
		analysis = g.newStep(p, TSelection, "Analyse de recevabilité", tp(day(year, 4, 16)), tp(day(year, 6, 30)))
	}
	voteStart, voteEnd := day(year, 9, 15), day(year, 10, 31).Add(23*time.Hour+59*time.Minute)
	vote := g.newStep(p, TSelection, "Vote des habitant·es", tp(voteStart), tp(voteEnd))
	if e%2 == 1 {
		g.newStep(p, TRanking, "Classement", tp(day(year, 11, 2)), nil)
	}
	g.newStep(p, TOther, "Résultats", tp(day(year, 11, 15)), nil)
	f := g.newForm()

	recevable := &Status{ID: g.uuid(), Name: "Recevable", Color: "INFO"}
	nonRecevable := &Status{ID: g.uuid(), Name: "Non recevable", Color: "DANGER"}
	auVote := &Status{ID: g.uuid(), Name: "Soumis au vote", Color: "PRIMARY"}
	won := &Status{ID: g.uuid(), Name: c.winnerStatus, Color: "SUCCESS"}
	lost := &Status{ID: g.uuid(), Name: c.loserStr, Color: "WARNING"}
	closed := worldNow.After(voteEnd)

	props := g.proposals(p, collect, f, g.p.proposals, e+1, *collect.Start, *collect.End)
	var inVote []*Proposal
	for _, pr := range props {
		if !pr.Published || pr.Draft || pr.Trashed {
			continue
		}
		ok := g.chance(0.75)
		if analysis != nil {
			st := nonRecevable
			if ok {
				st = recevable
			}
			pr.Selections = append(pr.Selections, Selection{Step: analysis, Status: st})
			analysis.Proposals = append(analysis.Proposals, pr)
		}
		if ok {
			inVote = append(inVote, pr)
		}
	}
	// votes: heavy-tailed per proposal, peaking near the vote deadline
	total := g.p.proposals * g.p.votesAvg
	w := make([]float64, len(props))
	sum := 0.0
	inVoteSet := map[*Proposal]bool{}
	for _, pr := range inVote {
		inVoteSet[pr] = true
	}
	for i, pr := range props {
		if !pr.Published || pr.Draft {
			continue
		}
		w[i] = math.Exp(g.r.NormFloat64() * 1.1)
		if !inVoteSet[pr] {
			w[i] *= 0.1
		}
		sum += w[i]
	}
	voteUntil := voteEnd
	if !closed {
		voteUntil = worldNow
	}
	for i, pr := range props {
		if w[i] == 0 {
			continue
		}
		n := int(math.Round(float64(total) * w[i] / sum))
		g.votes(pr, n, inVoteSet[pr], voteStart, voteUntil)
		p.VotesCount += len(pr.Votes)
	}
	// winners: most voted first while the envelope allows
	slices.SortStableFunc(inVote, func(a, b *Proposal) int { return len(b.Votes) - len(a.Votes) })
	var costSum int64
	for _, pr := range inVote {
		costSum += max(pr.Cost, 10000)
	}
	meta.EnvelopeEUR = max(50_000, (costSum*2/5)/50_000*50_000)
	budget := meta.EnvelopeEUR
	for _, pr := range inVote {
		st := auVote
		if closed {
			st = lost
			if c := max(pr.Cost, 10000); c <= budget {
				budget -= c
				st = won
				pr.Winner = true
			}
		}
		pr.Selections = append(pr.Selections, Selection{Step: vote, Status: st})
	}
	// the vote step lists its proposals in deposit order
	for _, pr := range props {
		if inVoteSet[pr] {
			vote.Proposals = append(vote.Proposals, pr)
		}
	}
}

// proposals generates n proposals deposited in a collect step.
func (g *gen) proposals(p *Project, s *Step, f form, n, refPrefix int, from, to time.Time) []*Proposal {
	in := g.in
	times := make([]time.Time, n)
	for i := range times {
		times[i] = g.between(from, to)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var out []*Proposal
	for i := 0; i < n; i++ {
		pr := &Proposal{UUID: g.uuid(), CreatedAt: times[i], Published: true, Project: p, Collect: s}
		pr.ID = GlobalID("Proposal", pr.UUID)
		pr.Reference = fmt.Sprintf("%d-%d", refPrefix, i+1)
		pl := pickS(g, places)
		pr.Title = pickS(g, objects) + " pour " + pl + pickS(g, extras)
		pr.Body = "<p>Nous proposons un projet pour " + pl + ".</p>\n<p>Objectifs : <strong>créer du lien</strong> &amp; améliorer le cadre de vie.</p>"
		pr.Summary = "Projet porté par des habitant·es : « " + pl + " »."
		switch {
		case i == 1 && refPrefix == 1:
			pr.Title = "<script>alert(1)</script>"
		case i == 2 && refPrefix == 1:
			pr.Body = "<p>Regardez : <img src=x onerror=alert(1)></p>"
			pr.Title = "Projet \"test\" <img src=x onerror=alert(1)>"
		case g.chance(0.02):
			pr.Body += "\n<script>alert('xss')</script>"
		}
		pr.Slug = slugify(pr.Title)
		if pr.Slug == "" {
			pr.Slug = "proposition"
		}
		pr.URL = in.BaseURL + "/project/" + p.Slug + "/collect/" + s.Slug + "/proposals/" + pr.Slug
		pr.Author = g.author()
		pr.AuthorDeleted = pr.Author == nil
		switch {
		case g.chance(0.03):
			pr.Draft, pr.Published = true, false
		case g.chance(0.02):
			pr.Published = false
			pr.NotPublishedReason = "WAITING_AUTHOR_CONFIRMATION"
		default:
			pr.PublishedAt = tp(pr.CreatedAt.Add(time.Duration(g.pick(3600)) * time.Second))
		}
		if g.chance(0.5) {
			pr.UpdatedAt = tp(g.between(pr.CreatedAt, to.Add(24*time.Hour)))
		}
		if pr.Published && g.chance(0.04) {
			pr.Trashed = true
			pr.TrashedStatus = pickS(g, []string{"VISIBLE", "INVISIBLE"})
			pr.TrashedAt = tp(g.between(pr.CreatedAt, to.Add(72*time.Hour)))
			pr.TrashedReason = "Hors du champ de compétence du Département"
		}
		g.deposit(pr, s, f)
		out = append(out, pr)
	}
	return out
}

// respond fills a proposal's answers to its collect step's form (the
// question lists the answers of published proposals).
func (g *gen) respond(pr *Proposal, f form) {
	visible := pr.Published && !pr.Draft
	if g.chance(0.7) {
		base := pr.Cost
		if base == 0 {
			base = 5000 + int64(g.pick(50))*1000
		}
		pr.CostTyped = g.costText(base)
		pr.Responses = append(pr.Responses, g.valueResp(f.cost, pr.CostTyped))
	}
	pr.Responses = append(pr.Responses, g.valueResp(f.public, g.multiValue(f.public)))
	if g.chance(0.3) {
		pr.Responses = append(pr.Responses, &Response{Typename: "MediaResponse", Question: f.media,
			Media: []string{g.in.BaseURL + "/media/default/0001/01/" + pr.UUID[:8] + ".png"}})
	}
	if visible {
		for _, r := range pr.Responses {
			r.Question.answers = append(r.Question.answers, r)
		}
	}
}

// address returns a street address inside the collectivity.
func (g *gen) address() *Address {
	t := pickS(g, g.c.towns)
	lat := g.c.latMin + g.r.Float64()*(g.c.latMax-g.c.latMin)
	lng := g.c.lngMin + g.r.Float64()*(g.c.lngMax-g.c.lngMin)
	lat, lng = math.Round(lat*1e6)/1e6, math.Round(lng*1e6)/1e6
	num := 1 + g.pick(120)
	street := pickS(g, []string{"Rue de la République", "Avenue Jean-Jaurès", "Place du Marché", "Chemin des Écoliers", "Allée des Tilleuls"})
	formatted := fmt.Sprintf("%d %s, %s %s, France", num, street, t.zip, t.name)
	js, _ := json.Marshal([]any{map[string]any{"formatted_address": formatted,
		"geometry": map[string]any{"location": map[string]float64{"lat": lat, "lng": lng}, "location_type": "ROOFTOP"},
		"types":    []string{"street_address"}}})
	return &Address{Formatted: formatted, Lat: lat, Lng: lng, JSON: string(js), Types: []string{"ROOFTOP"}}
}

// cost returns an analysts' estimation in euros (log-normal, by 500 €).
func (g *gen) cost() int64 {
	return max(500, int64(math.Round(math.Exp(9.5+g.r.NormFloat64()*0.9)/500))*500)
}

// deposit gives a new proposal of collect step s its theme, category,
// address, cost, form answers and analysis ids, and files it in the step
// and the instance.
func (g *gen) deposit(pr *Proposal, s *Step, f form) {
	p, in := s.Project, g.in
	if len(p.Themes) > 0 && g.chance(0.8) {
		pr.Theme = pickS(g, p.Themes)
	}
	if g.chance(0.85) {
		pr.Category = pickS(g, categories)
	}
	if g.chance(0.6) {
		pr.Address = g.address()
	}
	if g.chance(0.85) {
		pr.Cost = g.cost()
	}
	g.respond(pr, f)
	pr.AnalysisID = GlobalID("ProposalAnalysis", g.uuid())
	pr.AssessID = GlobalID("ProposalAssessment", g.uuid())
	pr.DecisionID = GlobalID("ProposalDecision", g.uuid())
	s.Proposals = append(s.Proposals, pr)
	in.Proposals = append(in.Proposals, pr)
	g.register(pr.ID, pr.UUID, pr)
}

// votes gives a proposal n votes: support votes after deposit, then most
// during the vote step with a peak near the deadline.
func (g *gen) votes(pr *Proposal, n int, voted bool, voteStart, voteEnd time.Time) {
	if n <= 0 {
		return
	}
	dep := pr.CreatedAt.Unix()
	cEnd := pr.Collect.End.Unix()
	vs, ve := voteStart.Unix(), voteEnd.Unix()
	ts := make([]int64, n)
	for i := range ts {
		switch {
		case !voted || g.chance(0.12) || ve <= vs:
			if cEnd > dep {
				ts[i] = dep + g.r.Int64N(cEnd-dep)
			} else {
				ts[i] = dep
			}
		case g.chance(0.65):
			u := g.r.Float64()
			ts[i] = ve - int64(u*u*u*float64(ve-vs))
		default:
			ts[i] = vs + g.r.Int64N(ve-vs)
		}
	}
	for i, t := range ts {
		// few votes at night: move most 0h–7h (Paris) votes to the daytime
		if (t+3600)%86400 < 7*3600 && g.chance(0.8) {
			if t2 := t + 9*3600; t2 < ve || !voted {
				ts[i] = t2
			}
		}
	}
	slices.Sort(ts)
	pr.Votes = make([]Vote, n)
	for i, t := range ts {
		g.vote++
		// stored DESC (the default PUBLISHED_AT DESC order)
		pr.Votes[n-1-i] = Vote{ID: g.vote, CreatedAt: t, PublishedAt: t, Anonymous: g.chance(0.1)}
	}
	g.in.VotesTotal += n
}

// concertation generates a project mixing a consultation, a questionnaire
// and an idea box, so Project.contributions mixes every kind.
func (g *gen) concertation(year int) {
	in := g.in
	p := g.newProject("Concertation : schéma des mobilités "+fmt.Sprint(year), "Concertation", day(year, 3, 1).Add(9*time.Hour))
	p.Themes = []*Theme{in.Themes[1]}
	cs := g.newStep(p, TConsultation, "Consultation sur le projet de schéma", tp(day(year, 3, 2)), tp(day(year, 5, 31)))
	qs := g.newStep(p, TQuestionnaire, "Questionnaire « vos déplacements »", tp(day(year, 3, 2)), tp(day(year, 6, 15)))
	ideas := g.newStep(p, TCollect, "Boîte à idées", tp(day(year, 3, 2)), tp(day(year, 6, 30)))
	g.proposals(p, ideas, g.newForm(), g.p.ideas, 90+year%100, *ideas.Start, *ideas.End)
	for _, pr := range ideas.Proposals {
		g.votes(pr, g.pick(4), false, *ideas.Start, *ideas.End)
		p.VotesCount += len(pr.Votes)
	}

	// consultation contributions
	var opinions, targets []*Contribution
	for i := 0; i < g.p.contribs; i++ {
		c := &Contribution{UUID: g.uuid(), CreatedAt: g.between(*cs.Start, *cs.End), Published: true, Project: p}
		switch k := g.pick(100); {
		case i == 0 || k < 30:
			c.Typename = "Opinion"
			c.Title = pickS(g, []string{"Développer le covoiturage", "Plus de bus le dimanche", "Des pistes cyclables continues", "Tarif unique transports", "Navettes vers les gares"})
			c.Body = "<p>Proposition : " + c.Title + ".\nQu'en pensez-vous ? 🚌</p>"
			c.Pinned = g.chance(0.05)
			opinions = append(opinions, c)
		case k < 45:
			c.Typename = "Version"
			c.Parent = pickS(g, opinions)
			c.Related = c.Parent
			c.Title = "Amendement : " + c.Parent.Title
			c.Body = "<p>Remplacer « tous » par « chacun »</p>"
		case k < 85:
			c.Typename = "Argument"
			c.ArgType = pickS(g, []string{"FOR", "FOR", "AGAINST"})
			c.Related = pickS(g, targets)
			c.Body = pickS(g, []string{"Tout à fait d'accord !", "Coût trop élevé pour le \"contribuable\".", "Et les zones rurales ?\nIl faut y penser.", "👍👍"})
		default:
			c.Typename = "Source"
			c.Related = pickS(g, targets)
			c.Title = "Étude de l’ADEME"
			c.Body = "https://www.ademe.fr/etude-" + fmt.Sprint(i)
		}
		c.ID = GlobalID(c.Typename, c.UUID)
		c.URL = in.BaseURL + "/consultations/" + p.Slug + "/consultation/" + cs.Slug + "/opinions/" + strings.ToLower(c.Typename) + "s/" + c.UUID[:8]
		if c.Typename == "Opinion" || c.Typename == "Version" {
			targets = append(targets, c)
		}
		if g.chance(0.04) {
			c.Published = false
		} else {
			c.PublishedAt = tp(c.CreatedAt)
		}
		if c.Typename != "Opinion" && g.chance(0.05) {
			c.Trashed = true
			c.TrashedStatus = "INVISIBLE"
			c.TrashedAt = tp(c.CreatedAt.Add(48 * time.Hour))
			c.TrashedReason = "Propos injurieux"
		}
		if g.chance(0.3) {
			c.UpdatedAt = tp(c.CreatedAt.Add(time.Duration(1+g.pick(100)) * time.Hour))
		}
		in.Contribs = append(in.Contribs, c)
		g.register(c.ID, c.UUID, c)
	}
	cs.VotesCount = g.p.contribs * 3

	// questionnaire
	q := &Questionnaire{UUID: g.uuid(), Title: "Vos déplacements au quotidien", Step: qs}
	q.ID = GlobalID("Questionnaire", q.UUID)
	qs.Questionnaire = q
	g.register(q.ID, q.UUID, q)
	sec := g.newQuestion("SectionQuestion", "Vos habitudes")
	sec.Level = 1
	simple := g.newQuestion("SimpleQuestion", "Quelle est votre commune ?")
	mode := g.newQuestion("MultipleChoiceQuestion", "Quels modes de transport utilisez-vous ?")
	g.choices(mode, []string{"Voiture", "Bus / car", "Train", "Vélo", "Marche", "Covoiturage"})
	maj := g.newQuestion("MajorityQuestion", "Êtes-vous satisfait·e de l’offre actuelle ?")
	free := g.newQuestion("SimpleQuestion", "Vos remarques")
	q.Questions = []*Question{sec, simple, mode, maj, free}
	for i := 0; i < g.p.replies; i++ {
		r := &Reply{UUID: g.uuid(), CreatedAt: g.between(*qs.Start, *qs.End), Published: true, Questionnaire: q, Project: p}
		r.ID = GlobalID("Reply", r.UUID)
		r.URL = in.BaseURL + "/project/" + p.Slug + "/questionnaire/" + qs.Slug + "/replies/" + r.ID
		r.Author = g.author()
		switch {
		case g.chance(0.05):
			r.Draft, r.Published = true, false
		case g.chance(0.03):
			r.Published = false
		default:
			r.PublishedAt = tp(r.CreatedAt)
		}
		if g.chance(0.2) {
			r.UpdatedAt = tp(r.CreatedAt.Add(time.Duration(1+g.pick(500)) * time.Minute))
		}
		r.Responses = []*Response{
			g.valueResp(simple, pickS(g, g.c.towns).name),
			g.valueResp(mode, g.multiValue(mode)),
			g.valueResp(maj, fmt.Sprint(g.pick(6))),
		}
		if g.chance(0.4) {
			r.Responses = append(r.Responses, g.valueResp(free, pickS(g, []string{
				"Plus de trains SVP !\nMerci 🙏", "<b>Urgent</b> : réparer la route", "Rien à signaler", "Le bus de 7h12 est toujours \"en retard\"", "<script>alert(1)</script>"})))
		}
		if r.Visible() {
			for _, rs := range r.Responses {
				rs.Question.answers = append(rs.Question.answers, rs)
			}
		}
		q.Replies = append(q.Replies, r)
		in.Replies = append(in.Replies, r)
		g.register(r.ID, r.UUID, r)
	}
	slices.SortFunc(q.Replies, func(a, b *Reply) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.UUID, a.UUID)
	})
	in.Quests = append(in.Quests, q)
}

// privateProject is invisible to anonymous callers (custom access).
func (g *gen) privateProject(year int) {
	p := g.newProject(fmt.Sprintf("Budget participatif interne des agents %d", year), "Budget participatif", day(year, 2, 1).Add(8*time.Hour))
	p.Public = false
	s := g.newStep(p, TCollect, "Dépôt des idées des agents", tp(day(year, 2, 2)), tp(day(year, 3, 31)))
	for _, pr := range g.proposals(p, s, g.newForm(), g.p.private, 99, *s.Start, *s.End) {
		g.votes(pr, g.pick(5), false, *s.Start, *s.End)
	}
}

func (g *gen) events() {
	in := g.in
	for i := 0; i < g.p.events; i++ {
		ev := &Event{UUID: g.uuid(), Enabled: !g.chance(0.1)}
		ev.ID = GlobalID("Event", ev.UUID)
		t := pickS(g, g.c.towns)
		ev.Title = pickS(g, []string{"Réunion publique", "Atelier budget participatif", "Balade urbaine", "Forum des associations", "Soirée de lancement"}) + " à " + t.name
		ev.Slug = slugify(ev.Title) + "-" + ev.UUID[:4]
		ev.URL = in.BaseURL + "/events/" + ev.Slug
		ev.Body = "<p>Venez nombreux·ses !</p>\n<p>Entrée libre &amp; gratuite — « café offert » ☕</p>"
		ev.Start = g.between(day(2022, 9, 1), day(2026, 6, 30)).Truncate(15 * time.Minute)
		if g.chance(0.85) {
			ev.End = tp(ev.Start.Add(time.Duration(1+g.pick(4)) * time.Hour))
		}
		ev.CreatedAt = ev.Start.Add(-time.Duration(24*(7+g.pick(60))) * time.Hour)
		if g.chance(0.3) {
			ev.UpdatedAt = tp(ev.CreatedAt.Add(48 * time.Hour))
		}
		if g.chance(0.8) {
			ev.Author = in.Users[1+g.pick(len(in.Users)-1)]
		}
		if g.chance(0.2) {
			ev.Link = "https://www.helloasso.com/e/" + ev.Slug
		}
		if g.chance(0.7) {
			lat := math.Round((g.c.latMin+g.r.Float64()*(g.c.latMax-g.c.latMin))*1e6) / 1e6
			lng := math.Round((g.c.lngMin+g.r.Float64()*(g.c.lngMax-g.c.lngMin))*1e6) / 1e6
			f := "Salle des fêtes, " + t.zip + " " + t.name + ", France"
			js, _ := json.Marshal([]any{map[string]any{"formatted_address": f, "geometry": map[string]any{"location": map[string]float64{"lat": lat, "lng": lng}}}})
			ev.Address = &Address{Formatted: f, Lat: lat, Lng: lng, JSON: string(js), Types: []string{"APPROXIMATE"}}
			ev.ZipCode = t.zip
		}
		for _, p := range in.Projects {
			if p.Public && g.chance(1.5/float64(len(in.Projects))) {
				ev.Projects = append(ev.Projects, p)
			}
		}
		in.Events = append(in.Events, ev)
		g.register(ev.ID, ev.UUID, ev)
	}
}

// finish builds the derived lists: Project.contributions, contributors,
// counters and district positions.
func (g *gen) finish() { rebuildDerived(g.in) }

// rebuildDerived builds, from scratch, the lists derived from the records:
// Project.Contributions, ContributionsCount, Contributors and
// District.Projects. It clears them first, so an evolution step reruns it
// after mutating the records.
func rebuildDerived(in *Instance) {
	for _, p := range in.Projects {
		p.Contributions, p.ContributionsCount, p.Contributors = nil, 0, nil
	}
	for _, d := range in.Districts {
		d.Projects = nil
	}
	type entry struct {
		at  time.Time
		id  string
		rec any
	}
	byProject := map[*Project][]entry{}
	contributors := map[*Project]map[*User]bool{}
	addUser := func(p *Project, u *User) {
		if u == nil {
			return
		}
		if contributors[p] == nil {
			contributors[p] = map[*User]bool{}
		}
		contributors[p][u] = true
	}
	for _, pr := range in.Proposals {
		if pr.Published && !pr.Draft {
			byProject[pr.Project] = append(byProject[pr.Project], entry{pr.CreatedAt, pr.UUID, pr})
			addUser(pr.Project, pr.Author)
		}
	}
	for _, c := range in.Contribs {
		if c.Published {
			byProject[c.Project] = append(byProject[c.Project], entry{c.CreatedAt, c.UUID, c})
		}
	}
	for _, r := range in.Replies {
		if r.Visible() {
			byProject[r.Project] = append(byProject[r.Project], entry{r.CreatedAt, r.UUID, r})
			addUser(r.Project, r.Author)
		}
	}
	for _, p := range in.Projects {
		es := byProject[p]
		slices.SortFunc(es, func(a, b entry) int {
			if c := b.at.Compare(a.at); c != 0 {
				return c
			}
			return strings.Compare(b.id, a.id)
		})
		trashed := 0
		for _, e := range es {
			p.Contributions = append(p.Contributions, e.rec)
			if c, ok := e.rec.(*Contribution); ok && c.Trashed {
				trashed++
			}
			if pr, ok := e.rec.(*Proposal); ok && pr.Trashed {
				trashed++
			}
		}
		// the deprecated DB counter ignores trashed items but counts votes on arguments
		p.ContributionsCount = len(es) - trashed + len(es)/7
		for u := range contributors[p] {
			p.Contributors = append(p.Contributors, u)
		}
		slices.SortFunc(p.Contributors, func(a, b *User) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.UUID, a.UUID)
		})
		for _, d := range p.Districts {
			d.Projects = append(d.Projects, p)
		}
	}
}
