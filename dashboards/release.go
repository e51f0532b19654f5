package dashboards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// Limits on what a page shows (the full data stays in the release files).
const (
	topProposalsPerProject = 10
	mapPointsPerProject    = 300
)

// published is everything the site shows, read once from a published release.
type published struct {
	ID         string
	PreviousID string
	CreatedAt  time.Time
	Manifest   release.Manifest
	Changes    release.Changes
	Package    release.DataPackage

	Collectivities []collectivity
	Projects       []*project
	Editions       []edition // budget_comparison, sorted by collectivity, edition
	Ranking        []rankingRow
}

type collectivity struct {
	Code, Name, Kind string
	Population       int64
	PopulationYear   int64
	Slug             string
	// DataAsOf is the end of the last complete crawl of its platform
	// (manifest data_as_of); zero when unknown.
	DataAsOf time.Time
}

type project struct {
	Source, ID, CollectivityCode string
	Title, URL, Type, Edition    string
	PublishedAt                  time.Time
	Slug                         string

	Steps      []step
	Days       []dayRow
	Top        []proposal
	Points     []proposal
	Proposals  int64 // not trashed
	Located    int64 // not trashed, with coordinates
	Winners    int64
	NewSince   int64 // published after the previous release
	Categories []categoryRow
}

type step struct {
	ID, Phase, Title, State string
	Start, End              time.Time
	Position                int64
}

type dayRow struct {
	Day                              time.Time
	Proposals, Votes, Contributions  int64
	CumProposals, CumVotes, CumContr int64
}

type proposal struct {
	ID, Reference, Title, URL, Category, Theme, Status string
	Votes                                              int64
	Winner                                             bool
	Lat, Lng                                           float64
}

type categoryRow struct {
	Dimension, Label string
	Proposals        int64
	ProposalsShare   float64
	Votes            int64
	VotesShare       float64
	Winners          int64
}

// edition is one budget_comparison row. Metrics hold the comparison
// metrics by column name; a missing key means NULL.
type edition struct {
	Source, CollectivityCode, CollectivityName, CollectivityKind, ProjectID, ProjectTitle string
	Edition, ExerciseModel, ComparableOn                                                  string
	Population                                                                            int64
	EnvelopeEUR                                                                           sql.NullInt64
	Proposals, Votes, Participants, Winners                                               int64
	InProgress                                                                            bool // a deposit or vote step is still open
	Metrics                                                                               map[string]float64
	// Label names the edition for readers ("Budget participatif 2024",
	// "… (en cours)"), unique among the collectivity's editions.
	Label string
}

// rankingRow is one row of collectivity_ranking: the one rank rule of the
// release (the latest finished edition, ranked among the collectivities
// of the same kind); the site shows it and never ranks by itself.
type rankingRow struct {
	CollectivityCode, CollectivityName, ProjectID, Edition, Metric, PeerGroup string
	Value, Benchmark                                                          sql.NullFloat64
	Rank, Peers                                                               sql.NullInt64
	Comparable, InProgress                                                    bool
}

// readJSON reads one metadata file of the release in dir.
func readJSON(dir, name string, dst any) error {
	if err := release.ReadJSON(filepath.Join(dir, name), dst); err != nil {
		return fmt.Errorf("read release %s: %w", name, err)
	}
	return nil
}

