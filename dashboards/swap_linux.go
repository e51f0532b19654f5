//go:build linux

package dashboards

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// swapDir installs the complete directory tmp at dst. When dst exists, both
// are exchanged in one renameat2(RENAME_EXCHANGE), so readers see either
// the old or the new site, never a mix or nothing; the old one is removed.
func swapDir(tmp, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("remove previous site: %w", err)
		}
		return nil
	case errors.Is(err, unix.ENOENT):
		return os.Rename(tmp, dst)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		return swapDirFallback(tmp, dst) // file system without RENAME_EXCHANGE
	}
	return fmt.Errorf("exchange %s and %s: %w", tmp, dst, err)
}
