package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/capstat/capstat/reports/release"
)

// CurrentRelease is what the server needs of the release DIR/latest
// designates, read from its manifest (release.Manifest).
type CurrentRelease struct {
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
	cur *CurrentRelease
	err error
}

// current resolves DIR/latest. Each call costs a readlink and a stat; the
// manifest is parsed again only when the target or the file changes.
func (c *releaseCache) current() (*CurrentRelease, error) {
	dir, err := c.resolveLatest()
	if err != nil {
		return nil, err
	}
	mpath := dir + "/" + release.ManifestFile
	fi, err := c.root.Stat(mpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errNoRelease, mpath, err)
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
	target, err := c.root.Readlink(release.Latest)
	if err == nil {
		id := filepath.Base(filepath.Clean(target))
		if !release.ValidID(id) {
			return "", fmt.Errorf("%w: latest points to %q", errNoRelease, target)
		}
		return release.ReleasesDir + "/" + id, nil
	}
	fi, serr := c.root.Lstat(release.Latest)
	if serr != nil {
		return "", fmt.Errorf("%w: %v", errNoRelease, serr)
	}
	if fi.IsDir() {
		return release.Latest, nil
	}
	return "", fmt.Errorf("%w: latest is neither a symlink nor a directory", errNoRelease)
}

func (c *releaseCache) load(dir, mpath string) (*CurrentRelease, error) {
	b, err := c.root.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", errNoRelease, mpath, err)
	}
	var m release.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: parse %s: %w", errNoRelease, mpath, err)
	}
	if m.ReleaseID == "" {
		return nil, fmt.Errorf("%w: %s has no release_id", errNoRelease, mpath)
	}
	if m.CreatedAt.IsZero() {
		return nil, fmt.Errorf("%w: %s has no created_at", errNoRelease, mpath)
	}
	return &CurrentRelease{ID: m.ReleaseID, CreatedAt: m.CreatedAt.UTC(), PreviousID: m.PreviousReleaseID, Files: len(m.Files), Dir: dir}, nil
}
