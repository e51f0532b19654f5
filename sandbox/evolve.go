package sandbox

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The evolving world: an epoch clock over the generated World. Epoch 0 is
// the world as Generate builds it; each evolution step (Advance) moves
// World.Now EpochLength forward and changes about 1 % of every instance's
// data, only inside the steps open at the new Now, so that closed phases
// never change (the ingester's incremental refresh relies on it):
//
//   - every open vote step (an OPENED SelectionStep listing proposals) gains
//     new votes, about 0.8 % of the votes its proposals hold, favouring
//     popular proposals, and loses a few (about 0.01 %, at least one);
//   - epoch 1 publishes a concertation project ("Concertation : plan climat
//     <year>") with an idea box (CollectStep) and a consultation, both open
//     30 days; open idea boxes gain 3–8 published proposals per epoch and
//     open consultations 3–8 opinions and arguments;
//   - 1–3 proposals of the open steps are edited and about one is trashed
//     (at most a tenth of a step's proposals over the epochs);
//   - a few users register;
//   - the idea box closes at epoch 3; a new one ("Boîte à idées n°k") opens
//     at every epoch 4k+1 (5, 9…) and closes at epoch 4k+3.
//
// Every record an epoch creates has its times in (previous Now, new Now]
// and inside its step's time range, so a step opened at an epoch's Now
// gets its first records the epoch after; ids of existing records never
// change, derived lists and counters are rebuilt (rebuildDerived) and the
// view caches reset.
// An evolution step draws from a PCG seeded by the world seed, the
// instance name and the epoch number only: the world at epoch N is the
// same whether reached one epoch at a time or all at once.

// EpochLength is how far World.Now moves at each evolution step.
const EpochLength = 6 * time.Hour

// MaxEpoch bounds AdvanceTo and POST /_admin/epoch?to=N (≈ 68 years).
const MaxEpoch = 100_000

// evoState is what the evolution steps created in an instance.
type evoState struct {
	project  *Project                  // the concertation published at epoch 1
	consult  *Step                     // its consultation step
	boxes    []*Step                   // its idea boxes, oldest first
	forms    map[*Step]form            // proposal form of each open collect step
	prefix   map[*Step]int             // reference prefix of each collect step
	opinions map[*Step][]*Contribution // opinions of each open consultation step
	trashed  map[*Step]int             // proposals trashed through each open step
}

// CurrentEpoch returns w.Epoch; unlike reading the field, it is safe while
// a server advances the world.
func (w *World) CurrentEpoch() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.Epoch
}

// Advance applies the next evolution step (epoch w.Epoch+1). It waits for
// the requests a server is executing over the world.
func (w *World) Advance() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
}

// AdvanceTo applies evolution steps until w.Epoch is n. Going backwards
// (n < w.Epoch) or beyond MaxEpoch is an error.
func (w *World) AdvanceTo(n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.advanceTo(n)
}

// advanceTo is AdvanceTo with w.mu held.
func (w *World) advanceTo(n int) error {
	if n < w.Epoch {
		return fmt.Errorf("sandbox: cannot go back from epoch %d to %d", w.Epoch, n)
	}
	if n > MaxEpoch {
		return fmt.Errorf("sandbox: epoch %d beyond %d", n, MaxEpoch)
	}
	for w.Epoch < n {
		w.advance()
	}
	return nil
}

func (w *World) advance() {
	from := w.Now
	w.Epoch++
	w.Now = from.Add(EpochLength)
	epoch, to := w.Epoch, w.Now
	var wg sync.WaitGroup
	for _, in := range w.Instances {
		wg.Go(func() { evolveInstance(w.Seed, w.Scale, in, epoch, from, to) })
	}
	wg.Wait()
}

// stepState is a step's state at now: FUTURE before its start, CLOSED after
// its end, OPENED otherwise (including a missing start or end).
func stepState(s *Step, now time.Time) string {
	switch {
	case s.Start != nil && now.Before(*s.Start):
		return "FUTURE"
	case s.End != nil && now.After(*s.End):
		return "CLOSED"
	}
	return "OPENED"
}