// loadRelease reads the release in dir (usually DIR/latest).
func loadRelease(ctx context.Context, dir string) (*published, error) {
	r := &published{}
	if err := readJSON(dir, release.ManifestFile, &r.Manifest); err != nil {
		return nil, err
	}
	if err := readJSON(dir, release.ChangesFile, &r.Changes); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := readJSON(dir, release.DatapackageFile, &r.Package); err != nil {
		return nil, err
	}
	db, err := duckdbx.OpenReadOnly(ctx, filepath.Join(dir, release.SnapshotFile))
	if err != nil {
		return nil, err
	}
	defer db.Close()

	var prev sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT release_id, created_at, previous_release_id FROM release_info`).
		Scan(&r.ID, &r.CreatedAt, &prev); err != nil {
		return nil, fmt.Errorf("read release_info: %w", err)
	}
	r.PreviousID = prev.String
	r.CreatedAt = r.CreatedAt.UTC()

	steps := []func(context.Context, *sql.DB) error{
		r.loadCollectivities, r.loadProjects, r.loadSteps, r.loadDays,
		r.loadProposalStats, r.loadTopProposals, r.loadPoints, r.loadEditions,
		r.loadCategories, r.loadRanking,
	}
	for _, load := range steps {
		if err := load(ctx, db); err != nil {
			return nil, err
		}
	}
	r.setDataAsOf()
	return r, nil
}

func (r *published) projectIndex() map[[2]string]*project {
	m := make(map[[2]string]*project, len(r.Projects))
	for _, p := range r.Projects {
		m[[2]string{p.Source, p.ID}] = p
	}
	return m
}

// previousCreatedAt parses the previous release id (a UTC timestamp such as
// 20261129T171502Z, maybe with a -2 suffix).
func (r *published) previousCreatedAt() (time.Time, bool) {
	id, _, _ := strings.Cut(r.PreviousID, "-")
	t, err := time.Parse("20060102T150405Z", id)
	return t, err == nil
}

func (r *published) loadCollectivities(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT collectivity_code, coalesce(collectivity_name, collectivity_code),
		coalesce(collectivity_kind, ''), coalesce(population, 0), coalesce(population_year, 0)
		FROM collectivities ORDER BY collectivity_code`)
	if err != nil {
		return fmt.Errorf("read collectivities: %w", err)
	}
	defer rows.Close()
	slugs := map[string]bool{}
	for rows.Next() {
		var c collectivity
		if err := rows.Scan(&c.Code, &c.Name, &c.Kind, &c.Population, &c.PopulationYear); err != nil {
			return fmt.Errorf("read collectivities: %w", err)
		}
		c.Slug = uniqueSlug(slugs, slugify(c.Code), c.Code)
		r.Collectivities = append(r.Collectivities, c)
	}
	return rows.Err()
}

// setDataAsOf sets each collectivity's DataAsOf from the manifest's
// data_as_of: the oldest end of the last complete crawl of the sources of
// its projects, zero when one of them has none (an older release).
func (r *published) setDataAsOf() {
	sources := map[string][]string{}
	add := func(code, src string) {
		if !slices.Contains(sources[code], src) {
			sources[code] = append(sources[code], src)
		}
	}
	for _, p := range r.Projects {
		add(p.CollectivityCode, p.Source)
	}
	for _, e := range r.Editions {
		add(e.CollectivityCode, e.Source)
	}
	for i := range r.Collectivities {
		c := &r.Collectivities[i]
		for _, src := range sources[c.Code] {
			t, ok := r.Manifest.DataAsOf[src]
			if !ok {
				c.DataAsOf = time.Time{}
				break
			}
			if c.DataAsOf.IsZero() || t.Before(c.DataAsOf) {
				c.DataAsOf = t.UTC()
			}
		}
	}
}

