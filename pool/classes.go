package pool

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Size classes: powers of two from minClassSize up to maxSlabClassSize (the slab classes),
// then four classes per power of two (n, 5n/4, 6n/4, 7n/4 of each octave), so that above
// 256 KiB a buffer's capacity is at most 1.25 times its request: a 64 MiB gRPC message plus
// its header maps 80 MiB, not 128. Class k of the slab classes holds minClassSize<<k bytes.
const (
	minClassShift = 6 // 64 bytes: one cache line
	minClassSize  = 1 << minClassShift
	classSlots    = 128 // per-class arrays are this long, so c&127 needs no bounds check

	// Classes up to maxSlabClassSize are carved from slabs of slabSize bytes; larger classes
	// get a mapping per buffer. Every slab and mapping starts on a granule boundary, so that a
	// granule belongs to at most one of them and the page map needs one entry per granule.
	granuleShift      = 21 // 2 MiB: also the huge page size on x86-64 and arm64
	granuleSize       = 1 << granuleShift
	slabSize          = granuleSize
	maxSlabClassShift = 18
	maxSlabClassSize  = 1 << maxSlabClassShift
	slabClasses       = maxSlabClassShift - minClassShift + 1 // classes 0..12
	quartersShift     = 2                                     // four classes per octave above
)

// classOf returns the class of a request of size bytes, 1 <= size.
func classOf(size int) int {
	if size <= maxSlabClassSize {
		// The OR keeps every size up to minClassSize in class 0 without a clamp.
		return bits.Len(uint(size-1)|(minClassSize-1)) - minClassShift
	}
	// 2^o < size <= 2^(o+1), and the two bits below v's top bit are the quarter of the
	// octave: v>>(o-2) is 4 + quarter. So the class is slabClasses + 4(o-18) + quarter.
	v := uint(size - 1)
	o := uint(bits.Len(v)-1) & 63 // the mask lets the compiler emit a plain shift
	return int(4*o+v>>((o-quartersShift)&63)) - (4*maxSlabClassShift + 4 - slabClasses)
}

// classSize returns the buffer size of class ci.
func classSize(ci int) int {
	if ci < slabClasses {
		return minClassSize << ci
	}
	k := ci - slabClasses
	o := maxSlabClassShift + k>>quartersShift
	return 1<<o + (k&(1<<quartersShift-1)+1)<<(o-quartersShift)
}

// layout is how the buffers of a class, and so of each of its regions, are mapped.
type layout uint8

const (
	layoutSlab       layout = iota // slots in slabs (classes up to maxSlabClassSize)
	layoutCanarySlab               // Secure, below a page: slabs fenced by guard pages, slots 2*size apart with a canary in the second half
	layoutMapping                  // one mapping per buffer; Secure pools add a guard page on each side
	layoutOversize                 // a region's only: one buffer above MaxBufferSize, of no class, unmapped by its Put
)

// isSlab reports whether regions of layout l are slabs of slots.
func (l layout) isSlab() bool { return l <= layoutCanarySlab }

// sizeClass is the shared part of one size class.
type sizeClass struct {
	size   int
	layout layout
	mag    int                   // capacity of this class's magazines; 0: the P caches do not hold it
	keep   bool                  // the depot keeps buffers of this class (it is not below MinBufferSize)
	depot  atomic.Pointer[depot] // made at the class's first use (see depotOf)
	// live counts the buffers of the class that exist, out or idle (not free in a slab, not
	// unmapped): Stats derives the idle ones from it without reading any P's cache.
	live atomic.Int64

	slabMu  sync.Mutex // guards partial, current and the bookkeeping of this class's slabs
	partial []*region  // slabs with a free or new slot
	current []*region  // per depot shard, the slab its Ps carve new slots from (nil: none yet)
}

// cacheCost is the most a P's cache of class sc holds: two magazines and priv, in bytes.
func (sc *sizeClass) cacheCost() int64 { return int64((2*sc.mag + 1) * sc.size) }
