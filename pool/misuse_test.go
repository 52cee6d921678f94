package pool

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/offheap"
)

// badPut runs one Put that the pool must refuse with want, and checks that the refusal is
// counted and left the pool serving correctly.
func badPut(t *testing.T, p *BufferPool, buf []byte, want error) {
	t.Helper()
	before := p.Stats()
	err := p.Put(buf)
	require.Error(t, err)
	assert.True(t, errors.Is(err, want), "Put returned %v, want %v", err, want)
	after := p.Stats()
	assert.Equal(t, before.Rejected+1, after.Rejected, "the refused Put is counted")
	assert.Equal(t, before.Puts, after.Puts, "a refused Put is not a Put")
	assert.Equal(t, before.InUse, after.InUse, "a refused Put changes nothing")
	assert.Equal(t, before.Idle, after.Idle, "a refused Put changes nothing")
	roundTrip(t, p, 4096)
	roundTrip(t, p, 100)
}

func TestPutRejectsForeignMemory(t *testing.T) {
	p := newPool(t, Config{})
	other := newPool(t, Config{})
	held := p.Get(4096) // so that the pool has a slab and a buffer out
	held[0] = 9

	t.Run("heap slice", func(t *testing.T) {
		badPut(t, p, make([]byte, 4096), ErrNotOwned)
		badPut(t, p, make([]byte, 1), ErrNotOwned)
	})
	t.Run("stack array", func(t *testing.T) {
		var a [64]byte
		badPut(t, p, a[:], ErrNotOwned)
	})
	t.Run("foreign mapping", func(t *testing.T) {
		m, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		require.NoError(t, err)
		defer func() { assert.NoError(t, unix.Munmap(m)) }()
		badPut(t, p, m, ErrNotOwned)
		badPut(t, p, m[4096:], ErrNotOwned)
		o, err := offheap.Alloc(64 << 10)
		require.NoError(t, err)
		defer func() { assert.NoError(t, offheap.Free(o)) }()
		badPut(t, p, o, ErrNotOwned)
	})
	// A pooled 512 KiB buffer has a 2 MiB-aligned mapping of its own; the rest of its 2 MiB
	// granule is free address space, where another mapping can land. Memory there is not
	// the pool's, though the pool's index finds the buffer's mapping for it.
	t.Run("foreign mapping beside a pooled buffer", func(t *testing.T) {
		b := p.Get(512 << 10)
		defer func() { assert.NoError(t, p.Put(b)) }()
		at := addrOf(b) + 1<<20
		raw, err := unix.MmapPtr(-1, 0, ptr(at), 4096, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_ANON|unix.MAP_PRIVATE|unix.MAP_FIXED_NOREPLACE)
		if err != nil {
			t.Skipf("cannot map at %#x: %v", at, err)
		}
		defer func() { assert.NoError(t, unix.MunmapPtr(raw, 4096)) }()
		if uintptr(raw) != at { // kernels before 4.17 take the address as a hint
			t.Skipf("the kernel mapped %#x instead of %#x", uintptr(raw), at)
		}
		badPut(t, p, unsafe.Slice((*byte)(raw), 4096), ErrNotOwned)
	})
	t.Run("another pool's buffer", func(t *testing.T) {
		for _, n := range []int{100, 4096, 1 << 20} {
			b := other.Get(n)
			badPut(t, p, b, ErrNotOwned)
			assert.NoError(t, other.Put(b), "the buffer still belongs to its own pool")
		}
	})
	t.Run("moved by append", func(t *testing.T) {
		b := p.Get(64)
		b = b[:cap(b)]
		orig := b
		b = append(b, 1) // beyond cap: append copies to the Go heap
		require.NotEqual(t, addrOf(orig), addrOf(b))
		require.True(t, onGoHeap(b))
		badPut(t, p, b, ErrNotOwned)
		assert.NoError(t, p.Put(orig), "the original buffer is still out and goes back")
	})
	assert.Equal(t, byte(9), held[0], "no refused Put touched a buffer that is out")
	require.NoError(t, p.Put(held))
	assert.Zero(t, p.Stats().InUse)
}

// A slice that starts inside a buffer is not the buffer. The page-aligned b[4096:] matters
// most: it looks like a buffer start to a check that only tests page alignment. The buffers
// are larger than 4 KiB: b[4096:] of a buffer of exactly 4 KiB is empty, and the gc compiler
// keeps an empty slice's pointer at b's start, so that slice is really b[:0].
func TestPutRejectsInteriorSlices(t *testing.T) {
	p := newPool(t, Config{MaxBufferSize: 4 << 20})
	sizes := []int{
		8 << 10,  // slab class
		64 << 10, // slab class
		1 << 20,  // mapping of its own
		6 << 20,  // above MaxBufferSize: oversize mapping
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := p.Get(n)
			b[0] = 0x11
			for _, k := range []int{1, 64, 4096, n / 2} {
				badPut(t, p, b[k:], ErrNotOwned)
			}
			assert.Equal(t, byte(0x11), b[0])
			assert.Equal(t, int64(1), p.Stats().InUse, "the buffer is still out")
			assert.NoError(t, p.Put(b), "and goes back whole")
			assert.Zero(t, p.Stats().InUse)
		})
	}
}

