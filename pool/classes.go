package pool

import "math/bits"

// Size classes are powers of two from minClassSize up to Config.MaxBufferSize. A request maps
// to its class with one bits.Len; class k holds buffers of minClassSize<<k bytes.
const (
	minClassShift = 6 // 64 bytes: one cache line
	minClassSize  = 1 << minClassShift
	maxClasses    = 40 - minClassShift + 1 // up to maxMaxBufferSize
	classSlots    = 64                     // per-class arrays are this long, so c&63 needs no bounds check

	// Classes up to maxSlabClassSize are carved from slabs of slabSize bytes; larger classes
	// get a mapping per buffer. Every slab and mapping starts on a granule boundary, so that a
	// granule belongs to at most one of them and the page map needs one entry per granule.
	granuleShift     = 21 // 2 MiB: also the huge page size on x86-64 and arm64
	granuleSize      = 1 << granuleShift
	slabSize         = granuleSize
	maxSlabClassSize = 256 << 10
)

// classOf returns the class of a request of size bytes, 1 <= size.
func classOf(size int) int {
	s := bits.Len(uint(size-1)) - minClassShift
	if s < 0 {
		return 0
	}
	return s
}

func classSize(c int) int { return minClassSize << c }
