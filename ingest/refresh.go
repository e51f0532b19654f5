package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/capstat/capstat/ingest/capco"
	"github.com/capstat/capstat/ingest/rawstore"
)

// This file holds the incremental refresh (package doc, "Incremental
// refresh"): which scopes a refresh reads again, which it carries, and the
// newest-first reads of the vote and user lists.

// closeMargin widens the window of steps still read by a refresh: a step
// whose end is less than this before the last full sweep started is read
// again (clock skew between the platform and capstat).
const closeMargin = time.Hour

// voteHeadsNodes bounds the votes one ProposalVoteHeads request asks for
// (proposals × newest votes each), within the ~1 000 nodes a request
// should return (API.md §10); voteHeadsSizes are the newest votes asked per
// proposal, by how many new votes the proposal's listing announces.
const voteHeadsNodes = 1000

var voteHeadsSizes = []int{10, 25, 50, 100}

// headsSize is the number of newest votes to ask for a proposal whose
// listing announces expect new votes: room for them, the first stored
// one and a margin for votes cast since the listing was read.
func headsSize(expect int64) int {
	for _, k := range voteHeadsSizes {
		if int64(k) >= expect+1+expect/4 {
			return k
		}
	}
	return voteHeadsSizes[len(voteHeadsSizes)-1]
}

func (c *crawler) incremental() bool { return c.state.Mode == rawstore.ModeIncremental }

// stepActive reports whether a refresh must read the step's listings again:
// it is not closed, or it closed less than closeMargin before the last full
// sweep started, or it appeared after that sweep. Only a step that ended
// before the last full sweep is carried: it cannot gain proposals, votes or
// replies, and what it loses without a count moving waits for the next
// full sweep (the staleness bound).
func (c *crawler) stepActive(s stepRef) bool {
	if s.firstSeen > c.state.LastFullRun || s.state != "CLOSED" || s.endAt == "" {
		return true
	}
	end, err := capco.DateTime(s.endAt).In(c.loc)
	if err != nil {
		return true
	}
	return !end.Before(c.state.LastFullStarted.Add(-closeMargin))
}

// consultingProjects returns the projects whose contributions a refresh
// reads again: those with an active ConsultationStep, and those that
// appeared after the last full sweep (Opinion, Version, Argument and Source
// only come from consultation steps).
func (c *crawler) consultingProjects(steps []stepRef, projects []projectRef) map[string]bool {
	out := map[string]bool{}
	for _, p := range projects {
		if p.firstSeen > c.state.LastFullRun {
			out[p.id] = true
		}
	}
	for _, s := range steps {
		if s.typename == "ConsultationStep" && c.stepActive(s) {
			out[s.project] = true
		}
	}
	return out
}

// carried is the record that the run keeps the stored rows of a scope.
func (c *crawler) carried(kind, scope string) rawstore.Carry {
	return rawstore.Carry{Source: c.src.Name, Run: c.run, Kind: kind, Scope: scope}
}

// known returns which of ids are live rows of table.
func (c *crawler) known(ctx context.Context, table string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	c.reads.Lock()
	defer c.reads.Unlock()
	q := `SELECT id FROM raw.` + table + ` WHERE source = ? AND deleted_run IS NULL AND id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `)`
	args := []any{c.src.Name}
	for _, id := range ids {
		args = append(args, id)
	}
	rs, err := c.store.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read stored %s: %w", table, err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("read stored %s: %w", table, err)
		}
		out[id] = true
	}
	return out, rs.Err()
}

// count returns the number of live rows of table for the source.
func (c *crawler) count(ctx context.Context, table string) (int64, error) {
	c.reads.Lock()
	defer c.reads.Unlock()
	var n int64
	if err := c.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM raw.`+table+` WHERE source = ? AND deleted_run IS NULL`, c.src.Name).Scan(&n); err != nil {
		return 0, fmt.Errorf("count stored %s: %w", table, err)
	}
	return n, nil
}

// firstKnown returns the index of the first row of rows in known, or -1.
func firstKnown(rows []rawstore.Row, known map[string]bool) int {
	for i, r := range rows {
		if known[r.ID] {
			return i
		}
	}
	return -1
}

