package workloads

import (
	"errors"
	"flag"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// These tests check that the workloads measure what they say: the sizes, the zipf sequence,
// the references, and that every loop runs to the end on a pool without allocating. They
// assert nothing about time.

func TestSizeName(t *testing.T) {
	for n, want := range map[int]string{32: "32B", 4 * KiB: "4KiB", 64 * KiB: "64KiB", MiB: "1MiB", 512 * MiB: "512MiB", 1536: "1536B"} {
		assert.Equal(t, want, SizeName(n), "SizeName(%d)", n)
	}
}

func TestZipfSizesDeterministicAndWeighted(t *testing.T) {
	require.Equal(t, ZipfSequence, ZipfSizes(ZipfLen, ZipfSeed), "two generations with the same seed")
	count := map[int]int{}
	for _, s := range ZipfSequence {
		count[s]++
	}
	require.Len(t, count, len(ZipfWeights), "sizes drawn: %v, want those of ZipfWeights", count)
	// Each size's share is within 3 points of its weight (4096 draws: the standard deviation
	// of the largest share is under 1 point).
	for _, w := range ZipfWeights {
		share := 100 * float64(count[w.Size]) / float64(len(ZipfSequence))
		assert.InDelta(t, float64(w.Weight), share, 3, "size %s: share of the sequence", SizeName(w.Size))
	}
	assert.Zero(t, ZipfLen&(ZipfLen-1), "ZipfLen is a power of two")
	assert.Zero(t, ZipfWindow&(ZipfWindow-1), "ZipfWindow is a power of two")
}

func TestClassPoolsReuse(t *testing.T) {
	var cp ClassPools
	p := cp.Get(3000)
	require.Equal(t, 4096, cap(*p), "the 4 KiB class")
	assert.Len(t, *p, 3000)
	cp.Put(p)
	q := cp.Get(4096) // same class; sync.Pool may drop, so only the size is checked
	assert.Len(t, *q, 4096)
}

func TestSurvivalCycleCountsReuse(t *testing.T) {
	// A pool that always hands back what it got reuses everything; make reuses nothing.
	var stack [][]byte
	keep := ByIdentity(4,
		func() []byte {
			if n := len(stack); n > 0 {
				b := stack[n-1]
				stack = stack[:n-1]
				return b
			}
			return make([]byte, 64)
		},
		func(b []byte) { stack = append(stack, b) })
	assert.Equal(t, 4, keep(), "a pool that keeps everything")
	fresh := ByIdentity(4, func() []byte { return make([]byte, 64) }, func([]byte) {})
	assert.Zero(t, fresh(), "make reuses nothing")
}

// TestLoopsRun runs every loop a few ops: each one finishes (a failed benchmark has N == 0)
// and those on a pool allocate nothing per op once the Ps they run on have made their caches
// (a P makes its cache and magazines at its first use of the pool).
func TestLoopsRun(t *testing.T) {
	setBenchtime(t, "20x")
	plain := pool.New()
	t.Cleanup(func() { _ = plain.Close() })
	secure, err := pool.NewWithConfig(pool.Config{Secure: true})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Logf("Secret is not run: %v", err) // Secure pools are Linux's
	} else {
		require.NoError(t, err)
		t.Cleanup(func() { _ = secure.Close() })
	}
	const huge = 8 * MiB // the loop of HugeSize, on a size a test can afford

	pooled := map[string]func(*testing.B){
		"HotPath":         func(b *testing.B) { HotPath(b, plain, 64*KiB) },
		"HotPathParallel": func(b *testing.B) { HotPathParallel(b, plain, 4*KiB) },
		"Zipf":            func(b *testing.B) { Zipf(b, plain) },
		"Burst":           func(b *testing.B) { Burst(b, plain, 4*KiB, 100) },
		"Huge":            func(b *testing.B) { Huge(b, plain, huge) },
	}
	if secure != nil {
		pooled["Secret"] = func(b *testing.B) { Secret(b, secure) }
	}
	for name, run := range pooled {
		testing.Benchmark(run) // a first run makes the caches of the Ps it runs on
		r := testing.Benchmark(run)
		if !assert.Positive(t, r.N, "%s ran", name) {
			continue
		}
		if name == "HotPathParallel" {
			// Its goroutines may run on a P the first run did not use, which makes its cache
			// now: a few allocations once, not per op.
			assert.LessOrEqual(t, r.MemAllocs, uint64(16*runtime.GOMAXPROCS(0)), "%s allocates only a P's cache", name)
			continue
		}
		assert.Zero(t, r.AllocsPerOp(), "%s allocates nothing per op", name)
	}
	refs := map[string]func(*testing.B){
		"HotPathSyncPool":         func(b *testing.B) { HotPathSyncPool(b, 64*KiB) },
		"HotPathMake":             func(b *testing.B) { HotPathMake(b, 64*KiB) },
		"HotPathParallelSyncPool": func(b *testing.B) { HotPathParallelSyncPool(b, 4*KiB) },
		"HotPathParallelMake":     func(b *testing.B) { HotPathParallelMake(b, 4*KiB) },
		"ZipfSyncPool":            ZipfSyncPool,
		"ZipfMake":                ZipfMake,
		"BurstSyncPool":           func(b *testing.B) { BurstSyncPool(b, 4*KiB, 100) },
		"BurstMake":               func(b *testing.B) { BurstMake(b, 4*KiB, 100) },
		"HugeMake":                func(b *testing.B) { HugeMake(b, huge) },
		"HugeResident":            func(b *testing.B) { HugeResident(b, huge) },
	}
	for name, run := range refs {
		assert.Positive(t, testing.Benchmark(run).N, "%s ran", name)
	}
}

// TestGCSurvival: idle buffers of a pool survive two collections, those of sync.Pool do not,
// and the survival loop reports that as survived-%. It runs on one P: a goroutine that moved
// to another P during the collections would not see the buffers in the first P's cache.
func TestGCSurvival(t *testing.T) {
	procs := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	p := pool.New()
	t.Cleanup(func() { _ = p.Close() })
	cycle := SurvivalCycle(t, p, 64*KiB, 4)
	cycle() // warm: the first Gets map
	s := cycle()
	assert.Equal(t, 4, s.Reused, "every Get after the collections is served from idle buffers")
	assert.Positive(t, s.IdleBefore)
	assert.Equal(t, s.IdleBefore, s.IdleAfter, "the collections take no idle buffer")
	assert.Zero(t, SurvivalSyncPool(64*KiB, 4)(), "sync.Pool drops what two collections find idle")

	setBenchtime(t, "2x")
	r := testing.Benchmark(func(b *testing.B) {
		c := SurvivalCycle(b, p, 64*KiB, 4)
		GCSurvival(b, 4, func() int { return c().Reused })
	})
	require.Positive(t, r.N, "the survival loop ran")
	assert.Equal(t, 100.0, r.Extra["survived-%"])
}

// setBenchtime sets -test.benchtime for testing.Benchmark until the test ends.
func setBenchtime(t *testing.T, d string) {
	t.Helper()
	f := flag.Lookup("test.benchtime")
	require.NotNil(t, f)
	old := f.Value.String()
	require.NoError(t, flag.Set("test.benchtime", d))
	t.Cleanup(func() { _ = flag.Set("test.benchtime", old) })
}
