package pool

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReuseSameBuffer(t *testing.T) {
	oneP(t)
	for _, n := range []int{1, 100, 4096, 64 << 10, 1 << 20, 3 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPool(t, Config{})
			a := p.Get(n)
			addr := addrOf(a)
			a[0] = 0x42
			require.NoError(t, p.Put(a))
			b := p.Get(n)
			assert.Equal(t, addr, addrOf(b), "the second Get reuses the buffer the Put gave back")
			assert.Equal(t, byte(0x42), b[0], "reuse does not zero")
			s := p.Stats()
			assert.Equal(t, uint64(1), s.Hits)
			assert.Equal(t, uint64(1), s.Misses)
			require.NoError(t, p.Put(b))
		})
	}
}

func TestStatsCounters(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	s := p.Stats()
	assert.Zero(t, s.Gets)
	assert.Zero(t, s.HitRate(), "no Gets: hit rate 0")
	assert.Empty(t, s.Classes, "no class used yet")

	a := p.Get(4096)
	s = p.Stats()
	assert.Equal(t, uint64(1), s.Gets)
	assert.Equal(t, uint64(1), s.Misses)
	assert.Zero(t, s.Hits)
	assert.Zero(t, s.Puts)
	assert.Equal(t, int64(1), s.InUse)
	assert.Equal(t, int64(4096), s.InUseBytes)
	assert.Zero(t, s.Idle)
	assert.Zero(t, s.IdleBytes)
	assert.Positive(t, s.MappedBytes)
	assert.Equal(t, uint64(1), s.Maps, "one slab")

	require.NoError(t, p.Put(a))
	s = p.Stats()
	assert.Equal(t, uint64(1), s.Puts)
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, int64(1), s.Idle)
	assert.Equal(t, int64(4096), s.IdleBytes)
	assert.Equal(t, 1, p.Len())

	a = p.Get(4000) // same class
	b := p.Get(100)
	s = p.Stats()
	assert.Equal(t, uint64(3), s.Gets)
	assert.Equal(t, uint64(1), s.Hits)
	assert.Equal(t, uint64(2), s.Misses)
	assert.Equal(t, int64(2), s.InUse)
	assert.Equal(t, int64(4096+128), s.InUseBytes, "InUseBytes counts whole classes")
	assert.Zero(t, s.Idle)
	assert.InDelta(t, 1.0/3, s.HitRate(), 1e-9)

	require.NoError(t, p.Put(a))
	require.NoError(t, p.Put(b))
	s = p.Stats()
	assert.Equal(t, uint64(3), s.Puts)
	assert.Zero(t, s.InUse)
	assert.Equal(t, int64(2), s.Idle)
	assert.Equal(t, int64(4096+128), s.IdleBytes)
	assert.Zero(t, s.Rejected)

	require.Len(t, s.Classes, 2, "a row per class used:\n%s", s)
	c4k := classRow(t, s, 4096)
	assert.Equal(t, ClassStats{Size: 4096, Gets: 2, Puts: 2, Hits: 1, Misses: 1, InUse: 0, Idle: 1}, c4k)
	c128 := classRow(t, s, 128)
	assert.Equal(t, ClassStats{Size: 128, Gets: 1, Puts: 1, Hits: 0, Misses: 1, InUse: 0, Idle: 1}, c128)

	str := s.String()
	for _, want := range []string{"gets=3", "puts=3", "hits=1", "misses=2", "rejected=0", "in-use=0", "idle=2", "4 KiB", "128 B"} {
		assert.Contains(t, str, want)
	}
}

func TestGetZeroedAfterDirtyReuse(t *testing.T) {
	oneP(t)
	cases := []struct {
		name string
		cfg  Config
		size int
	}{
		// the buffer waits in the P's cache
		{"local cache", Config{}, 4096},
		{"local cache small", Config{}, 100},
		// a class too large for a P's share of MaxIdleBytes waits in the shards
		{"shard", Config{MaxIdleBytes: 8 << 20}, 4 << 20},
		// buffers below MinBufferSize go back to their slab's free list: the next Get takes
		// the slot from there, not from a cache
		{"slab free list", Config{MinBufferSize: 1 << 20}, 8192},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.cfg)
			a := p.Get(tc.size)
			addr := addrOf(a)
			full := a[:cap(a)]
			for i := range full {
				full[i] = 0xa5
			}
			require.NoError(t, p.Put(a))
			b := p.GetZeroed(tc.size)
			require.Equal(t, addr, addrOf(b), "the dirty buffer is reused")
			require.Len(t, b, tc.size)
			assert.True(t, allZero(b), "GetZeroed zeroes a reused buffer")
			require.NoError(t, p.Put(b))

			c := p.Get(tc.size)
			require.Equal(t, addr, addrOf(c))
			c[0] = 1
			require.NoError(t, p.Put(c))
		})
	}
}

// Idle buffers are not visible to the garbage collector: a collection keeps them all, and
// the next Gets reuse them.
func TestIdleBuffersSurviveGC(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	sizes := []int{64, 4096, 4096, 64 << 10, 1 << 20, 4 << 20}
	addrs := map[uintptr]bool{}
	var bufs [][]byte
	for _, n := range sizes {
		b := p.Get(n)
		b[0] = 7
		addrs[addrOf(b)] = true
		bufs = append(bufs, b)
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	idle := p.Len()
	require.Equal(t, len(sizes), idle)
	bufs = nil
	for range 3 {
		runtime.GC()
	}
	assert.Equal(t, idle, p.Len(), "every idle buffer survives GC")

	before := p.Stats()
	for _, n := range sizes {
		b := p.Get(n)
		assert.True(t, addrs[addrOf(b)], "Get(%d) after GC returns a buffer from before", n)
		assert.Equal(t, byte(7), b[0], "with its contents")
		bufs = append(bufs, b)
	}
	after := p.Stats()
	assert.Equal(t, uint64(len(sizes)), after.Hits-before.Hits, "every Get after GC is a hit")
	assert.Equal(t, before.Misses, after.Misses)
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
}

// A 512 MiB buffer is kept and reused with the default configuration. Only a few pages are
// touched, so resident memory stays small.
func TestReuse512MiB(t *testing.T) {
	const size = 512 << 20
	p := New()
	t.Cleanup(func() { _ = p.Close() })
	d := DefaultConfig(runtime.NumCPU())
	require.Equal(t, d.MaxBufferSize, p.Config().MaxBufferSize, "New uses the defaults")
	require.Equal(t, d.MaxIdleBytes, p.Config().MaxIdleBytes, "New uses the defaults")
	b := p.Get(size)
	require.Len(t, b, size)
	addr := addrOf(b)
	requireOffHeap(t, b)
	b[0], b[size/2], b[size-1] = 1, 2, 3
	require.NoError(t, p.Put(b))
	s := p.Stats()
	assert.Equal(t, int64(1), s.Idle, "the 512 MiB buffer is kept")
	assert.Equal(t, int64(size), s.IdleBytes)

	b = p.Get(size)
	assert.Equal(t, addr, addrOf(b), "the same mapping comes back")
	assert.Equal(t, []byte{1, 2, 3}, []byte{b[0], b[size/2], b[size-1]})
	s = p.Stats()
	assert.Equal(t, uint64(1), s.Hits)
	assert.Equal(t, uint64(1), s.Misses)
	assert.Equal(t, uint64(1), s.Maps, "mapped once")
	require.NoError(t, p.Put(b))
}
