//go:build (!linux || zeropool_portable) && (zeropool_gomem || !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris))

package offheap

import (
	"sync"
	"syscall"
	"unsafe"
)

// portableBackend backs mappings with Go memory where golang.org/x/sys/unix has no mmap
// (windows, plan9, js, wasip1; on Linux the zeropool_gomem tag chooses it, to test it). A
// mapping is a byte slice that this backend holds until the mapping is unmapped: the garbage
// collector never moves it and never frees it meanwhile, so its address is as stable as a
// mapping's. It is Go heap all the same: it counts in the heap's size and in the collector's
// pacing, a request larger than the system can back ends the process as make does, and a
// touch after Free finds the memory still there rather than a fault. Nothing can change its
// access, so GuardPages, Protect, Guard and Discard are refused, besides what needs Linux.
type portableBackend struct {
	mu   sync.Mutex
	held map[uintptr]heldMemory // by the usable range's first byte
}

type heldMemory struct {
	mem  []byte  // the allocation, slack included
	size uintptr // the usable range's length
}

// goMemory reports whether this backend's memory is Go memory.
const goMemory = true

func newPortable() backend { return &portableBackend{held: make(map[uintptr]heldMemory)} }

func (*portableBackend) name() string { return "portable" }

func (b *portableBackend) mapRegion(s *mapSpec) error {
	l, err := checkPortableSpec(s)
	if err != nil {
		return err
	}
	// The allocator's alignment is its own (and smaller than js's 64 KiB pages): a whole
	// alignment of slack holds an aligned start wherever the slice lands.
	mem, err := allocGo(l.length - l.slack + s.align)
	if err != nil {
		return err
	}
	addr := (uint64(uintptr(unsafe.Pointer(unsafe.SliceData(mem)))) + s.align - 1) &^ (s.align - 1)
	if s.flags&specPopulate != 0 {
		for off := uint64(0); off < s.size; off += uint64(PageSize()) {
			*(*byte)(ptr(uintptr(addr + off))) = 0
		}
	}
	lockRange(s)
	b.mu.Lock()
	b.held[uintptr(addr)] = heldMemory{mem, uintptr(s.size)}
	b.mu.Unlock()
	s.base, s.total, s.addr = addr, s.size, addr
	return nil
}

// allocGo returns n zero bytes of Go memory, or ENOMEM where make would panic (a length
// beyond what this architecture's allocator can give at all).
func allocGo(n uint64) (mem []byte, err error) {
	defer func() {
		if recover() != nil {
			mem, err = nil, errNoMemory
		}
	}()
	return make([]byte, n), nil
}

// unmap lets the allocation go: the collector frees it once no slice of it is left.
func (b *portableBackend) unmap(addr, length uintptr) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if h, ok := b.held[addr]; !ok || h.size != length {
		return syscall.EINVAL
	}
	delete(b.held, addr)
	return nil
}

func (*portableBackend) lock(uintptr, uintptr) error   { return unsupported("Lock (mlock)") }
func (*portableBackend) unlock(uintptr, uintptr) error { return unsupported("Unlock (munlock)") }

func (*portableBackend) protect(addr, length uintptr, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if err := checkProt(prot); err != nil {
		return err
	}
	return unsupportedOnGoMemory("Protect (mprotect)")
}

func (*portableBackend) advise(addr, length uintptr, advice int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if advice != adviceDiscard {
		return syscall.EINVAL
	}
	return unsupportedOnGoMemory("Discard (fresh pages by mmap)")
}
