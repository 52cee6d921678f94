package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The page map answers for every granule set and for no other, and clearing moves the unmap
// epoch on (the lookup-free Put of local.last relies on it).
func TestPageMapSetLookupClear(t *testing.T) {
	initPageMap()
	// A range far above anything this process maps (but inside the 47-bit space).
	lo := addr(1<<46 + 7*granuleSize)
	hi := lo + 3*granuleSize
	r := &region{}
	require.True(t, setPages(lo, hi, r))
	for a := lo; a < hi; a += granuleSize / 2 {
		assert.Same(t, r, lookup(a), "%#x", a)
	}
	assert.Same(t, r, lookup(hi-1))
	assert.Nil(t, lookup(lo-1), "the granule below")
	assert.Nil(t, lookup(hi), "the granule above")

	epoch := unmapEpoch.Load()
	require.True(t, setPages(lo, hi, nil))
	assert.Greater(t, unmapEpoch.Load(), epoch, "clearing moves the epoch on")
	for a := lo; a < hi; a += granuleSize {
		assert.Nil(t, lookup(a), "%#x", a)
	}
}

func TestPageMapRefusesRangesBeyondTheAddressSpace(t *testing.T) {
	initPageMap()
	r := &region{}
	assert.False(t, setPages(1<<addrBits-granuleSize, 1<<addrBits+granuleSize, r))
	assert.False(t, setPages(granuleSize, granuleSize, r), "empty range")
	assert.Nil(t, lookup(1<<addrBits-granuleSize), "nothing changed")
}
