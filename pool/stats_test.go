package pool

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stats are exact once concurrent traffic has stopped: goroutines count their own Gets, Puts
// and refused Puts, and the sums match the pool's counters to the unit.
func TestStatsExactAfterConcurrentTraffic(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBufferSize: 1 * MiB, MaxIdleBytes: 16 * MiB})
	const goroutines, ops = 8, 2000
	type tally struct {
		gets, puts, rejected uint64
		held                 [][]byte
	}
	tallies := make([]tally, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			tl := &tallies[g]
			rng := rand.New(rand.NewPCG(uint64(g), 0xc0de))
			for range ops {
				switch r := rng.IntN(10); {
				case r < 4 || len(tl.held) == 0:
					n := 1 + rng.IntN(1<<rng.IntN(22)) // up to 2 MiB: oversize included
					b, err := p.TryGet(n)
					if err != nil {
						t.Errorf("TryGet(%d): %v", n, err)
						return
					}
					b[0], b[n-1] = byte(g), byte(g)
					tl.gets++
					tl.held = append(tl.held, b)
				case r < 8:
					k := rng.IntN(len(tl.held))
					if err := p.Put(tl.held[k]); err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					tl.puts++
					tl.held = append(tl.held[:k], tl.held[k+1:]...)
				case r == 8:
					if err := p.Put(make([]byte, 16)); !errors.Is(err, ErrNotOwned) {
						t.Errorf("Put of a heap slice: %v", err)
					}
					tl.rejected++
				default:
					b := tl.held[rng.IntN(len(tl.held))]
					if err := p.Put(b[1:]); !errors.Is(err, ErrNotOwned) {
						t.Errorf("Put of an interior slice: %v", err)
					}
					tl.rejected++
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	var gets, puts, rejected uint64
	var inUseBytes int64
	for _, tl := range tallies {
		gets += tl.gets
		puts += tl.puts
		rejected += tl.rejected
		for _, b := range tl.held {
			inUseBytes += int64(cap(b))
		}
	}
	s := p.Stats()
	t.Logf("counted: gets=%d puts=%d rejected=%d; %s", gets, puts, rejected, s)
	assert.Equal(t, gets, s.Gets, "Gets")
	assert.Equal(t, puts, s.Puts, "Puts")
	assert.Equal(t, rejected, s.Rejected, "Rejected")
	assert.Equal(t, int64(gets-puts), s.InUse, "InUse")
	assert.Equal(t, inUseBytes, s.InUseBytes, "InUseBytes")
	assert.Equal(t, inUseBytes, p.inUseBytes(), "the peak's sample, which skips classes with nothing carved")
	assert.Equal(t, s.Gets, s.Hits+s.Misses)
	var classGets, classPuts uint64
	var classInUse int64
	for _, c := range s.Classes {
		classGets += c.Gets
		classPuts += c.Puts
		classInUse += c.InUse
	}
	assert.LessOrEqual(t, classGets, s.Gets, "per-class rows leave out only oversize Gets")
	assert.Equal(t, s.Gets-classGets, s.Puts-classPuts+uint64(s.InUse-classInUse), "oversize Gets = oversize Puts + oversize out")

	for _, tl := range tallies {
		for _, b := range tl.held {
			require.NoError(t, p.Put(b))
		}
	}
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, s.Gets, s.Puts)
	assert.Equal(t, rejected, s.Rejected)
}

func TestStatsCounters(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	s := p.Stats()
	assert.Zero(t, s.Gets)
	assert.Zero(t, s.HitRate(), "no Gets: hit rate 0")
	assert.Empty(t, s.Classes, "no class used yet")

	a := p.Get(4096)
	s = p.Stats()
	assert.Equal(t, uint64(1), s.Gets)
	assert.Equal(t, uint64(1), s.Misses)
	assert.Zero(t, s.Hits)
	assert.Zero(t, s.Puts)
	assert.Equal(t, int64(1), s.InUse)
	assert.Equal(t, int64(4096), s.InUseBytes)
	assert.Zero(t, s.Idle)
	assert.Zero(t, s.IdleBytes)
	assert.Positive(t, s.MappedBytes)
	assert.Equal(t, uint64(1), s.Maps, "one slab")

	require.NoError(t, p.Put(a))
	s = p.Stats()
	assert.Equal(t, uint64(1), s.Puts)
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, int64(1), s.Idle)
	assert.Equal(t, int64(4096), s.IdleBytes)
	assert.Equal(t, 1, p.Len())

	a = p.Get(4000) // same class
	b := p.Get(100)
	s = p.Stats()
	assert.Equal(t, uint64(3), s.Gets)
	assert.Equal(t, uint64(1), s.Hits)
	assert.Equal(t, uint64(2), s.Misses)
	assert.Equal(t, int64(2), s.InUse)
	assert.Equal(t, int64(4096+128), s.InUseBytes, "InUseBytes counts whole classes")
	assert.Zero(t, s.Idle)
	assert.InDelta(t, 1.0/3, s.HitRate(), 1e-9)

	require.NoError(t, p.Put(a))
	require.NoError(t, p.Put(b))
	s = p.Stats()
	assert.Equal(t, uint64(3), s.Puts)
	assert.Zero(t, s.InUse)
	assert.Equal(t, int64(2), s.Idle)
	assert.Equal(t, int64(4096+128), s.IdleBytes)
	assert.Zero(t, s.Rejected)

	require.Len(t, s.Classes, 2, "a row per class used:\n%s", s)
	c4k := classRow(t, s, 4096)
	assert.Equal(t, ClassStats{Size: 4096, Gets: 2, Puts: 2, Hits: 1, Misses: 1, InUse: 0, Idle: 1}, c4k)
	c128 := classRow(t, s, 128)
	assert.Equal(t, ClassStats{Size: 128, Gets: 1, Puts: 1, Hits: 0, Misses: 1, InUse: 0, Idle: 1}, c128)

	str := s.String()
	for _, want := range []string{"gets=3", "puts=3", "hits=1", "misses=2", "rejected=0", "in-use=0", "idle=2", "4 KiB", "128 B"} {
		assert.Contains(t, str, want)
	}
}

// PeakInUseBytes keeps the high-water mark of InUseBytes: a burst of 100 buffers of 16 KiB
// and an oversize buffer leave it at their sum after all are put back.
func TestPeakInUseBytes(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{MaxBufferSize: 1 << 20})
	var bufs [][]byte
	for range 100 {
		bufs = append(bufs, p.Get(16<<10))
	}
	big := p.Get(4 << 20) // above MaxBufferSize: a mapping of its own
	for _, b := range append(bufs, big) {
		require.NoError(t, p.Put(b))
	}
	s := p.Stats()
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, int64(100*16<<10+4<<20), s.PeakInUseBytes)
}
