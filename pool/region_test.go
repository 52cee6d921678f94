package pool

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zeropool-go/zeropool/offheap"
)

// A buffer's state byte follows the transition table through a Get, a Retain, two Puts
// and a double Put.
func TestStateTransitionsOfOneBuffer(t *testing.T) {
	p := newPool(t, Config{})
	keep := p.Get(4096) // out of the same slab, which Trim then keeps mapped
	b := p.Get(4096)
	a := addrOfSlice(b)
	st, ok := lookup(a).slot(a)
	require.True(t, ok)
	assert.Equal(t, uint8(stateOut), *st)
	require.NoError(t, p.Retain(b))
	assert.Equal(t, uint8(stateShared), *st)
	require.NoError(t, p.Put(b))
	assert.Equal(t, uint8(stateShared), *st, "one reference left")
	require.NoError(t, p.Put(b))
	assert.Equal(t, uint8(stateIdle), *st)
	assert.ErrorIs(t, p.Put(b), ErrDoublePut)
	assert.Equal(t, uint8(stateIdle), *st)
	p.Trim()
	require.Same(t, lookup(addrOfSlice(keep)), lookup(a), "one slab")
	assert.Equal(t, uint8(stateFree), *st, "back on its slab's free list")
	require.NoError(t, p.Put(keep))
}

// The table allows exactly what region.go's comment lists: broken is final, new is never
// entered again, and a shared buffer goes back to out only.
func TestStateMovesTable(t *testing.T) {
	allowed := func(from, to uint8) bool { return stateMoves[from]&(1<<to) != 0 }
	for from := range uint8(len(stateMoves)) {
		assert.False(t, allowed(from, stateNew), "nothing goes back to new (from %d)", from)
		assert.False(t, allowed(stateBroken, from), "broken is final (to %d)", from)
	}
	assert.True(t, allowed(stateIdle, stateOut))
	assert.True(t, allowed(stateOut, stateIdle))
	assert.False(t, allowed(stateFree, stateFree), "a double release")
	assert.False(t, allowed(stateOut, stateFree), "a buffer out is never released")
	assert.False(t, allowed(stateShared, stateIdle), "the last reference turns it out first")
}

// MaxMappedBytes bounds what the pool maps: a Get beyond it fails with ErrExhausted, the pool
// unchanged, and serves again when memory is put back.
func TestMaxMappedBytes(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{MaxMappedBytes: 4 << 20})
	a := p.Get(2 << 20)
	b := p.Get(2 << 20)
	_, err := p.TryGet(1 << 20)
	require.ErrorIs(t, err, ErrExhausted)
	assert.LessOrEqual(t, p.Stats().MappedBytes, int64(4<<20))
	require.NoError(t, p.Put(a))
	c, err := p.TryGet(2 << 20)
	require.NoError(t, err, "the idle buffer serves")
	require.NoError(t, p.Put(c))
	require.NoError(t, p.Put(b))
	_, err = p.TryGet(1 << 20)
	require.NoError(t, err, "idle memory of another class is given back to make room")
	_, err = NewWithConfig(Config{MaxMappedBytes: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// Populate makes a region resident when it is mapped; DontFork sets MADV_DONTFORK ("dc").
func TestPopulateAndDontFork(t *testing.T) {
	p := newPool(t, Config{Populate: true, DontFork: true})
	b := p.Get(1 << 20)
	assert.Equal(t, int64(1<<20), resident(t, [][]byte{b}), "every page is resident before the first touch")
	flags, err := offheap.VmFlags(b)
	require.NoError(t, err)
	assert.Contains(t, flags, "dc", "MADV_DONTFORK")
	require.NoError(t, p.Put(b))
	q := newPool(t, Config{})
	c := q.Get(1 << 20)
	assert.Zero(t, resident(t, [][]byte{c}), "without Populate nothing is resident yet")
	require.NoError(t, q.Put(c))
}

// Owner recovers the whole buffer from an interior slice while it is out, so it can be put
// back; anything else is ErrNotOwned.
func TestOwner(t *testing.T) {
	for _, cfg := range []Config{{}, {Secure: true}} {
		p := newPool(t, cfg)
		for _, n := range []int{32, 100, 4096, 64 << 10, 1 << 20} {
			b := p.Get(n)
			for _, k := range []int{0, 1, n / 2, n - 1} {
				w, err := p.Owner(b[k:])
				require.NoError(t, err, "size %d offset %d", n, k)
				assert.Equal(t, addrOf(b), addrOf(w))
				assert.Equal(t, cap(b), len(w))
				assert.Equal(t, cap(w), len(w))
			}
			w, _ := p.Owner(b[n/2:])
			require.NoError(t, p.Put(w))
			_, err := p.Owner(b)
			assert.ErrorIs(t, err, ErrNotOwned, "an idle buffer has no owner")
		}
		_, err := p.Owner(make([]byte, 8))
		assert.ErrorIs(t, err, ErrNotOwned)
		_, err = p.Owner(nil)
		assert.ErrorIs(t, err, ErrNotOwned)
	}
	// A canary between two Secure slots is no buffer's.
	p := newPool(t, Config{Secure: true})
	b := p.Get(32)
	canary := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), cap(b))), 8)
	_, err := p.Owner(canary)
	assert.ErrorIs(t, err, ErrNotOwned)
	require.NoError(t, p.Put(b))
}
