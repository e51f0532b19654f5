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
		// (source, id) is the key; it is kept unique by the merge rather than
		// by a PRIMARY KEY constraint, whose in-memory ART index would
		// dominate the ingester's memory on large crawls.
		out = append(out, s.create("CREATE TABLE IF NOT EXISTS raw."+s.name, "VARCHAR NOT NULL",
			"payload JSON NOT NULL, content_hash VARCHAR NOT NULL, first_seen_run BIGINT NOT NULL, last_seen_run BIGINT NOT NULL, deleted_run BIGINT"))
	}
	out = append(out,
		`CREATE TABLE IF NOT EXISTS raw.sources (source VARCHAR PRIMARY KEY, endpoint VARCHAR NOT NULL, timezone VARCHAR NOT NULL, locales VARCHAR[], last_complete_run BIGINT)`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_runs (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, requests BIGINT NOT NULL DEFAULT 0, retries BIGINT NOT NULL DEFAULT 0, records BIGINT NOT NULL DEFAULT 0, changed BIGINT NOT NULL DEFAULT 0, deleted BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0, message VARCHAR, PRIMARY KEY (run_id, source))`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_errors (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, "at" TIMESTAMPTZ NOT NULL, operation VARCHAR NOT NULL, path VARCHAR, message VARCHAR NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_audit (run_id BIGINT NOT NULL, source VARCHAR NOT NULL, entity VARCHAR NOT NULL, scope_id VARCHAR NOT NULL, fetched BIGINT NOT NULL, total_count BIGINT, PRIMARY KEY (run_id, source, entity, scope_id))`,
		`CREATE TABLE IF NOT EXISTS raw.checkpoints (source VARCHAR NOT NULL, task VARCHAR NOT NULL, cursor VARCHAR, done BOOLEAN NOT NULL DEFAULT false, run_id BIGINT, fetched BIGINT NOT NULL DEFAULT 0, total_count BIGINT, PRIMARY KEY (source, task))`,
		`CREATE TABLE IF NOT EXISTS raw.ingest_carry (source VARCHAR NOT NULL, run_id BIGINT NOT NULL, kind VARCHAR NOT NULL, scope_id VARCHAR NOT NULL, PRIMARY KEY (source, run_id, kind, scope_id))`,
		// Columns added with incremental refresh (databases of earlier
		// versions get them on open; their next run is a full sweep).
		`ALTER TABLE raw.sources ADD COLUMN IF NOT EXISTS last_full_run BIGINT`,
		`ALTER TABLE raw.sources ADD COLUMN IF NOT EXISTS last_full_started_at TIMESTAMPTZ`,
		`ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS mode VARCHAR DEFAULT 'full'`,
		`ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS bytes BIGINT DEFAULT 0`,
	)
	return out
}

// stageDDL returns the connection-local staging tables by name: one stage_
// and one merge_ table per entity table, and stage_authors. Payloads are
// staged as VARCHAR. They are replaced by empty ones after each commit
// (CREATE OR REPLACE): DuckDB does not give back the memory of rows
// deleted from temporary tables.
func stageDDL() map[string]string {
	out := map[string]string{}
	for _, s := range specs() {
		out["stage_"+s.name] = s.create("CREATE OR REPLACE TEMP TABLE stage_"+s.name, "VARCHAR", "payload VARCHAR, run BIGINT")
		out["merge_"+s.name] = s.create("CREATE OR REPLACE TEMP TABLE merge_"+s.name, "VARCHAR",
			"payload VARCHAR, run BIGINT, content_hash VARCHAR, old_hash VARCHAR, old_deleted BOOLEAN")
	}
	out["stage_authors"] = `CREATE OR REPLACE TEMP TABLE stage_authors (tbl VARCHAR, source VARCHAR, id VARCHAR, author_id VARCHAR, run BIGINT)`
	return out
}