// evolver applies one evolution step to one instance.
type evolver struct {
	*gen
	epoch    int
	from, to time.Time // the epoch's interval (from, to]
}

// evolveRand is the random source of an instance's evolution step.
func evolveRand(seed int64, name string, epoch int) *rand.Rand {
	e := uint64(epoch)
	return rand.New(rand.NewPCG(splitmix(uint64(seed)^splitmix(e)), hashName(name)^(e*0x9e3779b97f4a7c15)))
}

func evolveInstance(seed int64, scale Scale, in *Instance, epoch int, from, to time.Time) {
	e := &evolver{
		gen: &gen{r: evolveRand(seed, in.Name, epoch), in: in, p: scale.params(), c: collectivityOf(in.Name),
			qNum: len(in.Questions), vote: in.lastVote},
		epoch: epoch, from: from, to: to,
	}
	in.now = to
	e.lifecycle()
	e.newUsers()
	var voteSteps, boxes, consults []*Step
	for _, s := range in.Steps {
		if stepState(s, to) != "OPENED" {
			continue
		}
		switch s.Typename {
		case TSelection:
			if len(s.Proposals) > 0 {
				voteSteps = append(voteSteps, s)
			}
		case TCollect:
			boxes = append(boxes, s)
		case TConsultation:
			consults = append(consults, s)
		}
	}
	editable := openProposals(voteSteps, boxes) // before this epoch's new proposals
	for _, s := range voteSteps {
		e.withdrawVotes(s)
		e.addVotes(s)
	}
	for _, s := range boxes {
		e.addProposals(s)
	}
	for _, s := range consults {
		e.addContributions(s)
	}
	e.editAndTrash(editable)
	in.lastVote = e.vote
	rebuildDerived(in)
	in.cache = newViewCache()
}

// window is the part of the epoch's interval (from, to] inside a step's
// time range, as (a, b]; ok is false when it is shorter than a minute
// (e.g. the epoch the step opens at).
func (e *evolver) window(s *Step) (a, b time.Time, ok bool) {
	a, b = e.from, e.to
	if s.Start != nil && s.Start.After(a) {
		a = s.Start.Add(-time.Second)
	}
	if s.End != nil && s.End.Before(b) {
		b = *s.End
	}
	return a, b, b.Sub(a) >= time.Minute
}

// at returns a time in (a, b], at whole seconds.
func (e *evolver) at(a, b time.Time) time.Time {
	return a.Add(time.Duration(1+e.r.Int64N(int64(b.Sub(a)/time.Second))) * time.Second)
}

// times returns n sorted times in (a, b].
func (e *evolver) times(n int, a, b time.Time) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = e.at(a, b)
	}
	slices.SortFunc(ts, func(x, y time.Time) int { return x.Compare(y) })
	return ts
}

// sround rounds x up with probability its fractional part.
func (e *evolver) sround(x float64) int {
	n := int(x)
	if e.r.Float64() < x-float64(n) {
		n++
	}
	return n
}

// lifecycle publishes the concertation project (epoch 1), opens a new idea
// box at epochs 4k+1 and closes the open one at epochs 4k+3.
func (e *evolver) lifecycle() {
	in := e.in
	switch {
	case in.evo == nil:
		p := e.newProject(fmt.Sprintf("Concertation : plan climat %d", e.to.Year()), "Concertation", e.to)
		p.Themes = []*Theme{in.Themes[0], in.Themes[len(in.Themes)-1]}
		for _, d := range in.Districts {
			if e.chance(0.4) {
				p.Districts = append(p.Districts, d)
			}
		}
		in.evo = &evoState{project: p, forms: map[*Step]form{}, prefix: map[*Step]int{},
			opinions: map[*Step][]*Contribution{}, trashed: map[*Step]int{}}
		e.newBox()
		in.evo.consult = e.newStep(p, TConsultation, "Consultation sur le plan climat", tp(e.to), tp(e.to.AddDate(0, 0, 30)))
	case e.epoch%4 == 1:
		e.newBox()
	case e.epoch%4 == 3:
		box := in.evo.boxes[len(in.evo.boxes)-1]
		if stepState(box, e.to) == "OPENED" {
			// a step is open through its End: close it one second before Now
			box.End = tp(e.to.Add(-time.Second))
		}
	}
}