func rowIDs(rows []rawstore.Row) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// newestFirst reads a newest-first connection (after a cursor, or from its
// start) until the first record already stored, writing the new ones. It
// returns how many new records it wrote, the totalCount of its first page
// (or -1 if it read none), and whether it met a stored record (false: it
// read the whole list after the cursor).
func (c *crawler) newestFirst(ctx context.Context, key, entity string, after *string, fetch func(ctx context.Context, first int, after *string) (page, error), known func(ctx context.Context, ids []string) (map[string]bool, error)) (fresh, total int64, met bool, err error) {
	size := c.pageSize(entity)
	first := size
	total = -1
	seen := map[string]bool{}
	if after != nil {
		seen[*after] = true
	}
	for n := 1; ; n++ {
		p, partial, err := c.fetchPage(ctx, key, n, size, &first, after, fetch)
		if err != nil {
			return fresh, total, false, err
		}
		if len(partial) > 0 {
			// A short or degraded page cannot prove where the new
			// records end: the caller re-reads the list in full.
			return fresh, total, false, errInconsistent{"the page came with errors"}
		}
		if total < 0 {
			total = p.total
		}
		k, err := known(ctx, rowIDs(p.rows))
		if err != nil {
			return fresh, total, false, err
		}
		i := firstKnown(p.rows, k)
		rows := p.rows
		if i >= 0 {
			rows = rows[:i]
		}
		if len(rows) > 0 {
			if err := c.w.put(ctx, &rawstore.Batch{Rows: rows}, c.onStats); err != nil {
				return fresh, total, false, err
			}
			fresh += int64(len(rows))
			c.prog.add(c.src.Name, entity, int64(len(rows)))
		}
		if i >= 0 {
			return fresh, total, true, nil
		}
		if !p.hasNext {
			return fresh, total, false, nil
		}
		if p.end == nil || *p.end == "" || seen[*p.end] {
			return fresh, total, false, errInconsistent{"hasNextPage without a new endCursor"}
		}
		seen[*p.end] = true
		after = p.end
	}
}

// errInconsistent is an answer a newest-first read cannot rely on: the
// connection is then re-read in full.
type errInconsistent struct{ why string }

func (e errInconsistent) Error() string { return "inconsistent answer: " + e.why }

// usersNewest refreshes the user list: Query.users is newest first
// (CREATED_AT DESC), so new accounts come before the first stored one. If
// the stored count plus the new ones is not the totalCount (accounts
// deleted or disabled), the list is re-read in full.
func (c *crawler) usersNewest(ctx context.Context, key string) error {
	stored, err := c.count(ctx, rawstore.Users)
	if err != nil {
		return err
	}
	fresh, total, met, err := c.newestFirst(ctx, key, "users", nil, func(ctx context.Context, first int, after *string) (page, error) {
		return c.usersPage(ctx, first, after)
	}, func(ctx context.Context, ids []string) (map[string]bool, error) {
		return c.known(ctx, rawstore.Users, ids)
	})
	switch {
	case err != nil && !isInconsistent(err):
		return err
	case err == nil && met && stored+fresh == total:
		return c.w.put(ctx, &rawstore.Batch{Carry: []rawstore.Carry{c.carried(rawstore.CarryUsers, "")}}, nil)
	case err == nil && !met:
		// The whole list was read: nothing to carry.
		return nil
	}
	c.fallback("user list changed beyond new accounts: reading it in full", err, stored, total, "new", fresh)
	return c.runTask(ctx, "users", c.users)
}

// fallback logs why a list is read again in full: at warning level when
// the API's answers were inconsistent (a repeated cursor, errors, a count
// below what is stored), else (new and removed records) at debug level.
func (c *crawler) fallback(msg string, err error, stored, total int64, args ...any) {
	args = append(args, "stored", stored, "totalCount", total, "reason", errString(err))
	if err != nil || total < stored {
		c.log.Warn(msg, args...)
		return
	}
	c.log.Debug(msg, args...)
}

func isInconsistent(err error) bool {
	_, ok := err.(errInconsistent)
	return ok
}

