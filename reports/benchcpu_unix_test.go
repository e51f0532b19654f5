//go:build unix

package reports

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of the whole process so far
// (DuckDB's threads included): on a shared machine it moves much less than
// the elapsed time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
