package sandbox

// Counts maps an entity table name of docs/raw-tables.md to a row count.
type Counts map[string]int

// Entity names used by GroundTruth (the raw.* tables of docs/raw-tables.md).
var Entities = []string{"projects", "steps", "proposals", "proposal_steps", "proposal_votes", "questions",
	"replies", "contributions", "events", "event_projects", "users", "districts"}

// GroundTruth returns, per instance, what an anonymous crawl following the
// API.md §10 plan must store in each raw table, computed from the generator
// (not through HTTP).
func GroundTruth(seed int64, scale Scale) map[string]Counts {
	return Generate(seed, scale).GroundTruth()
}

// GroundTruth computes the anonymous-crawl counts of an existing world.
func (w *World) GroundTruth() map[string]Counts {
	out := make(map[string]Counts, len(w.Instances))
	for _, in := range w.Instances {
		out[in.Name] = in.GroundTruth()
	}
	return out
}

// GroundTruth computes the anonymous-crawl counts of one instance.
func (in *Instance) GroundTruth() Counts {
	c := Counts{}
	for _, e := range Entities {
		c[e] = 0
	}
	for _, p := range in.Projects {
		if !p.Public {
			continue
		}
		c["projects"]++
		c["steps"] += len(p.Steps)
		for _, s := range p.Steps {
			if s.Questionnaire != nil {
				c["questions"] += len(s.Questionnaire.Questions)
				for _, r := range s.Questionnaire.Replies {
					if r.Visible() {
						c["replies"]++
					}
				}
			}
		}
	}
	for _, pr := range in.Proposals {
		if !pr.Visible() {
			continue
		}
		c["proposals"]++
		c["proposal_steps"] += 1 + len(pr.Selections)
		c["proposal_votes"] += len(pr.Votes)
	}
	for _, k := range in.Contribs {
		if k.Published && k.Project.Public {
			c["contributions"]++
		}
	}
	for _, e := range in.Events {
		if e.Enabled {
			c["events"]++
			c["event_projects"] += len(e.Projects)
		}
	}
	for _, u := range in.Users {
		if u.Listed() {
			c["users"]++
		}
	}
	c["districts"] = len(in.Districts)
	return c
}

// Records is the total number of records of a world (all states), a
// measure of its size.
func (w *World) Records() int {
	n := 0
	for _, in := range w.Instances {
		n += len(in.Projects) + len(in.Steps) + len(in.Proposals) + in.VotesTotal + len(in.Users) +
			len(in.Events) + len(in.Districts) + len(in.Questions) + len(in.Contribs) + len(in.Replies)
	}
	return n
}

// Edition is one participatory-budget edition with the metadata the API
// does not carry, for demo configurations and independent expectations.
type Edition struct {
	Instance  string
	ProjectID string // base64 global id
	Title     string
	BudgetMeta
	Proposals int // visible proposals (incl. trashed)
	Votes     int // visible votes
	Winners   int
	// WinnersCost is the sum of the winners' estimated costs (euros).
	WinnersCost int64
}

// Editions lists every participatory-budget edition of the world, in
// instance then publication order.
func (w *World) Editions() []Edition {
	var out []Edition
	for _, in := range w.Instances {
		idx := map[*Project]int{}
		for _, p := range in.Projects {
			if p.Budget == nil || !p.Public {
				continue
			}
			idx[p] = len(out)
			out = append(out, Edition{Instance: in.Name, ProjectID: p.ID, Title: p.Title, BudgetMeta: *p.Budget})
		}
		for _, pr := range in.Proposals {
			i, ok := idx[pr.Project]
			if !ok || !pr.Visible() {
				continue
			}
			out[i].Proposals++
			out[i].Votes += len(pr.Votes)
			if pr.Winner {
				out[i].Winners++
				out[i].WinnersCost += pr.Cost
			}
		}
	}
	return out
}
