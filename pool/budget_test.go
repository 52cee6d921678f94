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

func TestMaxIdleBytes(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxIdleBytes: 8 * MiB})
	var bufs [][]byte
	for range 10 {
		b := p.Get(4 * MiB)
		b[0] = 1
		bufs = append(bufs, b)
	}
	s := p.Stats()
	require.Equal(t, int64(40*MiB), s.MappedBytes)
	maps := s.Maps
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s = p.Stats()
	assert.LessOrEqual(t, s.IdleBytes, int64(8*MiB), "idle bytes stay within MaxIdleBytes")
	assert.Positive(t, s.Idle, "buffers within the bound are kept")
	assert.Zero(t, s.InUse)
	assert.Equal(t, s.IdleBytes, s.MappedBytes, "the buffers beyond the bound are unmapped")
	assert.Equal(t, uint64(10-s.Idle), s.Unmaps)
	assert.Equal(t, maps, s.Maps)
	assert.Equal(t, uint64(10), s.Puts, "a Put that unmaps is still an accepted Put")
	assert.Zero(t, s.Rejected)

	// The kept buffers are reused, and the pool still works.
	idle := s.Idle
	before := s
	bufs = bufs[:0]
	for range idle {
		bufs = append(bufs, p.Get(4*MiB))
	}
	assert.Equal(t, before.Hits+uint64(idle), p.Stats().Hits)
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	roundTrip(t, p, 4*MiB)
}

// The bound holds over many sizes and many Puts, P caches included.
func TestMaxIdleBytesMixedSizes(t *testing.T) {
	const limit = 4 << 20
	p := newPool(t, Config{MaxIdleBytes: limit})
	sizes := []int{64, 4096, 64 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20}
	var bufs [][]byte
	for range 6 {
		for _, n := range sizes {
			bufs = append(bufs, p.Get(n))
		}
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
		assert.LessOrEqual(t, p.Stats().IdleBytes, int64(limit))
	}
	s := p.Stats()
	assert.Positive(t, s.Idle)
	assert.Zero(t, s.InUse)
}

// MinBufferSize means what the Rust crate's min_buffer_size means: it bounds what the shared
// pool (the depot) keeps; the per-P caches keep every size. So a small buffer put back is
// found again by the next Get on the same P, and only what overflows the P's two magazines
// goes back to its slab.
func TestMinBufferSize(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{MinBufferSize: 4096, LocalCacheSize: 2})
	small := p.Get(1000)
	big := p.Get(4096)
	require.NoError(t, p.Put(small))
	require.NoError(t, p.Put(big))
	s := p.Stats()
	assert.Equal(t, int64(1), classRow(t, s, 1024).Idle, "a 1 KiB buffer below MinBufferSize stays in the P cache")
	assert.Equal(t, int64(1), classRow(t, s, 4096).Idle, "a 4 KiB buffer is kept")
	assert.Equal(t, uint64(2), s.Puts)
	assert.Zero(t, s.Rejected)
	again := p.Get(1000)
	assert.Equal(t, addrOf(small), addrOf(again), "the next Get on this P finds it")
	require.NoError(t, p.Put(again))

	// A burst: the P's two magazines of two keep 4 of each class; the depot keeps the rest
	// of the 4 KiB buffers and none of the 1 KiB ones, which go back to their slab.
	var bufs [][]byte
	for range 10 {
		bufs = append(bufs, p.Get(1000), p.Get(4096))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s = p.Stats()
	assert.Equal(t, int64(4), classRow(t, s, 1024).Idle, "below MinBufferSize: the P's magazines only")
	assert.Equal(t, int64(10), classRow(t, s, 4096).Idle, "at MinBufferSize: the depot keeps them")

	// Sizes below MinBufferSize are still served from memory already used: a hit.
	maps, misses := s.Maps, classRow(t, s, 1024).Misses
	for range 12 {
		roundTrip(t, p, 1000)
	}
	s = p.Stats()
	assert.Equal(t, maps, s.Maps)
	assert.Equal(t, misses, classRow(t, s, 1024).Misses)

	// A MinBufferSize between classes keeps only the classes at or above it in the depot.
	q := newPool(t, Config{MinBufferSize: 3000, LocalCacheSize: 1})
	bufs = bufs[:0]
	for range 4 {
		bufs = append(bufs, q.Get(2048), q.Get(4096))
	}
	for _, b := range bufs {
		require.NoError(t, q.Put(b))
	}
	s = q.Stats()
	assert.Equal(t, int64(2), classRow(t, s, 2048).Idle)
	assert.Equal(t, int64(4), classRow(t, s, 4096).Idle)
}

