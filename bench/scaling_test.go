package bench

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// GOMAXPROCS raised after New: the hot path (Get+Put of 64 KiB) on a pool built at
// GOMAXPROCS 2 and then used at procs, against a pool built at procs (impl=built, the floor).
// The target is a ratio of at most 1.2.

var procsCounts = []int{8, 64}

func BenchmarkProcsRaised(b *testing.B) {
	const size = 64 * kib
	for _, procs := range procsCounts {
		for _, impl := range []string{implZeropool, "built"} {
			b.Run(fmt.Sprintf("procs=%d/impl=%s", procs, impl), func(b *testing.B) {
				settle()
				prev := runtime.GOMAXPROCS(2)
				defer runtime.GOMAXPROCS(prev)
				if impl == "built" {
					runtime.GOMAXPROCS(procs)
				}
				p := pool.New()
				defer p.Close()
				runtime.GOMAXPROCS(procs)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						buf := p.Get(size)
						buf[0] = 1
						_ = p.Put(buf)
					}
				})
			})
		}
	}
}

// Pool creation: New of a pool with the default Config (its Close, which stops the world
// once to empty the P caches, outside the timer), and the Go heap a live pool costs after its
// first Get and Put (heap-bytes/pool, from 100 pools). Targets: < 50 µs and < 32 KiB.
func BenchmarkNewPool(b *testing.B) {
	b.Run("impl="+implZeropool, func(b *testing.B) {
		settle()
		b.ReportAllocs()
		for b.Loop() {
			p := pool.New()
			b.StopTimer()
			_ = p.Close()
			b.StartTimer()
		}
		b.StopTimer()
		b.ReportMetric(heapPerPool(100), "heap-bytes/pool")
	})
}

// heapPerPool measures the Go heap that n live pools hold, each after one Get and Put.
func heapPerPool(n int) float64 {
	pools := make([]*pool.BufferPool, n)
	settle()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range pools {
		pools[i] = pool.New()
		_ = pools[i].Put(pools[i].Get(4 * kib))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, p := range pools {
		_ = p.Close()
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// Waste: the capacity a Get of n bytes maps, as a multiple of n, for sizes just past a power
// of two (the worst case of power-of-two classes): cap/n. Target for n above 256 KiB: at most
// 1.25, rounded to a page. The peers that keep size classes round to powers of two.
var wasteSizes = []int{256*kib + 1, 5*mib + 1, 64*mib + 5, 512*mib + 1}

func BenchmarkWaste(b *testing.B) {
	for _, n := range wasteSizes {
		b.Run(fmt.Sprintf("size=%d/impl=%s", n, implZeropool), func(b *testing.B) {
			p := pool.New()
			defer p.Close()
			buf := p.Get(n)
			c := cap(buf)
			_ = p.Put(buf)
			for b.Loop() {
				_ = p.Put(p.Get(n))
			}
			b.ReportMetric(float64(c)/float64(n), "cap/n")
		})
		b.Run(fmt.Sprintf("size=%d/impl=%s", n, implSyncPool), func(b *testing.B) {
			// A sync.Pool per power-of-two class, as users with several sizes write it.
			c := 1
			for c < n {
				c <<= 1
			}
			for b.Loop() {
			}
			b.ReportMetric(float64(c)/float64(n), "cap/n")
		})
	}
}
