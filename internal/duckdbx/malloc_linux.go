//go:build linux && cgo

package duckdbx

// #include <malloc.h>
import "C"

import "sync"

var mallocOnce sync.Once

// tuneMalloc sets two glibc malloc parameters for the whole process, once:
//   - at most two arenas: glibc otherwise gives each thread that contends
//     for the allocator an arena of its own (up to eight per core), each
//     keeping its freed memory;
//   - allocations of 128 KiB and more served by mmap and given back when
//     freed: DuckDB's vectors and string heaps are that large, and with
//     glibc's adaptive threshold they end up in the arenas, where a large
//     crawl left ≈ 70 MB free but resident (docs/benchmarks.md).
func tuneMalloc() {
	mallocOnce.Do(func() {
		C.mallopt(C.M_ARENA_MAX, 2)
		C.mallopt(C.M_MMAP_THRESHOLD, 128<<10)
	})
}
