package pabulib

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/transform"
)

// VoteStep is one vote step of a release: a file can be built for it.
type VoteStep struct {
	Source, ProjectID, StepID, StepTitle, ProjectTitle string
	Collectivity, Edition                              string
	Start, End                                         time.Time
}

// VoteSteps lists the vote steps of the budget editions of the release in
// dir (budget_comparison joined with steps of phase vote).
func VoteSteps(ctx context.Context, dir string) ([]VoteStep, error) {
	db, err := duckdbx.OpenReadOnly(ctx, filepath.Join(dir, release.SnapshotFile))
	if err != nil {
		return nil, fmt.Errorf("pabulib: %w", err)
	}
	defer db.Close()
	return voteSteps(ctx, db)
}

func voteSteps(ctx context.Context, db *sql.DB) ([]VoteStep, error) {
	rows, err := db.QueryContext(ctx, `SELECT s.source, s.project_id, s.step_id, coalesce(s.title, ''), coalesce(b.project_title, ''),
		coalesce(b.collectivity_name, ''), coalesce(b.edition, ''), s.start_at, s.end_at
		FROM steps s JOIN budget_comparison b USING (source, project_id)
		WHERE s.phase = 'vote' ORDER BY s.source, b.edition, s.project_id, s.position`)
	if err != nil {
		return nil, fmt.Errorf("pabulib: vote steps: %w", err)
	}
	defer rows.Close()
	var out []VoteStep
	for rows.Next() {
		var v VoteStep
		var start, end sql.NullTime
		if err := rows.Scan(&v.Source, &v.ProjectID, &v.StepID, &v.StepTitle, &v.ProjectTitle, &v.Collectivity, &v.Edition, &start, &end); err != nil {
			return nil, fmt.Errorf("pabulib: vote steps: %w", err)
		}
		v.Start, v.End = start.Time, end.Time
		out = append(out, v)
	}
	return out, rows.Err()
}

// FileName is the library's name for the file of a step:
// <country>_<unit>_<instance>_<subunit>.pb.
func (v VoteStep) FileName() string {
	slug := transform.Slug
	name := "france_" + slug(v.Collectivity) + "_" + slug(v.Edition)
	if s := slug(v.StepTitle); s != "" {
		name += "_" + s
	}
	return name + ".pb"
}

// Built is a file and what was left out of it, for the reader.
type Built struct {
	Step VoteStep
	File *File
	// Notes say what the file leaves out (projects without a known cost,
	// counts that differ from the API's).
	Notes []string
}

