package bench

import (
	"slices"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	"github.com/zeropool-go/zeropool/pool"
)

// These tests check that the benchmarks measure what they say: each impl hands out buffers
// of the size asked for, and every impl sees the same zipf sequence. They assert nothing
// about time.

func TestSizeName(t *testing.T) {
	for n, want := range map[int]string{32: "32B", 4 * kib: "4KiB", 64 * kib: "64KiB", mib: "1MiB", 512 * mib: "512MiB", 1536: "1536B"} {
		if got := sizeName(n); got != want {
			t.Errorf("sizeName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestZipfSizesDeterministicAndWeighted(t *testing.T) {
	again := makeZipfSizes(zipfLen, zipfSeed)
	if !slices.Equal(zipfSizes, again) {
		t.Fatal("the zipf sequence differs between two generations with the same seed")
	}
	count := map[int]int{}
	for _, s := range zipfSizes {
		count[s]++
	}
	if len(count) != len(zipfWeights) {
		t.Fatalf("sizes drawn: %v, want the %d sizes of zipfWeights", count, len(zipfWeights))
	}
	// Each size's share is within 3 points of its weight (4096 draws: the standard deviation
	// of the largest share is under 1 point).
	for _, w := range zipfWeights {
		share := 100 * float64(count[w.size]) / float64(len(zipfSizes))
		if share < float64(w.weight)-3 || share > float64(w.weight)+3 {
			t.Errorf("size %s: %.1f%% of the sequence, weight %d", sizeName(w.size), share, w.weight)
		}
	}
	if zipfLen&(zipfLen-1) != 0 || zipfWindow&(zipfWindow-1) != 0 {
		t.Error("zipfLen and zipfWindow must be powers of two")
	}
}

func TestImplsHandOutTheSizeAskedFor(t *testing.T) {
	zp := pool.New()
	defer zp.Close()
	var cp classPools
	var bp bytebufferpool.Pool
	for _, size := range append(slices.Clone(hotPathSizes), 1*kib, 16*kib, 256*kib, 1000) {
		check := func(impl string, buf []byte) {
			t.Helper()
			if len(buf) != size || cap(buf) < size {
				t.Errorf("%s: len %d cap %d for size %d", impl, len(buf), cap(buf), size)
			}
		}
		buf := zp.Get(size)
		check(implZeropool, buf)
		if err := zp.Put(buf); err != nil {
			t.Error(err)
		}
		p := cp.get(size)
		check(implSyncPool, *p)
		cp.put(p)
		buf = p2p.Get(size)
		check(implLibp2p, buf)
		p2p.Put(buf)
		buf = mcache.Malloc(size)
		check(implMcache, buf)
		mcache.Free(buf)
		bb := bp.Get()
		bb.B = growTo(bb.B, size)
		check(implByteBufferPool, bb.B)
		bp.Put(bb)
	}
}

func TestClassPoolsReuse(t *testing.T) {
	var cp classPools
	p := cp.get(3000)
	if cap(*p) != 4096 {
		t.Fatalf("cap %d, want the 4 KiB class", cap(*p))
	}
	cp.put(p)
	q := cp.get(4096) // same class; sync.Pool may drop, so only the size is checked
	if len(*q) != 4096 {
		t.Fatalf("len %d, want 4096", len(*q))
	}
}

func TestGrowToKeepsBigEnoughBuffers(t *testing.T) {
	b := make([]byte, 0, 8192)
	g := growTo(b, 4096)
	if len(g) != 4096 || &g[0] != &b[:1][0] {
		t.Error("growTo reallocated a buffer that was big enough")
	}
	g = growTo(b, 10000)
	if len(g) != 10000 {
		t.Errorf("len %d, want 10000", len(g))
	}
}

func TestSurvivalCycleCountsReuse(t *testing.T) {
	// A pool that always hands back what it got reuses everything; make reuses nothing.
	var stack [][]byte
	keep := byIdentity(4,
		func() []byte {
			if n := len(stack); n > 0 {
				b := stack[n-1]
				stack = stack[:n-1]
				return b
			}
			return make([]byte, 64)
		},
		func(b []byte) { stack = append(stack, b) })
	if got := keep(); got != 4 {
		t.Errorf("a pool that keeps everything: %d reused, want 4", got)
	}
	fresh := byIdentity(4, func() []byte { return make([]byte, 64) }, func([]byte) {})
	if got := fresh(); got != 0 {
		t.Errorf("make: %d reused, want 0", got)
	}
}
