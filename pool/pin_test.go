//go:build linux

package pool

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/offheap"
)

// With Pinned, every slab and mapping is locked: smaps shows "lo" on its VMA and the kernel's
// VmLck count grows by the bytes mapped. Needs CAP_IPC_LOCK (as root), which lifts
// RLIMIT_MEMLOCK; TestPinningDegradesGracefully covers the unprivileged case.
func TestPinnedPool(t *testing.T) {
	needsLinux(t, "pinning (mlock, VmLck)")
	if !hasCapIPCLock() {
		t.Skip("needs CAP_IPC_LOCK (run as root) so that mlock is not bounded by RLIMIT_MEMLOCK")
	}
	locked0 := vmLck(t)
	p, err := NewWithConfig(Config{Pinned: true, MaxBufferSize: 8 << 20})
	require.NoError(t, err)
	sizes := []int{100, 4096, 256 << 10, 1 << 20, 4 << 20, 16 << 20 /* oversize */}
	var bufs [][]byte
	for _, n := range sizes {
		b := p.Get(n)
		b[0] = 1
		bufs = append(bufs, b)
		flags, err := offheap.VmFlags(b)
		require.NoError(t, err)
		assert.Contains(t, flags, "lo", "Get(%d): the buffer's mapping is locked; VmFlags %v", n, flags)
	}
	s := p.Stats()
	assert.Zero(t, s.PinFailures)
	assert.Positive(t, s.PinnedBytes)
	assert.Equal(t, s.MappedBytes, s.PinnedBytes, "every mapping is pinned")
	assert.GreaterOrEqual(t, vmLck(t)-locked0, s.MappedBytes, "VmLck grows by at least the bytes mapped")
	assert.Contains(t, s.String(), "pin-failures=0")

	// Reuse keeps the buffers pinned; Put of the oversize buffer unlocks it with its unmapping.
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s = p.Stats()
	assert.Equal(t, s.MappedBytes, s.PinnedBytes)
	b := p.Get(4096)
	ok, err := offheap.HasVmFlags(b, "lo")
	require.NoError(t, err)
	assert.True(t, ok, "a reused buffer is still pinned")
	require.NoError(t, p.Put(b))

	require.NoError(t, p.Close())
	assert.Zero(t, p.Stats().PinnedBytes)
	assert.Equal(t, locked0, vmLck(t), "Close gives back every locked byte")
}

// Where mlock fails (an unprivileged user with a tiny RLIMIT_MEMLOCK) a Pinned pool keeps
// working unpinned and says so in Stats. The test runs in a child process as uid/gid 65534
// with RLIMIT_MEMLOCK lowered to 64 KiB.
func TestPinningDegradesGracefully(t *testing.T) {
	needsLinux(t, "pinning (mlock, RLIMIT_MEMLOCK)")
	if childtest.Is(t.Name()) {
		pinningChild(t)
		return
	}
	childtest.SkipUnlessRoot(t)
	out, err := childtest.Run(t, t.Name(), childtest.Options{Unprivileged: true})
	t.Logf("child output:\n%s", out)
	require.NoError(t, err, "the child failed:\n%s", out)
	assert.Contains(t, out, "--- PASS: "+t.Name())
	v := childtest.Values(t, out)
	require.Contains(t, v, "uid", "child output:\n%s", out)
	assert.Equal(t, int64(childtest.Nobody), v["uid"], "the child ran unprivileged")
	assert.Equal(t, int64(64<<10), v["memlock"])
	assert.Positive(t, v["pin-failures"], "the failure to pin is reported")
	assert.Equal(t, v["maps"], v["pin-failures"], "once per mapping, not per Get")
	assert.Zero(t, v["pinned-bytes"])
	assert.Positive(t, v["gets"])
	assert.Zero(t, v["in-use"])
}

func pinningChild(t *testing.T) {
	lim := unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim))
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim))
	require.False(t, hasCapIPCLock(), "the child must not be able to lock beyond its limit")

	p, err := NewWithConfig(Config{Pinned: true, MaxBufferSize: 4 << 20})
	require.NoError(t, err)
	sizes := []int{100, 4096, 64 << 10, 1 << 20, 8 << 20 /* oversize */}
	for round := range 3 {
		var bufs [][]byte
		for _, n := range sizes {
			b, err := p.TryGet(n)
			require.NoError(t, err, "round %d: TryGet(%d)", round, n)
			require.Len(t, b, n)
			b[0], b[n-1] = byte(round), byte(round)
			flags, err := offheap.VmFlags(b)
			require.NoError(t, err)
			assert.False(t, slices.Contains(flags, "lo"), "Get(%d) is not locked: %v", n, flags)
			bufs = append(bufs, b)
		}
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
	}
	s := p.Stats()
	assert.Positive(t, s.PinFailures)
	assert.Zero(t, s.PinnedBytes)
	assert.Zero(t, vmLck(t))
	fmt.Printf("child: uid=%d memlock=%d pin-failures=%d pinned-bytes=%d maps=%d gets=%d in-use=%d\n",
		os.Getuid(), lim.Cur, s.PinFailures, s.PinnedBytes, s.Maps, s.Gets, s.InUse)
	require.NoError(t, p.Close())
}
