package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Get(0) hands out nothing anyone can append into in place: two pools' empty buffers never
// alias, and Put of one is a no-op.
func TestGetZeroHasNoCapacity(t *testing.T) {
	p, q := newPool(t, Config{}), newPool(t, Config{Secure: true})
	a, b := p.Get(0), q.Get(0)
	assert.Zero(t, len(a))
	assert.Zero(t, cap(a), "Get(0) has cap 0")
	assert.Zero(t, cap(b))
	a = append(a, 'h')
	b = append(b, 'w')
	assert.Equal(t, "h", string(a), "append copied to memory of its own")
	assert.Equal(t, "w", string(b))
	assert.NotEqual(t, addrOf(a), addrOf(b))
	require.NoError(t, p.Put(p.Get(0)))
	require.NoError(t, p.Put(nil))
	assert.Zero(t, p.Stats().Rejected)
}

// Every method of a nil *BufferPool panics with a plain, recoverable panic, as sync.Pool's
// do, never with a fatal runtime error (a nil dereference while pinned was one).
func TestNilPoolPanicsRecoverably(t *testing.T) {
	var p *BufferPool
	buf := make([]byte, 8)
	calls := map[string]func(){
		"Get":         func() { p.Get(64) },
		"GetZeroed":   func() { p.GetZeroed(64) },
		"TryGet":      func() { _, _ = p.TryGet(64) },
		"Put":         func() { _ = p.Put(buf) },
		"Put(nil)":    func() { _ = p.Put(nil) },
		"Len":         func() { p.Len() },
		"Stats":       func() { p.Stats() },
		"Trim":        func() { p.Trim() },
		"Close":       func() { _ = p.Close() },
		"Regions":     func() { p.Regions() },
		"RegionOf":    func() { _, _, _ = p.RegionOf(buf) },
		"Owner":       func() { _, _ = p.Owner(buf) },
		"Preallocate": func() { _ = p.Preallocate(64, 1) },
		"Freeze":      func() { _ = p.Freeze(buf) },
		"Melt":        func() { _ = p.Melt(buf) },
		"Purge":       func() { p.Purge() },
		"Config":      func() { p.Config() },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			defer func() { assert.NotNil(t, recover(), "%s on a nil pool panics", name) }()
			call()
		})
	}
}

// With the defaults, a 1 GiB buffer (MaxBufferSize) is kept idle and reused: the second Get
// maps nothing.
func TestLargestClassIsReusedWithDefaults(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	b := p.Get(1 << 30)
	addr := addrOf(b)
	require.NoError(t, p.Put(b))
	maps := p.Stats().Maps
	b = p.Get(1 << 30)
	assert.Equal(t, addr, addrOf(b), "the same buffer comes back")
	assert.Equal(t, maps, p.Stats().Maps, "no new mapping for the second 1 GiB Get")
	require.NoError(t, p.Put(b))
	assert.Equal(t, int64(1<<30), p.Stats().IdleBytes)
}

// Ps created after New (GOMAXPROCS raised) get caches of their own: their Gets and Puts are
// counted in a P's cache, never in the counters for Ps without one, and buffers come back
// from the caches without new mappings.
func TestPsAddedAfterNewGetCaches(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	p := newPool(t, Config{})
	require.Len(t, p.allLocals.Load().l, 1)
	runtime.GOMAXPROCS(8)
	var seen [8]atomic.Bool // Ps that ran a Put and then let us read their id
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := 0; i < 200000; i++ {
				b := p.Get(4096)
				b[0] = 1
				if err := p.Put(b); err != nil {
					panic(err)
				}
				pid := procPin()
				procUnpin()
				seen[pid%8].Store(true)
				if i%100 == 0 {
					runtime.Gosched()
				}
				if seen[1].Load() || seen[2].Load() || seen[3].Load() {
					return // some goroutine ran on a P added after New
				}
			}
		})
	}
	wg.Wait()
	require.True(t, seen[1].Load() || seen[2].Load() || seen[3].Load(), "the scheduler used a P added after New")
	ls := p.allLocals.Load().l
	assert.GreaterOrEqual(t, len(ls), 2, "a cache slot for the new Ps")
	for pid := 1; pid < len(ls) && pid < 8; pid++ {
		if seen[pid].Load() {
			assert.NotSame(t, unusedLocal, ls[pid], "P %d, added after New, has a cache of its own", pid)
		}
	}
	c := classOf(4096)
	assert.Zero(t, p.uncached.hits[c].Load()+p.uncached.misses[c].Load()+p.uncached.puts[c].Load(),
		"no Get or Put went without a P cache")
	s := p.Stats()
	assert.LessOrEqual(t, s.Misses, uint64(64), "nearly every Get found a cached buffer")
}

// A Debug pool refuses the second of two concurrent Puts of one buffer: exactly one is
// accepted, and the buffer is never handed to two holders afterwards. The first Put is held
// between its check of the buffer's state and its change of it, so that the second Put runs
// exactly there (with a plain load and store, both were accepted).
func TestDebugPoolRefusesConcurrentDoublePut(t *testing.T) {
	p := newPool(t, Config{Debug: true})
	var first atomic.Bool
	testHookDebugPut = func() {
		if first.CompareAndSwap(false, true) {
			time.Sleep(20 * time.Millisecond) // the second Put runs meanwhile
		}
	}
	defer func() { testHookDebugPut = nil }()
	for range 20 {
		first.Store(false)
		b := p.Get(4096)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := p.Put(b); err == nil {
					ok.Add(1)
				} else {
					assert.ErrorIs(t, err, ErrDoublePut)
					refused.Add(1)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int32(1), ok.Load(), "exactly one Put of the buffer is accepted")
		require.Equal(t, int32(1), refused.Load())
	}
	p.Trim()
	x, y := p.Get(4096), p.Get(4096)
	assert.NotEqual(t, addrOf(x), addrOf(y))
	s := p.Stats()
	assert.Equal(t, int64(2), s.InUse)
	assert.Equal(t, uint64(20), s.DoublePuts)
}
