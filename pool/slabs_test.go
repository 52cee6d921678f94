package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/zeropool-go/zeropool/offheap"
)

// A slab's header (state bytes, free stack) and its slots fit in the slab, the slots start on
// a page, and from 4 KiB up each slot's state byte has a line of its own.
func TestSlabLayoutFits(t *testing.T) {
	pg := offheap.PageSize()
	for _, stride := range []int{64, 128, 1024, 4096, 8192, 64 << 10, maxSlabClassSize} {
		for _, guards := range []bool{false, true} {
			hdr, n, colour, gap := slabLayout(stride, guards, 7*cacheLine)
			fence := 0
			if guards {
				fence = 2 * pg
			}
			assert.Zero(t, hdr%pg, "stride %d: slots start on a page", stride)
			assert.LessOrEqual(t, hdr+fence+n*stride, slabSize, "stride %d", stride)
			assert.Greater(t, n, 0)
			assert.LessOrEqual(t, colour+statesBytes(n, gap)+2*n, hdr, "stride %d: the coloured header fits", stride)
			if stride >= 4096 {
				assert.GreaterOrEqual(t, 1<<gap, cacheLine, "stride %d: a state line per slot", stride)
			}
		}
	}
}

// releaseSlots puts a slot back on its slab's free list, and carve hands it out again.
func TestSlabReleaseAndCarve(t *testing.T) {
	p := newPool(t, Config{})
	keep := p.Get(4096) // keeps the slab mapped
	b := p.Get(4096)
	a := addrOfSlice(b)
	r := lookup(a)
	st, _ := r.slot(a)
	setState(st, stateIdle) // as a cache holds it
	nfree := r.nfree
	p.release(entry{a, addrOfState(st)}, r)
	p.countPutUnpinned(r.ci) // as the Put that would have released it
	assert.Equal(t, nfree+1, r.nfree)
	assert.Equal(t, uint8(stateFree), *st)
	e, fresh, _, err := p.carve(r.ci, r.home, nil)
	assert.NoError(t, err)
	assert.False(t, fresh, "a slot used before")
	assert.Equal(t, a, e.addr, "the free slot comes back")
	assert.Equal(t, uint8(stateOut), *st)
	p.countGetUnpinned(r.ci, true) // the Get carve served, so that Stats stays exact
	assert.NoError(t, p.Put(e.addr.bytes(4096)))
	assert.NoError(t, p.Put(keep))
	assert.Zero(t, p.Stats().InUse)
}
