package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestPcache(mag int) *pcache {
	sc := &sizeClass{mag: mag, size: 64}
	pc := &pcache{}
	pc.loaded, pc.prev, pc.state, pc.priv = newMagazine(sc), newMagazine(sc), pcReady, entry{}
	return pc
}

// push fills the loaded magazine, then swaps in an empty previous one; pop empties the loaded
// one, then swaps in a full previous one.
func TestPcachePushPopSwap(t *testing.T) {
	pc := newTestPcache(2)
	a, b := pc.loaded, pc.prev
	for i := range 4 {
		require.True(t, pc.push(entry{addr(64 * (i + 1)), 1}), "push %d", i)
	}
	assert.Same(t, b, pc.loaded, "the full loaded magazine swapped for the empty previous one")
	assert.Same(t, a, pc.prev)
	assert.False(t, pc.push(entry{1024, 1}), "both full")
	for i := 4; i > 0; i-- {
		e, ok := pc.pop()
		require.True(t, ok)
		assert.Equal(t, addr(64*i), e.addr, "the P's stack: last in, first out")
	}
	_, ok := pc.pop()
	assert.False(t, ok, "both empty")
}

// The outMag protocol: a slow path takes prev out, the pcache is bypassed meanwhile, and
// the magazine comes back as loaded only while prev is still outMag.
func TestPcacheTakeOutRestore(t *testing.T) {
	sc := &sizeClass{mag: 2, size: 64}
	pc := newTestPcache(2)
	assert.False(t, pc.bypassed(sc))
	loaded := pc.loaded
	m := pc.takeOutPrev()
	assert.Same(t, outMag, pc.prev)
	assert.True(t, pc.bypassed(sc), "another slow path on this P goes to the depot")
	assert.True(t, pc.restorePrev(m))
	assert.Same(t, m, pc.loaded)
	assert.Same(t, loaded, pc.prev)
	assert.False(t, pc.restorePrev(m), "nothing taken out: the caller gives it to the depot")

	var nilPC *pcache
	assert.True(t, nilPC.bypassed(sc), "no P cache in use")
	assert.False(t, nilPC.restorePrev(m))
	assert.True(t, pc.bypassed(&sizeClass{}), "a class without magazines")
	pc.state = pcOff
	assert.True(t, pc.bypassed(sc), "refused magazines")
}

// reset drains a pcache and makes it pcNew, reporting whether it held a reserved pair.
func TestPcacheReset(t *testing.T) {
	pc := newTestPcache(2)
	pc.push(entry{64, 1})
	pc.push(entry{128, 1})
	pc.push(entry{192, 1})
	pc.priv = entry{256, 2}
	out, held := pc.reset(nil)
	assert.True(t, held)
	assert.ElementsMatch(t, []entry{{64, 1}, {128, 1}, {192, 1}, {256, 2}}, out)
	assert.Equal(t, uint8(pcNew), pc.state)
	assert.Same(t, noMag, pc.loaded)
	assert.Same(t, noMag, pc.prev)
	assert.Equal(t, privClosed, pc.priv)

	pc = newTestPcache(2)
	pc.takeOutPrev()
	pc.state = pcOff
	_, held = pc.reset(nil)
	assert.False(t, held, "a pcOff cache reserved nothing")
	assert.Same(t, noMag, pc.prev, "a magazine taken out finds no slot when it comes back")
}

// The swaps exchange a magazine with the home shard of the depot inside a pinned section,
// and keep the budget's count of the depot's bytes.
func TestPcacheSwapsWithTheDepot(t *testing.T) {
	p := newPool(t, Config{NumShards: 1, LocalCacheSize: 2})
	ci, d, sc, pc := readyPcache(p, 4096)
	full := newMagazine(sc)
	full.push(entry{1 << 30, 1})
	full.push(entry{1<<30 + 4096, 1})
	require.True(t, p.idle.admitDepot(d.bytes(2)))
	d.shards[0].full = append(make([]*magazine, 0, 4), full)
	d.shards[0].empty = make([]*magazine, 0, 4)

	empty := pc.prev
	got := pc.swapInFull(p, ci, 0)
	assert.Same(t, full, got)
	assert.Same(t, full, pc.loaded)
	assert.Equal(t, []*magazine{empty}, d.shards[0].empty, "the empty previous magazine went to the depot")
	assert.Zero(t, p.idle.depot.Load(), "the budget no longer counts the bytes taken")

	// Now both magazines must be full for swapInEmpty to give one to the depot.
	pc.prev = pc.loaded
	pc.loaded = newMagazine(sc)
	pc.loaded.push(entry{1<<30 + 8192, 1})
	pc.loaded.push(entry{1<<30 + 12288, 1})
	got = pc.swapInEmpty(p, ci, 0)
	assert.Same(t, empty, got, "the depot's empty magazine")
	assert.Equal(t, []*magazine{full}, d.shards[0].full)
	assert.Equal(t, d.bytes(2), p.idle.depot.Load(), "the budget admitted the full magazine")
	d.shards[0].full = d.shards[0].full[:0]
	p.idle.releaseDepot(d.bytes(2))
}

