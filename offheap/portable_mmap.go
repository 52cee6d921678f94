//go:build (!linux || zeropool_portable) && !zeropool_gomem && (aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package offheap

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The values of Prot are the system's: a drift fails to compile here (a negative or
// out-of-range array length).
var _ = [1]struct{}{}[(ProtNone^unix.PROT_NONE)|(ProtRead^unix.PROT_READ)|
	(ProtReadWrite^(unix.PROT_READ|unix.PROT_WRITE))]

// portableBackend maps memory with the system's mmap, through golang.org/x/sys/unix: outside
// the Go heap, page-aligned, zero when fresh, gone (a touch faults) once unmapped. Guard pages
// and Protect are mprotect's; Discard maps fresh zero pages over the range and gives them the
// access the range had. It pins nothing and refuses what needs Linux (checkPortableSpec).
type portableBackend struct {
	prots protections // ranges whose access is not read-write, for discard to restore
}

// goMemory reports whether this backend's memory is Go memory (portable_gomem.go).
const goMemory = false

func newPortable() backend { return &portableBackend{} }

func (*portableBackend) name() string { return "portable" }

func (b *portableBackend) mapRegion(s *mapSpec) error {
	l, err := checkPortableSpec(s)
	if err != nil {
		return err
	}
	raw, err := unix.MmapPtr(-1, 0, nil, uintptr(l.length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return err
	}
	base := uint64(uintptr(raw))
	end := base + l.length
	addr := (base + l.guard + s.align - 1) &^ (s.align - 1)
	// The slack before and after the mapping proper is unmapped; where the system refuses,
	// it stays part of the mapping, so that whoever unmaps the mapping unmaps it.
	lo, hi := addr-l.guard, addr+s.size+l.guard
	if lo > base && b.unmap(uintptr(base), uintptr(lo-base)) == nil {
		base = lo
	}
	if end > hi && b.unmap(uintptr(hi), uintptr(end-hi)) == nil {
		end = hi
	}
	if l.guard != 0 {
		for _, g := range []uint64{addr - l.guard, addr + s.size} {
			if err := b.protect(uintptr(g), uintptr(l.guard), unix.PROT_NONE); err != nil {
				return b.fail(s, base, end, err)
			}
		}
	}
	if s.flags&specPopulate != 0 {
		// No MAP_POPULATE here: a store to every page faults it in.
		for off := uint64(0); off < s.size; off += uint64(PageSize()) {
			*(*byte)(ptr(uintptr(addr + off))) = 0
		}
	}
	lockRange(s)
	s.base, s.total, s.addr = base, end-base, addr
	return nil
}

// fail undoes a mapping whose recipe failed after the mmap and returns err. When the system
// refuses to unmap it, the spec says what stays mapped, so that the caller keeps it and
// unmaps it later.
func (b *portableBackend) fail(s *mapSpec, base, end uint64, err error) error {
	s.result, s.lockErr = 0, 0
	if b.unmap(uintptr(base), uintptr(end-base)) != nil {
		s.base, s.total = base, end-base
	}
	return err
}

func (b *portableBackend) unmap(addr, length uintptr) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	b.prots.mu.Lock()
	defer b.prots.mu.Unlock()
	if err := unix.MunmapPtr(ptr(addr), length); err != nil {
		return err
	}
	b.prots.setLocked(addr, addr+length, int(ProtReadWrite)) // forgotten: nothing is there now
	return nil
}

func (*portableBackend) lock(uintptr, uintptr) error   { return unsupported("Lock (mlock)") }
func (*portableBackend) unlock(uintptr, uintptr) error { return unsupported("Unlock (munlock)") }

func (b *portableBackend) protect(addr, length uintptr, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if err := checkProt(prot); err != nil {
		return err
	}
	b.prots.mu.Lock()
	defer b.prots.mu.Unlock()
	if err := unix.Mprotect(unsafe.Slice((*byte)(ptr(addr)), length), prot); err != nil {
		return err
	}
	b.prots.setLocked(addr, addr+length, prot)
	return nil
}

// advise takes one advice, adviceDiscard: fresh zero pages are mapped over the range
// (MAP_FIXED), which gives the old ones back to the system, and the access that Protect gave
// parts of the range is given to them again. (madvise cannot do it portably: MADV_DONTNEED
// zeroes only on Linux, MADV_FREE nowhere at once.)
func (b *portableBackend) advise(addr, length uintptr, advice int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if advice != adviceDiscard {
		return unix.EINVAL
	}
	b.prots.mu.Lock()
	defer b.prots.mu.Unlock()
	if _, err := unix.MmapPtr(-1, 0, ptr(addr), length, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED); err != nil {
		return err
	}
	var err error
	b.prots.eachLocked(addr, addr+length, func(lo, hi uintptr, prot int) {
		if e := unix.Mprotect(unsafe.Slice((*byte)(ptr(lo)), hi-lo), prot); e != nil && err == nil {
			err = e
		}
	})
	return err
}
