package pool

import (
	"sync"
	"sync/atomic"
)

// The page map finds the region (slab or mapping) that holds an address in two loads, by the
// address's 2 MiB granule, across the 47-bit user address space. There is one for the whole
// process, shared by every pool, so that a pool costs no page-map memory of its own and New
// stays cheap; each region names its pool, and Put compares. Writers hold pageMapMu; readers
// (every Put) take no lock. Entries are typed pointers: the garbage collector sees every
// region the map refers to.
var pageMap struct {
	l1   [1 << l1Bits]atomic.Pointer[l2Table] // noRegions until one is needed
	once sync.Once                            // points l1 at noRegions, at the first New
}

// pageMapMu serializes writes to the page map.
var pageMapMu sync.Mutex

// noRegions is the second-level table of every part of the address space that holds no
// region. It is never written: with it, a lookup takes no branch before its second load.
var noRegions l2Table

const (
	addrBits = 47
	l2Bits   = 13
	l1Bits   = addrBits - granuleShift - l2Bits
)

type l2Table [1 << l2Bits]atomic.Pointer[region]

// initPageMap readies the page map; New calls it, so that importing the package costs
// nothing.
func initPageMap() {
	pageMap.once.Do(func() {
		for i := range pageMap.l1 {
			pageMap.l1[i].Store(&noRegions)
		}
	})
}

// lookup returns the region whose granules cover addr, or nil. An address beyond the 47-bit
// space wraps onto some granule; the caller's range check against the region it gets (see
// region.slot) refuses it, as it refuses any address a region does not hold.
func lookup(a addr) *region {
	return pageMap.l1[(a>>(granuleShift+l2Bits))&(1<<l1Bits-1)].Load()[(a>>granuleShift)&(1<<l2Bits-1)].Load()
}

// unmapEpoch counts the regions taken out of the page map, by every pool of the process. A P
// that remembers a buffer it handed out (local.last) may read that buffer's state byte
// without a lookup only while the epoch it saw at the Get is still current: no region, so
// no state byte, has been unmapped since.
var unmapEpoch atomic.Uint64

// setPages points every granule of [lo, hi) at r (nil clears, and moves unmapEpoch on before
// the region's memory can go). It reports false, changing nothing, for a range beyond the
// mapped address space.
func setPages(lo, hi addr, r *region) bool {
	if hi > 1<<addrBits || lo >= hi {
		return false
	}
	if r == nil {
		unmapEpoch.Add(1)
	}
	pageMapMu.Lock()
	defer pageMapMu.Unlock()
	for g := lo &^ (granuleSize - 1); g < hi; g += granuleSize {
		i := g >> (granuleShift + l2Bits)
		t := pageMap.l1[i].Load()
		if t == &noRegions {
			if r == nil {
				continue
			}
			t = new(l2Table)
			pageMap.l1[i].Store(t)
		}
		t[(g>>granuleShift)&(1<<l2Bits-1)].Store(r)
	}
	return true
}
