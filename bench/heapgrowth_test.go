package bench

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// Go heap growth per pooled byte: starting from a collected heap and an empty pool, get
// 256 MiB of 64 KiB buffers and hold them all, collect, and read runtime.MemStats.HeapAlloc:
// heap-bytes/pooled-byte = (HeapAlloc after - HeapAlloc before) / 256 MiB. A heap-backed pool
// costs about one heap byte per pooled byte, plus its bookkeeping; an off-heap pool costs
// only its bookkeeping. One op is that whole cycle; ns/op means little. make is the baseline:
// the same buffers, no pool. bytebufferpool is left out (see BenchmarkHotPathParallel).

const (
	heapSize  = 64 * kib
	heapTotal = 256 * mib
)

type heapImpl struct {
	name string
	// run gets total/size buffers of size bytes into held state, then calls measure while
	// they are all out, then gives them back.
	run func(b *testing.B, size, count int, measure func())
}

var heapImpls = []heapImpl{
	{implMake, heapMake},
	{implSyncPool, heapSyncPool},
	{implLibp2p, heapLibp2p},
	{implMcache, heapMcache},
	{implZeropool, heapZeropool},
}

func BenchmarkHeapGrowth(b *testing.B) {
	for _, im := range heapImpls {
		name := fmt.Sprintf("size=%s/total=%s/impl=%s", wl.SizeName(heapSize), wl.SizeName(heapTotal), im.name)
		b.Run(name, func(b *testing.B) {
			settle()
			b.Cleanup(settle)
			var growth float64
			var before, after runtime.MemStats
			for b.Loop() {
				// Collect twice so that whatever sync.Pools hold from before is gone.
				wl.CollectTwice()
				runtime.ReadMemStats(&before)
				im.run(b, heapSize, heapTotal/heapSize, func() {
					runtime.GC()
					runtime.ReadMemStats(&after)
				})
				growth += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
			}
			b.ReportMetric(growth/float64(b.N)/heapTotal, "heap-bytes/pooled-byte")
		})
	}
}

// The held slices are made before the first reading, so that only what the pool and its
// buffers cost shows.

var heldBufs = make([][]byte, heapTotal/heapSize)
var heldPtrs = make([]*[]byte, heapTotal/heapSize)

func heapMake(b *testing.B, size, count int, measure func()) {
	held := heldBufs[:count]
	for j := range held {
		held[j] = make([]byte, size)
		held[j][0] = 1
	}
	measure()
	clear(held)
}

func heapSyncPool(b *testing.B, size, count int, measure func()) {
	cp := new(wl.ClassPools)
	held := heldPtrs[:count]
	for j := range held {
		held[j] = cp.Get(size)
		(*held[j])[0] = 1
	}
	measure()
	for _, p := range held {
		cp.Put(p)
	}
	clear(held)
}

func heapLibp2p(b *testing.B, size, count int, measure func()) {
	held := heldBufs[:count]
	for j := range held {
		held[j] = p2p.Get(size)
		held[j][0] = 1
	}
	measure()
	for _, buf := range held {
		p2p.Put(buf)
	}
	clear(held)
}

func heapMcache(b *testing.B, size, count int, measure func()) {
	held := heldBufs[:count]
	for j := range held {
		held[j] = mcache.Malloc(size)
		held[j][0] = 1
	}
	measure()
	for _, buf := range held {
		mcache.Free(buf)
	}
	clear(held)
}

func heapZeropool(b *testing.B, size, count int, measure func()) {
	p := pool.New()
	defer p.Close()
	held := heldBufs[:count]
	for j := range held {
		held[j] = p.Get(size)
		held[j][0] = 1
	}
	measure()
	for _, buf := range held {
		must(b, p.Put(buf))
	}
	clear(held)
}
