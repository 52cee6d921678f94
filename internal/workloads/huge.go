package workloads

import (
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// Huge buffers: get a buffer of HugeSize, write one byte in each 4 KiB page, put it back. This
// is the workload that off-heap reuse is for: make pays for fresh memory and its page faults
// on every op, a pool that keeps the mapping pays only for the touches. The floor,
// HugeResident, touches a buffer that was allocated and touched once before the timer
// started: the cost of the touches alone, with no allocation at all.

const (
	// HugeSize is the buffer size of the huge workload.
	HugeSize = 512 * MiB
	// PageStride is the distance between the bytes TouchPages writes.
	PageStride = 4 * KiB
)

// TouchPages writes v into one byte of each 4 KiB page of buf, so that every page is faulted
// in (or found resident).
func TouchPages(buf []byte, v byte) {
	for i := 0; i < len(buf); i += PageStride {
		buf[i] = v
	}
}

// Huge is one op per Get of size bytes, TouchPages, Put on p. The first mapping and its first
// touch happen before the timed loop: they are not what reuse costs.
func Huge(b *testing.B, p *pool.BufferPool, size int) {
	buf := p.Get(size)
	TouchPages(buf, 1)
	must(b, p.Put(buf))
	for i := 0; b.Loop(); i++ {
		buf := p.Get(size)
		TouchPages(buf, byte(i))
		must(b, p.Put(buf))
	}
}

// HugeMake is Huge with make: each op's buffer is garbage at the end of the op, left to the
// collector inside the timed loop as it is in a program.
func HugeMake(b *testing.B, size int) {
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, size)
		TouchPages(buf, byte(i))
		sink = buf
		sink = nil
	}
}

// HugeResident is the floor of Huge: the touches of one buffer, made and touched once
// before the timed loop.
func HugeResident(b *testing.B, size int) {
	buf := make([]byte, size)
	TouchPages(buf, 1)
	for i := 0; b.Loop(); i++ {
		TouchPages(buf, byte(i))
	}
	sink = buf
	sink = nil
}
