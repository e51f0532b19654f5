//go:build !linux

package dashboards

func swapDir(tmp, dst string) error { return swapDirFallback(tmp, dst) }
