//go:build !linux || !cgo

package duckdbx

// tuneMalloc is a no-op outside glibc.
func tuneMalloc() {}
