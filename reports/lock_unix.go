//go:build unix

package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockOutDir takes an exclusive advisory lock on DIR/.publish.lock so that
// two publishers never write into the same directory at once. The lock goes
// away with the process, so a crash leaves no stale lock.
func lockOutDir(outDir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(outDir, ".publish.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", outDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: another publish is running: %w", outDir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
