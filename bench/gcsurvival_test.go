package bench

import (
	"fmt"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// GC survival: put K idle buffers into the pool, run two garbage collections, get K buffers
// and count how many of them are reused ones: survived-% = 100 * reused / K. One op is that
// whole cycle, so ns/op is dominated by the collections and means little; survived-% is the
// result.
//
// zeropool counts reuse itself (Stats().Hits). The sync.Pool-based peers are judged by
// identity (wl.ByIdentity): a buffer counts as reused when its first byte's address is one of
// the K buffers put before the collections. Those K buffers stay referenced by the benchmark,
// so that no fresh allocation can land at the same address and pass for a reused one.
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
		name := fmt.Sprintf("size=%s/n=%d/impl=%s", wl.SizeName(survivalSize), survivalK, im.name)
		b.Run(name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			wl.GCSurvival(b, survivalK, im.cycle(b, survivalSize, survivalK))
		})
	}
}

func survivalSyncPool(_ *testing.B, size, k int) func() int { return wl.SurvivalSyncPool(size, k) }

func survivalLibp2p(_ *testing.B, size, k int) func() int {
	return wl.ByIdentity(k, func() []byte { return p2p.Get(size) }, p2p.Put)
}

func survivalMcache(_ *testing.B, size, k int) func() int {
	return wl.ByIdentity(k, func() []byte { return mcache.Malloc(size) }, mcache.Free)
}

// survivalZeropool also reports idle-kept-%: the pool's idle buffers after the collections
// over those before.
func survivalZeropool(b *testing.B, size, k int) func() int {
	p := pool.New()
	b.Cleanup(func() { p.Close() })
	cycle := wl.SurvivalCycle(b, p, size, k)
	var idleBefore, idleAfter int64
	b.Cleanup(func() {
		if idleBefore > 0 {
			b.ReportMetric(100*float64(idleAfter)/float64(idleBefore), "idle-kept-%")
		}
	})
	return func() int {
		s := cycle()
		idleBefore += s.IdleBefore
		idleAfter += s.IdleAfter
		return s.Reused
	}
}
