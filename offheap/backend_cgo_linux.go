//go:build cgo && !zeropool_nocgo && !zeropool_portable

package offheap

/*
#cgo CFLAGS: -I${SRCDIR}/../csrc
#include "zeropool.h"
*/
import "C"

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { registerBackend("cgo", func() (backend, error) { return cgoBackend{}, nil }) }

// The C side reads mapSpec's flags by these names; a value that drifts from spec.go fails to
// compile here (a negative or out-of-range array length).
var _ = [1]struct{}{}[(C.ZP_NODUMP^specNoDump)|(C.ZP_WIPEONFORK^specWipeOnFork)|
	(C.ZP_DONTFORK^specDontFork)|(C.ZP_HUGE^specHuge)|(C.ZP_POPULATE^specPopulate)|
	(C.ZP_GUARD^specGuard)|(C.ZP_LOCK^specLock)|(C.ZP_LOCK_REQUIRED^specLockRequired)|
	(C.ZP_NO_GUARD_MADVISE^specNoGuardMadvise)|(C.ZP_SECRETMEM^specSecretMem)|
	(C.ZP_ALL_FLAGS^specAllFlags)|(C.ZP_RESULT_LOCKED^resultLocked)|
	(C.ZP_RESULT_GUARD_MADVISE^resultGuardMadvise)|
	(C.sizeof_struct_zp_map_spec^unsafe.Sizeof(mapSpec{}))]

// cgoBackend calls the C recipe in csrc, compiled into the binary: one crossing per
// operation, errors as -errno return values.
type cgoBackend struct{}

func (cgoBackend) name() string { return "cgo" }

func (cgoBackend) mapRegion(s *mapSpec) error {
	return cErr(C.zp_map((*C.struct_zp_map_spec)(unsafe.Pointer(s))))
}

func (cgoBackend) unmap(addr, length uintptr) error {
	return cErr(C.zp_unmap(ptr(addr), C.size_t(length)))
}

func (cgoBackend) lock(addr, length uintptr) error {
	return cErr(C.zp_lock(ptr(addr), C.size_t(length)))
}

func (cgoBackend) unlock(addr, length uintptr) error {
	return cErr(C.zp_unlock(ptr(addr), C.size_t(length)))
}

func (cgoBackend) protect(addr, length uintptr, prot int) error {
	return cErr(C.zp_protect(ptr(addr), C.size_t(length), C.int(prot)))
}

func (cgoBackend) advise(addr, length uintptr, advice int) error {
	return cErr(C.zp_advise(ptr(addr), C.size_t(length), C.int(advice)))
}

func cErr(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return unix.Errno(-rc)
}
