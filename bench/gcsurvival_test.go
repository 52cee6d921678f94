package bench

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"

	"github.com/zeropool-go/zeropool/pool"
)

// GC survival: put K idle buffers into the pool, run two garbage collections, get K buffers
// and count how many of them are reused ones: survived-% = 100 * reused / K. One op is that
// whole cycle, so ns/op is dominated by the collections and means little; survived-% is the
// result.
//
// zeropool counts reuse itself (Stats().Hits). The sync.Pool-based peers are judged by
// identity: a buffer counts as reused when its first byte's address is one of the K buffers
// put before the collections. Those K buffers stay referenced by the benchmark, so that no
// fresh allocation can land at the same address and pass for a reused one.
//
// K = 16 fits in the default zeropool's idle bounds on one P (4 in the P's cache, 16 per
// shard), so that the count is about the collector, not the pool's size limits. Every impl
// runs one untimed cycle first, so that the pools are warm: a fresh zeropool whose goroutine
// moves to another P during the collections finds the up to 4 buffers left in the first P's
// cache out of its reach, which is about P affinity, not about the collector. zeropool also
// reports idle-kept-%, its idle buffers after the collections over those before. make has
// nothing to survive and is left out; bytebufferpool is a sync.Pool underneath (see
// BenchmarkHotPathParallel).

const (
	survivalSize = 64 * kib
	survivalK    = 16
)

type survivalImpl struct {
	name string
	// cycle returns one survival cycle for buffers of size bytes, K at a time: it puts K
	// buffers, collects twice, gets K and returns how many of those are reused ones.
	cycle func(b *testing.B, size, k int) func() (reused int)
}

var survivalImpls = []survivalImpl{
	{implSyncPool, survivalSyncPool},
	{implLibp2p, survivalLibp2p},
	{implMcache, survivalMcache},
	{implZeropool, survivalZeropool},
}

func BenchmarkGCSurvival(b *testing.B) {
	for _, im := range survivalImpls {
		name := fmt.Sprintf("size=%s/n=%d/impl=%s", sizeName(survivalSize), survivalK, im.name)
		b.Run(name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			cycle := im.cycle(b, survivalSize, survivalK)
			cycle() // warm-up, not counted
			reused := 0
			for b.Loop() {
				reused += cycle()
			}
			b.ReportMetric(100*float64(reused)/float64(b.N*survivalK), "survived-%")
		})
	}
}

func collectTwice() {
	runtime.GC()
	runtime.GC()
}

func dataAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// reusedOf counts the buffers of got whose address is in put.
func reusedOf(put map[uintptr]bool, got [][]byte) int {
	n := 0
	for _, g := range got {
		if put[dataAddr(g)] {
			n++
		}
	}
	return n
}

// byIdentity builds the cycle of a heap pool from its get and put.
func byIdentity(k int, get func() []byte, put func([]byte)) func() int {
	witness := make([][]byte, k)
	got := make([][]byte, k)
	addrs := make(map[uintptr]bool, k)
	return func() int {
		clear(addrs)
		for j := range witness {
			witness[j] = get()
			addrs[dataAddr(witness[j])] = true
		}
		for _, buf := range witness {
			put(buf)
		}
		collectTwice()
		for j := range got {
			got[j] = get()
		}
		reused := reusedOf(addrs, got)
		// The buffers put must outlive the count: freed, their addresses could come back
		// from a fresh allocation and pass for reused.
		runtime.KeepAlive(witness)
		for _, buf := range got {
			put(buf)
		}
		return reused
	}
}

// The sync.Pool cycle keeps each *[]byte with its buffer, as the idiomatic user does.
func survivalSyncPool(_ *testing.B, size, k int) func() int {
	var cp classPools
	ptrs := make(map[uintptr]*[]byte, 2*k)
	return byIdentity(k,
		func() []byte {
			p := cp.get(size)
			ptrs[dataAddr(*p)] = p
			return *p
		},
		func(buf []byte) {
			p := ptrs[dataAddr(buf)]
			delete(ptrs, dataAddr(buf))
			cp.put(p)
		})
}

func survivalLibp2p(_ *testing.B, size, k int) func() int {
	return byIdentity(k, func() []byte { return p2p.Get(size) }, p2p.Put)
}

func survivalMcache(_ *testing.B, size, k int) func() int {
	return byIdentity(k, func() []byte { return mcache.Malloc(size) }, mcache.Free)
}

func survivalZeropool(b *testing.B, size, k int) func() int {
	p := pool.New()
	b.Cleanup(func() { p.Close() })
	held := make([][]byte, k)
	var idleBefore, idleAfter int64
	b.Cleanup(func() {
		if idleBefore > 0 {
			b.ReportMetric(100*float64(idleAfter)/float64(idleBefore), "idle-kept-%")
		}
	})
	return func() int {
		for j := range held {
			held[j] = p.Get(size)
		}
		for _, buf := range held {
			must(b, p.Put(buf))
		}
		idleBefore += p.Stats().Idle
		collectTwice()
		s := p.Stats()
		idleAfter += s.Idle
		for j := range held {
			held[j] = p.Get(size)
		}
		reused := int(p.Stats().Hits - s.Hits)
		for _, buf := range held {
			must(b, p.Put(buf))
		}
		return reused
	}
}
