//go:build linux && !zeropool_portable

package offheap

import "golang.org/x/sys/unix"

// The values of Prot are the kernel's: a drift fails to compile here (a negative or
// out-of-range array length).
var _ = [1]struct{}{}[(ProtNone^unix.PROT_NONE)|(ProtRead^unix.PROT_READ)|
	(ProtReadWrite^(unix.PROT_READ|unix.PROT_WRITE))]

func discardOp(be backend, addr, n uintptr) error {
	return be.advise(addr, n, unix.MADV_DONTNEED)
}

// guardOp returns the guard operation and where it reports the kind of guard it installed.
func guardOp() (func(be backend, addr, n uintptr) error, *string) {
	kind := guardMadvise
	return func(be backend, addr, n uintptr) error {
		if be.advise(addr, n, unix.MADV_GUARD_INSTALL) == nil {
			return nil
		}
		kind = guardMprotect
		return be.protect(addr, n, unix.PROT_NONE)
	}, &kind
}
