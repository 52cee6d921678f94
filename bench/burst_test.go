package bench

import (
	"fmt"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"

	"github.com/zeropool-go/zeropool/pool"
)

// Bursts: get N buffers of one size, hold them all at once, then put them all back. One op is
// the whole burst; ns/buf is the cost per buffer (one Get and one Put). bytebufferpool is left
// out (see BenchmarkHotPathParallel).

var (
	burstSizes = []int{4 * kib, 64 * kib}
	burstNs    = []int{10, 100, 1000}
)

type burstImpl struct {
	name string
	run  func(b *testing.B, size, n int)
}

var burstImpls = []burstImpl{
	{implMake, burstMake},
	{implSyncPool, burstSyncPool},
	{implLibp2p, burstLibp2p},
	{implMcache, burstMcache},
	{implZeropool, burstZeropool},
}

func BenchmarkBurst(b *testing.B) {
	for _, size := range burstSizes {
		for _, n := range burstNs {
			for _, im := range burstImpls {
				b.Run(fmt.Sprintf("size=%s/n=%d/impl=%s", sizeName(size), n, im.name), func(b *testing.B) {
					settle()
					b.ReportAllocs()
					im.run(b, size, n)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/buf")
				})
			}
		}
	}
}

func burstMake(b *testing.B, size, n int) {
	held := make([][]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := make([]byte, size)
			buf[0] = byte(i)
			held[j] = buf
		}
		clear(held)
	}
}

func burstSyncPool(b *testing.B, size, n int) {
	var cp classPools
	held := make([]*[]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			p := cp.get(size)
			(*p)[0] = byte(i)
			held[j] = p
		}
		for _, p := range held {
			cp.put(p)
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
	held := make([][]byte, n)
	for i := 0; b.Loop(); i++ {
		for j := range held {
			buf := p.Get(size)
			buf[0] = byte(i)
			held[j] = buf
		}
		for _, buf := range held {
			must(b, p.Put(buf))
		}
	}
}