func errString(err error) string {
	if err == nil {
		return "count"
	}
	return err.Error()
}

// runTask runs task key in the calling goroutine unless its checkpoint
// says it is done.
func (c *crawler) runTask(ctx context.Context, key string, fn func(ctx context.Context, key string) error) error {
	if cp, ok := c.cps[key]; ok && cp.Done {
		return nil
	}
	return fn(ctx, key)
}

// voteScope is a proposal whose votes a refresh checks.
type voteScope struct {
	id     string
	listed int64    // votes.totalCount of the proposal's listing in this run
	stored int64    // live votes stored
	known  []string // their ids, sorted
}

// has reports whether vote id is stored for the proposal.
func (v *voteScope) has(id string) bool {
	_, ok := slices.BinarySearch(v.known, id)
	return ok
}

// knownSet is the stored votes among ids, as firstKnown takes them.
func (v *voteScope) knownSet(ids []string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		if v.has(id) {
			out[id] = true
		}
	}
	return out
}

// refreshVotes checks the votes of every proposal the run read (those of
// the active steps) with ProposalVoteHeads, 100 proposals a request. The
// ids of their stored votes are read in one scan (memory: about 20 bytes a
// vote of the open phases), so that no check queries DuckDB.
func (c *crawler) refreshVotes(ctx context.Context, g *taskGroup) {
	all, err := c.planVotes(ctx)
	if err != nil {
		c.fail(ctx, "plan", fmt.Errorf("plan votes: %w", err))
		return
	}
	// Proposals are grouped by the number of newest votes to ask, so that
	// a popular proposal gets its new votes in the same request as others
	// rather than in one of its own.
	bySize := map[int][]voteScope{}
	for _, v := range all {
		k := headsSize(max(0, v.listed-v.stored))
		bySize[k] = append(bySize[k], v)
	}
	for _, k := range voteHeadsSizes {
		group := bySize[k]
		n := voteHeadsNodes / k
		for i := 0; i < len(group); i += n {
			batch := group[i:min(i+n, len(group))]
			c.spawn(ctx, g, "voteheads/"+batch[0].id, func(ctx context.Context, key string) error { return c.voteHeads(ctx, key, k, batch) })
		}
	}
}

