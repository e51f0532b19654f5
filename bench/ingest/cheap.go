package main

// #include <malloc.h>
import "C"

// cHeap returns glibc's view of the C heap: bytes obtained from the system
// (arenas and mmapped chunks), bytes in use, bytes free inside arenas.
func cHeap() (system, inUse, free float64) {
	mi := C.mallinfo2()
	return float64(mi.arena + mi.hblkhd), float64(mi.uordblks + mi.hblkhd), float64(mi.fordblks)
}