// newBox opens an idea box of the concertation for 30 days.
func (e *evolver) newBox() {
	ev := e.in.evo
	title := "Boîte à idées"
	if len(ev.boxes) > 0 {
		title = fmt.Sprintf("Boîte à idées n°%d", len(ev.boxes)+1)
	}
	s := e.newStep(ev.project, TCollect, title, tp(e.to), tp(e.to.AddDate(0, 0, 30)))
	ev.boxes = append(ev.boxes, s)
	ev.forms[s] = e.newForm()
	ev.prefix[s] = 200 + len(ev.boxes)
}

// newUsers registers a few accounts (the head of Query.users).
func (e *evolver) newUsers() {
	in := e.in
	n := 1 + e.pick(3) + e.p.users/2000
	for _, t := range e.times(n, e.from, e.to) {
		u := e.account(t)
		if e.chance(0.7) {
			u.Type = pickS(e.gen, in.UserTypes)
		}
		if e.chance(0.2) {
			u.Biography = "Habitant·e de " + pickS(e.gen, e.c.towns).name + ".\nNouvel·le inscrit·e 😊"
		}
		in.Users = append(in.Users, u)
		e.register(u.ID, u.UUID, u)
	}
}

// voteTargets are the proposals of a vote step that can gain or lose votes.
func voteTargets(s *Step) ([]*Proposal, int) {
	var out []*Proposal
	total := 0
	for _, pr := range s.Proposals {
		if pr.Visible() && !pr.Trashed {
			out = append(out, pr)
			total += len(pr.Votes)
		}
	}
	return out, total
}

// withdrawVotes removes a few of a vote step's votes (about 0.01 %, at least one).
func (e *evolver) withdrawVotes(s *Step) {
	props, total := voteTargets(s)
	if total == 0 {
		return
	}
	for k := max(1, e.sround(0.0001*float64(total))); k > 0 && total > 0; k-- {
		i := e.r.IntN(total)
		for _, pr := range props {
			if i < len(pr.Votes) {
				pr.Votes = slices.Delete(pr.Votes, i, i+1)
				pr.Project.VotesCount--
				e.in.VotesTotal--
				break
			}
			i -= len(pr.Votes)
		}
		total--
	}
}

// addVotes gives a vote step about 0.8 % new votes (at least one), each
// going to a proposal with a weight of its votes + 1. Ids follow time.
func (e *evolver) addVotes(s *Step) {
	props, total := voteTargets(s)
	a, b, ok := e.window(s)
	if len(props) == 0 || !ok {
		return
	}
	cum := make([]float64, len(props))
	sum := 0.0
	for i, pr := range props {
		sum += float64(len(pr.Votes) + 1)
		cum[i] = sum
	}
	type pending struct {
		p int
		t int64
	}
	n := max(1, e.sround(0.008*float64(total)))
	news := make([]pending, n)
	lo, span := a.Unix(), b.Unix()-a.Unix()
	for i := range news {
		x := e.r.Float64() * sum
		p, _ := slices.BinarySearch(cum, x)
		news[i] = pending{min(p, len(props)-1), lo + 1 + e.r.Int64N(span)}
	}
	slices.SortStableFunc(news, func(x, y pending) int { return cmp.Compare(x.t, y.t) })
	added := make([][]Vote, len(props))
	for _, nv := range news {
		e.vote++
		added[nv.p] = append(added[nv.p], Vote{ID: e.vote, CreatedAt: nv.t, PublishedAt: nv.t, Anonymous: e.chance(0.1)})
	}
	for i, vs := range added {
		if len(vs) == 0 {
			continue
		}
		slices.Reverse(vs) // publishedAt DESC, id DESC
		pr := props[i]
		pr.Votes = mergeVotes(pr.Votes, vs)
		pr.Project.VotesCount += len(vs)
		e.in.VotesTotal += len(vs)
	}
}

// voteBefore reports whether a comes before b in publishedAt DESC, id DESC
// order (Proposal.votes' default order).
func voteBefore(a, b Vote) bool {
	return a.PublishedAt > b.PublishedAt || a.PublishedAt == b.PublishedAt && a.ID > b.ID
}

