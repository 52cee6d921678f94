package pool

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With hundreds of MiB out, the Go heap grows by less than 1% of those bytes: the buffers are
// not Go objects, and the pool's bookkeeping per buffer is small.
func TestBuffersDoNotGrowGoHeap(t *testing.T) {
	needsMappedMemory(t, "buffers outside the Go heap")
	const n, size = 48, 8 << 20
	const out = n * size
	p := newPool(t, Config{})
	bufs := make([][]byte, 0, n)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		b := p.Get(size)
		b[0], b[size-1] = byte(i), byte(i)
		bufs = append(bufs, b)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, int64(out), p.Stats().InUseBytes)

	grew := func(a, b uint64) int64 { return int64(b) - int64(a) }
	limit := int64(out / 100)
	t.Logf("HeapAlloc %+d, HeapSys %+d, limit %d", grew(before.HeapAlloc, after.HeapAlloc), grew(before.HeapSys, after.HeapSys), limit)
	assert.Less(t, grew(before.HeapAlloc, after.HeapAlloc), limit,
		"HeapAlloc grew by %d bytes with %d bytes out", grew(before.HeapAlloc, after.HeapAlloc), out)
	assert.Less(t, grew(before.HeapSys, after.HeapSys), limit,
		"HeapSys grew by %d bytes with %d bytes out", grew(before.HeapSys, after.HeapSys), out)
	for i, b := range bufs {
		assert.True(t, b[0] == byte(i) && b[size-1] == byte(i), "buffer %d kept its contents across GC", i)
		require.NoError(t, p.Put(b))
	}
}

// Get and Put allocate nothing on the Go heap once a size class is warm.
func TestGetPutAllocatesNothing(t *testing.T) {
	p := newPool(t, Config{})
	for _, n := range []int{4 << 10, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for range 10 { // warm up: slabs, depots and every P's magazines exist
				require.NoError(t, p.Put(p.Get(n)))
			}
			allocs := testing.AllocsPerRun(1000, func() {
				b := p.Get(n)
				b[0] = 1
				if err := p.Put(b); err != nil {
					panic(err)
				}
			})
			assert.Zero(t, allocs, "allocations per Get+Put of %d bytes", n)
			allocs = testing.AllocsPerRun(1000, func() {
				b := p.GetZeroed(n)
				if err := p.Put(b); err != nil {
					panic(err)
				}
			})
			assert.Zero(t, allocs, "allocations per GetZeroed+Put of %d bytes", n)
		})
	}
}
