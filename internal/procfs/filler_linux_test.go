package procfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
)

// TestMapFiller: the filler takes the process to vm.max_map_count, where the kernel refuses
// to unmap a page from the middle of a mapping, and gives entries back on Release.
func TestMapFiller(t *testing.T) {
	if err := CanFillMapCount(); err != nil {
		t.Skip(err)
	}
	if !childtest.Is("TestMapFiller") {
		out, err := childtest.Run(t, "TestMapFiller", childtest.Options{})
		require.NoError(t, err, "child:\n%s", out)
		assert.Contains(t, out, "--- PASS: TestMapFiller")
		return
	}
	pg := os.Getpagesize()
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(3*pg), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	mid := uintptr(p) + uintptr(pg)
	f, err := NewMapFiller()
	require.NoError(t, err)
	defer func() { assert.NoError(t, f.Close()) }()
	require.NoError(t, f.Fill())
	limit, err := MaxMapCount()
	require.NoError(t, err)
	n, err := MapCount()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, limit, "at the limit (a new mapping that merges with nothing may still pass it by one)")
	_, _, e := unix.Syscall(unix.SYS_MUNMAP, mid, uintptr(pg), 0)
	assert.Equal(t, unix.ENOMEM, e, "unmapping from the middle needs a split")
	require.NoError(t, f.Release(8))
	n2, err := MapCount()
	require.NoError(t, err)
	assert.Less(t, n2, limit-8, "Release(8) gave back entries (the runtime may have taken one or two since)")
	_, _, e = unix.Syscall(unix.SYS_MUNMAP, mid, uintptr(pg), 0)
	assert.Zero(t, e, "below the limit the split is allowed")
	require.NoError(t, f.Fill(), "filling again")
	n3, err := MapCount()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n3, limit)
}
