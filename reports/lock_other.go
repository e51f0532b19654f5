//go:build !unix

package reports

// lockOutDir is a no-op where flock is unavailable.
func lockOutDir(string) (func(), error) { return func() {}, nil }
