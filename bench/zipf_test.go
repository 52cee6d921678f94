package bench

import (
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// Zipf-mixed sizes: requests of 1, 4, 16, 64 and 256 KiB with weights 50:25:15:7:3, the same
// sequence for every impl (wl.ZipfSequence). Each op gets a buffer of the next size and puts
// back the one it got wl.ZipfWindow ops earlier, so that many buffers of mixed sizes are out
// at any time, as in a server with requests in flight.

const (
	zipfLen    = wl.ZipfLen
	zipfWindow = wl.ZipfWindow
)

var zipfSizes = wl.ZipfSequence

var zipfImpls = []benchImpl{
	{implMake, func(b *testing.B, _ int) { wl.ZipfMake(b) }},
	{implSyncPool, func(b *testing.B, _ int) { wl.ZipfSyncPool(b) }},
	{implLibp2p, zipfLibp2p},
	{implMcache, zipfMcache},
	{implByteBufferPool, zipfByteBufferPool},
	{implZeropool, onNewPool(func(b *testing.B, p *pool.BufferPool, _ int) { wl.Zipf(b, p) })},
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
