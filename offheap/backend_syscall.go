package offheap

import (
	"errors"
	"math"
	"unsafe"

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

func (b syscallBackend) mapRegion(s *mapSpec) error {
	// The same checks as zp_map, so that every backend refuses the same specs the same way.
	s.result, s.base, s.total, s.addr, s.lockErr = 0, 0, 0, 0, 0
	pg := uint64(PageSize())
	if s.size == 0 || s.size%pg != 0 || s.align < pg || s.align&(s.align-1) != 0 ||
		s.flags&^specAllFlags != 0 {
		return unix.EINVAL
	}
	guard := uint64(0)
	if s.flags&specGuard != 0 {
		guard = pg
	}
	slack := s.align - pg // extra room so that an aligned start exists inside the mapping
	if s.size > math.MaxUint64-2*guard-slack {
		return unix.ENOMEM
	}
	length := s.size + 2*guard + slack
	flags := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	if s.flags&specPopulate != 0 && slack == 0 {
		flags |= unix.MAP_POPULATE
	}
	raw, err := unix.MmapPtr(-1, 0, nil, uintptr(length), unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return err
	}
	start := uint64(uintptr(raw))
	addr := (start + guard + s.align - 1) &^ (s.align - 1)
	lo, hi := addr-guard, addr+s.size+guard // the mapping proper, guards included
	// Trim the slack. The kernel can refuse (ENOMEM at vm.max_map_count, when the fresh
	// mapping merged with a neighbour and the trim falls in the middle of the merged run):
	// then the slack stays part of the mapping, so that whoever unmaps the mapping unmaps it.
	base, end := start, start+length
	if lo > start && b.unmap(uintptr(start), uintptr(lo-start)) == nil {
		base = lo
	}
	if end > hi && b.unmap(uintptr(hi), uintptr(end-hi)) == nil {
		end = hi
	}
	fail := func(err error) error {
		s.result, s.lockErr = 0, 0
		if b.unmap(uintptr(base), uintptr(end-base)) != nil {
			// Still mapped: say what, so that the caller keeps it and unmaps it later.
			s.base, s.total = base, end-base
		}
		return err
	}
	if guard != 0 {
		installed := false
		if s.flags&specNoGuardMadvise == 0 {
			e1 := b.advise(uintptr(lo), uintptr(guard), unix.MADV_GUARD_INSTALL)
			e2 := b.advise(uintptr(addr+s.size), uintptr(guard), unix.MADV_GUARD_INSTALL)
			installed = e1 == nil && e2 == nil
		}
		if installed {
			s.result |= resultGuardMadvise
		} else {
			if err := b.protect(uintptr(lo), uintptr(guard), unix.PROT_NONE); err != nil {
				return fail(err)
			}
			if err := b.protect(uintptr(addr+s.size), uintptr(guard), unix.PROT_NONE); err != nil {
				return fail(err)
			}
		}
	}
	advices := []struct {
		flag   uint32
		advice int
	}{
		{specNoDump, unix.MADV_DONTDUMP},
		{specWipeOnFork, unix.MADV_WIPEONFORK},
		{specDontFork, unix.MADV_DONTFORK},
		{specHuge, unix.MADV_HUGEPAGE},
	}
	for _, a := range advices {
		if s.flags&a.flag != 0 {
			if err := b.advise(uintptr(addr), uintptr(s.size), a.advice); err != nil {
				return fail(err)
			}
		}
	}
	if s.flags&specPopulate != 0 && slack != 0 {
		// Best effort: MADV_POPULATE_WRITE needs Linux 5.14; without it pages fault in on use.
		_ = b.advise(uintptr(addr), uintptr(s.size), unix.MADV_POPULATE_WRITE)
	}
	if s.flags&specLock != 0 {
		if err := b.lock(uintptr(addr), uintptr(s.size)); err != nil {
			if s.flags&specLockRequired != 0 {
				return fail(err)
			}
			var errno unix.Errno
			if errors.As(err, &errno) {
				s.lockErr = -int64(errno)
			} else {
				s.lockErr = -int64(unix.EPERM)
			}
		} else {
			s.result |= resultLocked
		}
	}
	s.base, s.total, s.addr = base, end-base, addr
	return nil
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

func (syscallBackend) wipe(addr, length uintptr) {
	clear(unsafe.Slice((*byte)(ptr(addr)), length))
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
