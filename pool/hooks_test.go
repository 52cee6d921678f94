package pool

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// A panic in OnMap reaches the caller of Get with its own value, and leaves nothing behind:
// the region it was called for is unmapped (the kernel says so), no phantom idle buffer is
// counted, and the P's caches still work. (Before, each panic leaked its region and counted
// an idle buffer that did not exist.)
func TestOnMapPanicPropagatesAndLeaksNothing(t *testing.T) {
	oneP(t)
	var boom atomic.Bool
	var seen []Region
	p := newPool(t, Config{OnMap: func(r Region) error {
		seen = append(seen, r)
		if boom.Load() {
			panic("OnMap says no")
		}
		return nil
	}})
	for _, size := range []int{4096, 1 << 20, 3 << 20} {
		boom.Store(true)
		seen = nil
		assert.Equal(t, "OnMap says no", recovered(func() { p.Get(size) }), "Get(%d)", size)
		assert.Equal(t, "OnMap says no", recovered(func() { _, _ = p.TryGet(size) }), "TryGet(%d)", size)
		require.Len(t, seen, 2)
		for _, r := range seen {
			assert.False(t, mappedAt(t, addrOf(r.Mem), len(r.Mem)), "region %d of Get(%d) is still mapped", r.ID, size)
		}
		s := p.Stats()
		assert.Zero(t, s.MappedBytes, "Get(%d): MappedBytes", size)
		assert.Zero(t, s.Idle, "Get(%d): Idle", size)
		assert.Zero(t, p.Len(), "Get(%d): Len", size)
		assert.Zero(t, s.InUse, "Get(%d): InUse", size)
		assert.Empty(t, p.Regions())
	}
	boom.Store(false)
	for _, size := range []int{4096, 1 << 20, 3 << 20} {
		roundTrip(t, p, size)
		before := p.Stats().Hits
		roundTrip(t, p, size)
		if size <= 1<<20 {
			assert.Equal(t, before+1, p.Stats().Hits, "Get(%d) after a panic hits the P's cache again", size)
		}
	}
	p.Trim()
	require.NoError(t, p.Close())
	assert.Zero(t, p.Stats().MappedBytes)
}

// A panic in OnUnmap reaches the caller that unmapped (Trim, Close, Put), after the pool has
// unmapped the region all the same and finished the call's other work.
func TestOnUnmapPanicPropagatesAfterTheUnmap(t *testing.T) {
	var seen []Region
	p := newPool(t, Config{MaxBufferSize: mib, OnUnmap: func(r Region) {
		seen = append(seen, r)
		panic("OnUnmap says no")
	}})
	a, b := p.Get(4096), p.Get(1<<20)
	require.NoError(t, p.Put(a))
	require.NoError(t, p.Put(b))
	assert.Equal(t, "OnUnmap says no", recovered(func() { p.Trim() }))
	require.Len(t, seen, 2, "both regions announced, though the first announcement panicked")
	for _, r := range seen {
		assert.False(t, mappedAt(t, addrOf(r.Mem), len(r.Mem)), "region %d is still mapped", r.ID)
	}
	assert.Zero(t, p.Stats().MappedBytes)
	roundTrip(t, p, 4096) // the caches are on again
	o := p.Get(3 << 20)   // above MaxBufferSize: its Put unmaps
	assert.Equal(t, "OnUnmap says no", recovered(func() { _ = p.Put(o) }))
	assert.Equal(t, int64(0), p.Stats().InUse)
	assert.Equal(t, "OnUnmap says no", recovered(func() { _ = p.Close() }))
	assert.Zero(t, p.Stats().MappedBytes)
	assert.Equal(t, uint64(4), p.Stats().HookPanics, "two by Trim, one by Put, one by Close")
}

// Hooks may call the pool back: OnUnmap may call Trim, Close and Get; OnMap may call Get and
// Put of its own class, Trim and Close. None of it deadlocks. (Before, OnUnmap calling Trim
// or Close and OnMap calling Get of its own class deadlocked.) The calls run in a child: a
// deadlock there is the runtime's fatal "all goroutines are asleep" or the child's time-out.
func TestReentrantHooksDoNotDeadlock(t *testing.T) {
	inChild(t, func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			reentrantHooks(t)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute): // a wedged child, not a timing assertion
			panic("a re-entrant hook deadlocked") // prints every goroutine, and ends the child
		}
	})
}

