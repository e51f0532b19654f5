package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/capstat/capstat/ingest/rawstore"
)

// writer is the single goroutine writing to DuckDB. Pages queued by every
// crawler are grouped (group commit) and committed with their checkpoints.
type writer struct {
	store *rawstore.Store
	log   *slog.Logger
	in    chan *item
	once  sync.Once

	commits   int
	committed int // rows
	busy      time.Duration
}

// item is one page, a flush barrier (done only) or a function to run on
// the writer's goroutine (fn).
type item struct {
	fn    func(*rawstore.Store) error
	batch *rawstore.Batch
	stats func(rawstore.Stats) // called after the commit that holds the batch
	done  chan error           // closed/filled after that commit (barriers)
}

// A group commit gathers the pages that arrive within groupLinger of its
// first one, up to maxGroupRows rows, maxGroupBytes of payload (which
// DuckDB stages in memory), maxGroupBlocks pages or a barrier:
// each commit has a fixed cost (transaction, WAL sync, checkpoint upserts,
// one merge statement per table), so fewer and larger commits write
// faster. A crash loses at most the pages of that window, which the
// resumed run fetches again.
const (
	writerQueue    = 64
	groupLinger    = 250 * time.Millisecond
	maxGroupRows   = 20000
	maxGroupBytes  = 4 << 20
	maxGroupBlocks = 512
)

func newWriter(store *rawstore.Store, log *slog.Logger) *writer {
	return &writer{store: store, log: log, in: make(chan *item, writerQueue)}
}

// put queues a page; it blocks when the queue is full (back-pressure).
func (w *writer) put(ctx context.Context, b *rawstore.Batch, stats func(rawstore.Stats)) error {
	select {
	case w.in <- &item{batch: b, stats: stats}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// flush waits until everything queued before it is committed.
func (w *writer) flush(ctx context.Context) error {
	return w.await(ctx, &item{done: make(chan error, 1)})
}

// exec runs fn on the writer goroutine after everything queued before it.
func (w *writer) exec(ctx context.Context, fn func(*rawstore.Store) error) error {
	return w.await(ctx, &item{fn: fn, done: make(chan error, 1)})
}

// await queues it and waits for its outcome.
func (w *writer) await(ctx context.Context, it *item) error {
	select {
	case w.in <- it:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (w *writer) close() { w.once.Do(func() { close(w.in) }) }

// loop commits queued items until the queue is closed. A commit error is
// fatal (returned); the pages of the failed group keep their old checkpoints.
func (w *writer) loop(ctx context.Context) error {
	for {
		first, ok := <-w.in
		if !ok {
			w.log.Info("writer done", "commits", w.commits, "rows", w.committed, "busy", w.busy)
			return nil
		}
		if first.fn != nil {
			first.done <- first.fn(w.store)
			continue
		}
		group := []*item{first}
		var pending *item
		rows, size := 0, 0
		if first.batch != nil {
			rows, size = len(first.batch.Rows), first.batch.PayloadBytes()
		}
		// A flush barrier (done set) is waited for: commit at once.
		linger := time.NewTimer(groupLinger)
	drain:
		for rows < maxGroupRows && size < maxGroupBytes && len(group) < maxGroupBlocks && group[len(group)-1].done == nil {
			select {
			case it, ok := <-w.in:
				if !ok {
					break drain
				}
				if it.fn != nil {
					pending = it
					break drain
				}
				group = append(group, it)
				if it.batch != nil {
					rows += len(it.batch.Rows)
					size += it.batch.PayloadBytes()
				}
			case <-linger.C:
				break drain
			}
		}
		linger.Stop()
		err := w.commit(ctx, group)
		for _, it := range group {
			if it.done != nil {
				it.done <- err
			}
		}
		if pending != nil {
			if err == nil {
				pending.done <- pending.fn(w.store)
			} else {
				pending.done <- err
			}
		}
		if err != nil {
			// Drain so that producers blocked on put return via ctx.
			go func() {
				for it := range w.in {
					if it.done != nil {
						it.done <- err
					}
				}
			}()
			return err
		}
	}
}

func (w *writer) commit(ctx context.Context, group []*item) error {
	var all rawstore.Batch
	for _, it := range group {
		if it.batch != nil {
			all.Add(it.batch)
		}
	}
	if all.Empty() {
		return nil
	}
	t0 := time.Now()
	st, err := w.store.Commit(context.WithoutCancel(ctx), &all)
	w.busy += time.Since(t0)
	w.commits++
	w.committed += len(all.Rows)
	if err != nil {
		return fmt.Errorf("store %d rows: %w", len(all.Rows), err)
	}
	// Stats callbacks filter by source: call one per source of the group.
	seen := map[string]bool{}
	for _, it := range group {
		if it.stats == nil || it.batch == nil || len(it.batch.Rows)+len(it.batch.Authors) == 0 {
			continue
		}
		src := batchSource(it.batch)
		if seen[src] {
			continue
		}
		seen[src] = true
		it.stats(st)
	}
	return nil
}

func batchSource(b *rawstore.Batch) string {
	if len(b.Rows) > 0 {
		return b.Rows[0].Source
	}
	if len(b.Authors) > 0 {
		return b.Authors[0].Source
	}
	return ""
}
