package bench

import (
	"fmt"
	"math/bits"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
)

// Implementation names, the value of the impl= key of every sub-benchmark.
const (
	implZeropool       = "zeropool"
	implMake           = "make"
	implSyncPool       = "sync.Pool"
	implLibp2p         = "libp2p"
	implMcache         = "mcache"
	implByteBufferPool = "bytebufferpool"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// sizeName renders a size the way sub-benchmark names spell it: 32B, 4KiB, 1MiB.
func sizeName(n int) string {
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%dMiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%dKiB", n/kib)
	}
	return fmt.Sprintf("%dB", n)
}

// sink keeps make's buffers on the heap: a buffer that escapes nowhere could be optimized
// away or put on the stack, which is not what a program that hands buffers around gets.
var sink []byte

// parSink is sink for RunParallel loops: one padded slot per goroutine, so that the stores
// neither race nor share a cache line.
var parSink [64]struct {
	b []byte
	_ [40]byte
}

// classPools is the idiomatic multi-size sync.Pool: one pool per power-of-two size class,
// holding *[]byte so that Put does not allocate (staticcheck SA6002).
type classPools struct {
	pools [48]sync.Pool
}

func classOf(n int) int { return bits.Len(uint(n - 1)) }

func (c *classPools) get(n int) *[]byte {
	cl := classOf(n)
	if p, _ := c.pools[cl].Get().(*[]byte); p != nil {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<cl)
	return &b
}

func (c *classPools) put(p *[]byte) { c.pools[classOf(cap(*p))].Put(p) }

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
