package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	"github.com/zeropool-go/zeropool/pool"
)

// Zipf-mixed sizes: requests of 1, 4, 16, 64 and 256 KiB with weights 50:25:15:7:3, drawn once
// from a seeded generator so that every impl sees the same sequence. Each op gets a buffer of
// the next size and puts back the one it got zipfWindow ops earlier, so zipfWindow buffers of
// mixed sizes are out at any time, as in a server with requests in flight.

var zipfWeights = []struct{ size, weight int }{
	{1 * kib, 50}, {4 * kib, 25}, {16 * kib, 15}, {64 * kib, 7}, {256 * kib, 3},
}

const (
	zipfLen    = 4096 // entries in the sequence; a power of two
	zipfWindow = 16   // buffers out at once; a power of two
	zipfSeed   = 0x5eed
)

var zipfSizes = makeZipfSizes(zipfLen, zipfSeed)

// makeZipfSizes returns n sizes drawn with zipfWeights from a PCG seeded with seed.
func makeZipfSizes(n int, seed uint64) []int {
	total := 0
	for _, w := range zipfWeights {
		total += w.weight
	}
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]int, n)
	for i := range out {
		x := r.IntN(total)
		for _, w := range zipfWeights {
			if x < w.weight {
				out[i] = w.size
				break
			}
			x -= w.weight
		}
	}
	return out
}

var zipfImpls = []benchImpl{
	{implMake, zipfMake},
	{implSyncPool, zipfSyncPool},
	{implLibp2p, zipfLibp2p},
	{implMcache, zipfMcache},
	{implByteBufferPool, zipfByteBufferPool},
	{implZeropool, zipfZeropool},
}

func BenchmarkZipf(b *testing.B) {
	for _, im := range zipfImpls {
		b.Run("size=1KiB-256KiB/impl="+im.name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			im.run(b, 0)
		})
	}
}

func zipfMake(b *testing.B, _ int) {
	var ring [zipfWindow][]byte
	for i := range ring {
		ring[i] = make([]byte, zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, zipfSizes[i&(zipfLen-1)])
		buf[0] = byte(i)
		ring[i&(zipfWindow-1)] = buf
	}
}

func zipfSyncPool(b *testing.B, _ int) {
	var cp classPools
	var ring [zipfWindow]*[]byte
	for i := range ring {
		ring[i] = cp.get(zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(zipfWindow-1)]
		cp.put(*slot)
		p := cp.get(zipfSizes[i&(zipfLen-1)])
		(*p)[0] = byte(i)
		*slot = p
	}
	for _, p := range ring {
		cp.put(p)
	}
}

func zipfLibp2p(b *testing.B, _ int) {
	var ring [zipfWindow][]byte
	for i := range ring {
		ring[i] = p2p.Get(zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(zipfWindow-1)]
		p2p.Put(*slot)
		buf := p2p.Get(zipfSizes[i&(zipfLen-1)])
		buf[0] = byte(i)
		*slot = buf
	}
	for _, buf := range ring {
		p2p.Put(buf)
	}
}

func zipfMcache(b *testing.B, _ int) {
	var ring [zipfWindow][]byte
	for i := range ring {
		ring[i] = mcache.Malloc(zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(zipfWindow-1)]
		mcache.Free(*slot)
		buf := mcache.Malloc(zipfSizes[i&(zipfLen-1)])
		buf[0] = byte(i)
		*slot = buf
	}
	for _, buf := range ring {
		mcache.Free(buf)
	}
}

// bytebufferpool is one Pool for every size, as it is meant to be used: it hands out
// whichever ByteBuffer it has, and B grows when that one is too small.
func zipfByteBufferPool(b *testing.B, _ int) {
	var bp bytebufferpool.Pool
	var ring [zipfWindow]*bytebufferpool.ByteBuffer
	for i := range ring {
		ring[i] = bp.Get()
		ring[i].B = growTo(ring[i].B, zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(zipfWindow-1)]
		bp.Put(*slot)
		bb := bp.Get()
		bb.B = growTo(bb.B, zipfSizes[i&(zipfLen-1)])
		bb.B[0] = byte(i)
		*slot = bb
	}
	for _, bb := range ring {
		bp.Put(bb)
	}
}

func zipfZeropool(b *testing.B, _ int) {
	p := pool.New()
	defer p.Close()
	var ring [zipfWindow][]byte
	for i := range ring {
		ring[i] = p.Get(zipfSizes[i])
	}
	for i := 0; b.Loop(); i++ {
		slot := &ring[i&(zipfWindow-1)]
		must(b, p.Put(*slot))
		buf := p.Get(zipfSizes[i&(zipfLen-1)])
		buf[0] = byte(i)
		*slot = buf
	}
	for _, buf := range ring {
		must(b, p.Put(buf))
	}
}