// A tiny pool holds at most two magazines of LocalCacheSize buffers per P per class, and in
// its depot what MaxIdleBytes allows; the rest go back to their slab, whose free slots are
// handed out again before any new mapping.
func TestTinyPoolBounds(t *testing.T) {
	oneP(t)
	const idleBound = 1 << 20
	p := newPool(t, Config{LocalCacheSize: 1, NumShards: 1, MaxIdleBytes: idleBound})
	var bufs [][]byte
	for range 400 {
		bufs = append(bufs, p.Get(4096))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s := p.Stats()
	assert.LessOrEqual(t, s.IdleBytes, int64(idleBound))
	assert.Greater(t, s.Idle, int64(2), "the depot keeps more than the P's two magazines of one")
	assert.Less(t, s.Idle, int64(400), "not all 400: MaxIdleBytes")
	assert.Equal(t, uint64(400), s.Puts)
	maps := s.Maps
	for i := range bufs {
		bufs[i] = p.Get(4096)
	}
	assert.Equal(t, maps, p.Stats().Maps, "the slab's free slots are reused")
	seen := map[uintptr]bool{}
	for _, b := range bufs {
		assert.False(t, seen[addrOf(b)], "buffer %#x handed out twice", addrOf(b))
		seen[addrOf(b)] = true
		require.NoError(t, p.Put(b))
	}
}

// A class too big for the P caches' magazines is held by the depot alone, at most
// MaxBuffersPerShard buffers per shard.
func TestMaxBuffersPerShardBoundsLooseBuffers(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{NumShards: 1, MaxBuffersPerShard: 2, MaxIdleBytes: 64 << 10})
	require.Zero(t, p.classes[classOf(4096)].mag, "no magazines for 4 KiB with a 64 KiB idle bound")
	var bufs [][]byte
	for range 6 {
		bufs = append(bufs, p.Get(4096))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	assert.Equal(t, int64(2), p.Stats().Idle)
}

// MaxIdleBytes bounds what the pool keeps: 16 buffers of 4 MiB, all touched, come back to a
// pool that may keep 8 MiB idle; the rest goes back to the system at once, so resident memory
// stays within the bound.
func TestMaxIdleBytesBoundsResidentMemory(t *testing.T) {
	needsMappedMemory(t, "resident memory given back when a buffer is unmapped")
	const MiB = 1 << 20
	const bound = 8 * MiB
	p := newPool(t, Config{MaxIdleBytes: bound})
	base := rssAnon(t)
	var bufs [][]byte
	for range 16 {
		b := p.Get(4 * MiB)
		touchPages(b)
		bufs = append(bufs, b)
	}
	peak := rssAnon(t)
	require.Equal(t, int64(64*MiB), resident(t, bufs), "64 MiB out and resident")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	after := rssAnon(t)
	// Only the buffers whose regions the pool still has: the kernel reuses a freed range at
	// once (a new thread's stack lands there), and what it maps there is not the pool's.
	var kept [][]byte
	regions := p.Regions()
	for _, b := range bufs {
		for _, r := range regions {
			if lo := addrOf(r.Mem); lo <= addrOf(b) && addrOf(b) < lo+uintptr(len(r.Mem)) {
				kept = append(kept, b)
			}
		}
	}
	require.NotEmpty(t, kept, "the pool keeps some of the buffers idle")
	assert.LessOrEqual(t, resident(t, kept), int64(bound), "what is resident of the buffers the pool keeps stays within the bound")
	s := p.Stats()
	t.Logf("RssAnon: %s before, %s with 64 MiB out, %s after the Puts; %s", FormatBytes(base),
		FormatBytes(peak), FormatBytes(after), s)
	assert.LessOrEqual(t, s.IdleBytes, int64(bound))
	assert.LessOrEqual(t, s.MappedBytes, int64(bound))
	assert.Positive(t, s.Idle, "the pool still keeps what fits")
	if !raceEnabled { // the race detector's shadow memory moves RssAnon by itself
		assert.LessOrEqual(t, after-base, int64(bound+4*MiB), "resident memory grew by no more than the bound (and some slack)")
	}
}
