package bench

import (
	"sync/atomic"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	"github.com/zeropool-go/zeropool/pool"
)

// Hot path: one goroutine gets a buffer of one size, writes a byte into it and puts it back.
// Every impl's loop is written out as a user of that library would write it, so no impl pays
// for an interface call the others do not.

var hotPathSizes = []int{4 * kib, 64 * kib, 1 * mib, 4 * mib}

type benchImpl struct {
	name string
	run  func(b *testing.B, size int)
}

var hotPathImpls = []benchImpl{
	{implMake, hotMake},
	{implSyncPool, hotSyncPool},
	{implLibp2p, hotLibp2p},
	{implMcache, hotMcache},
	{implByteBufferPool, hotByteBufferPool},
	{implZeropool, hotZeropool},
}

func BenchmarkHotPath(b *testing.B) {
	for _, size := range hotPathSizes {
		for _, im := range hotPathImpls {
			b.Run("size="+sizeName(size)+"/impl="+im.name, func(b *testing.B) {
				settle()
				b.ReportAllocs()
				im.run(b, size)
			})
		}
	}
}

func hotMake(b *testing.B, size int) {
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, size)
		buf[0] = byte(i)
		sink = buf
	}
	sink = nil
}

func hotSyncPool(b *testing.B, size int) {
	var cp classPools
	cp.put(cp.get(size))
	for i := 0; b.Loop(); i++ {
		p := cp.get(size)
		(*p)[0] = byte(i)
		cp.put(p)
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

func hotZeropool(b *testing.B, size int) {
	p := pool.New()
	defer p.Close()
	must(b, p.Put(p.Get(size)))
	for i := 0; b.Loop(); i++ {
		buf := p.Get(size)
		buf[0] = byte(i)
		must(b, p.Put(buf))
	}
}

// Parallel hot path: the same loop on every P at once (b.RunParallel, GOMAXPROCS
// goroutines). bytebufferpool is left out here and in every workload but HotPath and Zipf:
// it is a bytes.Buffer-style pool, a single calibrated sync.Pool of *ByteBuffer, so where
// the workload holds fixed-size buffers it measures what sync.Pool already measures, and it
// drops buffers larger than its calibrated maximum (at most 32 MiB) instead of pooling them.

var parallelSizes = []int{4 * kib, 64 * kib}

var parallelImpls = []benchImpl{
	{implMake, parMake},
	{implSyncPool, parSyncPool},
	{implLibp2p, parLibp2p},
	{implMcache, parMcache},
	{implZeropool, parZeropool},
}

func BenchmarkHotPathParallel(b *testing.B) {
	for _, size := range parallelSizes {
		for _, im := range parallelImpls {
			b.Run("size="+sizeName(size)+"/impl="+im.name, func(b *testing.B) {
				settle()
				b.ReportAllocs()
				im.run(b, size)
			})
		}
	}
}

var goroutineID atomic.Uint32

func parMake(b *testing.B, size int) {
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

func parSyncPool(b *testing.B, size int) {
	var cp classPools
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			p := cp.get(size)
			(*p)[0] = byte(i)
			cp.put(p)
		}
	})
}

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

func parZeropool(b *testing.B, size int) {
	p := pool.New()
	defer p.Close()
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
