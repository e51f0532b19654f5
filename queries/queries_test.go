package queries

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

type approx struct{ v, tol float64 }

func runJSON(t *testing.T, e *Engine, name string, params map[string]string) Result {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Run(context.Background(), name, params, &buf, FormatJSON); err != nil {
		t.Fatalf("run %s %v: %v", name, params, err)
	}
	return decodeResult(t, buf.Bytes())
}

func decodeResult(t *testing.T, b []byte) Result {
	t.Helper()
	var r Result
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

func cellEqual(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case int:
		return cellEqual(got, int64(w))
	case int64:
		n, ok := got.(json.Number)
		if !ok {
			return false
		}
		g, err := n.Int64()
		return err == nil && g == w
	case float64:
		return cellEqual(got, approx{w, 1e-9 * math.Max(1, math.Abs(w))})
	case approx:
		n, ok := got.(json.Number)
		if !ok {
			return false
		}
		g, err := n.Float64()
		return err == nil && math.Abs(g-w.v) <= w.tol
	case time.Time:
		g, ok := got.(string)
		return ok && g == w.UTC().Format(time.RFC3339Nano)
	}
	panic(fmt.Sprintf("cellEqual: unsupported want %T", want))
}

func assertResult(t *testing.T, got Result, cols []string, want [][]any) {
	t.Helper()
	gotCols := make([]string, len(got.Columns))
	for i, c := range got.Columns {
		gotCols[i] = c.Name
	}
	if strings.Join(gotCols, ",") != strings.Join(cols, ",") {
		t.Fatalf("columns = %v, want %v", gotCols, cols)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("%d rows, want %d\ngot:  %v\nwant: %v", len(got.Rows), len(want), got.Rows, want)
	}
	if got.Truncated {
		t.Errorf("truncated = true")
	}
	for i := range want {
		for j := range want[i] {
			if !cellEqual(got.Rows[i][j], want[i][j]) {
				t.Errorf("row %d col %s = %v (%T), want %v (%T)\nrow got:  %v\nrow want: %v", i, cols[j], got.Rows[i][j], got.Rows[i][j], want[i][j], want[i][j], got.Rows[i], want[i])
			}
		}
	}
}

// Accessors over fixture rows.
func s(r row, k string) string {
	v, _ := r[k].(string)
	return v
}
func i64(r row, k string) int64 {
	v, _ := r[k].(int64)
	return v
}
func tm(r row, k string) time.Time {
	v, _ := r[k].(time.Time)
	return v
}
func b(r row, k string) bool {
	v, _ := r[k].(bool)
	return v
}
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
func date(t time.Time) string { return t.Format("2006-01-02") }

func TestCatalogueHasUsefulQueries(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Queries()); n < 10 {
		t.Fatalf("%d canned queries, want at least 10", n)
	}
	for _, q := range c.Queries() {
		if !strings.ContainsAny(q.Description, "éèàçêô") && !strings.Contains(q.Description, " les ") && !strings.Contains(q.Description, " des ") {
			t.Errorf("%s: description does not look French: %q", q.Name, q.Description)
		}
	}
}

// TestCatalogueExamplesRun runs every query with its documented example in
// every format, so that no catalogue entry can rot unnoticed.
func TestCatalogueExamplesRun(t *testing.T) {
	for _, m := range engineModes {
		t.Run(m.name, func(t *testing.T) { testCatalogueExamplesRun(t, m.opts...) })
	}
}

func testCatalogueExamplesRun(t *testing.T, opts ...Option) {
	e, _, _ := openFixture(t, Limits{}, opts...)
	for _, q := range e.Catalog().Queries() {
		params := exampleParams(t, q)
		for _, f := range []Format{FormatJSON, FormatCSV, FormatTable, FormatParquet} {
			var buf bytes.Buffer
			if err := e.Run(context.Background(), q.Name, params, &buf, f); err != nil {
				t.Errorf("%s (%s): %v", q.Name, f, err)
				continue
			}
			if buf.Len() == 0 {
				t.Errorf("%s (%s): empty output", q.Name, f)
			}
			if f == FormatParquet && !bytes.HasPrefix(buf.Bytes(), []byte("PAR1")) {
				t.Errorf("%s: parquet output does not start with PAR1", q.Name)
			}
		}
	}
}

