package daemon

import (
	"sync"
	"time"
)

// fileCache keeps small published files in memory so that the hot pages
// (the dashboards, the manifest) cost no open/stat/seek/close per request.
// An entry is trusted for ttl, then revalidated with one stat (size and
// modification time); release folders never change, and the site and
// latest/ are replaced by new files, so a change is seen within ttl.
type fileCache struct {
	ttl      time.Duration
	maxFile  int64
	maxTotal int64

	mu      sync.RWMutex
	entries map[string]*cachedFile
	total   int64
}

type cachedFile struct {
	name     string // file actually read (index.html resolved)
	dirIndex bool   // the request named a folder
	data     []byte
	modTime  time.Time
	etag     string
	ctype    string

	mu      sync.Mutex
	checked time.Time
}

func newFileCache(ttl time.Duration) *fileCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = time.Second
	}
	return &fileCache{ttl: ttl, maxFile: 256 << 10, maxTotal: 64 << 20, entries: map[string]*cachedFile{}}
}

// get returns the entry for key, calling revalidate when it is older than
// ttl; revalidate reports whether the file is unchanged.
func (c *fileCache) get(key string, now time.Time, revalidate func(*cachedFile) bool) *cachedFile {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	fresh := now.Sub(e.checked) < c.ttl
	e.mu.Unlock()
	if fresh {
		return e
	}
	if !revalidate(e) {
		c.drop(key, e)
		return nil
	}
	e.mu.Lock()
	e.checked = now
	e.mu.Unlock()
	return e
}

func (c *fileCache) put(key string, e *cachedFile) {
	if c == nil || int64(len(e.data)) > c.maxFile {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.total -= int64(len(old.data))
	}
	for k, old := range c.entries { // arbitrary victims until it fits
		if c.total+int64(len(e.data)) <= c.maxTotal {
			break
		}
		delete(c.entries, k)
		c.total -= int64(len(old.data))
	}
	c.entries[key] = e
	c.total += int64(len(e.data))
}

func (c *fileCache) drop(key string, e *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[key] == e {
		delete(c.entries, key)
		c.total -= int64(len(e.data))
	}
}

func (c *fileCache) size() (n int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries), c.total
}
