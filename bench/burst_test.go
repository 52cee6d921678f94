package bench

import (
	"fmt"
	"sync"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// Bursts: get N buffers of one size, hold them all at once, then put them all back. One op is
// the whole burst; ns/buf is the cost per buffer (one Get and one Put). bytebufferpool is left
// out (see BenchmarkHotPathParallel).

type burstImpl struct {
	name string
	run  func(b *testing.B, size, n int)
}

var burstImpls = []burstImpl{
	{implMake, wl.BurstMake},
	{implSyncPoolOneSize, burstSyncPoolOneSize},
	{implSyncPool, wl.BurstSyncPool},
	{implLibp2p, burstLibp2p},
	{implMcache, burstMcache},
	{implZeropool, burstZeropool},
}

func BenchmarkBurst(b *testing.B) {
	for _, size := range wl.BurstSizes {
		for _, n := range wl.BurstNs {
			for _, im := range burstImpls {
				b.Run(fmt.Sprintf("size=%s/n=%d/impl=%s", wl.SizeName(size), n, im.name), func(b *testing.B) {
					settle()
					b.ReportAllocs()
					im.run(b, size, n)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/buf")
				})
			}
		}
	}
}

// sync.Pool as a user with one size writes it (see hotSyncPoolOneSize).
func burstSyncPoolOneSize(b *testing.B, size, n int) {
	sp := sync.Pool{New: func() any { b := make([]byte, size); return &b }}
	held := make([]*[]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			p := sp.Get().(*[]byte)
			(*p)[0] = byte(i)
			held[j] = p
		}
		for _, p := range held {
			sp.Put(p)
		}
	}
}

func burstLibp2p(b *testing.B, size, n int) {
	held := make([][]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := p2p.Get(size)
			buf[0] = byte(i)
			held[j] = buf
		}
		for _, buf := range held {
			p2p.Put(buf)
		}
	}
}

func burstMcache(b *testing.B, size, n int) {
	held := make([][]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := mcache.Malloc(size)
			buf[0] = byte(i)
			held[j] = buf
		}
		for _, buf := range held {
			mcache.Free(buf)
		}
	}
}

func burstZeropool(b *testing.B, size, n int) {
	p := pool.New()
	defer p.Close()
	wl.Burst(b, p, size, n)
}
