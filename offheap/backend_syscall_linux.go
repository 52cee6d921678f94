//go:build linux && !zeropool_portable

package offheap

import (
	"errors"
	"math"

	"golang.org/x/sys/unix"
)

func init() { registerBackend("syscall", func() (backend, error) { return syscallBackend{}, nil }) }

// syscallBackend makes the system calls directly through golang.org/x/sys/unix. It needs no C
// toolchain and is always compiled in.
type syscallBackend struct {
	// munmap, when set, replaces the system call: tests make it refuse, as the kernel does at
	// vm.max_map_count, to check that nothing mapped is ever forgotten.
	munmap func(addr, length uintptr) error
}

func (syscallBackend) name() string { return "syscall" }

// recipe is one run of the mapping recipe: the layout a spec asks for, then where it landed.
// Its steps are zp_map's in csrc/zeropool.c, one function each, so that the backends stay
// interchangeable.
type recipe struct {
	s      *mapSpec
	guard  uint64 // bytes of each guard page: a page, or 0
	slack  uint64 // extra bytes mapped so that an aligned start exists inside the mapping
	length uint64 // bytes mapped at first: the usable range, the guards and the slack
	addr   uint64 // first usable byte
	// [base, end) is what is mapped now: the raw mapping less the slack trimmed off.
	base, end uint64
	// For SecretMem: the memfd_secret file, and whether the raw mapping is a PROT_NONE
	// reservation that the secret pages are still to be mapped into.
	fd       int
	reserved bool
}

func (b syscallBackend) mapRegion(s *mapSpec) error {
	r, err := newRecipe(s)
	if err != nil {
		return err
	}
	if err := openSecret(&r); err != nil {
		return err
	}
	defer closeSecret(&r)
	if err := b.mapRaw(&r); err != nil {
		return err
	}
	b.trimSlack(&r)
	if err := b.mapSecret(&r); err != nil {
		return b.fail(&r, err)
	}
	if err := b.installGuards(&r); err != nil {
		return b.fail(&r, err)
	}
	if err := b.applyAdvice(&r); err != nil {
		return b.fail(&r, err)
	}
	b.populate(&r)
	if err := b.lockRange(&r); err != nil {
		return b.fail(&r, err)
	}
	s.base, s.total, s.addr = r.base, r.end-r.base, r.addr
	return nil
}

// newRecipe clears the spec's outputs and checks it as zp_map does, so that every backend
// refuses the same specs the same way.
func newRecipe(s *mapSpec) (recipe, error) {
	s.result, s.base, s.total, s.addr, s.lockErr = 0, 0, 0, 0, 0
	pg := uint64(PageSize())
	if s.size == 0 || s.size%pg != 0 || s.align < pg || s.align&(s.align-1) != 0 ||
		s.flags&^specAllFlags != 0 {
		return recipe{}, unix.EINVAL
	}
	r := recipe{s: s, slack: s.align - pg, fd: -1}
	if s.flags&specGuard != 0 {
		r.guard = pg
	}
	if s.size > math.MaxUint64-2*r.guard-r.slack {
		return recipe{}, unix.ENOMEM
	}
	r.length = s.size + 2*r.guard + r.slack
	return r, nil
}

// openSecret opens the memfd_secret file of a SecretMem spec, as long as the usable range.
func openSecret(r *recipe) error {
	if r.s.flags&specSecretMem == 0 {
		return nil
	}
	fd, _, e := unix.Syscall(unix.SYS_MEMFD_SECRET, unix.O_CLOEXEC, 0, 0)
	if e != 0 {
		return e
	}
	if err := unix.Ftruncate(int(fd), int64(r.s.size)); err != nil {
		_ = unix.Close(int(fd))
		return err
	}
	r.fd = int(fd)
	return nil
}

// closeSecret closes the memfd_secret file: the mapping keeps the memory.
func closeSecret(r *recipe) {
	if r.fd >= 0 {
		_ = unix.Close(r.fd)
		r.fd = -1
	}
}

// mapRaw maps the whole length and finds the aligned start in it. For SecretMem it maps the
// secret file itself when there is neither slack nor guard, and else reserves the whole length
// PROT_NONE, for mapSecret to map the file into at the aligned start.
func (b syscallBackend) mapRaw(r *recipe) error {
	prot, flags, fd := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, -1
	switch {
	case r.fd >= 0 && r.slack == 0 && r.guard == 0:
		flags, fd = unix.MAP_SHARED, r.fd
	case r.fd >= 0:
		prot, flags, r.reserved = unix.PROT_NONE, flags|unix.MAP_NORESERVE, true
	case r.s.flags&specPopulate != 0 && r.slack == 0:
		flags |= unix.MAP_POPULATE
	}
	raw, err := unix.MmapPtr(fd, 0, nil, uintptr(r.length), prot, flags)
	if err != nil {
		return err
	}
	r.base = uint64(uintptr(raw))
	r.end = r.base + r.length
	r.addr = (r.base + r.guard + r.s.align - 1) &^ (r.s.align - 1)
	return nil
}

// trimSlack unmaps the slack before and after the mapping proper. The kernel can refuse (ENOMEM
// at vm.max_map_count, when the fresh mapping merged with a neighbour and the trim falls in the
// middle of the merged run): then the slack stays part of the mapping, so that whoever unmaps
// the mapping unmaps it.
func (b syscallBackend) trimSlack(r *recipe) {
	lo, hi := r.addr-r.guard, r.addr+r.s.size+r.guard
	if lo > r.base && b.unmap(uintptr(r.base), uintptr(lo-r.base)) == nil {
		r.base = lo
	}
	if r.end > hi && b.unmap(uintptr(hi), uintptr(r.end-hi)) == nil {
		r.end = hi
	}
}

