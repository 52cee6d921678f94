package offheap

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Mapping is a live mapping owned by its holder (a pool): the package-level Free and range
// operations refuse it with ErrNotOwned; only its methods act on it. Stat and VmFlags still
// read it. A Mapping's methods may be called from several goroutines, but not concurrently
// with its Unmap. The methods of a nil *Mapping return ErrInvalid.
type Mapping struct {
	rec  *mapping
	gone atomic.Bool // set once Unmap has succeeded
}

// Map maps size bytes outside the Go heap as Alloc does (same options, same semantics), for a
// holder that keeps the memory to itself: the package-level Free and range operations refuse
// it, and only the Mapping's own methods change it.
func Map(size int, opts ...Option) (*Mapping, error) {
	h := &Mapping{}
	m, err := newMapping(size, opts, h)
	if err != nil {
		return nil, err
	}
	h.rec = m
	return h, nil
}

// Bytes returns the usable range: len == cap == the usable bytes (size rounded up to whole
// pages). It is nil for a nil Mapping and after Unmap.
func (m *Mapping) Bytes() []byte {
	if m == nil || m.gone.Load() {
		return nil
	}
	return unsafe.Slice((*byte)(ptr(m.rec.addr)), m.rec.size)
}

// Info describes the mapping as Stat does. After Unmap it still describes what was mapped.
func (m *Mapping) Info() Info {
	if m == nil {
		return Info{}
	}
	return m.rec.info()
}

// Protect sets the access to the pages of b, which must lie inside m; the rules are those of
// the package-level Protect.
func (m *Mapping) Protect(b []byte, p Prot) error { return m.rangeOp(b, "protect", protectOp(p)) }

// Discard gives the pages of b, inside m, back to the kernel, as the package-level Discard.
func (m *Mapping) Discard(b []byte) error { return m.rangeOp(b, "discard", discardOp) }

// Guard makes the pages of b, inside m, a guard, as the package-level Guard.
func (m *Mapping) Guard(b []byte) (string, error) {
	op, kind := guardOp()
	err := m.rangeOp(b, "guard", op)
	return *kind, err
}

// Lock locks the pages of b, inside m, into RAM, as the package-level Lock.
func (m *Mapping) Lock(b []byte) error { return m.rangeOp(b, "lock", lockOp) }

// Unlock undoes Lock, as the package-level Unlock.
func (m *Mapping) Unlock(b []byte) error { return m.rangeOp(b, "unlock", unlockOp) }

// Unmap gives the memory back to the system. When the kernel refuses (ENOMEM at
// vm.max_map_count: unmapping from the middle of a merged run of mappings needs a new map
// entry), the error wraps the errno and the mapping stays live and usable: call Unmap again
// later. After a successful Unmap every slice of the mapping is invalid and a second Unmap
// returns ErrNotMapped.
func (m *Mapping) Unmap() error {
	if m == nil {
		return fmt.Errorf("%w: Unmap of a nil Mapping", ErrInvalid)
	}
	live.Lock()
	defer live.Unlock()
	if m.gone.Load() {
		return fmt.Errorf("%w: Unmap of %#x: already unmapped", ErrNotMapped, m.rec.addr)
	}
	if startingAt(m.rec.addr) != m.rec {
		// Unreachable: a record leaves live only through a successful unmap, which sets gone.
		return fmt.Errorf("%w: Unmap of %#x: no record", ErrNotMapped, m.rec.addr)
	}
	if err := unmapLocked(m.rec); err != nil {
		return err
	}
	m.gone.Store(true)
	return nil
}

func (m *Mapping) rangeOp(b []byte, what string, op func(be backend, addr, n uintptr) error) error {
	if m == nil {
		return fmt.Errorf("%w: %s on a nil Mapping", ErrInvalid, what)
	}
	if m.gone.Load() {
		addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return fmt.Errorf("%s: %w: %#x+%d: the Mapping was unmapped", what, ErrNotMapped, addr, cap(b))
	}
	return m.rec.rangeOp(b, what, op)
}