// TestLoadedTablesAnswerLikeViews: every catalogue example and a few
// ad-hoc queries give the same answer on loaded tables as on the views.
func TestLoadedTablesAnswerLikeViews(t *testing.T) {
	views, _, _ := openFixture(t, Limits{})
	tables, _, _ := openFixture(t, Limits{}, LoadTables(""))
	ctx := context.Background()
	for _, q := range views.Catalog().Queries() {
		params := exampleParams(t, q)
		var a, b bytes.Buffer
		if err := views.Run(ctx, q.Name, params, &a, FormatCSV); err != nil {
			t.Fatalf("%s on views: %v", q.Name, err)
		}
		if err := tables.Run(ctx, q.Name, params, &b, FormatCSV); err != nil {
			t.Fatalf("%s on tables: %v", q.Name, err)
		}
		if a.String() != b.String() {
			t.Errorf("%s: tables answer\n%s\nviews answer\n%s", q.Name, b.String(), a.String())
		}
	}
	for _, sql := range []string{
		"SELECT * FROM proposal_votes ORDER BY ALL",
		"SELECT * FROM release_info",
		"SELECT source, count(*) AS n FROM contributions GROUP BY ALL ORDER BY ALL",
		// The descriptions come along (loaded datasets are tables, not views).
		"SELECT table_name, table_comment FROM information_schema.tables WHERE table_schema = 'main' ORDER BY ALL",
		"SELECT table_name, column_name, data_type, column_comment FROM information_schema.columns WHERE table_schema = 'main' ORDER BY ALL",
	} {
		var a, b bytes.Buffer
		if err := views.SQL(ctx, sql, &a, FormatCSV); err != nil {
			t.Fatalf("%s on views: %v", sql, err)
		}
		if err := tables.SQL(ctx, sql, &b, FormatCSV); err != nil {
			t.Fatalf("%s on tables: %v", sql, err)
		}
		if a.String() != b.String() || strings.Count(a.String(), "\n") < 2 {
			t.Errorf("%s: tables answer\n%s\nviews answer\n%s", sql, b.String(), a.String())
		}
	}
	if !slices.Equal(views.Tables(), tables.Tables()) {
		t.Errorf("tables %v, views %v", tables.Tables(), views.Tables())
	}
}

// exampleParams returns the parameters of q's example (none without one).
func exampleParams(t *testing.T, q *Query) map[string]string {
	t.Helper()
	if q.Example == "" {
		return map[string]string{}
	}
	vals, err := parseExample(q.Example)
	if err != nil {
		t.Fatalf("%s example: %v", q.Name, err)
	}
	return vals
}

func parseExample(ex string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(ex, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("bad pair %q", kv)
		}
		out[k] = v
	}
	return out, nil
}

