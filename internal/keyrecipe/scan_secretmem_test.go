//go:build linux && (amd64 || arm64 || riscv64)

package keyrecipe

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Memory of memfd_secret(2) is removed from the kernel's direct map, so /proc/self/mem cannot
// read it (the read fails with EIO): a copy of a needle there is not found, and its pages are
// counted as refused. (The architectures of this file are those golang.org/x/sys declares the
// call for.)
func TestScanCannotReadSecretMem(t *testing.T) {
	fd, err := unix.MemfdSecret(0)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("the kernel has no memfd_secret (or it is disabled: secretmem.enable=0)")
	}
	require.NoError(t, err)
	defer func() { assert.NoError(t, unix.Close(fd)) }()
	const size = 64 << 10
	require.NoError(t, unix.Ftruncate(fd, size))
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) {
		t.Skipf("RLIMIT_MEMLOCK too small for %d bytes of secretmem: %v", size, err)
	}
	require.NoError(t, err)
	defer func() { assert.NoError(t, unix.Munmap(mem)) }()

	n := randomNeedle(t, 32)
	copy(mem[4096:], n)
	procMem, err := os.Open("/proc/self/mem")
	require.NoError(t, err)
	defer func() { assert.NoError(t, procMem.Close()) }()
	_, err = procMem.ReadAt(make([]byte, 32), int64(addrOf(mem)+4096))
	assert.ErrorIs(t, err, unix.EIO, "a read of memfd_secret memory through /proc/self/mem")

	rep, err := Scan([][]byte{n})
	require.NoError(t, err)
	assert.Empty(t, hitsIn(rep, 0, RangeOf(mem)), "a copy in memfd_secret memory was read")
	assert.NotEmpty(t, hitsIn(rep, 0, RangeOf(n)), "the needle's own heap copy was not found")
	assert.GreaterOrEqual(t, rep.Unreadable, int64(size))
}
