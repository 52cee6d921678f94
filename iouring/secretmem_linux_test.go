//go:build !zeropool_portable

package iouring

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

// Memory of memfd_secret(2) is gone from the kernel's direct map, so the kernel cannot pin
// it for I/O: registering it fails with EFAULT, and the table stays as it was.
func TestSecretMemCannotRegister(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	fd, _, errno := unix.Syscall(unix.SYS_MEMFD_SECRET, unix.O_CLOEXEC, 0, 0)
	if errno != 0 {
		t.Skipf("memfd_secret: %v (the kernel lacks it, or secretmem is disabled)", errno)
	}
	defer unix.Close(int(fd))
	const n = 2 << 20
	require.NoError(t, unix.Ftruncate(int(fd), n))
	mem, err := unix.Mmap(int(fd), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	defer func() { require.NoError(t, unix.Munmap(mem)) }()
	mem[0] = 1 // secret memory is there for the process itself
	err = tb.OnMap(pool.Region{ID: 1, Mem: mem, Class: n})
	require.ErrorIs(t, err, unix.EFAULT)
	assert.Contains(t, err.Error(), "cannot pin")
	assert.Empty(t, tb.spansNow())
	assert.Len(t, tb.free, 8, "no slot taken")
}