func TestParticipationWeeklyProject(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, tc := range []struct{ project, source string }{{"UHJvamVjdDox", "landes"}, {"UHJvamVjdDox", ""}, {"UHJvamVjdDoy", "landes"}, {"nope", ""}} {
		type agg struct{ p, v, c, r int64 }
		by := map[string]*agg{}
		for _, r := range fx["participation_weekly"] {
			if s(r, "project_id") != tc.project || (tc.source != "" && s(r, "source") != tc.source) {
				continue
			}
			k := date(tm(r, "week"))
			if by[k] == nil {
				by[k] = &agg{}
			}
			a := by[k]
			a.p += i64(r, "proposals")
			a.v += i64(r, "votes")
			a.c += i64(r, "contributions")
			a.r += i64(r, "replies")
		}
		weeks := sortedMapKeys(by)
		var want [][]any
		var cp, cv, cc int64
		for _, w := range weeks {
			a := by[w]
			cp, cv, cc = cp+a.p, cv+a.v, cc+a.c
			want = append(want, []any{w, a.p, a.v, a.c, a.r, cp, cv, cc})
		}
		params := map[string]string{"project": tc.project}
		if tc.source != "" {
			params["source"] = tc.source
		}
		got := runJSON(t, e, "participation_weekly_project", params)
		assertResult(t, got, []string{"week", "proposals", "votes", "contributions", "replies", "cumulative_proposals", "cumulative_votes", "cumulative_contributions"}, want)
	}
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestParticipationWeeklyCollectivity(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	proj := map[string]row{}
	for _, p := range fx["projects"] {
		proj[s(p, "source")+"/"+s(p, "project_id")] = p
	}
	for _, tc := range []struct{ coll, edition string }{{"40", ""}, {"40", "2024"}, {"33", ""}} {
		type agg struct {
			projects    map[string]bool
			p, v, c, rp int64
		}
		by := map[string]*agg{}
		for _, r := range fx["participation_weekly"] {
			p := proj[s(r, "source")+"/"+s(r, "project_id")]
			if s(p, "collectivity_code") != tc.coll || (tc.edition != "" && s(p, "edition") != tc.edition) {
				continue
			}
			k := date(tm(r, "week"))
			if by[k] == nil {
				by[k] = &agg{projects: map[string]bool{}}
			}
			a := by[k]
			a.projects[s(r, "source")+"/"+s(r, "project_id")] = true
			a.p += i64(r, "proposals")
			a.v += i64(r, "votes")
			a.c += i64(r, "contributions")
			a.rp += i64(r, "replies")
		}
		var want [][]any
		var cv int64
		for _, w := range sortedMapKeys(by) {
			a := by[w]
			cv += a.v
			want = append(want, []any{w, int64(len(a.projects)), a.p, a.v, a.c, a.rp, cv})
		}
		params := map[string]string{"collectivity": tc.coll}
		if tc.edition != "" {
			params["edition"] = tc.edition
		}
		got := runJSON(t, e, "participation_weekly_collectivity", params)
		assertResult(t, got, []string{"week", "active_projects", "proposals", "votes", "contributions", "replies", "cumulative_votes"}, want)
	}
}

func TestParticipationDailyRange(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, tc := range []struct{ from, to string }{{"2024-03-10", "2024-03-20"}, {"", "2024-03-12"}, {"2024-04-01", ""}, {"", ""}} {
		type agg struct{ p, v, c, r int64 }
		by := map[string]*agg{}
		for _, r := range fx["participation_daily"] {
			day := date(tm(r, "day"))
			if s(r, "project_id") != "UHJvamVjdDoy" || s(r, "source") != "landes" || (tc.from != "" && day < tc.from) || (tc.to != "" && day > tc.to) {
				continue
			}
			if by[day] == nil {
				by[day] = &agg{}
			}
			a := by[day]
			a.p += i64(r, "proposals")
			a.v += i64(r, "votes")
			a.c += i64(r, "contributions")
			a.r += i64(r, "replies")
		}
		var want [][]any
		for _, d := range sortedMapKeys(by) {
			a := by[d]
			want = append(want, []any{d, a.p, a.v, a.c, a.r})
		}
		params := map[string]string{"project": "UHJvamVjdDoy", "source": "landes", "from": tc.from, "to": tc.to}
		got := runJSON(t, e, "participation_daily_range", params)
		assertResult(t, got, []string{"day", "proposals", "votes", "contributions", "replies"}, want)
	}
}

func TestCollectivityRanking(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, tc := range []struct {
		metric string
		limit  int
	}{{"", 20}, {"participation_rate", 2}} {
		metric := tc.metric
		if metric == "" {
			metric = "votes_per_1k"
		}
		var rows []row
		for _, r := range fx["collectivity_ranking"] {
			if s(r, "metric") == metric {
				rows = append(rows, r)
			}
		}
		sort.Slice(rows, func(i, j int) bool {
			ri, rj := rows[i]["rank"].(int32), rows[j]["rank"].(int32)
			if ri != rj {
				return ri < rj
			}
			return s(rows[i], "collectivity_code") < s(rows[j], "collectivity_code")
		})
		if len(rows) > tc.limit {
			rows = rows[:tc.limit]
		}
		var want [][]any
		for _, r := range rows {
			want = append(want, []any{int64(r["rank"].(int32)), s(r, "collectivity_code"), s(r, "collectivity_name"), s(r, "edition"), r["value"].(float64), 42.5, int64(3), b(r, "comparable"), nil, nil})
		}
		params := map[string]string{"limit": fmt.Sprint(tc.limit)}
		if tc.metric != "" {
			params["metric"] = tc.metric
		}
		got := runJSON(t, e, "collectivity_ranking", params)
		assertResult(t, got, []string{"rank", "collectivity_code", "collectivity_name", "edition", "value", "benchmark", "peers", "comparable", "peer_group", "in_progress"}, want)
	}
}

// TestEnumParameters: an unknown value of an enumerated parameter is an
// invalid_parameter error listing the accepted values (from the
// catalogue's enum), not an empty result.
func TestEnumParameters(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	for _, tc := range []struct{ query, param, value, listed string }{
		{"collectivity_ranking", "metric", "bogus", "votes_per_1k, participation_rate"},
		{"participation_vs_population", "kind", "autre", "departement, region, commune, other"},
	} {
		err := e.Run(context.Background(), tc.query, map[string]string{tc.param: tc.value}, io.Discard, FormatJSON)
		qe := AsError(err)
		if err == nil || qe.Code != CodeInvalidParameter || !strings.Contains(qe.Message, tc.listed) || !strings.Contains(qe.Message, tc.value) {
			t.Errorf("%s %s=%s: %v, want invalid_parameter listing %s", tc.query, tc.param, tc.value, err, tc.listed)
		}
	}
	q, _ := e.Catalog().Query("collectivity_ranking")
	for _, p := range q.Params {
		if p.Name == "metric" && len(p.Values) != 7 {
			t.Errorf("metric accepts %v, want the 7 ranking metrics", p.Values)
		}
	}
}

func TestTopProposals(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, tc := range []struct {
		project, source string
		trashed         bool
		limit           int
	}{{"", "", false, 10}, {"UHJvamVjdDox", "landes", true, 5}, {"UHJvamVjdDox", "", false, 100}} {
		var rows []row
		for _, r := range fx["proposals"] {
			if (tc.project != "" && s(r, "project_id") != tc.project) || (tc.source != "" && s(r, "source") != tc.source) || (!tc.trashed && b(r, "trashed")) {
				continue
			}
			rows = append(rows, r)
		}
		sort.Slice(rows, func(i, j int) bool {
			a, c := rows[i], rows[j]
			if i64(a, "votes_count") != i64(c, "votes_count") {
				return i64(a, "votes_count") > i64(c, "votes_count")
			}
			if s(a, "source") != s(c, "source") {
				return s(a, "source") < s(c, "source")
			}
			return s(a, "proposal_id") < s(c, "proposal_id")
		})
		if len(rows) > tc.limit {
			rows = rows[:tc.limit]
		}
		var want [][]any
		for _, r := range rows {
			want = append(want, []any{s(r, "source"), s(r, "project_id"), s(r, "proposal_id"), s(r, "reference"), s(r, "title"), r["category"], i64(r, "votes_count"), nil, b(r, "winner"), s(r, "url")})
		}
		params := map[string]string{"limit": fmt.Sprint(tc.limit), "include_trashed": fmt.Sprint(tc.trashed)}
		if tc.project != "" {
			params["project"] = tc.project
		}
		if tc.source != "" {
			params["source"] = tc.source
		}
		got := runJSON(t, e, "top_proposals", params)
		assertResult(t, got, []string{"source", "project_id", "proposal_id", "reference", "title", "category", "votes_count", "selection_status", "winner", "url"}, want)
	}
}

func TestVotesByHour(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ project, source, step string }{{"UHJvamVjdDoy", "landes", ""}, {"UHJvamVjdDox", "", ""}, {"UHJvamVjdDox", "", "UHJvamVjdDox-collect"}} {
		var counts [24]int64
		var total int64
		for _, st := range fx["steps"] {
			if s(st, "phase") != "vote" || s(st, "project_id") != tc.project || (tc.source != "" && s(st, "source") != tc.source) || (tc.step != "" && s(st, "step_id") != tc.step) {
				continue
			}
			for _, v := range fx["proposal_votes"] {
				at := tm(v, "created_at")
				if s(v, "source") != s(st, "source") || s(v, "project_id") != tc.project || at.Before(tm(st, "start_at")) || at.After(tm(st, "end_at")) {
					continue
				}
				counts[at.In(paris).Hour()]++
				total++
			}
		}
		var want [][]any
		for h, n := range counts {
			var share any
			if total > 0 {
				share = approx{round(float64(n)/float64(total), 4), 1e-9}
			}
			want = append(want, []any{int64(h), n, share})
		}
		params := map[string]string{"project": tc.project, "source": tc.source, "step": tc.step}
		got := runJSON(t, e, "votes_by_hour", params)
		assertResult(t, got, []string{"hour", "votes", "share"}, want)
		if tc.step == "" && total == 0 {
			t.Errorf("%v: fixture has no vote in the phase", tc)
		}
	}
}

