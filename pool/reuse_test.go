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