// mapSecret maps the secret file over the usable range of a reservation.
func (b syscallBackend) mapSecret(r *recipe) error {
	if !r.reserved {
		return nil
	}
	_, err := unix.MmapPtr(r.fd, 0, ptr(uintptr(r.addr)), uintptr(r.s.size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_FIXED)
	return err
}

// installGuards makes the page on each side of the usable range inaccessible:
// MADV_GUARD_INSTALL markers where the kernel has them (and the spec allows), PROT_NONE pages
// elsewhere. A SecretMem reservation's guard pages are PROT_NONE already.
func (b syscallBackend) installGuards(r *recipe) error {
	if r.guard == 0 || r.reserved {
		return nil
	}
	lo, hi := r.addr-r.guard, r.addr+r.s.size
	if r.s.flags&specNoGuardMadvise == 0 {
		e1 := b.advise(uintptr(lo), uintptr(r.guard), unix.MADV_GUARD_INSTALL)
		e2 := b.advise(uintptr(hi), uintptr(r.guard), unix.MADV_GUARD_INSTALL)
		if e1 == nil && e2 == nil {
			r.s.result |= resultGuardMadvise
			return nil
		}
	}
	if err := b.protect(uintptr(lo), uintptr(r.guard), unix.PROT_NONE); err != nil {
		return err
	}
	return b.protect(uintptr(hi), uintptr(r.guard), unix.PROT_NONE)
}

// advices are the flags that map to madvise(2) of the usable range, in zp_map's order.
var advices = []struct {
	flag   uint32
	advice int
}{
	{specNoDump, unix.MADV_DONTDUMP},
	{specWipeOnFork, unix.MADV_WIPEONFORK},
	{specDontFork, unix.MADV_DONTFORK},
	{specHuge, unix.MADV_HUGEPAGE},
}

// applyAdvice gives the usable range the advice the spec's flags ask for. Secret memory is
// shared, and the kernel wipes on fork only private memory: it is left out of the child
// instead.
func (b syscallBackend) applyAdvice(r *recipe) error {
	for _, a := range advices {
		if r.s.flags&a.flag == 0 {
			continue
		}
		advice := a.advice
		if advice == unix.MADV_WIPEONFORK && r.fd >= 0 {
			advice = unix.MADV_DONTFORK
		}
		if err := b.advise(uintptr(r.addr), uintptr(r.s.size), advice); err != nil {
			return err
		}
	}
	return nil
}

// populate faults the usable range in, where MAP_POPULATE could not (an aligned mapping is
// populated after its trim, so that the slack never is). Best effort: MADV_POPULATE_WRITE
// needs Linux 5.14; without it pages fault in on use. Secret memory is faulted in by touching
// it: the kernel's own population skips it.
func (b syscallBackend) populate(r *recipe) {
	switch {
	case r.s.flags&specPopulate == 0:
	case r.fd >= 0:
		for off := uint64(0); off < r.s.size; off += uint64(PageSize()) {
			*(*byte)(ptr(uintptr(r.addr + off))) = 0
		}
	case r.slack != 0:
		_ = b.advise(uintptr(r.addr), uintptr(r.s.size), unix.MADV_POPULATE_WRITE)
	}
}

// lockRange locks the usable range as the spec asks. A best-effort lock that fails leaves its
// errno in the spec; a required one fails the mapping. Secret memory is locked by the kernel
// from the start (and it refuses mlock of it).
func (b syscallBackend) lockRange(r *recipe) error {
	if r.fd >= 0 {
		r.s.result |= resultLocked
		return nil
	}
	if r.s.flags&specLock == 0 {
		return nil
	}
	err := b.lock(uintptr(r.addr), uintptr(r.s.size))
	if err == nil {
		r.s.result |= resultLocked
		return nil
	}
	if r.s.flags&specLockRequired != 0 {
		return err
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		r.s.lockErr = -int64(errno)
	} else {
		r.s.lockErr = -int64(unix.EPERM)
	}
	return nil
}

// fail undoes a mapping whose recipe failed at a later step and returns err. When the kernel
// refuses to unmap it, the spec says what stays mapped, so that the caller keeps it and
// unmaps it later.
func (b syscallBackend) fail(r *recipe, err error) error {
	r.s.result, r.s.lockErr = 0, 0
	if b.unmap(uintptr(r.base), uintptr(r.end-r.base)) != nil {
		r.s.base, r.s.total = r.base, r.end-r.base
	}
	return err
}

func (b syscallBackend) unmap(addr, length uintptr) error {
	if b.munmap != nil {
		return b.munmap(addr, length)
	}
	return unix.MunmapPtr(ptr(addr), length)
}

func (syscallBackend) lock(addr, length uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_MLOCK2, addr, length, unix.MLOCK_ONFAULT)
	if e == unix.ENOSYS || e == unix.EINVAL {
		// Kernels before 4.4 lack mlock2; plain mlock faults the whole range in.
		_, _, e = unix.Syscall(unix.SYS_MLOCK, addr, length, 0)
	}
	return errnoErr(e)
}

func (syscallBackend) unlock(addr, length uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_MUNLOCK, addr, length, 0)
	return errnoErr(e)
}

func (syscallBackend) protect(addr, length uintptr, prot int) error {
	_, _, e := unix.Syscall(unix.SYS_MPROTECT, addr, length, uintptr(prot))
	return errnoErr(e)
}

func (syscallBackend) advise(addr, length uintptr, advice int) error {
	_, _, e := unix.Syscall(unix.SYS_MADVISE, addr, length, uintptr(advice))
	return errnoErr(e)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