func TestWinningCategories(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, project := range []string{"", "UHJvamVjdDoy"} {
		type agg struct{ n, w, v int64 }
		by := map[string]*agg{}
		for _, r := range fx["proposals"] {
			if b(r, "trashed") || (project != "" && s(r, "project_id") != project) {
				continue
			}
			c := "(aucune)"
			if r["category"] != nil {
				c = r["category"].(string)
			}
			if by[c] == nil {
				by[c] = &agg{}
			}
			a := by[c]
			a.n++
			a.v += i64(r, "votes_count")
			if b(r, "winner") {
				a.w++
			}
		}
		cats := sortedMapKeys(by)
		sort.SliceStable(cats, func(i, j int) bool {
			a, c := by[cats[i]], by[cats[j]]
			if a.w != c.w {
				return a.w > c.w
			}
			if a.v != c.v {
				return a.v > c.v
			}
			return cats[i] < cats[j]
		})
		var want [][]any
		for _, c := range cats {
			a := by[c]
			want = append(want, []any{c, a.n, a.w, approx{round(float64(a.w)/float64(a.n), 4), 1e-9}, a.v})
		}
		got := runJSON(t, e, "winning_categories", map[string]string{"project": project})
		assertResult(t, got, []string{"category", "proposals", "winners", "winner_rate", "votes"}, want)
	}
}