// mergeVotes merges two vote lists sorted publishedAt DESC, id DESC.
func mergeVotes(old, add []Vote) []Vote {
	out := make([]Vote, 0, len(old)+len(add))
	i, j := 0, 0
	for i < len(old) && j < len(add) {
		if voteBefore(add[j], old[i]) {
			out = append(out, add[j])
			j++
		} else {
			out = append(out, old[i])
			i++
		}
	}
	out = append(out, old[i:]...)
	return append(out, add[j:]...)
}

// addProposals deposits 3–8 published proposals in an open collect step.
func (e *evolver) addProposals(s *Step) {
	a, b, ok := e.window(s)
	if !ok {
		return
	}
	ev := e.in.evo
	f, known := ev.forms[s]
	if !known {
		f = e.newForm()
		ev.forms[s] = f
	}
	prefix, known := ev.prefix[s]
	if !known {
		prefix = 300 + len(ev.prefix)
		if len(s.Proposals) > 0 {
			if n, err := strconv.Atoi(strings.Split(s.Proposals[0].Reference, "-")[0]); err == nil {
				prefix = n
			}
		}
		ev.prefix[s] = prefix
	}
	for _, t := range e.times(3+e.pick(6), a, b) {
		e.newProposal(s, f, prefix, t, b)
	}
}

// newProposal deposits and publishes one proposal created at t (published
// by until at the latest).
func (e *evolver) newProposal(s *Step, f form, prefix int, t, until time.Time) {
	in, p := e.in, s.Project
	pr := &Proposal{UUID: e.uuid(), CreatedAt: t, Published: true, Project: p, Collect: s}
	pr.ID = GlobalID("Proposal", pr.UUID)
	pr.Reference = fmt.Sprintf("%d-%d", prefix, len(s.Proposals)+1)
	pl := pickS(e.gen, places)
	pr.Title = pickS(e.gen, objects) + " pour " + pl + pickS(e.gen, extras)
	pr.Body = "<p>Nous proposons une idée pour " + pl + ".</p>\n<p>Objectif : <strong>agir pour le climat</strong> &amp; le cadre de vie.</p>"
	pr.Summary = "Idée déposée par des habitant·es : « " + pl + " »."
	pr.Slug = slugify(pr.Title)
	pr.URL = in.BaseURL + "/project/" + p.Slug + "/collect/" + s.Slug + "/proposals/" + pr.Slug
	pr.Author = e.author()
	pr.AuthorDeleted = pr.Author == nil
	pt := t.Add(time.Duration(e.pick(3600)) * time.Second)
	if pt.After(until) {
		pt = until
	}
	pr.PublishedAt = tp(pt)
	e.deposit(pr, s, f)
}

var (
	climateOpinions = []string{"Végétaliser les cours d'école", "Rénover les bâtiments publics", "Des panneaux solaires sur les toits", "Réduire l'éclairage nocturne", "Plus d'arbres en ville", "Des fontaines à eau l'été"}
	climateArgs     = []string{"Indispensable face aux canicules.", "Et qui paie ? Le \"contribuable\" encore…", "Bonne idée, à étendre aux villages.", "👍 Tout à fait d'accord", "Il faut d'abord isoler les écoles."}
)

