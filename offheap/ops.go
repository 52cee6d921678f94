package offheap

import (
	"fmt"
	"unsafe"
)

// Prot is the access a range of a mapping allows.
type Prot int

// Protections for Protect. Their values are mprotect(2)'s PROT_NONE, PROT_READ and
// PROT_READ|PROT_WRITE, the same on every Unix; the backends check that at compile time.
const (
	ProtNone      Prot = 0
	ProtRead      Prot = 1
	ProtReadWrite Prot = 3
)

// The range operations below act on the whole pages spanned by b[:cap(b)]. b must start on a
// page boundary and lie inside one live mapping from Alloc; anything else is refused with
// ErrInvalid or ErrNotMapped and nothing changes, so they can never touch the Go heap. Memory
// of a Mapping is refused with ErrNotOwned: use the Mapping's methods of the same names.

// Lock locks the pages of b into RAM (mlock2 with MLOCK_ONFAULT, falling back to mlock). On
// other systems it is refused with ErrUnsupported.
func Lock(b []byte) error { return rangeOp(b, "lock", lockOp) }

// Unlock undoes Lock.
func Unlock(b []byte) error { return rangeOp(b, "unlock", unlockOp) }

// Protect sets the access to the pages of b. ProtNone makes any touch fault. Where the
// portable backend backs mappings with Go memory it is refused with ErrUnsupported.
func Protect(b []byte, p Prot) error { return rangeOp(b, "protect", protectOp(p)) }

// Discard gives the pages of b back to the kernel (MADV_DONTNEED): resident memory falls at
// once, the range stays mapped and reads as zeros on its next touch. The portable backend
// of other systems maps fresh zero pages over the range instead (their access stays what
// Protect made it), or, where it backs mappings with Go memory, refuses with ErrUnsupported.
func Discard(b []byte) error { return rangeOp(b, "discard", discardOp) }

// Guard makes the pages of b a guard: any touch faults, for good. It uses MADV_GUARD_INSTALL
// where the kernel has it (Linux 6.13+: the VMA is not split, so many guards cost no extra
// map entries) and PROT_NONE elsewhere. It returns "madvise" or "mprotect", as Stat's Guard.
// Where the portable backend backs mappings with Go memory it is refused with ErrUnsupported.
func Guard(b []byte) (string, error) {
	op, kind := guardOp()
	err := rangeOp(b, "guard", op)
	return *kind, err
}

// The operations themselves, shared by the package-level functions and Mapping's methods.

func lockOp(be backend, addr, n uintptr) error   { return be.lock(addr, n) }
func unlockOp(be backend, addr, n uintptr) error { return be.unlock(addr, n) }

func protectOp(p Prot) func(be backend, addr, n uintptr) error {
	return func(be backend, addr, n uintptr) error { return be.protect(addr, n, int(p)) }
}

// discardOp and guardOp are the system's: ops_linux.go and ops_other.go.

// Wipe zeroes b[:cap(b)] with stores the compiler cannot remove (the memory stays reachable
// through b, so no store to it is dead). It works on any slice, Go heap and stack included,
// and stays in Go whatever the backend: a call into C would cost more than wiping a small
// secret, and would need the slice's address as an integer, which a moving stack invalidates.
func Wipe(b []byte) { clear(b[:cap(b)]) }

// rangeOp runs op on the pages of b, which must lie inside a live mapping from Alloc.
func rangeOp(b []byte, what string, op func(be backend, addr, n uintptr) error) error {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	live.RLock()
	m := holding(addr)
	live.RUnlock()
	if m != nil && m.owner != nil {
		return fmt.Errorf("%w: %s of %#x+%d: %w", ErrInvalid, what, addr, cap(b), ErrNotOwned)
	}
	return m.rangeOp(b, what, op)
}

// rangeOp checks that b is a page-aligned, non-empty range inside m (nil: no mapping holds
// b's first byte) and runs op on its pages.
func (m *mapping) rangeOp(b []byte, what string, op func(be backend, addr, n uintptr) error) error {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if addr%uintptr(pageSize) != 0 || cap(b) == 0 {
		return fmt.Errorf("%w: %s of %#x+%d: not a page-aligned, non-empty range", ErrInvalid, what, addr, cap(b))
	}
	if m == nil || addr-m.addr >= m.size || uintptr(cap(b)) > m.size-(addr-m.addr) {
		return fmt.Errorf("%s: %w: %#x+%d", what, ErrNotMapped, addr, cap(b))
	}
	n := uintptr(roundUp(uint64(cap(b)), uint64(pageSize)))
	if n > m.size-(addr-m.addr) {
		return fmt.Errorf("%w: %s of %#x+%d runs past its mapping", ErrInvalid, what, addr, cap(b))
	}
	if err := op(m.be, addr, n); err != nil {
		return fmt.Errorf("offheap: %s %#x+%d: %w", what, addr, n, err)
	}
	return nil
}
