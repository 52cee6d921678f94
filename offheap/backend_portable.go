//go:build !linux || zeropool_portable

package offheap

import (
	"math"
	"syscall"
)

// The portable backend is the only backend of systems other than Linux (and of Linux builds
// with the zeropool_portable tag, which is how its code is tested). It keeps the package's
// API and its bookkeeping (Free and the range operations refuse what is not theirs exactly as
// on Linux) over memory from the system's mmap where golang.org/x/sys/unix has it
// (portable_mmap.go), else over Go memory (portable_gomem.go), and refuses what needs Linux.
func init() { registerBackend("portable", func() (backend, error) { return newPortable(), nil }) }

// linuxOnlyFlags are the options the portable backend refuses: each asks the Linux kernel for
// a property no other system gives in the same way, and silently mapping without it would
// lose exactly what the caller asked for (secrets in core dumps, in forked children, in the
// kernel's direct map).
var linuxOnlyFlags = []struct {
	flag    uint32
	feature string
}{
	{specNoDump, "NoDump (MADV_DONTDUMP)"},
	{specWipeOnFork, "WipeOnFork (MADV_WIPEONFORK)"},
	{specDontFork, "DontFork (MADV_DONTFORK)"},
	{specSecretMem, "SecretMem (memfd_secret)"},
}

// portableLayout is where a spec's mapping goes: guard bytes on each side of the usable range
// (a page, or 0), slack so that an aligned start exists inside the mapping, and the length of
// the whole.
type portableLayout struct {
	guard, slack, length uint64
}

// checkPortableSpec clears the spec's outputs and checks it as zp_map does, with the same
// errnos as the Linux backends, so that every backend refuses the same specs the same way;
// then it refuses the Linux-only options, and guard pages where the memory cannot have them.
// HugePages is advice, and ignored; Pin is best effort, and never met (see lockRange).
func checkPortableSpec(s *mapSpec) (portableLayout, error) {
	s.result, s.base, s.total, s.addr, s.lockErr = 0, 0, 0, 0, 0
	pg := uint64(PageSize())
	if s.size == 0 || s.size%pg != 0 || s.align < pg || s.align&(s.align-1) != 0 ||
		s.flags&^specAllFlags != 0 {
		return portableLayout{}, syscall.EINVAL
	}
	l := portableLayout{slack: s.align - pg}
	if s.flags&specGuard != 0 {
		l.guard = pg
	}
	if s.size > math.MaxUint64-2*l.guard-l.slack || s.size+2*l.guard+l.slack > maxPortableLength {
		return portableLayout{}, errNoMemory
	}
	l.length = s.size + 2*l.guard + l.slack
	for _, f := range linuxOnlyFlags {
		if s.flags&f.flag != 0 {
			return portableLayout{}, unsupported(f.feature)
		}
	}
	if l.guard != 0 && goMemory {
		return portableLayout{}, unsupportedOnGoMemory("GuardPages")
	}
	return l, nil
}

// checkRange refuses a range a backend method cannot have been given by this package's own
// code (which passes whole pages of a live mapping), with the errno mmap's family uses.
func checkRange(addr, length uintptr) error {
	if addr%uintptr(PageSize()) != 0 || length == 0 {
		return syscall.EINVAL
	}
	return nil
}

// checkProt refuses an access that is not a combination of read and write.
func checkProt(prot int) error {
	if prot&^int(ProtReadWrite) != 0 {
		return syscall.EINVAL
	}
	return nil
}

// maxPortableLength bounds a whole mapping (usable range, guards and slack): well past any
// real request (Alloc allows 64 TiB), and short of lengths that the system or the Go
// allocator can only fail at (a slice that long panics).
const maxPortableLength = 1 << 47

// lockRange records that a Pin was asked and not met: pinning (mlock) is Linux's here, so
// the mapping stays unlocked, Stat's LockErr says why, and PinRequired fails the mapping.
func lockRange(s *mapSpec) {
	if s.flags&specLock != 0 {
		s.lockErr = lockNotAvailable
	}
}

// lockNotAvailable is mapSpec.lockErr of a Pin the portable backend did not meet; lockError
// turns it into an error wrapping ErrUnsupported.
const lockNotAvailable = -1
