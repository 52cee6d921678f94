package bench

import (
	"testing"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
)

// 512 MiB: get a buffer of 512 MiB, write one byte in each 4 KiB page, put it back (see
// wl.Huge). The floor, impl=resident, touches a buffer that was allocated and touched once
// before the timer started. ns/page is ns/op per 4 KiB page.
//
// Each op takes milliseconds (make: a few hundred), so run this workload with a small fixed
// -benchtime such as 10x. make's garbage is left to the garbage collector inside the timed
// region, as it is in a program; between sub-benchmarks the heap is settled outside it.

var hugeImpls = []benchImpl{
	{implMake, wl.HugeMake},
	{"resident", wl.HugeResident},
	{implZeropool, onNewPool(wl.Huge)},
}

// hugeSizes: the headline 512 MiB, and 1 GiB, the default MaxBufferSize, which the default
// Config must keep idle too.
var hugeSizes = []int{wl.HugeSize, 1 << 30}

func BenchmarkHuge(b *testing.B) {
	for _, size := range hugeSizes {
		for _, im := range hugeImpls {
			b.Run("size="+wl.SizeName(size)+"/impl="+im.name, func(b *testing.B) {
				settle()
				b.Cleanup(settle)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				im.run(b, size)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size/wl.PageStride), "ns/page")
			})
		}
	}
}