// With both of the P's magazines empty (Get) or full (Put), a swap exchanges both with the
// shard where it can, so that a burst takes the shard's lock once per 2M buffers; the
// budget counts exactly what moved, and where it admits only one magazine, one moves.
func TestPcacheSwapsExchangeBothMagazines(t *testing.T) {
	p := newPool(t, Config{NumShards: 1, LocalCacheSize: 2, MaxIdleBytes: 64 << 20})
	ci, d, sc, pc := readyPcache(p, 4096)
	filled := func(base addr) *magazine {
		m := newMagazine(sc)
		m.push(entry{base, 1})
		m.push(entry{base + 4096, 1})
		return m
	}
	f1, f2 := filled(1<<30), filled(1<<30+8192)
	require.True(t, p.idle.admitDepot(d.bytes(4)))
	s := &d.shards[0]
	s.full = append(make([]*magazine, 0, 4), f1, f2)
	s.empty = make([]*magazine, 0, 4)

	e1, e2 := pc.prev, pc.loaded
	got := pc.swapInFull(p, ci, 0)
	assert.Same(t, f2, got, "the shard's top full magazine is loaded")
	assert.Same(t, f1, pc.prev, "and the one below it is the previous")
	assert.ElementsMatch(t, []*magazine{e1, e2}, s.empty, "both empty magazines went to the shard")
	assert.Empty(t, s.full)
	assert.Zero(t, p.idle.depot.Load(), "the budget no longer counts either")

	// Both full now: swapInEmpty gives both to the shard for its two empty ones.
	got = pc.swapInEmpty(p, ci, 0)
	assert.True(t, got.empty())
	assert.True(t, pc.prev.empty())
	assert.ElementsMatch(t, []*magazine{f1, f2}, s.full)
	assert.Empty(t, s.empty)
	assert.Equal(t, d.bytes(4), p.idle.depot.Load(), "the budget admitted both")

	// A budget with room for one magazine only: one moves, as before the pair exchange.
	pc.prev, pc.loaded = s.full[0], s.full[1]
	s.full, s.empty = s.full[:0], append(s.empty, e1, e2)
	p.idle.releaseDepot(d.bytes(4))
	room := p.idle.max - d.bytes(2) - p.idle.local.Load() - p.idle.emptySlabs.Load()
	require.True(t, p.idle.admitDepot(room), "fill the budget up to one magazine")
	got = pc.swapInEmpty(p, ci, 0)
	assert.True(t, got.empty())
	assert.True(t, pc.prev.full(), "the loaded magazine stayed: the budget had room for one")
	assert.Len(t, s.full, 1)
	assert.Equal(t, room+d.bytes(2), p.idle.depot.Load())
	p.idle.releaseDepot(room + d.bytes(2))
	s.full = s.full[:0]
}

// A pipeline's putting P gives full magazines to its own home shard: the getting P's
// pinned swap finds them there, so that its slow path never takes prev out for them.
func TestPcacheSwapInFullTriesEveryShard(t *testing.T) {
	p := newPool(t, Config{NumShards: 4, LocalCacheSize: 2})
	ci, d, sc, pc := readyPcache(p, 4096)
	full := newMagazine(sc)
	full.push(entry{1 << 30, 1})
	require.True(t, p.idle.admitDepot(d.bytes(1)))
	for i := range d.shards {
		d.shards[i].empty = make([]*magazine, 0, 4)
	}
	d.shards[2].full = append(make([]*magazine, 0, 4), full)
	require.True(t, d.shards[1].mu.tryLockPinned(), "a shard whose lock is taken is passed by")

	empty := pc.prev
	got := pc.swapInFull(p, ci, 1)
	d.shards[1].mu.unlockPinned()
	assert.Same(t, full, got, "the full magazine of another shard")
	assert.Equal(t, []*magazine{empty}, d.shards[2].empty, "the empty one went where the full one was")
	assert.Zero(t, p.idle.depot.Load())

	// Nothing full anywhere: the loaded (empty) magazine comes back and nothing moves.
	pc.loaded, pc.prev = newMagazine(sc), newMagazine(sc)
	assert.True(t, pc.swapInFull(p, ci, 3).empty())
	assert.Equal(t, []*magazine{empty}, d.shards[2].empty)
}