func (r *published) loadProjects(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT source, project_id, coalesce(collectivity_code, ''), coalesce(title, ''),
		coalesce(url, ''), coalesce(project_type, ''), coalesce(edition, ''), published_at
		FROM projects ORDER BY source, project_id`)
	if err != nil {
		return fmt.Errorf("read projects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &project{}
		var pub sql.NullTime
		if err := rows.Scan(&p.Source, &p.ID, &p.CollectivityCode, &p.Title, &p.URL, &p.Type, &p.Edition, &pub); err != nil {
			return fmt.Errorf("read projects: %w", err)
		}
		p.PublishedAt = pub.Time
		p.Slug = slugify(p.Source) + "-" + shortHash(p.Source, p.ID)
		r.Projects = append(r.Projects, p)
	}
	return rows.Err()
}

func (r *published) loadSteps(ctx context.Context, db *sql.DB) error {
	idx := r.projectIndex()
	rows, err := db.QueryContext(ctx, `SELECT source, project_id, step_id, coalesce(phase, 'other'), coalesce(title, ''),
		coalesce(state, ''), start_at, end_at, coalesce(position, 0)
		FROM steps ORDER BY source, project_id, position, step_id`)
	if err != nil {
		return fmt.Errorf("read steps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, pid string
		var s step
		var start, end sql.NullTime
		if err := rows.Scan(&src, &pid, &s.ID, &s.Phase, &s.Title, &s.State, &start, &end, &s.Position); err != nil {
			return fmt.Errorf("read steps: %w", err)
		}
		s.Start, s.End = start.Time, end.Time
		if p := idx[[2]string{src, pid}]; p != nil {
			p.Steps = append(p.Steps, s)
		}
	}
	return rows.Err()
}

func (r *published) loadDays(ctx context.Context, db *sql.DB) error {
	idx := r.projectIndex()
	rows, err := db.QueryContext(ctx, `SELECT source, project_id, day,
		sum(coalesce(proposals, 0))::BIGINT, sum(coalesce(votes, 0))::BIGINT,
		sum(coalesce(contributions, 0) + coalesce(replies, 0))::BIGINT
		FROM participation_daily GROUP BY ALL ORDER BY source, project_id, day`)
	if err != nil {
		return fmt.Errorf("read participation_daily: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, pid string
		var d dayRow
		if err := rows.Scan(&src, &pid, &d.Day, &d.Proposals, &d.Votes, &d.Contributions); err != nil {
			return fmt.Errorf("read participation_daily: %w", err)
		}
		p := idx[[2]string{src, pid}]
		if p == nil {
			continue
		}
		if n := len(p.Days); n > 0 {
			last := p.Days[n-1]
			d.CumProposals, d.CumVotes, d.CumContr = last.CumProposals, last.CumVotes, last.CumContr
		}
		d.CumProposals += d.Proposals
		d.CumVotes += d.Votes
		d.CumContr += d.Contributions
		p.Days = append(p.Days, d)
	}
	return rows.Err()
}

func (r *published) loadProposalStats(ctx context.Context, db *sql.DB) error {
	idx := r.projectIndex()
	since, ok := r.previousCreatedAt()
	if !ok {
		since = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) // first release: nothing is "new"
	}
	rows, err := db.QueryContext(ctx, `SELECT source, project_id,
		count(*) FILTER (WHERE NOT coalesce(trashed, false)),
		count(*) FILTER (WHERE NOT coalesce(trashed, false) AND latitude IS NOT NULL AND longitude IS NOT NULL),
		count(*) FILTER (WHERE NOT coalesce(trashed, false) AND coalesce(winner, false)),
		count(*) FILTER (WHERE NOT coalesce(trashed, false) AND published_at > ?)
		FROM proposals GROUP BY ALL`, since)
	if err != nil {
		return fmt.Errorf("read proposal counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, pid string
		var total, located, winners, newSince int64
		if err := rows.Scan(&src, &pid, &total, &located, &winners, &newSince); err != nil {
			return fmt.Errorf("read proposal counts: %w", err)
		}
		if p := idx[[2]string{src, pid}]; p != nil {
			p.Proposals, p.Located, p.Winners, p.NewSince = total, located, winners, newSince
		}
	}
	return rows.Err()
}

const proposalColumns = `source, project_id, proposal_id, coalesce(reference, ''), coalesce(title, ''), coalesce(url, ''),
	coalesce(category, ''), coalesce(theme, ''), coalesce(selection_status, ''), coalesce(votes_count, 0),
	coalesce(winner, false), coalesce(latitude, 0), coalesce(longitude, 0)`

func (r *published) scanProposals(ctx context.Context, db *sql.DB, query string, add func(*project, proposal), args ...any) error {
	idx := r.projectIndex()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read proposals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, pid string
		var x proposal
		if err := rows.Scan(&src, &pid, &x.ID, &x.Reference, &x.Title, &x.URL, &x.Category, &x.Theme, &x.Status,
			&x.Votes, &x.Winner, &x.Lat, &x.Lng); err != nil {
			return fmt.Errorf("read proposals: %w", err)
		}
		if p := idx[[2]string{src, pid}]; p != nil {
			add(p, x)
		}
	}
	return rows.Err()
}

func (r *published) loadTopProposals(ctx context.Context, db *sql.DB) error {
	return r.scanProposals(ctx, db, `SELECT `+proposalColumns+` FROM proposals
		WHERE NOT coalesce(trashed, false)
		QUALIFY row_number() OVER (PARTITION BY source, project_id ORDER BY votes_count DESC NULLS LAST, proposal_id) <= ?
		ORDER BY source, project_id, votes_count DESC NULLS LAST, proposal_id`,
		func(p *project, x proposal) { p.Top = append(p.Top, x) }, topProposalsPerProject)
}

func (r *published) loadPoints(ctx context.Context, db *sql.DB) error {
	return r.scanProposals(ctx, db, `SELECT `+proposalColumns+` FROM proposals
		WHERE NOT coalesce(trashed, false) AND latitude IS NOT NULL AND longitude IS NOT NULL
		QUALIFY row_number() OVER (PARTITION BY source, project_id ORDER BY votes_count DESC NULLS LAST, proposal_id) <= ?
		ORDER BY source, project_id, votes_count DESC NULLS LAST, proposal_id`,
		func(p *project, x proposal) { p.Points = append(p.Points, x) }, mapPointsPerProject)
}

// comparisonMetrics are the budget_comparison columns read as metrics.
var comparisonMetrics = []string{
	"participation_rate", "proposals_per_10k", "votes_per_1k", "winner_rate", "eur_per_inhabitant",
	"cost_to_envelope", "votes_gini",
}

func (r *published) loadEditions(ctx context.Context, db *sql.DB) error {
	q := `SELECT source, collectivity_code, coalesce(collectivity_name, collectivity_code), coalesce(collectivity_kind, 'other'), project_id,
		coalesce(project_title, ''), coalesce(edition, ''), coalesce(exercise_model, ''), coalesce(comparable_on, 'all'),
		coalesce(population, 0), envelope_eur, coalesce(proposals, 0), coalesce(votes, 0), coalesce(participants, 0),
		coalesce(winners, 0), coalesce(in_progress, false), ` + strings.Join(comparisonMetrics, ", ") + `
		FROM budget_comparison ORDER BY collectivity_code, edition, project_id`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read budget_comparison: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e edition
		vals := make([]sql.NullFloat64, len(comparisonMetrics))
		dst := []any{&e.Source, &e.CollectivityCode, &e.CollectivityName, &e.CollectivityKind, &e.ProjectID, &e.ProjectTitle, &e.Edition,
			&e.ExerciseModel, &e.ComparableOn, &e.Population, &e.EnvelopeEUR, &e.Proposals, &e.Votes, &e.Participants, &e.Winners, &e.InProgress}
		for i := range vals {
			dst = append(dst, &vals[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return fmt.Errorf("read budget_comparison: %w", err)
		}
		e.Metrics = map[string]float64{}
		for i, v := range vals {
			if v.Valid {
				e.Metrics[comparisonMetrics[i]] = v.Float64
			}
		}
		r.Editions = append(r.Editions, e)
	}
	return rows.Err()
}

func (r *published) loadCategories(ctx context.Context, db *sql.DB) error {
	idx := r.projectIndex()
	rows, err := db.QueryContext(ctx, `SELECT source, project_id, dimension, coalesce(label, '(aucun)'),
		coalesce(proposals, 0), coalesce(proposals_share, 0), coalesce(votes, 0), coalesce(votes_share, 0), coalesce(winners, 0)
		FROM budget_categories ORDER BY source, project_id, dimension, proposals DESC, label`)
	if err != nil {
		return fmt.Errorf("read budget_categories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, pid string
		var c categoryRow
		if err := rows.Scan(&src, &pid, &c.Dimension, &c.Label, &c.Proposals, &c.ProposalsShare, &c.Votes, &c.VotesShare, &c.Winners); err != nil {
			return fmt.Errorf("read budget_categories: %w", err)
		}
		if p := idx[[2]string{src, pid}]; p != nil {
			p.Categories = append(p.Categories, c)
		}
	}
	return rows.Err()
}

func (r *published) loadRanking(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT r.collectivity_code, coalesce(r.collectivity_name, r.collectivity_code), coalesce(r.project_id, ''), coalesce(r.edition, ''),
		r.metric, coalesce(r.peer_group, c.collectivity_kind, 'other'), r.value, r.benchmark, r.rank, r.peers,
		coalesce(r.comparable, true), coalesce(r.in_progress, false)
		FROM collectivity_ranking r LEFT JOIN collectivities c USING (collectivity_code)
		ORDER BY r.collectivity_code, r.metric`)
	if err != nil {
		return fmt.Errorf("read collectivity_ranking: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x rankingRow
		if err := rows.Scan(&x.CollectivityCode, &x.CollectivityName, &x.ProjectID, &x.Edition, &x.Metric, &x.PeerGroup, &x.Value, &x.Benchmark,
			&x.Rank, &x.Peers, &x.Comparable, &x.InProgress); err != nil {
			return fmt.Errorf("read collectivity_ranking: %w", err)
		}
		r.Ranking = append(r.Ranking, x)
	}
	return rows.Err()
}

