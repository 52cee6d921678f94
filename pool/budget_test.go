package pool

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The idle budget's three parts share one bound: what one part admits, the others cannot.
func TestIdleBudgetAdmitReserveRelease(t *testing.T) {
	var b idleBudget
	b.init(10 * slabSize) // the P caches' share: 2 slabs' worth
	require.Equal(t, int64(2*slabSize), b.localMax)

	assert.True(t, b.admitDepot(6*slabSize))
	assert.True(t, b.keepEmptySlab())
	assert.True(t, b.keepEmptySlab())
	assert.True(t, b.holdsEmptySlabs())
	assert.True(t, b.reserveLocal(slabSize), "9 of 10 slabs' worth")
	assert.False(t, b.reserveLocal(2*slabSize), "within the P caches' share, but beyond the whole")
	assert.False(t, b.admitDepot(2*slabSize), "beyond the whole")
	assert.True(t, b.admitDepot(slabSize), "exactly the whole")
	assert.False(t, b.keepEmptySlab(), "the bound is reached")
	assert.Equal(t, int64(7*slabSize), b.depot.Load(), "a refused admission leaves its part as it was")
	assert.Equal(t, int64(2*slabSize), b.emptySlabs.Load())
	assert.Equal(t, int64(slabSize), b.local.Load())
	b.check()

	b.releaseDepot(7 * slabSize)
	b.releaseEmptySlab()
	b.releaseEmptySlab()
	assert.False(t, b.holdsEmptySlabs())
	assert.False(t, b.reserveLocal(2*slabSize), "the P caches' share is 2 slabs, 1 is taken")
	assert.True(t, b.reserveLocal(slabSize))
	b.releaseLocal(2 * slabSize)
	assert.Zero(t, b.depot.Load()+b.emptySlabs.Load()+b.local.Load())
	b.check()
}

// Concurrent admissions never pass the bound together: each adds its bytes first and takes
// them back if the sum passes it.
func TestIdleBudgetConcurrentAdmissions(t *testing.T) {
	var b idleBudget
	b.init(100 << 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := int64(0)
	for g := range 8 {
		wg.Go(func() {
			for range 1000 {
				n := int64(1+g) << 10
				var ok bool
				if g%2 == 0 {
					ok = b.admitDepot(n)
				} else {
					ok = b.reserveLocal(n)
				}
				if ok {
					mu.Lock()
					admitted += n
					assert.LessOrEqual(t, admitted, b.max)
					mu.Unlock()
					mu.Lock()
					admitted -= n
					mu.Unlock()
					if g%2 == 0 {
						b.releaseDepot(n)
					} else {
						b.releaseLocal(n)
					}
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, b.depot.Load())
	assert.Zero(t, b.local.Load())
}

// magazineSize keeps a pair of magazines and priv within a pair's share of the P caches'
// budget, and gives no magazines where not even three buffers fit.
func TestIdleBudgetMagazineSize(t *testing.T) {
	var b idleBudget
	b.init(DefaultMaxIdleBytes)
	assert.Equal(t, 4, b.magazineSize(4, 4096))
	for _, size := range []int{4096, 1 << 20, 4 << 20, 8 << 20, 64 << 20} {
		m := b.magazineSize(8, size)
		if m > 0 {
			assert.LessOrEqual(t, int64((2*m+1)*size), b.localMax/pairShare, "size %d", size)
		} else {
			assert.Greater(t, int64(3*size), b.localMax/pairShare, "size %d: three buffers would fit", size)
		}
	}
}
