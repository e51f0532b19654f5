package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress tracks fetched records against totalCount per source × entity and
// shows them: a live table on a terminal, periodic slog lines otherwise.
type progress struct {
	out      io.Writer
	terminal bool
	log      *slog.Logger
	every    time.Duration

	mu      sync.Mutex
	m       map[[2]string]*counter
	started time.Time
	lines   int
	stopc   chan struct{}
	done    chan struct{}
}

// maxTerminalRows is the number of rows shown before finished ones are hidden.
const maxTerminalRows = 24

type counter struct {
	fetched, total, resumed int64
}

func newProgress(out io.Writer, log *slog.Logger) *progress {
	p := &progress{out: out, log: log, m: map[[2]string]*counter{}, started: time.Now(), every: 10 * time.Second}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
		p.every = 500 * time.Millisecond
	}
	return p
}

func (p *progress) get(src, entity string) *counter {
	k := [2]string{src, entity}
	c := p.m[k]
	if c == nil {
		c = &counter{}
		p.m[k] = c
	}
	return c
}

func (p *progress) add(src, entity string, n int64) {
	p.mu.Lock()
	p.get(src, entity).fetched += n
	p.mu.Unlock()
}

func (p *progress) addTotal(src, entity string, n int64) {
	p.mu.Lock()
	p.get(src, entity).total += n
	p.mu.Unlock()
}

// resumed accounts for work done by an earlier, interrupted process.
func (p *progress) resumed(src, entity string, fetched int64, total *int64) {
	p.mu.Lock()
	c := p.get(src, entity)
	c.fetched += fetched
	c.resumed += fetched
	if total != nil {
		c.total += *total
	}
	p.mu.Unlock()
}

func (p *progress) start(ctx context.Context) {
	p.stopc, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.show()
			case <-p.stopc:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.stopc)
	<-p.done
	p.show()
}

// show renders the current state.
func (p *progress) show() {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([][2]string, 0, len(p.m))
	for k := range p.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	elapsed := time.Since(p.started).Seconds()
	if !p.terminal {
		for _, k := range keys {
			c := p.m[k]
			p.log.Info("progress", "source", k[0], "entity", k[1], "fetched", c.fetched, "total", c.total)
		}
		return
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	lines := 0
	// Many sources × entities do not fit a terminal: hide finished rows.
	compact := len(keys) > maxTerminalRows
	hidden := 0
	for _, k := range keys {
		c := p.m[k]
		if compact && c.total > 0 && c.fetched >= c.total {
			hidden++
			continue
		}
		rate := 0.0
		if elapsed > 0 {
			rate = float64(c.fetched-c.resumed) / elapsed
		}
		pct, eta := "", ""
		if c.total > 0 {
			pct = fmt.Sprintf("%5.1f%%", 100*float64(min(c.fetched, c.total))/float64(c.total))
			if rate > 0 && c.fetched < c.total {
				eta = "ETA " + (time.Duration(float64(c.total-c.fetched)/rate) * time.Second).Round(time.Second).String()
			}
		}
		fmt.Fprintf(&b, "\x1b[2K%-14s %-15s %9d / %-9d %6s %8.0f/s %s\n", k[0], k[1], c.fetched, c.total, pct, rate, eta)
		lines++
	}
	if compact {
		fmt.Fprintf(&b, "\x1b[2K%d finished source × entity rows hidden\n", hidden)
		lines++
	}
	// Clear rows left over from a taller previous frame.
	for i := lines; i < p.lines; i++ {
		b.WriteString("\x1b[2K\n")
	}
	p.lines = max(lines, p.lines)
	_, _ = io.WriteString(p.out, b.String())
}
