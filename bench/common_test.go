package bench

import (
	"runtime"
	"runtime/debug"
	"slices"
	"testing"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// The workloads, their sizes and the loops of zeropool, make and sync.Pool are defined once,
// in internal/workloads of the main module, which `zeropool bench` runs too; this package
// adds the peers' adapters, written out as a user of each library would write them, in the
// same shape.

// Implementation names, the value of the impl= key of every sub-benchmark.
const (
	implZeropool        = "zeropool"
	implMake            = "make"
	implSyncPool        = "sync.Pool"       // ClassPools: one sync.Pool per power-of-two class
	implSyncPoolOneSize = "sync.Pool-1size" // one sync.Pool of one size, as a one-size user writes it
	implLibp2p          = "libp2p"
	implMcache          = "mcache"
	implByteBufferPool  = "bytebufferpool"
)

const (
	kib = wl.KiB
	mib = wl.MiB
)

// benchImpl is one impl's loop of a workload that takes a size.
type benchImpl struct {
	name string
	run  func(b *testing.B, size int)
}

// runBySize runs every impl at every size as sub-benchmark size=S/impl=NAME, each from a
// settled heap.
func runBySize(b *testing.B, sizes []int, impls []benchImpl) {
	for _, size := range sizes {
		for _, im := range impls {
			b.Run("size="+wl.SizeName(size)+"/impl="+im.name, func(b *testing.B) {
				settle()
				b.ReportAllocs()
				im.run(b, size)
			})
		}
	}
}

// onNewPool runs a workload's zeropool loop on a new pool with the default Config.
func onNewPool(run func(*testing.B, *pool.BufferPool, int)) func(*testing.B, int) {
	return func(b *testing.B, size int) {
		p := pool.New()
		defer p.Close()
		run(b, p, size)
	}
}

// growTo is bytebufferpool's growth idiom: reuse B when it is big enough, grow it otherwise
// (B = B[:n] when cap(B) >= n).
func growTo(b []byte, n int) []byte {
	return slices.Grow(b[:0], n)[:n]
}

// settle collects garbage and gives freed memory back to the system, so that the workload
// that runs next starts from the same heap. Call it only outside the timed region.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// must fails the benchmark on a Put error; the branch costs nothing measurable.
func must(b testing.TB, err error) {
	if err != nil {
		b.Fatal(err)
	}
}