// A slow path that finds prev taken out by another goroutine on its P yields twice before it
// trades one buffer with the depot; otherwise it does not wait at all.
func TestPcacheWaitPrev(t *testing.T) {
	var yields int
	pc := &pcache{}
	pc.prev = outMag
	assert.True(t, pc.waitPrev(&yields))
	assert.True(t, pc.waitPrev(&yields))
	assert.False(t, pc.waitPrev(&yields), "at most maxPrevWaits yields")
	assert.Equal(t, maxPrevWaits, yields)

	yields = 0
	pc.prev = noMag
	assert.False(t, pc.waitPrev(&yields), "no magazine is not one taken out")
	assert.False(t, (*pcache)(nil).waitPrev(&yields), "no P cache")
	assert.Zero(t, yields)
}

// readyPcache is a P cache of size's class in p with two empty magazines, and the class's
// index, depot and size class.
func readyPcache(p *BufferPool, size int) (int, *depot, *sizeClass, *pcache) {
	ci := classOf(size)
	sc := &p.classes[ci]
	pc := &pcache{}
	pc.loaded, pc.prev, pc.state = newMagazine(sc), newMagazine(sc), pcReady
	return ci, p.depotOf(ci), sc, pc
}

// A previous magazine taken out whose slow path finished on another P (its goroutine moved)
// goes to the depot, and the P it came from is told; that P's next slow path then fills the
// slot with an empty magazine, so that its pair works again. A magazine still out on a live
// slow path is not replaced: the P's cache could then hold more than its reservation.
func TestPcacheReclaimsPrevTakenOutForGood(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{LocalCacheSize: 4})
	const size = 64 << 10
	require.NoError(t, p.Put(p.Get(size))) // the class's magazines on this P
	ci := classOf(size)
	d := p.depotOf(ci)
	empties := func() (n int) {
		for i := range d.shards {
			s := &d.shards[i]
			s.mu.lock()
			n += len(s.empty)
			s.mu.unlock()
		}
		return n
	}
	takeOut := func() (*magazine, takenOut) {
		pc, l, _ := p.pinCache(ci)
		require.NotNil(t, pc)
		require.Equal(t, uint8(pcReady), pc.state)
		m, from := l.takeOutPrev(pc, ci)
		unpin(l)
		return m, from
	}
	loadedNow := func() *magazine {
		pc, l, _ := p.pinCache(ci)
		defer unpin(l)
		return pc.loaded
	}

	// Out on a live slow path: the slot stays taken, and the magazine comes back to it.
	m, from := takeOut()
	pc, l, _ := p.pinForSlowPath(ci)
	live := pc.prev
	unpin(l)
	assert.Same(t, outMag, live, "a magazine a live slow path holds is not replaced")
	p.putBack(ci, m, false, false, from)
	assert.Same(t, m, loadedNow(), "back on its own P it is restored, as the loaded magazine")

	// Back on another P: the magazine goes to the depot and the P it came from is told.
	m, from = takeOut()
	elsewhere := takenOut{l: newLocal(), gen: 7}
	elsewhere.l.outGen[ci] = 7
	before := empties()
	p.putBack(ci, m, false, false, elsewhere) // this P is not elsewhere's: as if it had moved
	assert.Equal(t, before+1, empties(), "the magazine that came back elsewhere went to the depot")
	assert.True(t, elsewhere.l.prevOrphaned(ci), "and the P it came from was told")

	// This P's own slot is still outMag: told so (as the other P would), it fills the slot.
	assert.False(t, from.l.prevOrphaned(ci))
	from.l.orphaned[ci].Store(from.gen)
	pc, l, _ = p.pinForSlowPath(ci)
	prev := pc.prev
	bypassed := pc.bypassed(&p.classes[ci])
	unpin(l)
	assert.NotSame(t, outMag, prev, "the orphaned slot is filled again")
	assert.True(t, prev.empty() && !prev.full(), "with an empty magazine")
	assert.False(t, bypassed, "the P's magazines work again")

	bufs := make([][]byte, 20)
	for i := range bufs {
		bufs[i] = p.Get(size)
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	st := p.Stats()
	assert.Equal(t, st.Gets, st.Puts)
	assert.Zero(t, st.InUse)
	assert.LessOrEqual(t, st.IdleBytes, p.Config().MaxIdleBytes)
}
