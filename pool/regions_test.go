package pool

import (
	"errors"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

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

// MaxMappedBytes bounds what the pool maps: a Get beyond it fails with ErrExhausted, the pool
// unchanged, and serves again when memory is put back.
func TestMaxMappedBytes(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{MaxMappedBytes: 4 << 20})
	a := p.Get(2 << 20)
	b := p.Get(2 << 20)
	_, err := p.TryGet(1 << 20)
	require.ErrorIs(t, err, ErrExhausted)
	assert.LessOrEqual(t, p.Stats().MappedBytes, int64(4<<20))
	require.NoError(t, p.Put(a))
	c, err := p.TryGet(2 << 20)
	require.NoError(t, err, "the idle buffer serves")
	require.NoError(t, p.Put(c))
	require.NoError(t, p.Put(b))
	_, err = p.TryGet(1 << 20)
	require.NoError(t, err, "idle memory of another class is given back to make room")
	_, err = NewWithConfig(Config{MaxMappedBytes: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// Populate makes a region resident when it is mapped; DontFork sets MADV_DONTFORK ("dc").
func TestPopulateAndDontFork(t *testing.T) {
	p := newPool(t, Config{Populate: true, DontFork: true})
	b := p.Get(1 << 20)
	assert.Equal(t, int64(1<<20), resident(t, [][]byte{b}), "every page is resident before the first touch")
	flags, err := offheap.VmFlags(b)
	require.NoError(t, err)
	assert.Contains(t, flags, "dc", "MADV_DONTFORK")
	require.NoError(t, p.Put(b))
	q := newPool(t, Config{})
	c := q.Get(1 << 20)
	assert.Zero(t, resident(t, [][]byte{c}), "without Populate nothing is resident yet")
	require.NoError(t, q.Put(c))
}

// Owner recovers the whole buffer from an interior slice while it is out, so it can be put
// back; anything else is ErrNotOwned.
func TestOwner(t *testing.T) {
	for _, cfg := range []Config{{}, {Secure: true}} {
		p := newPool(t, cfg)
		for _, n := range []int{32, 100, 4096, 64 << 10, 1 << 20} {
			b := p.Get(n)
			for _, k := range []int{0, 1, n / 2, n - 1} {
				w, err := p.Owner(b[k:])
				require.NoError(t, err, "size %d offset %d", n, k)
				assert.Equal(t, addrOf(b), addrOf(w))
				assert.Equal(t, cap(b), len(w))
				assert.Equal(t, cap(w), len(w))
			}
			w, _ := p.Owner(b[n/2:])
			require.NoError(t, p.Put(w))
			_, err := p.Owner(b)
			assert.ErrorIs(t, err, ErrNotOwned, "an idle buffer has no owner")
		}
		_, err := p.Owner(make([]byte, 8))
		assert.ErrorIs(t, err, ErrNotOwned)
		_, err = p.Owner(nil)
		assert.ErrorIs(t, err, ErrNotOwned)
	}
	// A canary between two Secure slots is no buffer's.
	p := newPool(t, Config{Secure: true})
	b := p.Get(32)
	canary := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), cap(b))), 8)
	_, err := p.Owner(canary)
	assert.ErrorIs(t, err, ErrNotOwned)
	require.NoError(t, p.Put(b))
}

// Preallocate maps buffers now and keeps them idle: the next Gets map nothing.
func TestPreallocate(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	require.NoError(t, p.Preallocate(64<<10, 20))
	s := p.Stats()
	assert.Equal(t, int64(20), classRow(t, s, 64<<10).Idle)
	assert.Equal(t, int64(20*64<<10), p.idle.depot.Load(), "in the depot, where a Get on any P finds them")
	assert.Zero(t, s.Gets, "Preallocate is no Get")
	maps := s.Maps
	var bufs [][]byte
	for range 20 {
		bufs = append(bufs, p.Get(64<<10))
	}
	assert.Equal(t, maps, p.Stats().Maps)
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	assert.ErrorIs(t, p.Preallocate(-1, 1), ErrInvalidSize)
	assert.NoError(t, p.Preallocate(4096, 0))
	small := newPool(t, Config{MaxIdleBytes: 1 << 20})
	assert.Error(t, small.Preallocate(1<<20, 4), "beyond MaxIdleBytes not all can be kept")
}