// voteHeads reads the newest votes of a batch of proposals and settles each
// one: votes unchanged (carried), new votes only (written, the rest
// carried), or a list that changed otherwise (re-read in full). It writes
// no checkpoint: a resumed run asks again, and the answer then accounts for
// what the interrupted run already wrote.
func (c *crawler) voteHeads(ctx context.Context, key string, size int, batch []voteScope) error {
	ids := make([]string, len(batch))
	for i, v := range batch {
		ids[i] = v.id
	}
	first := size
	var data voteHeadsData
	partial, err := c.call(ctx, key, 1, size, &first, func(ctx context.Context, first int) error {
		data = voteHeadsData{}
		return c.gql.MakeRequest(ctx, &graphql.Request{OpName: "ProposalVoteHeads", Query: capco.ProposalVoteHeads_Operation,
			Variables: map[string]any{"ids": ids, "first": first}}, &graphql.Response{Data: &data})
	})
	if err != nil {
		return err
	}
	heads := map[string]*voteConn{}
	for _, n := range data.Nodes {
		if n != nil && n.Typename == "Proposal" {
			heads[n.ID] = &n.Votes
		}
	}
	// With errors in the answer, a missing entry may be hidden rather than
	// gone: those proposals are read in full, as a full sweep would.
	degraded := len(partial) > 0
	if degraded {
		if err := c.w.put(ctx, &rawstore.Batch{Errors: c.partialRows(key, partial)}, nil); err != nil {
			return err
		}
	}
	var carry []rawstore.Carry
	var full []string
	var rows []rawstore.Row
	type more struct {
		v            voteScope
		after        string
		fresh, total int64
	}
	var follow []more
	for _, v := range batch {
		conn := heads[v.id]
		if conn == nil {
			if degraded {
				full = append(full, v.id)
			}
			// No node and no error: the proposal is gone or hidden, as
			// the full sweep's votes task would find; nothing carried.
			continue
		}
		p := c.votePageOf(conn, v.id)
		if p.nulled > 0 {
			full = append(full, v.id)
			continue
		}
		i := firstKnown(p.rows, v.knownSet(rowIDs(p.rows)))
		switch {
		case i >= 0:
			rows = append(rows, p.rows[:i]...)
			if v.stored+int64(i) == p.total {
				carry = append(carry, c.carried(rawstore.CarryVotes, v.id))
			} else {
				full = append(full, v.id)
				c.fallback("votes changed beyond new ones: reading them in full", nil, v.stored, p.total, "proposal", v.id, "new", i)
			}
		case !p.hasNext:
			// Every vote of the list is in the answer: a complete read.
			rows = append(rows, p.rows...)
		case p.end == nil || *p.end == "":
			full = append(full, v.id)
		default:
			rows = append(rows, p.rows...)
			follow = append(follow, more{v: v, after: *p.end, fresh: int64(len(p.rows)), total: p.total})
		}
	}
	if len(rows)+len(carry) > 0 {
		if err := c.w.put(ctx, &rawstore.Batch{Rows: rows, Carry: carry}, c.onStats); err != nil {
			return err
		}
		c.prog.add(c.src.Name, "proposal_votes", int64(len(rows)))
	}
	for _, m := range follow {
		after := m.after
		fresh, _, met, err := c.newestFirst(ctx, "newvotes/"+m.v.id, "proposal_votes", &after, func(ctx context.Context, first int, after *string) (page, error) {
			return c.votePage(ctx, "ProposalVotesNewest", capco.ProposalVotesNewest_Operation, m.v.id, first, after)
		}, func(ctx context.Context, ids []string) (map[string]bool, error) {
			return m.v.knownSet(ids), nil
		})
		switch {
		case err != nil && !isInconsistent(err):
			return err
		case err == nil && met && m.v.stored+m.fresh+fresh == m.total:
			if err := c.w.put(ctx, &rawstore.Batch{Carry: []rawstore.Carry{c.carried(rawstore.CarryVotes, m.v.id)}}, nil); err != nil {
				return err
			}
		case err == nil && !met:
			// read to the end: complete
		default:
			c.fallback("votes changed beyond new ones: reading them in full", err, m.v.stored, m.total, "proposal", m.v.id)
			full = append(full, m.v.id)
		}
	}
	for _, id := range full {
		if err := c.runTask(ctx, "votes/"+id, func(ctx context.Context, key string) error { return c.votes(ctx, key, id) }); err != nil {
			return err
		}
	}
	return nil
}

// planVotes lists the proposals the run read with votes, and the ids of
// their stored votes (streamed: DuckDB holds only the proposals' hash
// table).
func (c *crawler) planVotes(ctx context.Context) ([]voteScope, error) {
	c.reads.Lock()
	defer c.reads.Unlock()
	rs, err := c.store.DB().QueryContext(ctx, `SELECT id, TRY_CAST(payload->'votes'->>'totalCount' AS BIGINT) AS n FROM raw.proposals
WHERE source = $1 AND last_seen_run = $2 AND n > 0 ORDER BY id`, c.src.Name, c.run)
	if err != nil {
		return nil, err
	}
	var all []voteScope
	idx := map[string]int{}
	for rs.Next() {
		var v voteScope
		if err := rs.Scan(&v.id, &v.listed); err != nil {
			rs.Close()
			return nil, err
		}
		idx[v.id] = len(all)
		all = append(all, v)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	rs, err = c.store.DB().QueryContext(ctx, `SELECT proposal_id, id FROM raw.proposal_votes
WHERE source = $1 AND deleted_run IS NULL AND proposal_id IN (SELECT id FROM raw.proposals WHERE source = $1 AND last_seen_run = $2)`, c.src.Name, c.run)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var p, id string
		if err := rs.Scan(&p, &id); err != nil {
			return nil, err
		}
		if i, ok := idx[p]; ok {
			all[i].known = append(all[i].known, id)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for i := range all {
		slices.Sort(all[i].known)
		all[i].stored = int64(len(all[i].known))
	}
	return all, nil
}
