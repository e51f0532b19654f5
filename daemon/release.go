package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Release is the current release as read from DIR/latest/manifest.json.
type Release struct {
	ID         string    `json:"release_id"`
	CreatedAt  time.Time `json:"created_at"`
	PreviousID string    `json:"previous_release_id,omitempty"`
	Files      int       `json:"files"`
	// Dir is the release folder relative to DIR ("releases/<id>", or
	// "latest" when latest is a plain directory).
	Dir string `json:"-"`
}

var errNoRelease = errors.New("no release published")

// releaseCache reads DIR/latest once per symlink target: a switch of the
// symlink is seen on the next call, without a restart.
type releaseCache struct {
	root *os.Root

	mu  sync.Mutex
	key string
	cur *Release
	err error
}

// current resolves DIR/latest. Each call costs a readlink and a stat; the
// manifest is parsed again only when the target or the file changes.
func (c *releaseCache) current() (*Release, error) {
	dir, err := c.resolveLatest()
	if err != nil {
		return nil, err
	}
	mpath := dir + "/manifest.json"
	fi, err := c.root.Stat(mpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errNoRelease, mpath, err)
	}
	key := dir + "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)

	c.mu.Lock()
	defer c.mu.Unlock()
	if key == c.key {
		return c.cur, c.err
	}
	rel, err := c.load(dir, mpath)
	c.key, c.cur, c.err = key, rel, err
	return rel, err
}

// resolveLatest returns the folder that DIR/latest designates. A symlink
// must point to releases/<id> (relative or absolute); a plain directory is
// used as is.
func (c *releaseCache) resolveLatest() (string, error) {
	target, err := c.root.Readlink("latest")
	if err == nil {
		id := filepath.Base(filepath.Clean(target))
		if !validReleaseID(id) {
			return "", fmt.Errorf("%w: latest points to %q", errNoRelease, target)
		}
		return "releases/" + id, nil
	}
	fi, serr := c.root.Lstat("latest")
	if serr != nil {
		return "", fmt.Errorf("%w: %v", errNoRelease, serr)
	}
	if fi.IsDir() {
		return "latest", nil
	}
	return "", fmt.Errorf("%w: latest is neither a symlink nor a directory", errNoRelease)
}

func (c *releaseCache) load(dir, mpath string) (*Release, error) {
	b, err := c.root.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", errNoRelease, mpath, err)
	}
	var m struct {
		ReleaseID         string            `json:"release_id"`
		CreatedAt         string            `json:"created_at"`
		PreviousReleaseID string            `json:"previous_release_id"`
		Files             []json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: parse %s: %v", errNoRelease, mpath, err)
	}
	if m.ReleaseID == "" {
		return nil, fmt.Errorf("%w: %s has no release_id", errNoRelease, mpath)
	}
	created, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("%w: %s created_at: %v", errNoRelease, mpath, err)
	}
	return &Release{ID: m.ReleaseID, CreatedAt: created.UTC(), PreviousID: m.PreviousReleaseID, Files: len(m.Files), Dir: dir}, nil
}

// validReleaseID accepts one safe path element (20261129T171502Z, -2...).
func validReleaseID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		ok := c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return fs.ValidPath(id) && path.Base(id) == id
}
