package pool

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holders records which goroutine holds each buffer, to catch a buffer handed out twice.
type holders struct {
	mu sync.Mutex
	m  map[uintptr]int
}

func (h *holders) take(addr uintptr, g int) (prev int, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev, held := h.m[addr]; held {
		return prev, false
	}
	h.m[addr] = g
	return 0, true
}

func (h *holders) give(addr uintptr) {
	h.mu.Lock()
	delete(h.m, addr)
	h.mu.Unlock()
}

type stressConfig struct {
	goroutines, iters int
	maxSize           int
	// background runs in its own goroutine until stop is closed.
	background func(stop <-chan struct{})
}

// stress runs goroutines that Get buffers of random sizes, stamp both ends of each with a
// value unique to the goroutine and iteration, yield, and check the stamps before the Put. A
// buffer handed to two holders at once shows up as a clobbered stamp or as a second holder of
// the same address. At the end every buffer is back and the pool's counters add up.
func stress(t *testing.T, p *BufferPool, sc stressConfig) {
	t.Helper()
	h := &holders{m: map[uintptr]int{}}
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	if sc.background != nil {
		bg.Go(func() { sc.background(stop) })
	}
	maxShift := 0
	for 1<<maxShift < sc.maxSize {
		maxShift++
	}
	var wg sync.WaitGroup
	for g := range sc.goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0x5eed))
			type held struct {
				b     []byte
				stamp uint64
			}
			var mine []held
			release := func(x held) {
				full := x.b[:cap(x.b)]
				head := binary.LittleEndian.Uint64(full)
				tail := binary.LittleEndian.Uint64(full[len(full)-8:])
				if head != x.stamp || tail != x.stamp {
					fail("goroutine %d: buffer %#x (cap %d) stamp %#x: found %#x at the start, %#x at the end",
						g, addrOf(x.b), cap(x.b), x.stamp, head, tail)
				}
				h.give(addrOf(x.b))
				if err := p.Put(x.b); err != nil {
					fail("goroutine %d: Put(%#x): %v", g, addrOf(x.b), err)
				}
			}
			for i := range sc.iters {
				// Sizes spread evenly over the powers of two, 1 B to maxSize.
				n := 1 + rng.IntN(min(1<<rng.IntN(maxShift+1), sc.maxSize))
				b, err := p.TryGet(n)
				if err != nil {
					fail("goroutine %d: Get(%d): %v", g, n, err)
					continue
				}
				if len(b) != n || cap(b) < n {
					fail("goroutine %d: Get(%d) returned len %d cap %d", g, n, len(b), cap(b))
				}
				if prev, ok := h.take(addrOf(b), g); !ok {
					fail("goroutine %d: buffer %#x handed out while goroutine %d holds it", g, addrOf(b), prev)
				}
				stamp := uint64(g)<<32 | uint64(i) | 1<<63
				full := b[:cap(b)]
				binary.LittleEndian.PutUint64(full, stamp)
				binary.LittleEndian.PutUint64(full[len(full)-8:], stamp)
				mine = append(mine, held{b, stamp})
				runtime.Gosched()
				// Hold up to four buffers at once, and give them back in any order.
				for len(mine) > rng.IntN(4) {
					k := rng.IntN(len(mine))
					release(mine[k])
					mine[k] = mine[len(mine)-1]
					mine = mine[:len(mine)-1]
				}
			}
			for _, x := range mine {
				release(x)
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()

	s := p.Stats()
	total := uint64(sc.goroutines * sc.iters)
	assert.Zero(t, s.InUse, "every buffer is back\n%s", s)
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, total, s.Gets)
	assert.Equal(t, total, s.Puts)
	assert.Equal(t, s.Gets, s.Hits+s.Misses)
	assert.Zero(t, s.Rejected)
	assert.Positive(t, s.Hits, "buffers were reused")
	for _, c := range s.Classes {
		assert.Zero(t, c.InUse, "class %d", c.Size)
	}
	assert.Equal(t, s.Idle, int64(p.Len()))

	// Nothing leaks: once closed, the pool has unmapped everything it mapped.
	require.NoError(t, p.Close())
	s = p.Stats()
	assert.Zero(t, s.MappedBytes)
	assert.Equal(t, s.Maps, s.Unmaps)
}

func stressIters() int {
	if testing.Short() {
		return 300
	}
	return 2000
}

func TestStressDefaultPool(t *testing.T) {
	p := newPool(t, Config{})
	stress(t, p, stressConfig{goroutines: 8, iters: stressIters(), maxSize: 1 << 20})
}

// With magazines of one buffer, one depot shard and one loose buffer per shard, nearly every Put and Get
// takes the slow paths: magazine exchanges with the depot, slab free lists, unmapping and mapping again.
func TestStressTinyPool(t *testing.T) {
	p := newPool(t, Config{LocalCacheSize: 1, NumShards: 1, MaxBuffersPerShard: 1})
	stress(t, p, stressConfig{goroutines: 8, iters: stressIters(), maxSize: 1 << 20})
}

// GOMAXPROCS changes during the run, up beyond the number of P caches the pool made, so Ps
// without a cache of their own take and give buffers too.
func TestStressChangingGOMAXPROCS(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	p := newPool(t, Config{})
	ncaches := len(p.allLocals.Load().l)
	procs := []int{1, ncaches + 3, 2, 4 * ncaches, ncaches}
	var changes atomic.Int64
	stress(t, p, stressConfig{
		goroutines: 8, iters: stressIters(), maxSize: 1 << 20,
		background: func(stop <-chan struct{}) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				runtime.GOMAXPROCS(procs[i%len(procs)])
				changes.Add(1)
				for range 50 {
					runtime.Gosched()
				}
			}
		},
	})
	assert.Positive(t, changes.Load())
}

// Trim and Stats run while the pool is busy: Trim empties every P's cache under everyone's
// feet, and no buffer may be lost or handed out twice for it.
func TestStressWithTrimAndStats(t *testing.T) {
	p := newPool(t, Config{})
	var trims atomic.Int64
	stress(t, p, stressConfig{
		goroutines: 8, iters: stressIters(), maxSize: 1 << 20,
		background: func(stop <-chan struct{}) {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p.Trim()
				s := p.Stats()
				if s.InUse < 0 || s.Idle < 0 {
					panic("negative counters: " + s.String())
				}
				trims.Add(1)
				for range 20 {
					runtime.Gosched()
				}
			}
		},
	})
	assert.Positive(t, trims.Load())
}