// editionsOf returns the editions of a collectivity, oldest first.
func (r *published) editionsOf(code string) []edition {
	var out []edition
	for _, e := range r.Editions {
		if e.CollectivityCode == code {
			out = append(out, e)
		}
	}
	return out
}

// latestEditions returns the latest finished edition of each
// collectivity (its latest edition when none is finished), in
// collectivity-name order: the editions collectivity_ranking compares.
func (r *published) latestEditions() []edition {
	last := map[string]edition{}
	for _, e := range r.Editions { // sorted by code, edition: the last one wins
		if prev, ok := last[e.CollectivityCode]; ok && e.InProgress && !prev.InProgress {
			continue
		}
		last[e.CollectivityCode] = e
	}
	out := make([]edition, 0, len(last))
	for _, e := range last {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CollectivityName != out[j].CollectivityName {
			return out[i].CollectivityName < out[j].CollectivityName
		}
		return out[i].CollectivityCode < out[j].CollectivityCode
	})
	return out
}

// ranking returns the ranking row of a collectivity for a metric.
func (r *published) ranking(code, metric string) (rankingRow, bool) {
	for _, x := range r.Ranking {
		if x.CollectivityCode == code && x.Metric == metric {
			return x, true
		}
	}
	return rankingRow{}, false
}