func reentrantHooks(t *testing.T) {
	// OnUnmap calls Trim, Get and Put, and Close on the last region.
	var p *BufferPool
	var depth atomic.Int32
	var reenter atomic.Bool
	reenter.Store(true)
	p = newPool(t, Config{MaxBufferSize: mib, OnUnmap: func(r Region) {
		if reenter.Load() && depth.Add(1) == 1 {
			p.Trim()
			roundTrip(t, p, 64)
			depth.Add(-1)
		}
	}})
	require.NoError(t, p.Put(p.Get(4096)))
	p.Trim()
	require.NoError(t, p.Put(p.Get(3<<20)), "the Put of a buffer above MaxBufferSize unmaps it")
	reenter.Store(false)

	var q *BufferPool
	q = newPool(t, Config{OnUnmap: func(Region) { _ = q.Close() }})
	require.NoError(t, q.Put(q.Get(4096)))
	q.Trim()
	_, err := q.TryGet(64)
	assert.ErrorIs(t, err, ErrClosed, "OnUnmap closed the pool")

	// OnMap calls Get and Put of its own class (which maps a second slab: the first is not
	// the pool's yet), and Trim.
	var m *BufferPool
	m = newPool(t, Config{OnMap: func(r Region) error {
		if depth.Add(1) == 1 {
			b := m.Get(r.Class)
			if err := m.Put(b); err != nil {
				return err
			}
			m.Trim()
		}
		depth.Add(-1)
		return nil
	}})
	depth.Store(0)
	roundTrip(t, m, 4096)
	roundTrip(t, m, 1<<20)

	// OnMap closes the pool: the Get fails with ErrClosed and the region is announced gone.
	var c *BufferPool
	var h hookLog
	c = newPool(t, Config{OnMap: func(r Region) error {
		_ = h.onMap(r)
		return c.Close()
	}, OnUnmap: h.onUnmap})
	_, err = c.TryGet(4096)
	assert.ErrorIs(t, err, ErrClosed)
	assert.Zero(t, h.live(), "the region OnMap announced was announced gone")
	assert.Zero(t, c.Stats().MappedBytes)
}

// Region.Mem of every region, Secure slabs included, is memory anyone may read and write:
// OnMap may touch every byte (a Secure slab's guard pages are not part of it), and the
// kernel may pin it (io_uring registration).
func TestRegionMemIsAccessible(t *testing.T) {
	for _, cfg := range []Config{{}, {Secure: true}, {Debug: true}, {Secure: true, Debug: true}} {
		var faults []string
		p := newPool(t, Config{Secure: cfg.Secure, Debug: cfg.Debug, OnMap: func(r Region) error {
			if faultOf(func() {
				for i := 0; i < len(r.Mem); i += offheap.PageSize() {
					sink += r.Mem[i]
				}
				sink += r.Mem[len(r.Mem)-1]
			}) != nil {
				faults = append(faults, FormatBytes(int64(r.Class)))
			}
			return nil
		}})
		for _, size := range []int{32, 4096, 1 << 20} {
			b := p.Get(size)
			r, off, err := p.RegionOf(b)
			require.NoError(t, err)
			assert.LessOrEqual(t, off+cap(b), len(r.Mem), "the buffer lies inside Mem")
			require.NoError(t, p.Put(b))
		}
		assert.Empty(t, faults, "regions whose Mem faults (Secure %v, Debug %v)", cfg.Secure, cfg.Debug)
	}
}

// hookLog records OnMap and OnUnmap calls.
type hookLog struct {
	mu       sync.Mutex
	mapped   map[uint64]Region
	unmapped []uint64
	refuse   error
}

func (h *hookLog) onMap(r Region) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse != nil {
		return h.refuse
	}
	if h.mapped == nil {
		h.mapped = map[uint64]Region{}
	}
	h.mapped[r.ID] = r
	return nil
}

func (h *hookLog) onUnmap(r Region) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unmapped = append(h.unmapped, r.ID)
	delete(h.mapped, r.ID)
}

func (h *hookLog) live() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mapped)
}

