// Package rawstore writes the ingester's raw DuckDB tables (schema "raw",
// documented in docs/raw-tables.md): entity tables keyed by (source, id)
// holding the API payload plus change tracking, and the run, error, audit,
// source and checkpoint tables.
//
// Records are written in bulk: a batch is appended with the DuckDB Appender
// into connection-local staging tables, then merged set-based into the raw
// tables (INSERT … ON CONFLICT) in one transaction together with the
// checkpoints of the pages it holds, so a crash never leaves a checkpoint
// ahead of its data nor half a page.
package rawstore

import (
	"fmt"
	"strings"
)

// Merge modes of a context column when a row already exists.
const (
	mergeSet      = iota // take the new value
	mergeCoalesce        // take the new value unless it is NULL
	mergeKeep            // keep the stored value (set only by UpdateAuthors)
)

// column is a context column of an entity table.
type column struct {
	name  string
	typ   string // DuckDB type
	merge int
}

// tableSpec describes one entity table.
type tableSpec struct {
	name string
	ctx  []column
}

func vc(name string) column                { return column{name: name, typ: "VARCHAR"} }
func vcMode(n string, m int) column        { return column{name: n, typ: "VARCHAR", merge: m} }
func intc(name string) column              { return column{name: name, typ: "INTEGER"} }
func spec(n string, c ...column) tableSpec { return tableSpec{name: n, ctx: c} }

// Entity table names, as used in Row.Table.
const (
	Projects      = "projects"
	Steps         = "steps"
	Proposals     = "proposals"
	ProposalSteps = "proposal_steps"
	ProposalVotes = "proposal_votes"
	Questions     = "questions"
	Replies       = "replies"
	Contributions = "contributions"
	Events        = "events"
	EventProjects = "event_projects"
	Users         = "users"
	Districts     = "districts"
)

// specs returns the entity tables in a fixed order.
func specs() []tableSpec {
	return []tableSpec{
		spec(Projects),
		spec(Steps, vc("project_id"), intc("position")),
		spec(Proposals, vc("project_id"), vcMode("collect_step_id", mergeCoalesce), vcMode("author_id", mergeKeep)),
		spec(ProposalSteps, vc("proposal_id"), vc("step_id"), vc("step_kind")),
		spec(ProposalVotes, vc("proposal_id")),
		spec(Questions, vc("questionnaire_id")),
		spec(Replies, vc("project_id"), vc("step_id"), vc("questionnaire_id"), vcMode("author_id", mergeKeep)),
		spec(Contributions, vc("project_id")),
		spec(Events),
		spec(EventProjects, vc("event_id"), vc("project_id")),
		spec(Users),
		spec(Districts),
	}
}

// EntityTables lists the entity table names (without the "raw." prefix).
func EntityTables() []string {
	var out []string
	for _, s := range specs() {
		out = append(out, s.name)
	}
	return out
}