// Build makes the Pabulib file of the vote step that the export's votes
// belong to, from the release in dir: projects (cost, name, category,
// winners) from the release, one ballot per voter of the export, voter
// ids replaced by keyed hashes (secret, as author keys everywhere). The
// export must name proposals of one budget edition of the release; with
// step set, that edition's vote step must be it. Projects without a known
// cost cannot be in a Pabulib file: they are left out, with their votes,
// and META's comment says so.
func Build(ctx context.Context, dir string, votes []ExportVote, secret []byte, step string) (*Built, error) {
	db, err := duckdbx.OpenReadOnly(ctx, filepath.Join(dir, release.SnapshotFile))
	if err != nil {
		return nil, fmt.Errorf("pabulib: %w", err)
	}
	defer db.Close()
	type prop struct {
		source, project, title, category string
		cost                             sql.NullInt64
		winner                           bool
		votes                            int64
	}
	props := map[string]*prop{} // by raw UUID
	rows, err := db.QueryContext(ctx, `SELECT p.proposal_id, p.source, p.project_id, coalesce(p.title, ''), coalesce(p.category, ''),
		p.estimated_cost_eur, coalesce(p.winner, false), (SELECT count(*) FROM proposal_votes v WHERE v.source = p.source AND v.proposal_id = p.proposal_id)
		FROM proposals p`)
	if err != nil {
		return nil, fmt.Errorf("pabulib: proposals: %w", err)
	}
	for rows.Next() {
		var id string
		p := &prop{}
		if err := rows.Scan(&id, &p.source, &p.project, &p.title, &p.category, &p.cost, &p.winner, &p.votes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pabulib: proposals: %w", err)
		}
		props[rawUUID(id)] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pabulib: proposals: %w", err)
	}
	var unknown []string
	projects := map[[2]string]bool{}
	for _, v := range votes {
		p, ok := props[v.ProposalID]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("line %d (%s)", v.Line, v.Reference))
			continue
		}
		projects[[2]string{p.source, p.project}] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("pabulib: the vote export names proposals that are not in the release: %s", strings.Join(unknown[:min(len(unknown), 20)], ", "))
	}
	if len(projects) != 1 {
		var list []string
		for k := range projects {
			list = append(list, k[0]+"/"+k[1])
		}
		sort.Strings(list)
		return nil, fmt.Errorf("pabulib: the vote export spans %d projects (%s): an export holds the votes of one step", len(list), strings.Join(list, ", "))
	}
	var key [2]string
	for k := range projects {
		key = k
	}
	steps, err := voteSteps(ctx, db)
	if err != nil {
		return nil, err
	}
	var vs *VoteStep
	for i := range steps {
		if steps[i].Source == key[0] && steps[i].ProjectID == key[1] {
			vs = &steps[i]
			break
		}
	}
	if vs == nil {
		return nil, fmt.Errorf("pabulib: project %s of the vote export has no vote step in the release's budget editions", key[1])
	}
	if step != "" && step != vs.StepID {
		return nil, fmt.Errorf("pabulib: the vote export is for step %s (%s), not %s", vs.StepID, vs.StepTitle, step)
	}
	var envelope sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT envelope_eur FROM budget_comparison WHERE source = ? AND project_id = ?`, key[0], key[1]).Scan(&envelope); err != nil {
		return nil, fmt.Errorf("pabulib: budget: %w", err)
	}
	if !envelope.Valid {
		return nil, fmt.Errorf("pabulib: the budget of %s is unknown (set sources[].projects[].envelope_eur in the config)", vs.ProjectTitle)
	}

	b := &Built{Step: *vs, File: &File{}}
	ordinal := slices.ContainsFunc(votes, func(v ExportVote) bool { return v.Ranking != 1 })
	noCost := map[string]bool{}
	exportCount := map[string]int64{}
	ballots := map[string][]ExportVote{}
	for _, v := range votes {
		p := props[v.ProposalID]
		if !p.cost.Valid {
			noCost[v.ProposalID] = true
			continue
		}
		exportCount[v.ProposalID]++
		ballots[v.AuthorID] = append(ballots[v.AuthorID], v)
	}
	ids := make([]string, 0, len(exportCount))
	for id := range exportCount {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var differ int
	for _, id := range ids {
		p := props[id]
		sel := 0
		if p.winner {
			sel = 1
		}
		var cats []string
		if p.category != "" {
			cats = []string{p.category}
		}
		b.File.Projects = append(b.File.Projects, Project{ID: id, Cost: p.cost.Int64, Votes: exportCount[id], Name: p.title, Category: cats, Selected: sel})
		if exportCount[id] != p.votes {
			differ++
		}
	}
	voters := make([]string, 0, len(ballots))
	for a := range ballots {
		voters = append(voters, a)
	}
	sort.Strings(voters)
	for _, a := range voters {
		bv := ballots[a]
		sort.Slice(bv, func(i, j int) bool {
			if bv[i].Ranking != bv[j].Ranking {
				return bv[i].Ranking < bv[j].Ranking
			}
			return bv[i].VoteID < bv[j].VoteID
		})
		ballot := Ballot{VoterID: transform.AuthorKey(secret, key[0], a)}
		for _, v := range bv {
			ballot.Vote = append(ballot.Vote, v.ProposalID)
		}
		b.File.Votes = append(b.File.Votes, ballot)
	}
	sort.Slice(b.File.Votes, func(i, j int) bool { return b.File.Votes[i].VoterID < b.File.Votes[j].VoterID })

	if len(noCost) > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("%d propositions sans coût connu écartées, avec leurs votes", len(noCost)))
	}
	if differ > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("%d projets ont un nombre de votes différent de celui de l'API (votes papier ou votes postérieurs à la publication)", differ))
	}
	f := b.File
	voteType := "approval"
	if ordinal {
		voteType = "ordinal"
	}
	f.Set("description", fmt.Sprintf("%s, étape « %s » (%s) : plateforme Cap Collectif, fichier capstat", vs.ProjectTitle, vs.StepTitle, vs.Collectivity))
	f.Set("country", "France")
	f.Set("unit", vs.Collectivity)
	f.Set("instance", vs.Edition)
	f.Set("num_projects", fmt.Sprint(len(f.Projects)))
	f.Set("num_votes", fmt.Sprint(len(f.Votes)))
	f.Set("budget", fmt.Sprint(envelope.Int64))
	f.Set("vote_type", voteType)
	f.Set("rule", rule(f, envelope.Int64))
	f.Set("date_begin", pbDate(vs.Start))
	f.Set("date_end", pbDate(vs.End))
	f.Set("edition", vs.Edition)
	f.Set("language", "fr")
	f.Set("currency", "EUR")
	if len(b.Notes) > 0 {
		f.Set("comment", "#1: "+strings.Join(b.Notes, "; "))
	}
	if errs := Validate(f); len(errs) > 0 {
		return b, fmt.Errorf("pabulib: %s: the file would not pass the format's rules: %w", vs.StepTitle, errors.Join(errs...))
	}
	return b, nil
}

// rule names how the winners were chosen: "greedy" when they are exactly
// the greedy selection by votes within the budget, else the platform's
// statuses chosen by its administrators.
func rule(f *File, budget int64) string {
	ps := append([]Project(nil), f.Projects...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Votes > ps[j].Votes })
	left := budget
	for _, p := range ps {
		chosen := p.Cost <= left
		if chosen {
			left -= p.Cost
		}
		if chosen != (p.Selected == 1) {
			return "unknown"
		}
	}
	return "greedy"
}

func pbDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(paris()).Format("02.01.2006")
}

func paris() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.UTC
}

// rawUUID turns an API global id (base64 of "Proposal:<uuid>") into the
// raw id the admin export carries; other ids are returned as they are.
func rawUUID(id string) string {
	if b, err := base64.StdEncoding.DecodeString(id); err == nil {
		if _, raw, ok := strings.Cut(string(b), ":"); ok {
			return raw
		}
	}
	return id
}
