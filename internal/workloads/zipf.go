package workloads

import (
	"math/rand/v2"
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// Zipf-mixed sizes: requests of 1, 4, 16, 64 and 256 KiB with weights 50:25:15:7:3, drawn once
// from a seeded generator so that every impl sees the same sequence. Each op gets a buffer of
// the next size and puts back the one it got ZipfWindow ops earlier, so ZipfWindow buffers of
// mixed sizes are out at any time, as in a server with requests in flight.

// ZipfWeights are the sizes of the zipf workload and their weights.
var ZipfWeights = []struct{ Size, Weight int }{
	{1 * KiB, 50}, {4 * KiB, 25}, {16 * KiB, 15}, {64 * KiB, 7}, {256 * KiB, 3},
}

// The shape of the zipf workload.
const (
	ZipfLen    = 4096 // entries in ZipfSequence; a power of two
	ZipfWindow = 16   // buffers out at once; a power of two
	ZipfSeed   = 0x5eed
)

// ZipfSequence is the sequence of sizes every zipf loop requests, in order and round again.
var ZipfSequence = ZipfSizes(ZipfLen, ZipfSeed)

// ZipfSizes returns n sizes drawn with ZipfWeights from a PCG seeded with seed: the same
// sequence for the same n and seed.
func ZipfSizes(n int, seed uint64) []int {
	total := 0
	for _, w := range ZipfWeights {
		total += w.Weight
	}
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]int, n)
	for i := range out {
		x := r.IntN(total)
		for _, w := range ZipfWeights {
			if x < w.Weight {
				out[i] = w.Size
				break
			}
			x -= w.Weight
		}
	}
	return out
}

// Zipf is one op per Get of the next size of ZipfSequence and Put of the buffer got
// ZipfWindow ops earlier, on p.
func Zipf(b *testing.B, p *pool.BufferPool) {
	var ring [ZipfWindow][]byte
	for i := range ring {
		ring[i] = p.Get(ZipfSequence[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(ZipfWindow-1)]
		must(b, p.Put(*slot))
		buf := p.Get(ZipfSequence[i&(ZipfLen-1)])
		buf[0] = byte(i)
		*slot = buf
	}
	for _, buf := range ring {
		must(b, p.Put(buf))
	}
}

// ZipfSyncPool is Zipf on ClassPools.
func ZipfSyncPool(b *testing.B) {
	var cp ClassPools
	var ring [ZipfWindow]*[]byte
	for i := range ring {
		ring[i] = cp.Get(ZipfSequence[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(ZipfWindow-1)]
		cp.Put(*slot)
		p := cp.Get(ZipfSequence[i&(ZipfLen-1)])
		(*p)[0] = byte(i)
		*slot = p
	}
	for _, p := range ring {
		cp.Put(p)
	}
}

// ZipfMake is Zipf with make: the buffer that leaves the window is left to the collector.
func ZipfMake(b *testing.B) {
	var ring [ZipfWindow][]byte
	for i := range ring {
		ring[i] = make([]byte, ZipfSequence[i])
	}
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, ZipfSequence[i&(ZipfLen-1)])
		buf[0] = byte(i)
		ring[i&(ZipfWindow-1)] = buf
	}
}
