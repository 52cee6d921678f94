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

// The C side reads mapSpec by the header's names. abi_test.go checks every name against
// spec.go in every build mode; this checks, at compile time, what a drift of any of them
// changes: the set of flags, the result bits, the struct's size and the ABI version (a
// negative or out-of-range array length fails to compile).
var _ = [1]struct{}{}[(C.ZP_ALL_FLAGS^specAllFlags)|
	(C.ZP_RESULT_LOCKED^resultLocked)|(C.ZP_RESULT_GUARD_MADVISE^resultGuardMadvise)|
	(C.sizeof_struct_zp_map_spec^unsafe.Sizeof(mapSpec{}))|(C.ZP_ABI_VERSION^abiVersion)]

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
