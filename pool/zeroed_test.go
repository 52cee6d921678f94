package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GetZeroed does not touch memory that is zero already: a fresh 64 MiB buffer comes back with
// none of its pages resident, while a reused one is cleared.
func TestGetZeroedLeavesFreshMemoryAlone(t *testing.T) {
	needsMappedMemory(t, "fresh memory untouched until used")
	const MiB = 1 << 20
	oneP(t)
	p := newPool(t, Config{})
	b := p.GetZeroed(64 * MiB)
	assert.Zero(t, resident(t, [][]byte{b}), "a fresh buffer was faulted in by GetZeroed")
	touchPages(b)
	require.NoError(t, p.Put(b))
	c := p.GetZeroed(64 * MiB)
	require.Equal(t, addrOf(b), addrOf(c), "the buffer is reused")
	assert.True(t, allZero(c), "a reused buffer is cleared")
	require.NoError(t, p.Put(c))
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
		// a class too large for the P caches' magazines waits loose in the depot
		{"depot", Config{MaxIdleBytes: 8 << 20}, 4 << 20},
		// no magazines for the class (a small MaxIdleBytes) and no depot for it (below
		// MinBufferSize): the buffer goes back to its slab's free list, and the next Get
		// takes the slot from there
		{"slab free list", Config{MinBufferSize: 1 << 20, MaxIdleBytes: 64 << 10}, 8192},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.cfg)
			// A neighbour stays out, so that the slab stays mapped and the slot is reused
			// from it (an emptied slab may be unmapped, and mapped afresh at the same address).
			neighbour := p.Get(tc.size)
			defer func() { require.NoError(t, p.Put(neighbour)) }()
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

// Buffers put back one after another wait in the P's priv and then its loaded magazine:
// GetZeroed clears each, whichever of the two it comes from.
func TestGetZeroedFromPrivAndMagazine(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	const n, size = 4, 4096
	dirty := map[uintptr]bool{}
	var out [][]byte
	for range n {
		b := p.Get(size)
		full := b[:cap(b)]
		for i := range full {
			full[i] = 0xa5
		}
		dirty[addrOf(b)] = true
		out = append(out, b)
	}
	for _, b := range out {
		require.NoError(t, p.Put(b))
	}
	for i := range n {
		b := p.GetZeroed(size)
		require.True(t, dirty[addrOf(b)], "Get %d reuses a dirty buffer", i)
		assert.True(t, allZero(b[:cap(b)]), "Get %d: GetZeroed zeroes the whole buffer", i)
		out[i] = b
	}
	for _, b := range out {
		require.NoError(t, p.Put(b))
	}
}
