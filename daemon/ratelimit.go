package daemon

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit configures the per-client token bucket on /api/.
type RateLimit struct {
	// RPS is the sustained rate per client IP (default 10; negative
	// disables the limit).
	RPS float64
	// Burst is the bucket size (default 2×RPS, at least 1).
	Burst int
	// MaxClients bounds the number of tracked IPs (default 10 000). When
	// full, idle clients (bucket refilled) are dropped first, then the
	// least recently seen.
	MaxClients int
}

func (rl RateLimit) withDefaults() RateLimit {
	if rl.RPS == 0 {
		rl.RPS = 10
	}
	if rl.Burst <= 0 {
		rl.Burst = max(1, int(math.Ceil(2*rl.RPS)))
	}
	if rl.MaxClients <= 0 {
		rl.MaxClients = 10000
	}
	return rl
}

type limiter struct {
	cfg      RateLimit
	disabled bool
	rejected atomic.Int64

	mu      sync.Mutex
	clients map[string]*client
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	cfg = cfg.withDefaults()
	return &limiter{cfg: cfg, disabled: cfg.RPS < 0, clients: map[string]*client{}}
}

// allow takes one token for key. When refused it returns how long until a
// token is available.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.disabled {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[key]
	if c == nil {
		if len(l.clients) >= l.cfg.MaxClients {
			l.evict(now)
		}
		c = &client{lim: rate.NewLimiter(rate.Limit(l.cfg.RPS), l.cfg.Burst)}
		l.clients[key] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if !res.OK() {
		l.rejected.Add(1)
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		l.rejected.Add(1)
		return false, d
	}
	return true, 0
}

// evict makes room: first every client idle long enough for its bucket to
// be full again (forgetting it changes nothing), then, if none, the least
// recently seen tenth.
func (l *limiter) evict(now time.Time) {
	refill := time.Duration(float64(l.cfg.Burst) / l.cfg.RPS * float64(time.Second))
	for k, c := range l.clients {
		if now.Sub(c.seen) >= refill {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.cfg.MaxClients {
		return
	}
	type kv struct {
		k    string
		seen time.Time
	}
	all := make([]kv, 0, len(l.clients))
	for k, c := range l.clients {
		all = append(all, kv{k, c.seen})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seen.Before(all[j].seen) })
	for _, o := range all[:max(1, len(all)/10)] {
		delete(l.clients, o.k)
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
