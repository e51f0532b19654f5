package dashboards

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports"
	"github.com/capstat/capstat/reports/releasetest"
)

// Hostile strings the site must show as text, never run.
const (
	hostileImg    = `<img src=x onerror=alert(1)>`
	hostileScript = `<script>alert(1)</script>`
)

var (
	fixtureCreated = time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC)
	fixtureID      = "20261129T171502Z"
	fixturePrevID  = "20261128T171500Z"
)

// fixtureSize sets the size of a generated release.
type fixtureSize struct {
	Collectivities       int
	Editions             int
	ProposalsPerProject  int
	ExtraDaysOfVotes     int
	ParticipantsPerVotes int
}

var smallFixture = fixtureSize{Collectivities: 3, Editions: 2, ProposalsPerProject: 8}

// fixtureRelease is what the generator wrote, for assertions.
type fixtureRelease struct {
	Root     string // DIR (holds releases/ and latest)
	Latest   string // DIR/latest
	Editions []fixtureEdition
}

type fixtureEdition struct {
	Code, Name, Kind, Edition, Source, ProjectID, Title                          string
	InProgress                                                                   bool
	Population, Envelope, Proposals, Votes, Participants, Winners                int64
	ParticipationRate, ProposalsPer10k, VotesPer1k, WinnerRate, EurPerInhabitant float64
}

type fixtureCollectivity struct {
	Code, Name, Kind, Source string
	Population               int64
	Lat, Lng                 float64
}

var fixtureCollectivities = []fixtureCollectivity{
	{"40", "Landes", "departement", "landes", 413_690, 43.9, -0.75},
	{"64", "Pyrénées-Atlantiques", "departement", "pa64", 687_240, 43.3, -0.37},
	{"R76", "Occitanie", "region", "occitanie", 6_101_005, 43.6, 1.44},
}

var (
	categories = []string{"Environnement & « climat »", "Mobilité 🚲", "Culture et patrimoine", "Solidarité"}
	themes     = []string{"Nature en ville 🌳", "Déplacements", "Vie associative"}
	words      = []string{"Jardin partagé", "Piste cyclable", "Bibliothèque de rue", "Aire de jeux", "Fresque",
		"Composteur", "Banc ombragé", "Atelier vélo", "Ruche pédagogique", "Boîte à livres"}
)

// writeFixtureRelease publishes the generated fixture under dir with the
// real publisher (releasetest): first release fixturePrevID, without the
// proposals published since, then release fixtureID with everything, so
// the current release has a previous one and changes.
func writeFixtureRelease(tb testing.TB, dir string, size fixtureSize) *fixtureRelease {
	tb.Helper()
	tabs, editions := fixtureTables(size)
	sources := func(o *reports.Options) {
		o.Sources = []reports.SourceInfo{{Name: "landes", Endpoint: "https://participez.landes.fr/graphql"},
			{Name: "occitanie", Endpoint: "https://jeparticipe.laregioncitoyenne.fr/graphql"}}
	}
	prevAt, err := time.Parse("20060102T150405Z", fixturePrevID)
	if err != nil {
		tb.Fatal(err)
	}
	before := releasetest.WorkingDB(tb, tabs)
	if err := duckdbx.Exec(context.Background(), before,
		fmt.Sprintf("DELETE FROM core.proposals WHERE published_at > '%s'", prevAt.Format(time.RFC3339)),
		"DELETE FROM core.proposal_votes WHERE proposal_id NOT IN (SELECT proposal_id FROM core.proposals)"); err != nil {
		tb.Fatal(err)
	}
	releasetest.Publish(tb, before, dir, prevAt, sources)
	releasetest.Publish(tb, releasetest.WorkingDB(tb, tabs), dir, fixtureCreated, sources)
	return &fixtureRelease{Root: dir, Latest: filepath.Join(dir, "latest"), Editions: editions}
}

