package pool

// Tests of the fast paths and their dispatch (pool.go): the shapes Get hands out, and what
// Put accepts.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

func TestGetShapes(t *testing.T) {
	const KiB, MiB = 1 << 10, 1 << 20
	sizes := []int{
		1, 63, 64, 65, 1000, 4095, 4096, 4097,
		64 * KiB, 256 * KiB, 256*KiB + 1, // the largest slab class and the first one above it
		1 * MiB, 3 * MiB, 7*MiB + 5, 8 * MiB,
	}
	pg := offheap.PageSize()
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPool(t, Config{}) // a pool of its own: every buffer is fresh
			b := p.Get(n)
			require.Len(t, b, n)
			class := classFor(n)
			assert.Equal(t, class, cap(b), "cap is the request's class")
			assert.GreaterOrEqual(t, cap(b), minClassSize)
			addr := addrOf(b)
			if n >= 4096 {
				assert.Zero(t, addr%uintptr(pg), "%#x: a buffer of 4 KiB or more starts on a page boundary", addr)
			} else {
				assert.Zero(t, addr%uintptr(class), "%#x: aligned to its class %d", addr, class)
			}
			requireOffHeap(t, b)
			full := b[:cap(b)]
			assert.True(t, allZero(full), "fresh memory is zero")
			for i := 0; i < len(full); i += 512 {
				full[i] = byte(i>>9) | 1
			}
			full[len(full)-1] = 0xee
			assert.Equal(t, byte(0xee), full[cap(b)-1])
			require.NoError(t, p.Put(b))
		})
	}
}

func TestGetZeroSize(t *testing.T) {
	p := newPool(t, Config{})
	b, err := p.TryGet(0)
	require.NoError(t, err)
	assert.NotNil(t, b, "Get(0) returns an empty slice, not nil")
	assert.Len(t, b, 0)
	assert.NoError(t, p.Put(b), "Put of what Get(0) returned")
	assert.NoError(t, p.Put(b), "Get(0) owns no memory: Putting it again is harmless")
	s := p.Stats()
	assert.Zero(t, s.Rejected)
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.MappedBytes, "Get(0) maps nothing")
}

// Requests above MaxBufferSize get a mapping of their own: page-aligned, zeroed, off the heap.
func TestGetOversizeShape(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBufferSize: 1 * MiB})
	for _, n := range []int{1*MiB + 1, 3 * MiB, 5*MiB + 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := p.Get(n)
			require.Len(t, b, n)
			assert.GreaterOrEqual(t, cap(b), n)
			assert.Zero(t, addrOf(b)%uintptr(offheap.PageSize()), "page-aligned")
			requireOffHeap(t, b)
			assert.True(t, allZero(b[:cap(b)]), "fresh memory is zero")
			b[0], b[n-1] = 1, 2
			require.NoError(t, p.Put(b))
		})
	}
}

// The off-heap check must be able to fail: the same helper says yes for heap memory.
func TestOnGoHeapRecognizesHeapMemory(t *testing.T) {
	needsMappedMemory(t, "pool memory outside the Go heap")
	for _, n := range []int{16, 4096, 1 << 20} {
		b := make([]byte, n)
		assert.True(t, onGoHeap(b), "make([]byte, %d) is on the Go heap", n)
	}
	p := newPool(t, Config{})
	b := p.Get(4096)
	assert.False(t, onGoHeap(b))
	require.NoError(t, p.Put(b))
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
