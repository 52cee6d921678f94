package offheap

import (
	"errors"
	"fmt"
	"os"
	"unsafe"
)

var (
	// ErrInvalid is returned for arguments no mapping can satisfy: a negative or huge size, a
	// bad alignment, a range that is not page-aligned.
	ErrInvalid = errors.New("offheap: invalid argument")
	// ErrNotMapped is returned for a slice that does not start a live mapping from Alloc (or,
	// for range operations, does not lie inside one): foreign memory, an interior slice, or a
	// mapping already freed.
	ErrNotMapped = errors.New("offheap: not a live mapping from Alloc")
	// ErrNotOwned is returned by Free and the package-level range operations (Protect,
	// Discard, Guard, Lock, Unlock) for memory of a Mapping: it belongs to its holder (a pool),
	// and changing its pages behind the holder's back would crash the process. Those errors
	// wrap ErrInvalid as well, so errors.Is matches either.
	ErrNotOwned = errors.New("offheap: memory belongs to a pool (a Mapping); only its holder may change it")
	// ErrPinFailed is returned by Alloc with PinRequired when the kernel refuses to lock the
	// mapping (RLIMIT_MEMLOCK, no CAP_IPC_LOCK), and with SecretMem when the locked secret
	// pages would pass RLIMIT_MEMLOCK; it wraps the errno.
	ErrPinFailed = errors.New("offheap: could not lock the mapping into RAM")
	// ErrSecretMem is returned by Alloc with SecretMem where the kernel cannot give secret
	// memory: it lacks memfd_secret(2) (before Linux 5.14), has it disabled
	// (secretmem.enable=0), or a seccomp filter forbids it. It wraps the errno.
	ErrSecretMem = errors.New("offheap: no secret memory (memfd_secret) in this kernel")
	// ErrUnsupported is wrapped, with the feature's name and the system's, into the error of
	// everything this build cannot do. Linux has every feature; the portable backend of other
	// systems (see the package documentation) refuses what needs Linux: the options NoDump,
	// WipeOnFork, DontFork and SecretMem, PinRequired, Lock and Unlock, VmFlags, and, where
	// it backs mappings with Go memory, GuardPages, Protect, Guard and Discard. It matches
	// errors.ErrUnsupported as well.
	ErrUnsupported error = unsupportedError{}
)

// unsupportedError is ErrUnsupported: errors.Is matches it and errors.ErrUnsupported.
type unsupportedError struct{}

func (unsupportedError) Error() string        { return "offheap: not supported on this system" }
func (unsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }

var pageSize = os.Getpagesize()

// PageSize returns the system page size in bytes.
func PageSize() int { return pageSize }

// maxSize bounds a request well below the 47-bit user address space.
const maxSize = 1 << 46

// mapping is the record of one live mapping, from Alloc or Map.
type mapping struct {
	addr, size  uintptr // the usable range handed out
	base, total uintptr // the whole mapping, guard pages included
	be          backend
	spec        mapSpec
	owner       *Mapping // the handle that owns it, or nil for a mapping from Alloc
}

// Alloc maps size bytes outside the Go heap and returns them as a slice with len == size and
// cap == size rounded up to whole pages. The memory starts zeroed and page-aligned (or aligned
// as Align asks); it stays valid, at a fixed address, until Free. Alloc(0) is an error: a
// mapping needs at least one page.
func Alloc(size int, opts ...Option) ([]byte, error) {
	m, err := newMapping(size, opts, nil)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(ptr(m.addr)), m.size)[:size], nil
}

// newMapping maps size bytes as opts ask and enters the record in live, owned by owner.
func newMapping(size int, opts []Option, owner *Mapping) (*mapping, error) {
	c := allocConfig{align: uint64(pageSize)}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if size <= 0 || size > maxSize {
		return nil, fmt.Errorf("%w: size %d (want 1 to %d)", ErrInvalid, size, maxSize)
	}
	be, err := openBackend(c.backend)
	if err != nil {
		return nil, err
	}
	// A required lock is asked of the backend as a best-effort one and checked here, so that
	// its failure is told apart from a failure to map, whatever the backend. The spec lives
	// in the mapping record from the start: one allocation per Alloc, not two.
	m := &mapping{be: be, owner: owner}
	s := &m.spec
	*s = mapSpec{size: roundUp(uint64(size), uint64(pageSize)), align: c.align, flags: c.flags &^ specLockRequired}
	if err := be.mapRegion(s); err != nil {
		err = mapError(s.flags, fmt.Errorf("offheap: map %d bytes (%s backend): %w", size, be.name(), err))
		if s.total != 0 {
			err = keepStuck(be, uintptr(s.base), uintptr(s.total), err)
		}
		return nil, err
	}
	if c.flags&specLockRequired != 0 && s.result&resultLocked == 0 {
		err := fmt.Errorf("%w: %d bytes (%s backend): %w", ErrPinFailed, size, be.name(), lockError(s.lockErr))
		if uerr := be.unmap(uintptr(s.base), uintptr(s.total)); uerr != nil {
			err = keepStuck(be, uintptr(s.base), uintptr(s.total), err)
		}
		return nil, err
	}
	m.addr, m.size, m.base, m.total = uintptr(s.addr), uintptr(s.size), uintptr(s.base), uintptr(s.total)
	live.Lock()
	enterLocked(m)
	live.Unlock()
	return m, nil
}

