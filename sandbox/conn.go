package sandbox

import (
	"encoding/json"
	"slices"
	"sort"
	"sync"
)

// conn is one page of a connection.
type conn struct {
	typ, edgeTyp string
	total        int
	start, count int                // absolute index of the first edge, edges on the page
	at           func(i int) any    // absolute index → node
	cursor       func(i int) string // absolute index → cursor
	hasNext      bool
}

type edge struct {
	c *conn
	i int // absolute index
}

type pageInfo struct{ c *conn }

type edgeList struct {
	c     *conn
	edges []edge
}

func (l *edgeList) Len() int { return l.c.count }
func (l *edgeList) At(i int) any {
	if l.edges == nil {
		l.edges = make([]edge, l.c.count)
		for j := range l.edges {
			l.edges[j] = edge{l.c, l.c.start + j}
		}
	}
	return &l.edges[i]
}

// toInt converts an argument value (literal or JSON variable) to int.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// firstArg reads `first` (default 100), rejects negatives and clamps to 100
// where the real resolver protects its arguments.
func firstArg(args map[string]any, clamp bool) (int, error) {
	first := 100
	if v, ok := toInt(args["first"]); ok {
		first = v
	}
	if first < 0 {
		return 0, errNegFirst
	}
	if clamp && first > 100 {
		first = 100
	}
	return first, nil
}

func afterArg(args map[string]any) (string, bool) {
	s, ok := args["after"].(string)
	return s, ok
}

// offsetConn pages n items with overblog offset cursors.
func offsetConn(typ string, n int, at func(int) any, args map[string]any, clamp bool) (*conn, error) {
	first, err := firstArg(args, clamp)
	if err != nil {
		return nil, err
	}
	start := 0
	if a, ok := afterArg(args); ok {
		start = min(parseOffsetAfter(a), n)
	}
	end := min(start+first, n)
	return &conn{typ: typ + "Connection", edgeTyp: typ + "Edge", total: n, start: start, count: end - start,
		at: at, cursor: offsetCursor, hasNext: end < n}, nil
}

// view is a sorted, filtered listing with its keyset sort keys.
type view struct {
	items []any
	keys  []keyset
	desc  []bool // per sort value; the id tie-breaker follows the last one
}

func idCmp(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cmpKeys compares two keys in the listing's order.
func cmpKeys(a, b keyset, desc []bool) int {
	for i := range a.vals {
		c := 0
		switch {
		case a.vals[i] < b.vals[i]:
			c = -1
		case a.vals[i] > b.vals[i]:
			c = 1
		}
		if desc[i] {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	c := idCmp(a.id, b.id)
	if len(desc) > 0 && desc[len(desc)-1] {
		c = -c
	}
	return c
}

func newView(items []any, key func(any) keyset, desc []bool) *view {
	v := &view{items: items, keys: make([]keyset, len(items)), desc: desc}
	for i, it := range items {
		v.keys[i] = key(it)
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpKeys(v.keys[a], v.keys[b], desc) })
	its, ks := make([]any, len(items)), make([]keyset, len(items))
	for j, i := range idx {
		its[j], ks[j] = items[i], v.keys[i]
	}
	v.items, v.keys = its, ks
	return v
}

// keysetPage pages a sorted listing with Elasticsearch search_after cursors.
func keysetPage(typ string, n int, key func(i int) keyset, desc []bool, at func(int) any, args map[string]any, clamp bool) (*conn, error) {
	first, err := firstArg(args, clamp)
	if err != nil {
		return nil, err
	}
	start := 0
	if a, ok := afterArg(args); ok {
		k, err := parseKeyset(a, len(desc))
		if err != nil {
			return nil, errInternal
		}
		start = sort.Search(n, func(i int) bool { return cmpKeys(key(i), k, desc) > 0 })
	}
	end := min(start+first, n)
	return &conn{typ: typ + "Connection", edgeTyp: typ + "Edge", total: n, start: start, count: end - start,
		at: at, cursor: func(i int) string { return key(i).encode() }, hasNext: end < n}, nil
}

func (v *view) page(typ string, args map[string]any, clamp bool) (*conn, error) {
	return keysetPage(typ, len(v.items), func(i int) keyset { return v.keys[i] }, v.desc,
		func(i int) any { return v.items[i] }, args, clamp)
}

// viewCache memoises listings per (list, filters, ordering).
type viewCache struct {
	mu sync.Mutex
	m  map[string]*view
}

func newViewCache() *viewCache { return &viewCache{m: map[string]*view{}} }

func (c *viewCache) get(key string, build func() *view) *view {
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	if len(c.m) > 20000 {
		c.m = map[string]*view{}
	}
	c.m[key] = v
	c.mu.Unlock()
	return v
}

func ms(unix int64) int64 { return unix * 1000 }
