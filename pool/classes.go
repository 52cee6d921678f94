package pool

import "math/bits"

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

// classSize returns the buffer size of class c.
func classSize(c int) int {
	if c < slabClasses {
		return minClassSize << c
	}
	k := c - slabClasses
	o := maxSlabClassShift + k>>quartersShift
	return 1<<o + (k&(1<<quartersShift-1)+1)<<(o-quartersShift)
}