func ddl() []string {
	out := []string{`CREATE SCHEMA IF NOT EXISTS raw`}
	for _, s := range specs() {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS raw.%s (source VARCHAR NOT NULL, id VARCHAR NOT NULL", s.name)
		for _, c := range s.ctx {
			fmt.Fprintf(&b, ", %s %s", c.name, c.typ)
		}
		// (source, id) is the key; it is kept unique by the merge rather than
		// by a PRIMARY KEY constraint, whose in-memory ART index would
		// dominate the ingester's memory on large crawls.
		b.WriteString(", payload JSON NOT NULL, content_hash VARCHAR NOT NULL, first_seen_run BIGINT NOT NULL, last_seen_run BIGINT NOT NULL, deleted_run BIGINT)")
		out = append(out, b.String())
	}
	out = append(out,
		`CREATE TABLE IF NOT EXISTS raw.sources (source VARCHAR PRIMARY KEY, endpoint VARCHAR NOT NULL, timezone VARCHAR NOT NULL, locales VARCHAR[], last_complete_run BIGINT)`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_runs (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, requests BIGINT NOT NULL DEFAULT 0, retries BIGINT NOT NULL DEFAULT 0, records BIGINT NOT NULL DEFAULT 0, changed BIGINT NOT NULL DEFAULT 0, deleted BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0, message VARCHAR, PRIMARY KEY (run_id, source))`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_errors (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, "at" TIMESTAMPTZ NOT NULL, operation VARCHAR NOT NULL, path VARCHAR, message VARCHAR NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_audit (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, entity VARCHAR NOT NULL, scope_id VARCHAR NOT NULL, fetched BIGINT NOT NULL, total_count BIGINT, PRIMARY KEY (run_id, source, entity, scope_id))`,
		`CREATE TABLE IF NOT EXISTS raw.checkpoints (source VARCHAR NOT NULL, task VARCHAR NOT NULL, cursor VARCHAR, done BOOLEAN NOT NULL DEFAULT false, run_id BIGINT, fetched BIGINT NOT NULL DEFAULT 0, total_count BIGINT, PRIMARY KEY (source, task))`,
	)
	return out
}

// stageDDL returns the connection-local staging tables, one per entity table
// (plus one for author updates). Payload is staged as VARCHAR.
func stageDDL() []string {
	var out []string
	for _, s := range specs() {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE TEMP TABLE IF NOT EXISTS stage_%s (source VARCHAR, id VARCHAR", s.name)
		for _, c := range s.ctx {
			fmt.Fprintf(&b, ", %s %s", c.name, c.typ)
		}
		b.WriteString(", payload VARCHAR, run BIGINT)")
		out = append(out, b.String())
	}
	out = append(out, `CREATE TEMP TABLE IF NOT EXISTS stage_authors (tbl VARCHAR, source VARCHAR, id VARCHAR, author_id VARCHAR, run BIGINT)`)
	return out
}

// hashExpr is the SQL expression of content_hash given expressions for the
// payload and each context column.
func hashExpr(payload string, ctx []string) string {
	parts := []string{payload}
	for _, c := range ctx {
		parts = append(parts, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), chr(30))", c))
	}
	return "md5(" + strings.Join(parts, " || chr(31) || ") + ")"
}

// mergeSQL returns (count-changed query, update statement, insert
// statement) for one table: matched rows get the new payload, hash and
// last_seen_run (and are revived), then unmatched rows are inserted.
func mergeSQL(s tableSpec) (string, string, string) {
	ctxNew := make([]string, len(s.ctx))
	for i, c := range s.ctx {
		switch c.merge {
		case mergeSet:
			ctxNew[i] = "s." + c.name
		case mergeCoalesce:
			ctxNew[i] = fmt.Sprintf("coalesce(s.%s, o.%s)", c.name, c.name)
		case mergeKeep:
			ctxNew[i] = "o." + c.name
		}
	}
	hash := hashExpr("s.payload", ctxNew) // DuckDB keeps JSON text verbatim
	from := fmt.Sprintf("stage_%s s LEFT JOIN raw.%s o ON o.source = s.source AND o.id = s.id", s.name, s.name)
	count := fmt.Sprintf("SELECT count(*) FROM %s WHERE o.id IS NULL OR o.deleted_run IS NOT NULL OR o.content_hash <> %s", from, hash)

	target := "raw." + s.name + "."
	var set []string
	for i, c := range s.ctx {
		if c.merge != mergeKeep {
			set = append(set, fmt.Sprintf("%s = %s", c.name, strings.ReplaceAll(ctxNew[i], "o.", target)))
		}
	}
	set = append(set, "payload = CAST(s.payload AS JSON)", "content_hash = "+strings.ReplaceAll(hash, "o.", target),
		"last_seen_run = s.run", "deleted_run = NULL")
	update := fmt.Sprintf("UPDATE raw.%s SET %s FROM stage_%s s WHERE raw.%s.source = s.source AND raw.%s.id = s.id",
		s.name, strings.Join(set, ", "), s.name, s.name, s.name)

	cols := []string{"source", "id"}
	sel := []string{"s.source", "s.id"}
	var insCtx []string
	for _, c := range s.ctx {
		v := "s." + c.name
		if c.merge == mergeKeep {
			v = "CAST(NULL AS " + c.typ + ")"
		}
		cols = append(cols, c.name)
		sel = append(sel, v)
		insCtx = append(insCtx, v)
	}
	cols = append(cols, "payload", "content_hash", "first_seen_run", "last_seen_run", "deleted_run")
	sel = append(sel, "CAST(s.payload AS JSON)", hashExpr("s.payload", insCtx), "s.run", "s.run", "NULL")
	insert := fmt.Sprintf("INSERT INTO raw.%s (%s) SELECT %s FROM stage_%s s WHERE NOT EXISTS (SELECT 1 FROM raw.%s o WHERE o.source = s.source AND o.id = s.id)",
		s.name, strings.Join(cols, ", "), strings.Join(sel, ", "), s.name, s.name)
	return count, update, insert
}

// authorSQL returns the statement that applies staged author ids to table
// (proposals or replies), recomputing content_hash.
func authorSQL(s tableSpec) string {
	ctx := make([]string, len(s.ctx))
	for i, c := range s.ctx {
		if c.name == "author_id" {
			ctx[i] = "a.author_id"
		} else {
			ctx[i] = "raw." + s.name + "." + c.name
		}
	}
	return fmt.Sprintf(`UPDATE raw.%s SET author_id = a.author_id, content_hash = %s
FROM stage_authors a
WHERE a.tbl = '%s' AND raw.%s.source = a.source AND raw.%s.id = a.id AND raw.%s.author_id IS DISTINCT FROM a.author_id`,
		s.name, hashExpr("CAST(raw."+s.name+".payload AS VARCHAR)", ctx), s.name, s.name, s.name, s.name)
}