func TestParticipationVsPopulation(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	for _, tc := range []struct{ edition, kind string }{{"2024", "departement"}, {"", ""}, {"2023", ""}} {
		var rows []row
		for _, r := range fx["budget_comparison"] {
			if (tc.edition != "" && s(r, "edition") != tc.edition) || (tc.kind != "" && s(r, "collectivity_kind") != tc.kind) {
				continue
			}
			rows = append(rows, r)
		}
		per := func(r row) float64 { return round(float64(i64(r, "votes"))/float64(i64(r, "population")), 6) }
		sort.Slice(rows, func(i, j int) bool {
			a, c := rows[i], rows[j]
			if per(a) != per(c) {
				return per(a) > per(c)
			}
			if s(a, "collectivity_code") != s(c, "collectivity_code") {
				return s(a, "collectivity_code") < s(c, "collectivity_code")
			}
			if s(a, "edition") != s(c, "edition") {
				return s(a, "edition") < s(c, "edition")
			}
			return s(a, "project_id") < s(c, "project_id")
		})
		var want [][]any
		for _, r := range rows {
			want = append(want, []any{s(r, "collectivity_code"), s(r, "collectivity_name"), s(r, "collectivity_kind"), s(r, "edition"), s(r, "project_id"),
				i64(r, "population"), i64(r, "votes"), approx{per(r), 1e-9}, r["votes_per_1k"], i64(r, "participants"), r["participation_rate"], i64(r, "proposals"), r["proposals_per_10k"]})
		}
		got := runJSON(t, e, "participation_vs_population", map[string]string{"edition": tc.edition, "kind": tc.kind})
		assertResult(t, got, []string{"collectivity_code", "collectivity_name", "collectivity_kind", "edition", "project_id", "population", "votes", "votes_per_inhabitant",
			"votes_per_1k", "participants", "participation_rate", "proposals", "proposals_per_10k"}, want)
		if tc.edition == "2024" && tc.kind == "departement" && len(want) == 0 {
			t.Fatal("fixture: no 2024 département")
		}
	}
}

