package pool

import (
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Mappings the pool knows nothing of, for the misuse catalogue.

// foreignMmap maps 1 MiB the pool knows nothing of, unmapped when the row ends.
func foreignMmap(f *misuseFixture) []byte {
	m, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	require.NoError(f.t, err)
	f.later(func() { assert.NoError(f.t, unix.Munmap(m)) })
	return m
}

// foreignMmapAt maps a page the pool knows nothing of at at, unmapped when the row ends; the
// row is skipped where the kernel cannot map there.
func foreignMmapAt(f *misuseFixture, at uintptr) []byte {
	raw, err := unix.MmapPtr(-1, 0, ptr(at), 4096, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_ANON|unix.MAP_PRIVATE|unix.MAP_FIXED_NOREPLACE)
	if err != nil {
		f.t.Skipf("cannot map at %#x: %v", at, err)
	}
	f.later(func() { assert.NoError(f.t, unix.MunmapPtr(raw, 4096)) })
	if uintptr(raw) != at { // kernels before 4.17 take the address as a hint
		f.t.Skipf("the kernel mapped %#x instead of %#x", uintptr(raw), at)
	}
	return unsafe.Slice((*byte)(raw), 4096)
}