func TestPutRejectsDoublePut(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		size int
	}{
		{"small class, P cache", Config{}, 100},
		{"page class, P cache", Config{}, 4096},
		{"mapping class", Config{}, 1 << 20},
		// with tiny bounds the buffer goes through the shard, or back to its slab
		{"tiny pool", Config{LocalCacheSize: 1, NumShards: 1, MaxBuffersPerShard: 1}, 4096},
		{"below MinBufferSize, back on the slab", Config{MinBufferSize: 1 << 20}, 4096},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.cfg)
			// Several buffers, so that the pool's caches and shards are exercised, and one
			// still out, so that a slab stays mapped.
			keep := p.Get(tc.size)
			var bufs [][]byte
			for range 4 {
				bufs = append(bufs, p.Get(tc.size))
			}
			for _, b := range bufs {
				require.NoError(t, p.Put(b))
			}
			for _, b := range bufs {
				badPut(t, p, b, ErrDoublePut)
				badPut(t, p, b[:0], ErrDoublePut)
			}
			// The buffers come back exactly once each: no Get hands out a buffer twice.
			seen := map[uintptr]bool{addrOf(keep): true}
			for range 4 {
				b := p.Get(tc.size)
				assert.False(t, seen[addrOf(b)], "buffer %#x handed out twice", addrOf(b))
				seen[addrOf(b)] = true
				bufs = append(bufs, b)
			}
			for _, b := range bufs[4:] {
				require.NoError(t, p.Put(b))
			}
			require.NoError(t, p.Put(keep))
			assert.Zero(t, p.Stats().InUse)
		})
	}
}

func TestPutAcceptsResliced(t *testing.T) {
	p := newPool(t, Config{})
	for _, n := range []int{1, 100, 4096, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for name, reslice := range map[string]func([]byte) []byte{
				"b[:0]":         func(b []byte) []byte { return b[:0] },
				"b[:0:0]":       func(b []byte) []byte { return b[:0:0] },
				"b[:1]":         func(b []byte) []byte { return b[:1] },
				"b[:cap(b)]":    func(b []byte) []byte { return b[:cap(b)] },
				"append(b[:0])": func(b []byte) []byte { return append(b[:0], 'x') },
			} {
				b := p.Get(n)
				before := p.Stats()
				assert.NoError(t, p.Put(reslice(b)), "Put(%s)", name)
				after := p.Stats()
				assert.Equal(t, before.Puts+1, after.Puts, "Put(%s)", name)
				assert.Equal(t, before.Rejected, after.Rejected, "Put(%s)", name)
				assert.Equal(t, before.InUse-1, after.InUse, "Put(%s)", name)
			}
		})
	}
}

func TestPutNil(t *testing.T) {
	p := newPool(t, Config{})
	assert.NoError(t, p.Put(nil))
	assert.NoError(t, p.Put([]byte(nil)[:0]))
	s := p.Stats()
	assert.Zero(t, s.Rejected)
	assert.Zero(t, s.Puts)
	roundTrip(t, p, 4096)
}

// Buffers above MaxBufferSize are served from a mapping of their own, which their Put unmaps.
func TestOversizeBuffers(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBufferSize: 1 * MiB})
	small := p.Get(4096)
	base := p.Stats()

	b := p.Get(3 * MiB)
	require.Len(t, b, 3*MiB)
	b[0], b[len(b)-1] = 1, 2
	s := p.Stats()
	assert.Equal(t, base.Gets+1, s.Gets)
	assert.Equal(t, base.Misses+1, s.Misses)
	assert.Equal(t, base.InUse+1, s.InUse)
	assert.Equal(t, base.InUseBytes+3*MiB, s.InUseBytes)
	assert.Equal(t, base.MappedBytes+3*MiB, s.MappedBytes)

	require.NoError(t, p.Put(b))
	s = p.Stats()
	assert.Equal(t, base.Unmaps+1, s.Unmaps, "Put unmaps an oversize buffer")
	assert.Equal(t, base.MappedBytes, s.MappedBytes)
	assert.Equal(t, base.InUse, s.InUse)
	assert.Equal(t, base.InUseBytes, s.InUseBytes)
	assert.Equal(t, base.Idle, s.Idle, "an oversize buffer is never kept")

	before := p.Stats()
	err := p.Put(b)
	assert.Error(t, err, "a second Put of an unmapped oversize buffer is refused")
	assert.True(t, errors.Is(err, ErrDoublePut) || errors.Is(err, ErrNotOwned), "%v", err)
	assert.Equal(t, before.Rejected+1, p.Stats().Rejected)
	assert.Equal(t, before.Unmaps, p.Stats().Unmaps, "nothing is unmapped twice")

	// Many in a row: the address space is given back, and reused.
	for range 20 {
		c := p.Get(2*MiB + 1)
		c[len(c)-1] = 1
		require.NoError(t, p.Put(c))
	}
	assert.Equal(t, base.MappedBytes, p.Stats().MappedBytes)
	require.NoError(t, p.Put(small))
	roundTrip(t, p, 5*MiB)
}

func TestTryGetInvalidSize(t *testing.T) {
	p := newPool(t, Config{})
	for _, n := range []int{-1, -4096, math.MinInt, 1 << 50, math.MaxInt} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b, err := p.TryGet(n)
			assert.Nil(t, b)
			assert.True(t, errors.Is(err, ErrInvalidSize), "TryGet(%d): %v", n, err)
			err = mustPanicWith(t, func() { p.Get(n) })
			assert.True(t, errors.Is(err, ErrInvalidSize), "Get(%d) panics with %v", n, err)
			err = mustPanicWith(t, func() { p.GetZeroed(n) })
			assert.True(t, errors.Is(err, ErrInvalidSize), "GetZeroed(%d) panics with %v", n, err)
		})
	}
	s := p.Stats()
	assert.Zero(t, s.Gets, "failed Gets are not counted as Gets")
	assert.Zero(t, s.MappedBytes)
	roundTrip(t, p, 4096)
}