func TestEditionChange(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	rows := append([]row(nil), fx["budget_comparison"]...)
	sort.Slice(rows, func(i, j int) bool {
		a, c := rows[i], rows[j]
		for _, k := range []string{"collectivity_code", "edition", "project_id"} {
			if s(a, k) != s(c, k) {
				return s(a, k) < s(c, k)
			}
		}
		return false
	})
	change := func(cur, prev int64) any {
		if prev == 0 {
			return nil
		}
		return approx{round(100*float64(cur-prev)/float64(prev), 1), 0.1 + 1e-9}
	}
	var want [][]any
	for i, r := range rows {
		var pv, pp, pr any
		var vc, pc any
		if i > 0 && s(rows[i-1], "collectivity_code") == s(r, "collectivity_code") {
			prev := rows[i-1]
			pv, pp, pr = i64(prev, "votes"), i64(prev, "participants"), i64(prev, "proposals")
			vc, pc = change(i64(r, "votes"), i64(prev, "votes")), change(i64(r, "participants"), i64(prev, "participants"))
		}
		want = append(want, []any{s(r, "collectivity_code"), s(r, "collectivity_name"), s(r, "edition"), s(r, "project_id"), i64(r, "votes"), pv, vc, i64(r, "participants"), pp, pc, i64(r, "proposals"), pr})
	}
	got := runJSON(t, e, "edition_change", nil)
	assertResult(t, got, []string{"collectivity_code", "collectivity_name", "edition", "project_id", "votes", "previous_votes", "votes_change_pct", "participants",
		"previous_participants", "participants_change_pct", "proposals", "previous_proposals"}, want)
}

func TestEventsPerProject(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	events := map[string]row{}
	for _, ev := range fx["events"] {
		events[s(ev, "source")+"/"+s(ev, "event_id")] = ev
	}
	type agg struct {
		p           row
		n           int64
		first, last time.Time
	}
	var aggs []*agg
	for _, p := range fx["projects"] {
		a := &agg{p: p}
		for _, l := range fx["event_projects"] {
			if s(l, "source") != s(p, "source") || s(l, "project_id") != s(p, "project_id") {
				continue
			}
			at := tm(events[s(l, "source")+"/"+s(l, "event_id")], "start_at")
			if a.n == 0 || at.Before(a.first) {
				a.first = at
			}
			if a.n == 0 || at.After(a.last) {
				a.last = at
			}
			a.n++
		}
		aggs = append(aggs, a)
	}
	sort.Slice(aggs, func(i, j int) bool {
		a, c := aggs[i], aggs[j]
		if a.n != c.n {
			return a.n > c.n
		}
		if s(a.p, "source") != s(c.p, "source") {
			return s(a.p, "source") < s(c.p, "source")
		}
		return s(a.p, "project_id") < s(c.p, "project_id")
	})
	var want [][]any
	for _, a := range aggs {
		var first, last any
		if a.n > 0 {
			first, last = a.first, a.last
		}
		want = append(want, []any{s(a.p, "source"), s(a.p, "project_id"), s(a.p, "title"), a.n, first, last})
	}
	got := runJSON(t, e, "events_per_project", nil)
	assertResult(t, got, []string{"source", "project_id", "project_title", "events", "first_event_at", "last_event_at"}, want)
}

