package bench

import (
	"sync"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
)

// Hot path: one goroutine gets a buffer of one size, writes a byte into it and puts it back.
// Every impl's loop is written out as a user of that library would write it, so no impl pays
// for an interface call the others do not.

var hotPathImpls = []benchImpl{
	{implMake, wl.HotPathMake},
	{implSyncPoolOneSize, hotSyncPoolOneSize},
	{implSyncPool, wl.HotPathSyncPool},
	{implLibp2p, hotLibp2p},
	{implMcache, hotMcache},
	{implByteBufferPool, hotByteBufferPool},
	{implZeropool, onNewPool(wl.HotPath)},
}

func BenchmarkHotPath(b *testing.B) { runBySize(b, wl.HotPathSizes, hotPathImpls) }

// sync.Pool as a user with one size writes it: *[]byte, so that Put does not allocate.
func hotSyncPoolOneSize(b *testing.B, size int) {
	sp := sync.Pool{New: func() any { b := make([]byte, size); return &b }}
	for i := 0; b.Loop(); i++ {
		p := sp.Get().(*[]byte)
		(*p)[0] = byte(i)
		sp.Put(p)
	}
}

func hotLibp2p(b *testing.B, size int) {
	p2p.Put(p2p.Get(size))
	for i := 0; b.Loop(); i++ {
		buf := p2p.Get(size)
		buf[0] = byte(i)
		p2p.Put(buf)
	}
}

func hotMcache(b *testing.B, size int) {
	mcache.Free(mcache.Malloc(size))
	for i := 0; b.Loop(); i++ {
		buf := mcache.Malloc(size)
		buf[0] = byte(i)
		mcache.Free(buf)
	}
}

// bytebufferpool has no size classes: one Pool per buffer size is how a program uses it for
// buffers of a known size, and B grows to the size asked for.
func hotByteBufferPool(b *testing.B, size int) {
	var bp bytebufferpool.Pool
	bb := bp.Get()
	bb.B = growTo(bb.B, size)
	bp.Put(bb)
	for i := 0; b.Loop(); i++ {
		bb := bp.Get()
		bb.B = growTo(bb.B, size)
		bb.B[0] = byte(i)
		bp.Put(bb)
	}
}

// Parallel hot path: the same loop on every P at once (b.RunParallel, GOMAXPROCS
// goroutines). bytebufferpool is left out here and in every workload but HotPath and Zipf:
// it is a bytes.Buffer-style pool, a single calibrated sync.Pool of *ByteBuffer, so where
// the workload holds fixed-size buffers it measures what sync.Pool already measures, and it
// drops buffers larger than its calibrated maximum (at most 32 MiB) instead of pooling them.

var parallelImpls = []benchImpl{
	{implMake, wl.HotPathParallelMake},
	{implSyncPool, wl.HotPathParallelSyncPool},
	{implLibp2p, parLibp2p},
	{implMcache, parMcache},
	{implZeropool, onNewPool(wl.HotPathParallel)},
}

func BenchmarkHotPathParallel(b *testing.B) { runBySize(b, wl.ParallelSizes, parallelImpls) }

func parLibp2p(b *testing.B, size int) {
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			buf := p2p.Get(size)
			buf[0] = byte(i)
			p2p.Put(buf)
		}
	})
}

func parMcache(b *testing.B, size int) {
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			buf := mcache.Malloc(size)
			buf[0] = byte(i)
			mcache.Free(buf)
		}
	})
}
