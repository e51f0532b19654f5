package reports

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
)

// forbiddenColumn matches column names that would identify a citizen:
// raw author/user ids, usernames, e-mails, biographies, profile URLs.
var forbiddenColumn = regexp.MustCompile(`(?i)(^|_)(author_id|user_id|voter_id|username|user_name|display_name|email|e_mail|mail|biography|bio|profile_url|url_profile|profile|avatar|avatar_url|phone|firstname|lastname|first_name|last_name)($|_)`)

// checkForbiddenColumns fails when a published dataset has an identity column.
func checkForbiddenColumns(c *datasets.Contract) error {
	var bad []string
	for _, d := range c.Datasets {
		for _, col := range d.Columns {
			if forbiddenColumn.MatchString(col.Name) {
				bad = append(bad, d.Name+"."+col.Name)
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("privacy policy: identity columns may not be published: %s", strings.Join(bad, ", "))
	}
	return nil
}

// coarsenedColumns are the vote timestamps truncated to the hour when
// Privacy.CoarsenVoteTimes is set (dataset -> columns).
var coarsenedColumns = map[string][]string{
	"proposal_votes": {"created_at"},
}

// breakdown is a demographic breakdown published row by row: counting the
// rows of Dataset by (GroupBy..., Column) gives a public count per group.
// When a group has fewer than k rows, Column is replaced by NULL in those
// rows (the rows stay, so totals stay right, but the small group can no
// longer be singled out).
type breakdown struct {
	Dataset string
	GroupBy []string
	Column  string
}

var breakdowns = []breakdown{
	{Dataset: "users", GroupBy: []string{"source"}, Column: "user_type"},
}

// projection returns the SELECT list that reads dataset d from the working
// table with the catalogue's types and the privacy policy applied.
func projection(d *datasets.Dataset, p Privacy) string {
	coarse := map[string]bool{}
	if p.CoarsenVoteTimes {
		for _, c := range coarsenedColumns[d.Name] {
			coarse[c] = true
		}
	}
	var cols []string
	for _, col := range d.Columns {
		expr := fmt.Sprintf("CAST(%s AS %s)", duckdbx.Ident(col.Name), col.Type)
		if coarse[col.Name] {
			// Truncate to the UTC hour with integer arithmetic: the same as
			// date_trunc('hour', …) for every whole-hour time zone (France
			// included) without ICU's per-value calendar work.
			expr = fmt.Sprintf("to_timestamp((epoch_us(%s) // 3600000000) * 3600)", expr)
		}
		for _, b := range breakdowns {
			if b.Dataset == d.Name && b.Column == col.Name && p.MinGroupSize > 1 {
				part := make([]string, 0, len(b.GroupBy)+1)
				for _, g := range b.GroupBy {
					part = append(part, duckdbx.Ident(g))
				}
				part = append(part, duckdbx.Ident(col.Name))
				expr = fmt.Sprintf("CASE WHEN count(*) OVER (PARTITION BY %s) < %d THEN NULL ELSE %s END",
					strings.Join(part, ", "), p.MinGroupSize, expr)
			}
		}
		cols = append(cols, expr+" AS "+duckdbx.Ident(col.Name))
	}
	return strings.Join(cols, ", ")
}

// tableRef quotes a schema.table name from the catalogue.
func tableRef(t string) string {
	parts := strings.Split(t, ".")
	for i, p := range parts {
		parts[i] = duckdbx.Ident(p)
	}
	return strings.Join(parts, ".")
}
