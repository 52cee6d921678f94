package bench

import (
	"slices"
	"testing"

	"github.com/bytedance/gopkg/lang/mcache"
	p2p "github.com/libp2p/go-buffer-pool"
	"github.com/valyala/bytebufferpool"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// These tests check that the benchmarks measure what they say: each impl hands out buffers
// of the size asked for. They assert nothing about time. The workloads' own checks (the zipf
// sequence, the sync.Pool reference, the survival count) are in internal/workloads.

func TestImplsHandOutTheSizeAskedFor(t *testing.T) {
	zp := pool.New()
	defer zp.Close()
	var cp wl.ClassPools
	var bp bytebufferpool.Pool
	for _, size := range append(slices.Clone(wl.HotPathSizes), 1*kib, 16*kib, 256*kib, 1000) {
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
		p := cp.Get(size)
		check(implSyncPool, *p)
		cp.Put(p)
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
