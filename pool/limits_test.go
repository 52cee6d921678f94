package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestMinBufferSize(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{MinBufferSize: 4096})
	small := p.Get(1000)
	smaller := p.Get(64)
	big := p.Get(4096)
	require.NoError(t, p.Put(small))
	require.NoError(t, p.Put(smaller))
	require.NoError(t, p.Put(big))
	s := p.Stats()
	assert.Zero(t, classRow(t, s, 1024).Idle, "a 1 KiB buffer is below MinBufferSize: not kept")
	assert.Zero(t, classRow(t, s, 64).Idle, "a 64 B buffer is below MinBufferSize: not kept")
	assert.Equal(t, int64(1), classRow(t, s, 4096).Idle, "a 4 KiB buffer is kept")
	assert.Equal(t, uint64(3), s.Puts, "Puts below MinBufferSize are accepted")
	assert.Zero(t, s.Rejected)
	assert.Equal(t, 1, p.Len())

	// Small sizes are still served: not from an idle buffer (none is kept) but from the slot
	// the last Put gave back to its slab, which is memory already used: a hit, not a miss.
	for range 3 {
		roundTrip(t, p, 1000)
	}
	s = p.Stats()
	assert.Equal(t, uint64(1), classRow(t, s, 1024).Misses)
	assert.Equal(t, uint64(3), classRow(t, s, 1024).Hits)
	assert.Zero(t, classRow(t, s, 1024).Idle)

	// A MinBufferSize between classes keeps only the classes at or above it.
	q := newPool(t, Config{MinBufferSize: 3000})
	require.NoError(t, q.Put(q.Get(2048)))
	require.NoError(t, q.Put(q.Get(4096)))
	s = q.Stats()
	assert.Zero(t, classRow(t, s, 2048).Idle)
	assert.Equal(t, int64(1), classRow(t, s, 4096).Idle)
}

// A tiny pool holds at most LocalCacheSize buffers per P and MaxBuffersPerShard per shard for
// each class; the rest go back to their slab.
func TestTinyPoolBounds(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{LocalCacheSize: 1, NumShards: 1, MaxBuffersPerShard: 2})
	var bufs [][]byte
	for range 10 {
		bufs = append(bufs, p.Get(4096))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s := p.Stats()
	assert.LessOrEqual(t, s.Idle, int64(1+2), "one per P cache plus two in the shard")
	assert.Positive(t, s.Idle)
	assert.Equal(t, uint64(10), s.Puts)
	// The slots given back to the slab are handed out again, before any new mapping.
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
