package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