// addContributions publishes 3–8 opinions and arguments (arguments relate
// to an opinion of the project) in an open consultation step.
func (e *evolver) addContributions(s *Step) {
	a, b, ok := e.window(s)
	if !ok {
		return
	}
	in, p := e.in, s.Project
	ops, known := in.evo.opinions[s]
	if !known {
		for _, c := range in.Contribs {
			if c.Project == p && c.Typename == "Opinion" {
				ops = append(ops, c)
			}
		}
	}
	ts := e.times(3+e.pick(6), a, b)
	for _, t := range ts {
		c := &Contribution{UUID: e.uuid(), CreatedAt: t, Published: true, Project: p, PublishedAt: tp(t)}
		if len(ops) == 0 || e.chance(0.4) {
			c.Typename = "Opinion"
			c.Title = pickS(e.gen, climateOpinions)
			c.Body = "<p>Proposition : " + c.Title + ".\nQu'en pensez-vous ? 🌍</p>"
			ops = append(ops, c)
		} else {
			c.Typename = "Argument"
			c.ArgType = pickS(e.gen, []string{"FOR", "FOR", "AGAINST"})
			c.Related = pickS(e.gen, ops)
			c.Body = pickS(e.gen, climateArgs)
		}
		c.ID = GlobalID(c.Typename, c.UUID)
		c.URL = in.BaseURL + "/consultations/" + p.Slug + "/consultation/" + s.Slug + "/opinions/" + strings.ToLower(c.Typename) + "s/" + c.UUID[:8]
		in.Contribs = append(in.Contribs, c)
		e.register(c.ID, c.UUID, c)
	}
	in.evo.opinions[s] = ops
	s.VotesCount += 3 * len(ts)
}

// openProposal is a proposal listed by an open step.
type openProposal struct {
	pr   *Proposal
	step *Step
}

// openProposals lists, once each, the visible untrashed proposals of the
// open vote steps and collect steps.
func openProposals(voteSteps, boxes []*Step) []openProposal {
	seen := map[*Proposal]bool{}
	var out []openProposal
	for _, s := range append(slices.Clip(voteSteps), boxes...) {
		for _, pr := range s.Proposals {
			if pr.Visible() && !pr.Trashed && !seen[pr] {
				seen[pr] = true
				out = append(out, openProposal{pr, s})
			}
		}
	}
	return out
}

// editSuffix marks the title of a proposal its author edited.
const editSuffix = " — mise à jour n°"

// editAndTrash edits 1–3 proposals of the open steps (updatedAt, title
// suffix) and trashes about one, at most a tenth of a step's proposals
// over the epochs (at least one), so that long runs keep their steps.
func (e *evolver) editAndTrash(props []openProposal) {
	if len(props) == 0 {
		return
	}
	for k := min(len(props), 1+e.pick(3)); k > 0; k-- {
		pr := props[e.pick(len(props))].pr
		pr.UpdatedAt = tp(e.at(e.from, e.to))
		if i := strings.LastIndex(pr.Title, editSuffix); i >= 0 {
			pr.Title = pr.Title[:i]
		}
		pr.Title += editSuffix + strconv.Itoa(e.epoch)
	}
	ev := e.in.evo
	var trashable []openProposal
	for _, o := range props {
		if ev.trashed[o.step] < max(1, len(o.step.Proposals)/10) {
			trashable = append(trashable, o)
		}
	}
	// about one per epoch; fewer when few proposals remain
	if len(trashable) > 0 && e.chance(min(1, float64(len(trashable))/30)) {
		o := trashable[e.pick(len(trashable))]
		ev.trashed[o.step]++
		pr := o.pr
		pr.Trashed = true
		pr.TrashedStatus = pickS(e.gen, []string{"VISIBLE", "INVISIBLE"})
		pr.TrashedAt = tp(e.at(e.from, e.to))
		pr.TrashedReason = "Proposition en doublon"
	}
}

// serveEpoch serves the evolution clock: GET answers {"epoch":N}; POST
// advances one epoch, or up to ?to=N (going backwards is a 400), and
// answers the new epoch.
func (s *Server) serveEpoch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	var epoch int
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		epoch = s.world.CurrentEpoch()
	case http.MethodPost:
		target := -1
		if v := r.URL.Query().Get("to"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":%q}`, "to must be a non-negative epoch number")
				return
			}
			target = n
		}
		wd := s.world
		wd.mu.Lock()
		if target < 0 {
			target = wd.Epoch + 1
		}
		from := wd.Epoch
		err := wd.advanceTo(target)
		epoch = wd.Epoch
		wd.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q,"epoch":%d}`, err.Error(), epoch)
			return
		}
		s.log.Info("sandbox epoch", "from", from, "to", epoch)
	default:
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintf(w, `{"error":"method not allowed"}`)
		return
	}
	fmt.Fprintf(w, `{"epoch":%d}`, epoch)
}
