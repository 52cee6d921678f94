package offheap

import "fmt"

// Option asks Alloc for a property of the mapping.
type Option func(*allocConfig) error

type allocConfig struct {
	flags   uint32
	align   uint64
	backend string
}

// Pin locks the mapping into RAM (mlock2 with MLOCK_ONFAULT, so pages are locked as they are
// first touched rather than all at once), best effort: when the kernel refuses
// (RLIMIT_MEMLOCK, no CAP_IPC_LOCK) the mapping is still returned, unlocked, and Stat reports
// why. PinRequired makes that refusal an error instead. The portable backend of other systems
// never pins: the mapping is unlocked, and Stat's LockErr wraps ErrUnsupported.
func Pin() Option { return flag(specLock) }

// PinRequired locks the mapping into RAM like Pin, and makes Alloc fail when it cannot: on
// other systems always, with an error wrapping ErrPinFailed and ErrUnsupported.
func PinRequired() Option { return flag(specLock | specLockRequired) }

// NoDump leaves the mapping out of core dumps (MADV_DONTDUMP). Other systems refuse it
// (ErrUnsupported).
func NoDump() Option { return flag(specNoDump) }

// WipeOnFork makes a forked child see the mapping as zeros (MADV_WIPEONFORK, Linux 4.14+).
// The kernel applies it to private memory only; with SecretMem it becomes DontFork: the child
// has no mapping there at all. Other systems refuse it (ErrUnsupported).
func WipeOnFork() Option { return flag(specWipeOnFork) }

// DontFork leaves the mapping out of a forked child entirely (MADV_DONTFORK), which also keeps
// its physical pages stable for DMA while a child runs. Other systems refuse it
// (ErrUnsupported).
func DontFork() Option { return flag(specDontFork) }

// GuardPages puts an inaccessible page before and after the usable range, so that an
// overflow or underflow across a page boundary faults. MADV_GUARD_INSTALL is used where the
// kernel has it (Linux 6.13+: no extra VMAs), PROT_NONE pages elsewhere. The portable
// backend of other systems refuses it where its memory is Go memory (ErrUnsupported).
func GuardPages() Option { return flag(specGuard) }

// guardPagesProtNone forces PROT_NONE guard pages; tests use it to cover the fallback.
func guardPagesProtNone() Option { return flag(specGuard | specNoGuardMadvise) }

// HugePages asks for transparent huge pages (MADV_HUGEPAGE). Combine with Align(2<<20) so
// that whole huge pages fit. Other systems ignore it.
func HugePages() Option { return flag(specHuge) }

// Populate faults every page in before Alloc returns, so the first touch costs nothing.
func Populate() Option { return flag(specPopulate) }

// SecretMem backs the mapping with memfd_secret(2) (Linux 5.14+): its pages are removed from
// the kernel's direct map, so that neither /proc/PID/mem, ptrace nor the kernel itself can
// read them (a read through /proc/PID/mem fails with EIO). Where the kernel lacks it, or has it
// disabled (secretmem.enable=0), or a seccomp filter forbids it, Alloc fails with an error
// wrapping ErrSecretMem. Other systems refuse it with an error wrapping ErrUnsupported.
//
// What the kernel does with such a mapping, and so what the other options mean with it:
//   - Its pages are locked and charged to RLIMIT_MEMLOCK when mapped, whether or not Pin is
//     given: Stat reports it Locked, and beyond the limit Alloc fails with an error wrapping
//     ErrPinFailed and EAGAIN. Lock of its memory fails with ENOMEM (the kernel will not
//     populate secret memory on behalf of a lock), and is not needed; Unlock does nothing.
//   - It is left out of core dumps whether or not NoDump is given.
//   - It is shared memory: a forked child would share its pages, so WipeOnFork becomes
//     DontFork (the kernel refuses MADV_WIPEONFORK on shared memory), and DontFork applies.
//   - Guard pages are PROT_NONE pages (Stat's Guard is "mprotect"): the kernel refuses
//     MADV_GUARD_INSTALL on it.
//   - Populate touches every page, since the kernel's own population skips secret memory.
//   - Discard of its memory fails with EINVAL: the kernel refuses MADV_DONTNEED on it.
//   - HugePages is accepted and does nothing.
func SecretMem() Option { return flag(specSecretMem) }

// Align aligns the start of the usable range to n bytes, a power of two. Alignments below the
// page size are met anyway.
func Align(n int) Option {
	return func(c *allocConfig) error {
		if n <= 0 || n&(n-1) != 0 {
			return fmt.Errorf("%w: alignment %d is not a positive power of two", ErrInvalid, n)
		}
		if uint64(n) > c.align {
			c.align = uint64(n)
		}
		return nil
	}
}

// WithBackend chooses the backend by name (see Backends) instead of the default.
func WithBackend(name string) Option {
	return func(c *allocConfig) error { c.backend = name; return nil }
}

func flag(f uint32) Option {
	return func(c *allocConfig) error { c.flags |= f; return nil }
}