func TestContributionMix(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	type agg struct{ op, ver, af, ag, src, rep, tot int64 }
	by := map[string]*agg{}
	for _, c := range fx["contributions"] {
		if b(c, "trashed") {
			continue
		}
		k := s(c, "source") + "\x00" + s(c, "project_id")
		if by[k] == nil {
			by[k] = &agg{}
		}
		a := by[k]
		a.tot++
		switch s(c, "contribution_type") {
		case "opinion":
			a.op++
		case "version":
			a.ver++
		case "argument":
			if s(c, "argument_type") == "FOR" {
				a.af++
			} else {
				a.ag++
			}
		case "source":
			a.src++
		case "reply":
			a.rep++
		}
	}
	var want [][]any
	for _, k := range sortedMapKeys(by) {
		a := by[k]
		src, proj, _ := strings.Cut(k, "\x00")
		var share any
		if a.af+a.ag > 0 {
			share = approx{round(float64(a.af)/float64(a.af+a.ag), 4), 1e-9}
		}
		want = append(want, []any{src, proj, a.op, a.ver, a.af, a.ag, a.src, a.rep, a.tot, share})
	}
	got := runJSON(t, e, "contribution_mix", nil)
	assertResult(t, got, []string{"source", "project_id", "opinions", "versions", "arguments_for", "arguments_against", "sources", "replies", "total", "for_share"}, want)
}

func TestDataFreshness(t *testing.T) {
	e, fx, _ := openFixture(t, Limits{})
	maxT := func(rows []row, src, col string) any {
		var m time.Time
		for _, r := range rows {
			if s(r, "source") == src && tm(r, col).After(m) {
				m = tm(r, col)
			}
		}
		if m.IsZero() {
			return nil
		}
		return m
	}
	sources := map[string]int64{}
	for _, p := range fx["projects"] {
		sources[s(p, "source")]++
	}
	var want [][]any
	for _, src := range sortedMapKeys(sources) {
		var open int64
		for _, st := range fx["steps"] {
			if s(st, "source") == src && s(st, "state") == "OPENED" {
				open++
			}
		}
		lastPub, lastStart, lastEnd := maxT(fx["projects"], src, "published_at"), maxT(fx["steps"], src, "start_at"), maxT(fx["steps"], src, "end_at")
		lastProp, lastVote := maxT(fx["proposals"], src, "created_at"), maxT(fx["proposal_votes"], src, "created_at")
		var activity time.Time
		for _, v := range []any{lastPub, lastStart, lastProp, lastVote} {
			if t, ok := v.(time.Time); ok && t.After(activity) {
				activity = t
			}
		}
		want = append(want, []any{src, "20261129T171502Z", releaseCreated, sources[src], lastPub, lastStart, lastEnd, open, lastProp, lastVote, activity})
	}
	got := runJSON(t, e, "data_freshness", nil)
	assertResult(t, got, []string{"source", "release_id", "release_created_at", "projects", "last_project_published_at", "last_step_start_at", "last_step_end_at",
		"open_steps", "last_proposal_at", "last_vote_at", "last_activity_at"}, want)
}

// checkedQueries are the catalogue queries whose results a test above
// compares with an independent Go computation. A new catalogue entry must
// get such a test.
var checkedQueries = []string{
	"participation_weekly_project", "participation_weekly_collectivity", "participation_daily_range",
	"collectivity_ranking", "top_proposals", "votes_by_hour", "winning_categories",
	"participation_vs_population", "edition_change", "events_per_project", "contribution_mix", "data_freshness",
}

func TestEveryQueryIsChecked(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, n := range checkedQueries {
		checked[n] = true
	}
	for _, q := range c.Queries() {
		if !checked[q.Name] {
			t.Errorf("catalogue query %s has no independent check", q.Name)
		}
		delete(checked, q.Name)
	}
	for n := range checked {
		t.Errorf("checked query %s is not in the catalogue", n)
	}
}

func TestParseParamArgs(t *testing.T) {
	got, err := ParseParamArgs([]string{"project=a=b", "limit=3", "empty="})
	if err != nil || got["project"] != "a=b" || got["limit"] != "3" || got["empty"] != "" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range [][]string{{"noequals"}, {"=v"}, {"a=1", "a=2"}} {
		if _, err := ParseParamArgs(bad); AsError(err).Code != CodeInvalidParameter {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}
