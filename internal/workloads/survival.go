package workloads

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/zeropool-go/zeropool/pool"
)

// GC survival: put k idle buffers into the pool, run two garbage collections, get k buffers
// and count how many of them are reused ones. One op is that whole cycle, so ns/op is
// dominated by the collections and means little; survived-% = 100 * reused / k is the
// result.
//
// A zeropool pool counts its reuse itself (Stats().Hits). Heap pools are judged by identity
// (ByIdentity): a buffer counts as reused when its first byte's address is one of the k
// buffers put before the collections.

// GCSurvival runs cycle once untimed, so that the pool is warm, then once per op, and
// reports survived-%: 100 * the buffers reused / (ops * k).
func GCSurvival(b *testing.B, k int, cycle func() (reused int)) {
	cycle()
	reused := 0
	for b.Loop() {
		reused += cycle()
	}
	b.ReportMetric(100*float64(reused)/float64(b.N*k), "survived-%")
}

// CollectTwice runs two garbage collections: what sync.Pool's victim cache survives once, it
// does not survive twice.
func CollectTwice() {
	runtime.GC()
	runtime.GC()
}

// Survival is what one SurvivalCycle saw.
type Survival struct {
	// Reused is how many of the Gets after the collections the pool served from idle
	// buffers (the growth of Stats().Hits).
	Reused int
	// IdleBefore and IdleAfter are Stats().Idle before and after the collections.
	IdleBefore, IdleAfter int64
}

// SurvivalCycle returns the cycle of the survival workload on p, for k buffers of size
// bytes: get k, put them back, collect twice, get k and put them back.
func SurvivalCycle(b testing.TB, p *pool.BufferPool, size, k int) func() Survival {
	held := make([][]byte, k)
	return func() Survival {
		for j := range held {
			held[j] = p.Get(size)
		}
		for _, buf := range held {
			must(b, p.Put(buf))
		}
		s := Survival{IdleBefore: p.Stats().Idle}
		CollectTwice()
		after := p.Stats()
		s.IdleAfter = after.Idle
		for j := range held {
			held[j] = p.Get(size)
		}
		s.Reused = int(p.Stats().Hits - after.Hits)
		for _, buf := range held {
			must(b, p.Put(buf))
		}
		return s
	}
}

func dataAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// ByIdentity builds the survival cycle of a heap pool from its get and put: it gets k
// buffers, puts them, collects twice, gets k and returns how many of those have the address
// of one put. The buffers put stay referenced until the count is done, so that no fresh
// allocation can land at the same address and pass for a reused one.
func ByIdentity(k int, get func() []byte, put func([]byte)) func() (reused int) {
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
		CollectTwice()
		for j := range got {
			got[j] = get()
		}
		reused := 0
		for _, g := range got {
			if addrs[dataAddr(g)] {
				reused++
			}
		}
		// The buffers put must outlive the count: freed, their addresses could come back
		// from a fresh allocation and pass for reused.
		runtime.KeepAlive(witness)
		for _, buf := range got {
			put(buf)
		}
		return reused
	}
}

// SurvivalSyncPool is the survival cycle of ClassPools, which keeps each *[]byte with its
// buffer, as the idiomatic user does.
func SurvivalSyncPool(size, k int) func() (reused int) {
	var cp ClassPools
	ptrs := make(map[uintptr]*[]byte, 2*k)
	return ByIdentity(k,
		func() []byte {
			p := cp.Get(size)
			ptrs[dataAddr(*p)] = p
			return *p
		},
		func(buf []byte) {
			p := ptrs[dataAddr(buf)]
			delete(ptrs, dataAddr(buf))
			cp.Put(p)
		})
}
