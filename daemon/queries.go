package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/capstat/capstat/internal/apierror"
	"github.com/capstat/capstat/queries"
	"github.com/capstat/capstat/reports/release"
)

// queryHandler serves the query API of the current release; it answers 503
// until a release exists and follows each new release. Its engine loads
// each release's datasets into tables (queries.LoadTables, under tables):
// a server answers many queries per release, so the copy pays for itself.
type queryHandler struct {
	out    string
	tables string // directory of the engine's private copies
	limits queries.Limits
	log    *slog.Logger

	reopening sync.Mutex // one reopen at a time
	mu        sync.RWMutex
	engine    *queries.Engine
	h         http.Handler
}

// reopen opens the current release, or switches the engine to it when
// latest moved. Queries keep being answered (on the previous release)
// while the new one loads.
func (q *queryHandler) reopen(ctx context.Context) error {
	path := release.LatestSnapshot(q.out)
	q.reopening.Lock()
	defer q.reopening.Unlock()
	q.mu.RLock()
	e := q.engine
	q.mu.RUnlock()
	if e != nil {
		_, err := e.ReopenIfChanged(ctx, path)
		return err
	}
	t0 := time.Now()
	e, err := queries.Open(ctx, path, q.limits, queries.LoadTables(q.tables))
	if err != nil {
		return err
	}
	q.log.Info("serve: query engine opened", "snapshot", e.SnapshotPath(), "elapsed", time.Since(t0))
	q.mu.Lock()
	q.engine, q.h = e, queries.Handler(e, queries.HandlerOptions{Logger: q.log})
	q.mu.Unlock()
	return nil
}

func (q *queryHandler) close() {
	q.reopening.Lock()
	defer q.reopening.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.engine != nil {
		q.engine.Close()
	}
}

func (q *queryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q.mu.RLock()
	h := q.h
	q.mu.RUnlock()
	if h == nil {
		w.Header().Set("Retry-After", "30")
		apierror.Write(w, apierror.New(http.StatusServiceUnavailable, "no_release", "aucune publication disponible pour le moment"))
		return
	}
	h.ServeHTTP(w, r)
}
