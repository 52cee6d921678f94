package pool

import (
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