func fixtureTables(size fixtureSize) (releasetest.Tables, []fixtureEdition) {
	rng := rand.New(rand.NewPCG(42, uint64(size.Collectivities)))
	var editions []fixtureEdition
	tabs := releasetest.Tables{}
	newTable := func(name string, cols ...string) *releasetest.Rows {
		t := &releasetest.Rows{Cols: cols}
		tabs[name] = t
		return t
	}
	colls := newTable("collectivities", "collectivity_code", "collectivity_name", "collectivity_kind", "population", "population_year")
	projects := newTable("projects", "source", "project_id", "collectivity_code", "title", "url", "published_at", "project_type", "edition", "exercise_model")
	steps := newTable("steps", "source", "step_id", "project_id", "step_type", "phase", "title", "state", "start_at", "end_at", "position")
	proposals := newTable("proposals", "source", "proposal_id", "project_id", "collect_step_id", "reference", "title", "url",
		"created_at", "published_at", "trashed", "category", "theme", "latitude", "longitude", "estimated_cost_eur",
		"votes_count", "selected", "selection_status", "winner", "author_key")
	daily := newTable("participation_daily", "source", "project_id", "step_id", "phase", "day", "proposals", "votes",
		"contributions", "replies", "contributors", "cumulative_proposals", "cumulative_votes", "cumulative_contributions", "cumulative_replies")
	budget := newTable("budget_comparison", "source", "collectivity_code", "collectivity_name", "collectivity_kind", "population",
		"population_year", "project_id", "project_title", "edition", "exercise_model", "exercise_model_inferred", "envelope_eur",
		"proposals", "proposals_per_10k", "votes", "votes_per_1k", "participants", "participants_method", "participation_rate",
		"winners", "winner_rate", "estimated_cost_total_eur", "winners_cost_known", "cost_to_envelope", "eur_per_inhabitant",
		"votes_gini", "comparable_on", "in_progress")
	cats := newTable("budget_categories", "source", "project_id", "dimension", "label", "proposals", "proposals_share", "votes", "votes_share", "winners")

	collList := append([]fixtureCollectivity(nil), fixtureCollectivities...)
	for i := len(collList); i < size.Collectivities; i++ {
		collList = append(collList, fixtureCollectivity{Code: fmt.Sprintf("9%02d", i+1), Name: fmt.Sprintf("Département n° %d", i+1),
			Kind: "departement", Source: fmt.Sprintf("dep%02d", i+1), Population: int64(150_000 + rng.IntN(1_500_000)),
			Lat: 42.5 + rng.Float64()*8, Lng: -1.5 + rng.Float64()*8})
	}
	collList = collList[:size.Collectivities]

	for ci, c := range collList {
		colls.Add(c.Code, c.Name, c.Kind, c.Population, 2023)
		for e := 0; e < size.Editions; e++ {
			year := 2026 - size.Editions + 1 + e
			edition := fmt.Sprint(year)
			pid := projectID(c.Source, year)
			title := fmt.Sprintf("Budget participatif %d – %s", year, c.Name)
			if ci == 0 && e == size.Editions-1 {
				title = "Budget participatif " + edition + " 🌱 " + hostileScript
			}
			projects.Add(c.Source, pid, c.Code, title, "https://"+c.Source+".example.fr/project/bp-"+edition,
				time.Date(year, 2, 1, 9, 0, 0, 0, time.UTC), "Budget participatif", edition, "bp")
			depStart := time.Date(year, 3, 1, 8, 0, 0, 0, time.UTC)
			depEnd := time.Date(year, 3, 31, 20, 0, 0, 0, time.UTC)
			voteStart := time.Date(year, 5, 1, 8, 0, 0, 0, time.UTC)
			voteEnd := time.Date(year, 5, 31, 20, 0, 0, 0, time.UTC)
			if year == 2026 {
				depStart, depEnd = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 10, 15, 20, 0, 0, 0, time.UTC)
				voteStart, voteEnd = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 15, 20, 0, 0, 0, time.UTC)
			}
			depID, voteID := pid+"-collect", pid+"-vote"
			voteState := "CLOSED"
			if voteEnd.After(fixtureCreated) {
				voteState = "OPENED"
			}
			steps.Add(c.Source, depID, pid, "CollectStep", "deposit", "Dépôt des idées", "CLOSED", depStart, depEnd, 0)
			steps.Add(c.Source, voteID, pid, "SelectionStep", "vote", "Vote des habitant·es", voteState, voteStart, voteEnd, 1)

			// Daily activity: proposals during the deposit, votes during the vote.
			nProps := size.ProposalsPerProject + ci
			type day struct {
				d            time.Time
				phase, step  string
				props, votes int64
				contr        int64
			}
			var days []day
			for d := depStart.Truncate(24 * time.Hour); !d.After(depEnd); d = d.AddDate(0, 0, 1) {
				days = append(days, day{d: d, phase: "deposit", step: depID})
			}
			for d := voteStart.Truncate(24 * time.Hour); !d.After(voteEnd) && !d.After(fixtureCreated); d = d.AddDate(0, 0, 1) {
				days = append(days, day{d: d, phase: "vote", step: voteID})
			}
			depDays := 0
			for _, d := range days {
				if d.phase == "deposit" {
					depDays++
				}
			}
			var totalVotes int64
			for i := range days {
				if days[i].phase == "vote" {
					days[i].votes = int64(20 + rng.IntN(200)*(ci+1))
					totalVotes += days[i].votes
				} else {
					days[i].contr = int64(rng.IntN(4))
				}
			}
			// Proposals: spread over the deposit days; votes split by weight.
			weights := make([]float64, nProps)
			var wsum float64
			for i := range weights {
				weights[i] = 1 + rng.Float64()*10
				wsum += weights[i]
			}
			var assigned int64
			var winners, costKnown, costTotal int64
			catCount := map[string][3]int64{}
			themeCount := map[string][3]int64{}
			var nonTrashed, votesSum int64
			votesOf := make([]int64, nProps)
			for i := range votesOf {
				votesOf[i] = int64(float64(totalVotes) * weights[i] / wsum)
				assigned += votesOf[i]
			}
			votesOf[0] += totalVotes - assigned
			for i := 0; i < nProps; i++ {
				di := (i * depDays) / nProps
				days[di].props++
				created := days[di].d.Add(10 * time.Hour)
				published := created.Add(time.Hour)
				ptitle := fmt.Sprintf("%s n° %d à %s", words[(i+ci)%len(words)], i+1, c.Name)
				switch {
				case ci == 0 && i == 1:
					ptitle = hostileImg
				case ci == 0 && i == 2:
					ptitle = hostileScript
				case i == 3:
					ptitle = "Jardin partagé 🌻 « Les Capucines » & potager"
				}
				trashed := i == nProps-1 && nProps > 4
				winner := !trashed && i%3 == 1
				var lat, lng any
				if i%2 == 1 || (ci == 0 && i <= 2) {
					lat, lng = c.Lat+rng.Float64()*0.3, c.Lng+rng.Float64()*0.3
				}
				var cost any
				if winner {
					v := int64(5_000 + rng.IntN(50_000))
					cost = v
					costKnown++
					costTotal += v
				}
				if year == 2026 && i == nProps-2 {
					published = fixtureCreated.Add(-2 * time.Hour) // published since the previous release
				}
				status := ""
				if winner {
					status = "Lauréat"
				}
				category, theme := categories[i%len(categories)], themes[i%len(themes)]
				proposals.Add(c.Source, fmt.Sprintf("%s-p%d", pid, i), pid, depID, fmt.Sprintf("%d-%d", e+1, i+1), ptitle,
					fmt.Sprintf("https://%s.example.fr/p/%d", c.Source, i), created, published, trashed, category, theme,
					lat, lng, cost, votesOf[i], winner, status, winner, fmt.Sprintf("author-%d-%d", ci, i%5))
				if !trashed {
					nonTrashed++
					votesSum += votesOf[i]
					w := int64(0)
					if winner {
						winners++
						w = 1
					}
					x := catCount[category]
					catCount[category] = [3]int64{x[0] + 1, x[1] + votesOf[i], x[2] + w}
					y := themeCount[theme]
					themeCount[theme] = [3]int64{y[0] + 1, y[1] + votesOf[i], y[2] + w}
				}
			}
			var cp, cv, cc int64
			for _, d := range days {
				cp += d.props
				cv += d.votes
				cc += d.contr
				daily.Add(c.Source, pid, d.step, d.phase, d.d.Format(time.DateOnly), d.props, d.votes, d.contr, int64(0),
					d.props, cp, cv, cc, int64(0))
			}
			for _, dim := range []struct {
				name string
				m    map[string][3]int64
			}{{"category", catCount}, {"theme", themeCount}} {
				for _, label := range sortedKeys(dim.m) {
					v := dim.m[label]
					cats.Add(c.Source, pid, dim.name, label, v[0], float64(v[0])/float64(nonTrashed), v[1], float64(v[1])/float64(votesSum), v[2])
				}
			}
			envelope := int64(500_000 * (e + 1) * (ci + 1))
			participants := votesSum/3 + nonTrashed
			fe := fixtureEdition{Code: c.Code, Name: c.Name, Kind: c.Kind, Edition: edition, Source: c.Source, ProjectID: pid, Title: title,
				Population: c.Population, Envelope: envelope, Proposals: nonTrashed, Votes: votesSum, Participants: participants,
				Winners: winners, InProgress: voteState != "CLOSED"}
			pop := float64(c.Population)
			fe.ParticipationRate = float64(participants) / pop
			fe.ProposalsPer10k = float64(nonTrashed) * 10_000 / pop
			fe.VotesPer1k = float64(votesSum) * 1_000 / pop
			fe.WinnerRate = float64(winners) / float64(nonTrashed)
			fe.EurPerInhabitant = float64(envelope) / pop
			editions = append(editions, fe)
			// As transform does: no winner rate nor cost ratio while the vote runs.
			var winnerRate, costRatio any = fe.WinnerRate, float64(costTotal) / float64(envelope)
			if fe.InProgress {
				winnerRate, costRatio = nil, nil
			}
			budget.Add(c.Source, c.Code, c.Name, c.Kind, c.Population, 2023, pid, title, edition, "bp", false, envelope,
				nonTrashed, fe.ProposalsPer10k, votesSum, fe.VotesPer1k, participants, "authors", fe.ParticipationRate,
				winners, winnerRate, costTotal, costKnown, costRatio, fe.EurPerInhabitant, 0.3, "all", fe.InProgress)
		}
	}
	// As transform's collectivity_ranking: the latest finished edition of
	// each collectivity, ranked among the collectivities of its kind.
	ranking := newTable("collectivity_ranking", "collectivity_code", "collectivity_name", "source", "project_id", "edition",
		"metric", "value", "rank", "peers", "benchmark", "comparable", "peer_group", "in_progress")
	latest := latestFixtureEditions(editions)
	for _, m := range []string{"participation_rate", "proposals_per_10k", "votes_per_1k", "winner_rate", "eur_per_inhabitant"} {
		byKind := map[string][]float64{}
		for _, e := range latest {
			byKind[e.Kind] = append(byKind[e.Kind], e.metric(m))
		}
		for _, e := range latest {
			vals := byKind[e.Kind]
			sorted := append([]float64(nil), vals...)
			sort.Float64s(sorted)
			median := sorted[len(sorted)/2]
			if len(sorted)%2 == 0 {
				median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
			}
			rank := 1
			for _, v := range vals {
				if v > e.metric(m) {
					rank++
				}
			}
			ranking.Add(e.Code, e.Name, e.Source, e.ProjectID, e.Edition, m, e.metric(m), rank, len(vals), median, true, e.Kind, false)
		}
	}

	return tabs, editions
}

func projectID(source string, year int) string {
	// Cap Collectif ids are base64 global ids; keep the awkward characters.
	return fmt.Sprintf("UHJvamVjdDo%s/%d+=", strings.ToUpper(source[:1]), year)
}

func (e fixtureEdition) metric(name string) float64 {
	switch name {
	case "participation_rate":
		return e.ParticipationRate
	case "proposals_per_10k":
		return e.ProposalsPer10k
	case "votes_per_1k":
		return e.VotesPer1k
	case "winner_rate":
		return e.WinnerRate
	case "eur_per_inhabitant":
		return e.EurPerInhabitant
	}
	panic("unknown metric " + name)
}

func latestFixtureEditions(eds []fixtureEdition) []fixtureEdition {
	last := map[string]fixtureEdition{}
	var order []string
	for _, e := range eds {
		if _, ok := last[e.Code]; !ok {
			order = append(order, e.Code)
		}
		if prev, ok := last[e.Code]; !ok || (!e.InProgress && e.Edition >= prev.Edition) {
			last[e.Code] = e
		}
	}
	out := make([]fixtureEdition, 0, len(order))
	for _, c := range order {
		out = append(out, last[c])
	}
	return out
}