// Regions, RegionOf and the hooks agree: every buffer lies in a live region announced by
// OnMap, IDs are never reused, and a region is announced gone before its memory is.
func TestRegionsAndHooks(t *testing.T) {
	oneP(t)
	var h hookLog
	p := newPool(t, Config{OnMap: h.onMap, OnUnmap: h.onUnmap, MaxIdleBytes: 8 << 20})
	var bufs [][]byte
	for _, n := range []int{64, 4096, 64 << 10, 1 << 20, 3 << 20, 2 << 30 >> 8} {
		bufs = append(bufs, p.Get(n))
	}
	regions := p.Regions()
	require.Len(t, regions, h.live(), "Regions lists what OnMap announced")
	for i := 1; i < len(regions); i++ {
		assert.Less(t, regions[i-1].ID, regions[i].ID, "oldest first")
	}
	for _, b := range bufs {
		r, off, err := p.RegionOf(b)
		require.NoError(t, err)
		assert.Equal(t, h.mapped[r.ID].ID, r.ID, "the region was announced")
		assert.Equal(t, addrOf(b), addrOf(r.Mem)+uintptr(off))
		assert.LessOrEqual(t, off+cap(b), len(r.Mem), "the buffer lies inside its region")
		assert.GreaterOrEqual(t, r.Class, cap(b))
		inner, off2, err := p.RegionOf(b[1:])
		require.NoError(t, err, "an interior slice has a region too")
		assert.Equal(t, r.ID, inner.ID)
		assert.Equal(t, off+1, off2)
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	p.Trim()
	assert.Zero(t, h.live(), "Trim unmapped every region, each after its OnUnmap")
	assert.Empty(t, p.Regions())
	before := regions[len(regions)-1].ID
	b := p.Get(4096)
	r, _, err := p.RegionOf(b)
	require.NoError(t, err)
	assert.Greater(t, r.ID, before, "a region mapped again has a new ID")
	require.NoError(t, p.Put(b))

	for _, bad := range [][]byte{nil, make([]byte, 10), {}} {
		_, _, err := p.RegionOf(bad)
		assert.ErrorIs(t, err, ErrNotOwned)
	}
	q := newPool(t, Config{})
	other := q.Get(4096)
	_, _, err = p.RegionOf(other)
	assert.ErrorIs(t, err, ErrNotOwned, "another pool's buffer")
	require.NoError(t, q.Put(other))
}

// With hooks set, the pages behind a live region never change: Trim discards no free slot of
// a slab that still has a buffer out, so the slot's data stays, and the same memory comes
// back with it. Without hooks Trim discards it (reads zero).
func TestHooksKeepPagesBehindLiveRegions(t *testing.T) {
	for _, hooked := range []bool{true, false} {
		oneP(t)
		var h hookLog
		cfg := Config{LocalCacheSize: 1}
		if hooked {
			cfg.OnMap, cfg.OnUnmap = h.onMap, h.onUnmap
		}
		p := newPool(t, cfg)
		held := p.Get(64 << 10) // keeps the slab alive
		b := p.Get(64 << 10)
		b[0], b[len(b)-1] = 'A', 'Z'
		require.NoError(t, p.Put(b))
		p.Trim()
		c := p.Get(64 << 10)
		require.Equal(t, addrOf(b), addrOf(c), "the same slot comes back")
		if hooked {
			assert.Equal(t, []byte{'A', 'Z'}, []byte{c[0], c[len(c)-1]}, "hooked: the pages were not discarded")
			assert.Equal(t, 1, h.live())
		} else {
			assert.Equal(t, []byte{0, 0}, []byte{c[0], c[len(c)-1]}, "unhooked: Trim discarded the free slot")
		}
		require.NoError(t, p.Put(c))
		require.NoError(t, p.Put(held))
	}
}

// An OnMap error fails the Get that needed the region, wrapped; nothing stays mapped, and the
// pool serves again once OnMap accepts.
func TestOnMapErrorFailsTheGet(t *testing.T) {
	refusal := errors.New("table full")
	h := hookLog{refuse: refusal}
	p := newPool(t, Config{OnMap: h.onMap, OnUnmap: h.onUnmap})
	_, err := p.TryGet(4096)
	require.ErrorIs(t, err, refusal)
	s := p.Stats()
	assert.Zero(t, s.MappedBytes)
	assert.Zero(t, s.InUse)
	assert.Empty(t, p.Regions())
	assert.Empty(t, h.unmapped, "a region OnMap refused is not announced gone")
	assert.Panics(t, func() { p.Get(4096) })
	h.mu.Lock()
	h.refuse = nil
	h.mu.Unlock()
	roundTrip(t, p, 4096)
}
