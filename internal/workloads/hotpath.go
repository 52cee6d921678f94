package workloads

import (
	"sync/atomic"
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// Hot path: one goroutine gets a buffer of one size, writes a byte into it and puts it back.
// The parallel hot path runs the same loop on every P at once (b.RunParallel, GOMAXPROCS
// goroutines).

// HotPathSizes are the sizes of the hot path.
var HotPathSizes = []int{4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB}

// ParallelSizes are the sizes of the parallel hot path.
var ParallelSizes = []int{4 * KiB, 64 * KiB}

// HotPath is one op per Get+Put of size bytes on p.
func HotPath(b *testing.B, p *pool.BufferPool, size int) {
	must(b, p.Put(p.Get(size)))
	for i := 0; b.Loop(); i++ {
		buf := p.Get(size)
		buf[0] = byte(i)
		must(b, p.Put(buf))
	}
}

// HotPathSyncPool is HotPath on ClassPools.
func HotPathSyncPool(b *testing.B, size int) {
	var cp ClassPools
	cp.Put(cp.Get(size))
	for i := 0; b.Loop(); i++ {
		p := cp.Get(size)
		(*p)[0] = byte(i)
		cp.Put(p)
	}
}

// HotPathMake is HotPath with a new buffer from make each time, left to the collector.
func HotPathMake(b *testing.B, size int) {
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, size)
		buf[0] = byte(i)
		sink = buf
	}
	sink = nil
}

// HotPathParallel is HotPath on every P at once.
func HotPathParallel(b *testing.B, p *pool.BufferPool, size int) {
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			buf := p.Get(size)
			buf[0] = byte(i)
			if err := p.Put(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// HotPathParallelSyncPool is HotPathParallel on ClassPools.
func HotPathParallelSyncPool(b *testing.B, size int) {
	var cp ClassPools
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			p := cp.Get(size)
			(*p)[0] = byte(i)
			cp.Put(p)
		}
	})
}

var goroutineID atomic.Uint32

// HotPathParallelMake is HotPathParallel with make.
func HotPathParallelMake(b *testing.B, size int) {
	b.RunParallel(func(pb *testing.PB) {
		slot := &parSink[goroutineID.Add(1)%uint32(len(parSink))]
		for i := 0; pb.Next(); i++ {
			buf := make([]byte, size)
			buf[0] = byte(i)
			slot.b = buf
		}
		slot.b = nil
	})
}