// rankingOf returns the ranking rows of a metric among the collectivities
// of one kind: ranked ones by rank, then the others by value.
func (r *published) rankingOf(metric, group string) []rankingRow {
	var out []rankingRow
	for _, x := range r.Ranking {
		if x.Metric == metric && x.PeerGroup == group && x.Value.Valid {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Rank.Valid != b.Rank.Valid {
			return a.Rank.Valid
		}
		if a.Rank.Valid && a.Rank.Int64 != b.Rank.Int64 {
			return a.Rank.Int64 < b.Rank.Int64
		}
		if a.Value.Float64 != b.Value.Float64 {
			return a.Value.Float64 > b.Value.Float64
		}
		return a.CollectivityName < b.CollectivityName
	})
	return out
}

// benchmark returns the median of the compared collectivities of a kind
// for a metric (collectivity_ranking.benchmark).
func (r *published) benchmark(metric, group string) (float64, bool) {
	for _, x := range r.Ranking {
		if x.Metric == metric && x.PeerGroup == group && x.Benchmark.Valid {
			return x.Benchmark.Float64, true
		}
	}
	return 0, false
}

// peerGroups lists the kinds of collectivities with a ranking row, the
// most numerous first.
func (r *published) peerGroups() []string {
	n := map[string]int{}
	for _, x := range r.Ranking {
		n[x.PeerGroup]++
	}
	var out []string
	for g := range n {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if n[out[i]] != n[out[j]] {
			return n[out[i]] > n[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func (r *published) collectivity(code string) (collectivity, bool) {
	for _, c := range r.Collectivities {
		if c.Code == code {
			return c, true
		}
	}
	return collectivity{}, false
}

// labelEditions names every edition for readers: the exercise's label and
// the edition ("Budget participatif 2024", "Orientations 2024"), "(en
// cours)" while a deposit or vote step is open, made unique among the
// collectivity's editions (a second project of the same label and year
// gets its title).
func (r *published) labelEditions(cat *datasets.Contract) {
	seen := map[[2]string]int{}
	for i := range r.Editions {
		e := &r.Editions[i]
		model := e.ExerciseModel
		if model == "" {
			model = "other"
		}
		e.Label = strings.TrimSpace(cat.Label("exercise_model", model) + " " + e.Edition)
		seen[[2]string{e.CollectivityCode, e.Label}]++
	}
	for i := range r.Editions {
		e := &r.Editions[i]
		if seen[[2]string{e.CollectivityCode, e.Label}] > 1 {
			e.Label += " – " + e.ProjectTitle
		}
		if e.InProgress {
			e.Label += " (en cours)"
		}
	}
}

// kindGroup is how the site names a group of collectivities of one kind.
type kindGroup struct {
	Plural   string // "départements"
	Compared string // "départements comparés" (agreement in gender)
}

var kindGroups = map[string]kindGroup{
	"departement": {"départements", "départements comparés"},
	"region":      {"régions", "régions comparées"},
	"commune":     {"communes", "communes comparées"},
	"other":       {"autres collectivités", "autres collectivités comparées"},
}

func groupOf(kind string) kindGroup {
	if g, ok := kindGroups[kind]; ok {
		return g
	}
	return kindGroups["other"]
}