// Free unmaps a slice returned by Alloc. The slice must start where Alloc's did; its len and
// cap may differ. Any other slice, including one already freed, gets ErrNotMapped and nothing
// is unmapped; memory of a Mapping gets ErrNotOwned. After Free, every slice of the mapping is
// invalid: touching it faults. When the kernel refuses to unmap (ENOMEM at
// vm.max_map_count, where unmapping from the middle of a merged run of mappings needs a new
// map entry), Free returns an error wrapping the errno and the mapping stays live: it can be
// used, and freed again later.
func Free(b []byte) error {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	live.Lock()
	defer live.Unlock()
	m := startingAt(addr)
	if m == nil {
		if h := holding(addr); h != nil && h.owner != nil {
			m = h // inside a Mapping's memory: refused as not owned, below
		} else {
			return fmt.Errorf("%w: Free(%#x)", ErrNotMapped, addr)
		}
	}
	if m.owner != nil {
		return fmt.Errorf("%w: Free(%#x): %w", ErrInvalid, addr, ErrNotOwned)
	}
	return unmapLocked(m)
}

// unmapLocked unmaps m and drops its record, or keeps it, live and usable, when the kernel
// refuses. The caller holds live's write lock.
func unmapLocked(m *mapping) error {
	if err := m.be.unmap(m.base, m.total); err != nil {
		return fmt.Errorf("offheap: unmap %#x+%d: %w%s", m.base, m.total, err, unmapHint(err))
	}
	dropLocked(m)
	if len(live.stuck) != 0 {
		retryStuckLocked()
	}
	return nil
}

// The kinds of guard, as Info.Guard and Guard name them.
const (
	guardMadvise  = "madvise"  // MADV_GUARD_INSTALL markers: no page of their own, no VMA split
	guardMprotect = "mprotect" // PROT_NONE pages
)

// Info describes a live mapping, as Stat reports it.
type Info struct {
	Size int // usable bytes (whole pages)
	// Mapped is the bytes of the whole mapping as the kernel counts them: the usable bytes,
	// guard pages, and any alignment slack the kernel would not take back.
	Mapped  int
	Backend string // the backend that mapped it
	Locked  bool   // locked into RAM
	LockErr error  // why a best-effort lock failed (nil when Locked or not asked)
	Guard   string // "", "madvise" (MADV_GUARD_INSTALL) or "mprotect" (PROT_NONE pages)
	// SecretMem says the usable range is secret memory (memfd_secret), out of the kernel's
	// direct map.
	SecretMem bool
}

// Stat describes the mapping that b starts, whether from Alloc or of a Mapping. It reports
// what was asked and done; VmFlags reads what the kernel holds now.
func Stat(b []byte) (Info, error) {
	m, err := find(b)
	if err != nil {
		return Info{}, err
	}
	return m.info(), nil
}

func (m *mapping) info() Info {
	in := Info{Size: int(m.size), Mapped: int(m.total), Backend: m.be.name(), Locked: m.spec.result&resultLocked != 0,
		SecretMem: m.spec.flags&specSecretMem != 0}
	if m.spec.lockErr != 0 {
		in.LockErr = lockError(m.spec.lockErr)
	}
	if m.spec.flags&specGuard != 0 {
		in.Guard = guardMprotect
		if m.spec.result&resultGuardMadvise != 0 {
			in.Guard = guardMadvise
		}
	}
	return in
}

// find returns the live mapping that starts at b.
func find(b []byte) (*mapping, error) {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	live.RLock()
	defer live.RUnlock()
	if m := startingAt(addr); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%w: %#x", ErrNotMapped, addr)
}

func roundUp(n, to uint64) uint64 { return (n + to - 1) &^ (to - 1) }