// create is the statement head + " (source, id, <context columns>, tail)",
// with keyType the type of source and id.
func (s tableSpec) create(head, keyType, tail string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (source %s, id %s", head, keyType, keyType)
	for _, c := range s.ctx {
		fmt.Fprintf(&b, ", %s %s", c.name, c.typ)
	}
	b.WriteString(", " + tail + ")")
	return b.String()
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

// mergeStmts are the statements merging one staged table.
type mergeStmts struct {
	join   string // fills merge_<t> from stage_<t> joined once with the raw table
	counts string // per source: changed rows, unchanged matched rows, other matched rows
	update string // matched rows that changed or come back: new values, last_seen_run, revived
	touch  string // matched unchanged rows: last_seen_run
	insert string // unmatched rows
}

// mergeSQL builds the merge of one table. The staged rows are joined once
// with the stored ones into merge_<t> (new context values, new hash, old
// hash); matched rows are then updated and new rows inserted, both
// set-based.
func mergeSQL(s tableSpec) mergeStmts {
	ctxNew := make([]string, len(s.ctx))
	var names []string
	for i, c := range s.ctx {
		names = append(names, c.name)
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
	sel := []string{"s.source", "s.id"}
	sel = append(sel, ctxNew...)
	sel = append(sel, "s.payload", "s.run", hash, "o.content_hash", "o.deleted_run IS NOT NULL")
	var st mergeStmts
	// The stored side is first reduced to the staged ids with a semi-join
	// (hash table on the small staged side): a plain LEFT JOIN would build
	// its hash table on the whole raw table, whose size grows with the crawl.
	stored := append(append([]string{"source", "id"}, names...), "content_hash", "deleted_run")
	st.join = fmt.Sprintf(`INSERT INTO merge_%s SELECT %s FROM stage_%s s
LEFT JOIN (SELECT %s FROM raw.%s WHERE id IN (SELECT id FROM stage_%s)) o ON o.source = s.source AND o.id = s.id`,
		s.name, strings.Join(sel, ", "), s.name, strings.Join(stored, ", "), s.name, s.name)
	st.counts = fmt.Sprintf(`SELECT source,
count(*) FILTER (old_hash IS NULL OR old_deleted OR old_hash <> content_hash),
count(*) FILTER (old_hash IS NOT NULL AND NOT old_deleted AND old_hash = content_hash),
count(*) FILTER (old_hash IS NOT NULL AND (old_deleted OR old_hash <> content_hash))
FROM merge_%s GROUP BY source`, s.name)

	var set []string
	for _, c := range s.ctx {
		if c.merge != mergeKeep {
			set = append(set, fmt.Sprintf("%s = m.%s", c.name, c.name))
		}
	}
	set = append(set, "payload = CAST(m.payload AS JSON)", "content_hash = m.content_hash", "last_seen_run = m.run", "deleted_run = NULL")
	st.update = fmt.Sprintf("UPDATE raw.%[1]s SET %[2]s FROM merge_%[1]s m WHERE m.old_hash IS NOT NULL AND (m.old_deleted OR m.old_hash <> m.content_hash) AND raw.%[1]s.source = m.source AND raw.%[1]s.id = m.id",
		s.name, strings.Join(set, ", "))
	// Unchanged rows only move last_seen_run: rewriting their payloads
	// would cost as much as changing them (DuckDB keeps both versions until
	// the commit).
	st.touch = fmt.Sprintf("UPDATE raw.%[1]s SET last_seen_run = m.run FROM merge_%[1]s m WHERE m.old_hash IS NOT NULL AND NOT m.old_deleted AND m.old_hash = m.content_hash AND raw.%[1]s.source = m.source AND raw.%[1]s.id = m.id",
		s.name)

	cols := append([]string{"source", "id"}, names...)
	vals := append([]string{"source", "id"}, names...)
	cols = append(cols, "payload", "content_hash", "first_seen_run", "last_seen_run", "deleted_run")
	vals = append(vals, "CAST(payload AS JSON)", "content_hash", "run", "run", "NULL")
	st.insert = fmt.Sprintf("INSERT INTO raw.%s (%s) SELECT %s FROM merge_%s WHERE old_hash IS NULL",
		s.name, strings.Join(cols, ", "), strings.Join(vals, ", "), s.name)
	return st
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
WHERE a.tbl = '%s' AND raw.%s.source = a.source AND raw.%s.id = a.id AND raw.%s.author_id IS DISTINCT FROM a.author_id
AND raw.%s.id IN (SELECT id FROM stage_authors)`,
		s.name, hashExpr("CAST(raw."+s.name+".payload AS VARCHAR)", ctx), s.name, s.name, s.name, s.name, s.name)
}
