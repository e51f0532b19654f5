package dashboards

import (
	"fmt"
	"os"
)

// swapDirFallback replaces dst with tmp in two renames (a short window in
// which dst is missing) when an atomic exchange is not available.
func swapDirFallback(tmp, dst string) error {
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("move previous site aside: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Rename(old, dst)
		return fmt.Errorf("install site: %w", err)
	}
	return os.RemoveAll(old)
}
