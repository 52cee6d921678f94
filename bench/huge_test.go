package bench

import (
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// 512 MiB: get a buffer of 512 MiB, write one byte in each 4 KiB page, put it back. This is
// the workload that off-heap reuse is for: make pays for fresh memory and its page faults on
// every op, a pool that keeps the mapping pays only for the touches. The floor, impl=resident,
// touches a buffer that was allocated and touched once before the timer started: the cost of
// the touches alone, with no allocation at all. ns/page is ns/op per 4 KiB page.
//
// Each op takes milliseconds (make: a few hundred), so run this workload with a small fixed
// -benchtime such as 10x. make's garbage is left to the garbage collector inside the timed
// region, as it is in a program; between sub-benchmarks the heap is settled outside it.

const (
	hugeSize = 512 * mib
	hugePage = 4 * kib
)

var hugeImpls = []benchImpl{
	{implMake, hugeMake},
	{"resident", hugeResident},
	{implZeropool, hugeZeropool},
}

func BenchmarkHuge(b *testing.B) {
	for _, im := range hugeImpls {
		b.Run("size="+sizeName(hugeSize)+"/impl="+im.name, func(b *testing.B) {
			settle()
			b.Cleanup(settle)
			b.ReportAllocs()
			b.SetBytes(hugeSize)
			im.run(b, hugeSize)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(hugeSize/hugePage), "ns/page")
		})
	}
}

// touchPages writes one byte in each 4 KiB page of buf.
func touchPages(buf []byte, v byte) {
	for i := 0; i < len(buf); i += hugePage {
		buf[i] = v
	}
}

func hugeMake(b *testing.B, size int) {
	for i := 0; b.Loop(); i++ {
		buf := make([]byte, size)
		touchPages(buf, byte(i))
		sink = buf
		sink = nil
	}
}

func hugeResident(b *testing.B, size int) {
	buf := make([]byte, size)
	touchPages(buf, 1)
	for i := 0; b.Loop(); i++ {
		touchPages(buf, byte(i))
	}
	sink = buf
	sink = nil
}

func hugeZeropool(b *testing.B, size int) {
	p := pool.New()
	defer p.Close()
	buf := p.Get(size)
	touchPages(buf, 1)
	must(b, p.Put(buf))
	for i := 0; b.Loop(); i++ {
		buf := p.Get(size)
		touchPages(buf, byte(i))
		must(b, p.Put(buf))
	}
}
