package workloads

import (
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// Bursts: get n buffers of one size, hold them all at once, then put them all back. One op is
// the whole burst.

var (
	// BurstSizes are the buffer sizes of the burst workload.
	BurstSizes = []int{4 * KiB, 64 * KiB}
	// BurstNs are the numbers of buffers held at once.
	BurstNs = []int{10, 100, 1000, 10000}
)

// Burst is one op per burst of n buffers of size bytes on p.
func Burst(b *testing.B, p *pool.BufferPool, size, n int) {
	held := make([][]byte, n)
	// One burst before the clock starts: the pool makes the magazines a burst of n needs
	// once, as sync.Pool grows its chains once.
	for j := range held {
		held[j] = p.Get(size)
	}
	for _, buf := range held {
		must(b, p.Put(buf))
	}
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := p.Get(size)
			buf[0] = byte(i)
			held[j] = buf
		}
		for _, buf := range held {
			must(b, p.Put(buf))
		}
	}
}

// BurstSyncPool is Burst on ClassPools.
func BurstSyncPool(b *testing.B, size, n int) {
	var cp ClassPools
	held := make([]*[]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			p := cp.Get(size)
			(*p)[0] = byte(i)
			held[j] = p
		}
		for _, p := range held {
			cp.Put(p)
		}
	}
}

// BurstMake is Burst with make: the burst's buffers are dropped together.
func BurstMake(b *testing.B, size, n int) {
	held := make([][]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := make([]byte, size)
			buf[0] = byte(i)
			held[j] = buf
		}
		clear(held)
	}
}
