package pool

import (
	"runtime"
	"sync/atomic"
)

// pcache is one P's cache of one class: what the fast paths touch, in one cache line.
type pcache struct {
	// priv is one idle buffer held outside the magazines, as sync.Pool's private: a Get+Put
	// cycle of one buffer takes it and puts it back there without reaching a magazine. An
	// empty priv is entry{}; privClosed keeps it shut while the P has no magazines of the
	// class (Get finds no buffer in it, Put finds it taken), so the fast paths need no check
	// of their own for that.
	priv         entry
	loaded, prev *magazine
	hits, puts   uint64  // only this P writes them (see bump)
	size         int     // the class's buffer size: the cap of the slices Get makes; never changes
	track        uint32  // Gets until the next tracked one (Config.TrackRate; see track.go)
	state        uint8   // pcNew, pcReady or pcOff
	_            [3]byte // 64 bytes: a cache line each, and an index is a shift
}

// privClosed is the priv of a P cache that may not hold a buffer (see pcache.priv): Get reads
// priv.state, Put reads priv.addr.
var privClosed = entry{addr: 1}

// A pcache's state: its magazines are not made yet, made, or refused (the P caches' share of
// MaxIdleBytes is spent, or the class is too big for them): its Gets and Puts then go to the
// depot one buffer at a time.
const (
	pcNew = iota
	pcReady
	pcOff
)

// pop takes an idle buffer from the loaded magazine, or from the previous one, swapping them.
func (pc *pcache) pop() (entry, bool) {
	m := pc.loaded
	if m.n == 0 {
		if pc.prev.n == 0 {
			return entry{}, false
		}
		m, pc.prev = pc.prev, m
		pc.loaded = m
	}
	m.n--
	return m.items[m.n], true
}

// push puts an idle buffer on the loaded magazine, or on the previous one when it is empty,
// swapping them.
func (pc *pcache) push(e entry) bool {
	m := pc.loaded
	if m.n == len(m.items) {
		if q := pc.prev; q.n != 0 || len(q.items) == 0 {
			return false
		}
		m, pc.prev = pc.prev, m
		pc.loaded = m
	}
	m.items[m.n] = e
	m.n++
	return true
}

// local is one P's cache: a pcache per class, touched only by the goroutine running on that P
// inside procPin.
type local struct {
	// last is the buffer this P's last fast-path Get handed out, of class lastClass, while
	// unmapEpoch was lastEpoch. Put of that buffer on this P (a Get+Put cycle) needs no
	// page-map lookup: the address identifies it, and while the epoch holds its state byte is
	// mapped, so the state check that catches a double Put reads it directly.
	last      entry
	lastClass uint
	lastEpoch uint64
	_         [32]byte // the pcaches start on a line of their own

	c      [classSlots]pcache
	misses [classSlots]uint64 // Gets that carved fresh memory, per class; off the fast paths' lines
	_      [128]byte          // no false sharing with the next P's cache (nor its adjacent-line prefetch)
}

// noEpoch is the lastEpoch of a P that remembers no buffer: unmapEpoch never reaches it.
const noEpoch = ^uint64(0)

func newLocal() *local {
	l := &local{lastEpoch: noEpoch}
	for i := range l.c {
		pc := &l.c[i]
		pc.loaded, pc.prev, pc.priv = noMag, noMag, privClosed
		pc.size = classSize(i)
	}
	return l
}

// unusedLocal stands for the cache of a P that has not used the pool yet: it holds noMag
// everywhere, so the fast paths pass it by, and the first slow path on that P makes the P a
// cache of its own. It is never written. So a pool costs no cache memory for Ps that never
// use it.
var unusedLocal = newLocal()

// localSet is the P caches in use, indexed by P id.
type localSet struct{ l []*local }

// noLocals is what Get and Put see while Trim or Close empties the caches, and after Close.
var noLocals = &localSet{}

// growLocals makes caches for every P up to GOMAXPROCS, as sync.Pool's pinSlow does, and
// publishes them unless the caches are off (Trim, Close). It reports whether P pid now has
// a cache in use.
func (p *BufferPool) growLocals(pid int) bool {
	p.localsMu.Lock()
	defer p.localsMu.Unlock()
	all := p.allLocals.Load()
	if n := max(runtime.GOMAXPROCS(0), pid+1); n > len(all.l) || all.l[pid] == unusedLocal {
		l := make([]*local, max(n, len(all.l)))
		copy(l, all.l)
		for i := len(all.l); i < len(l); i++ {
			l[i] = unusedLocal
		}
		l[pid] = newLocal()
		all = &localSet{l}
		p.allLocals.Store(all)
	}
	if p.cachesOff {
		return false
	}
	p.locals.Store(all)
	return true
}

// pinCache pins the goroutine and returns the current P's cache of class c, the P's cache,
// and the P's home shard; the caller calls unpin(l). pc is nil when the P has no cache in
// use (the caches are off).
func (p *BufferPool) pinCache(c int) (pc *pcache, l *local, home int) {
	pid := procPin()
	if ls := p.locals.Load().l; uint(pid) < uint(len(ls)) {
		if l := ls[pid]; l != unusedLocal {
			raceAcquire(l)
			return &l.c[c&(classSlots-1)], l, pid & p.shardMask
		}
	}
	return p.pinCacheSlow(c, pid)
}

// pinCacheSlow is pinCache for a P that has no cache of its own yet: it makes one.
func (p *BufferPool) pinCacheSlow(c, pid int) (pc *pcache, l *local, home int) {
	for {
		procUnpin()
		if !p.growLocals(pid) {
			pid = procPin()
			return nil, nil, pid & p.shardMask
		}
		pid = procPin()
		if ls := p.locals.Load().l; uint(pid) < uint(len(ls)) {
			if l := ls[pid]; l != unusedLocal {
				raceAcquire(l)
				return &l.c[c&(classSlots-1)], l, pid & p.shardMask
			}
		}
	}
}

// unpin ends a pinned section that pinCache began.
func unpin(l *local) {
	if l != nil {
		raceReleaseMerge(l)
	}
	procUnpin()
}

// counters the P caches cannot take (while they are off) are counted here.
type extraCounters struct{ hits, misses, puts [classSlots]atomic.Uint64 }

// countGet counts a Get of class c served outside the P's cache; call it pinned.
func (p *BufferPool) countGet(pc *pcache, l *local, c int, hit bool) {
	switch {
	case pc == nil && hit:
		p.extra.hits[c&(classSlots-1)].Add(1)
	case pc == nil:
		p.extra.misses[c&(classSlots-1)].Add(1)
	case hit:
		bump(&pc.hits, 1)
	default:
		bump(&l.misses[c&(classSlots-1)], 1)
	}
}

// countPut counts a Put of class c taken outside the P's cache; call it pinned.
func (p *BufferPool) countPut(pc *pcache, c int) {
	if pc == nil {
		p.extra.puts[c&(classSlots-1)].Add(1)
		return
	}
	bump(&pc.puts, 1)
}

// countPutUnpinned counts a Put of class c from a path that is not pinned.
func (p *BufferPool) countPutUnpinned(c int) {
	pc, l, _ := p.pinCache(c)
	p.countPut(pc, c)
	unpin(l)
}

// countGetUnpinned counts a Get of class c from a path that is not pinned.
func (p *BufferPool) countGetUnpinned(c int, hit bool) {
	pc, l, _ := p.pinCache(c)
	p.countGet(pc, l, c, hit)
	unpin(l)
}

// getClass takes a buffer of class c for getSlow and counts the Get. fresh tells memory
// never used before (a miss) from memory used before (a hit).
func (p *BufferPool) getClass(c int) (e entry, fresh bool, err error) {
	sc := &p.classes[c]
	for {
		pc, l, home := p.pinCache(c)
		if pc == nil || sc.mag == 0 || pc.state == pcOff || pc.prev == outMag {
			// No magazines here (or another Get or Put on this P is exchanging one): one
			// buffer from the depot or the slabs.
			unpin(l)
			return p.getOne(c, home)
		}
		if e, ok := pc.pop(); ok { // refilled since the fast path looked
			p.countGet(pc, l, c, true)
			unpin(l)
			return e, false, nil
		}
		if pc.state == pcNew {
			unpin(l)
			p.makeMagazines(c)
			continue
		}
		// Both magazines are empty: exchange the previous one for a full one from the
		// depot, pinned where that can be done without waiting (swapInFull), else unpinned,
		// filling it from the slabs if the depot has nothing. The P keeps its loaded (empty)
		// magazine meanwhile; outMag marks the slot taken.
		if m := p.swapInFull(pc, c, home); m.n > 0 {
			m.n--
			e = m.items[m.n]
			bump(&pc.hits, 1)
			unpin(l)
			return e, false, nil
		}
		m := pc.prev
		pc.prev = outMag
		unpin(l)
		if full := p.takeFull(c, m, home); full != nil {
			return p.putBack(c, full, true, true), false, nil
		}
		// Fill m from the slabs: one buffer for this Get, and as many more free slots of
		// the same slab as m holds, for the next Gets.
		e, fresh, m.n, err = p.carve(c, home, m.items[:len(m.items)-1])
		if err != nil {
			p.putBack(c, m, false, false)
			return entry{}, false, err
		}
		m.items[m.n] = e
		m.n++
		return p.putBack(c, m, true, !fresh), fresh, nil
	}
}

// getOne takes one buffer of class c for a P without magazines of the class: from the
// depot, else from the slabs. It counts the Get.
func (p *BufferPool) getOne(c, home int) (entry, bool, error) {
	if e, ok := p.takeOne(c, home); ok {
		p.countGetUnpinned(c, true)
		return e, false, nil
	}
	e, fresh, _, err := p.carve(c, home, nil)
	if err == nil {
		p.countGetUnpinned(c, !fresh)
	}
	return e, fresh, err
}

// putBack returns a magazine that a slow path took out to the slot outMag marks in the
// current P's cache: as the loaded magazine, the loaded one becoming the previous. With get
// set it first pops the Get's buffer from the magazine and counts the Get (a hit when hit is
// set), in the same pinned section. Where no slot is marked (the goroutine moved to another P, or Trim emptied the caches
// meanwhile) the magazine goes to the depot instead.
func (p *BufferPool) putBack(c int, m *magazine, get, hit bool) (e entry) {
	pc, l, home := p.pinCache(c)
	if get {
		m.n--
		e = m.items[m.n]
		p.countGet(pc, l, c, hit)
	}
	if pc != nil && pc.prev == outMag {
		pc.prev, pc.loaded = pc.loaded, m
		unpin(l)
		return e
	}
	unpin(l)
	if m.n == 0 {
		p.giveEmpty(c, m, home)
		return e
	}
	p.giveEmpty(c, p.giveFull(c, m, home), home)
	return e
}

// makeMagazines gives the current P a pair of magazines for class c (and opens its priv),
// out of the P caches' share of MaxIdleBytes; where that share is spent, the P holds no magazines of the class
// and its Gets and Puts of it go to the depot.
func (p *BufferPool) makeMagazines(c int) {
	sc := &p.classes[c]
	cost := sc.cacheCost()
	ok := p.idle.reserveLocal(cost)
	var a, b *magazine
	if ok {
		a, b = newMagazine(sc), newMagazine(sc)
	}
	pc, l, _ := p.pinCache(c)
	switch {
	case pc == nil || pc.state != pcNew: // the caches went off, or another goroutine was first
		unpin(l)
		if ok {
			p.idle.releaseLocal(cost)
		}
	case ok:
		pc.loaded, pc.prev, pc.state = a, b, pcReady
		pc.track = p.tracks.next()
		// priv stays shut where Puts do work (Secure and Debug pools) and for classes below
		// MinBufferSize, which the P's two magazines alone hold (at most 2*LocalCacheSize).
		if p.cachesPuts() && sc.keep {
			pc.priv = entry{}
		}
		unpin(l)
	default:
		pc.state = pcOff
		pc.track = p.tracks.next()
		unpin(l)
	}
}

// putClass keeps an idle buffer of class c: on the P's magazines, else in the depot, else
// (beyond the idle bounds) it releases the buffer's memory. It counts the Put.
func (p *BufferPool) putClass(c int, e entry) {
	sc := &p.classes[c]
	for {
		pc, l, home := p.pinCache(c)
		if pc == nil || sc.mag == 0 || pc.state == pcOff || pc.prev == outMag {
			p.countPut(pc, c)
			unpin(l)
			p.giveOne(c, e, home)
			return
		}
		if pc.push(e) {
			p.countPut(pc, c)
			unpin(l)
			return
		}
		if pc.state == pcNew {
			unpin(l)
			p.makeMagazines(c)
			continue
		}
		// Both magazines are full: the previous one goes to the depot, and an empty one
		// comes back for this buffer, pinned where that can be done without waiting
		// (swapInEmpty), else unpinned.
		if m := p.swapInEmpty(pc, c, home); m.n < len(m.items) {
			m.items[m.n] = e
			m.n++
			bump(&pc.puts, 1)
			unpin(l)
			return
		}
		m := pc.prev
		pc.prev = outMag
		p.countPut(pc, c)
		unpin(l)
		m = p.giveFull(c, m, home)
		m.items[m.n] = e
		m.n++
		p.putBack(c, m, false, false)
		return
	}
}

// swapInFull makes the P's loaded magazine of class c one with a buffer in it, if that can
// be done inside the caller's pinned section: by swapping in the previous magazine, or by
// exchanging the previous (empty) one for a full one of the depot's home shard when its lock
// is free and its lists have room (so nothing waits or allocates). It returns the loaded
// magazine, empty if neither worked.
func (p *BufferPool) swapInFull(pc *pcache, c, home int) *magazine {
	if pc.prev.n > 0 {
		pc.loaded, pc.prev = pc.prev, pc.loaded
		return pc.loaded
	}
	if pc.state != pcReady || pc.prev == outMag {
		return pc.loaded
	}
	sc := &p.classes[c&(classSlots-1)]
	d := sc.tryLockHome(home)
	if d == nil {
		return pc.loaded
	}
	if len(d.full) == 0 || len(d.empty) == cap(d.empty) {
		d.mu.unlock()
		return pc.loaded
	}
	full := popMagazine(&d.full)
	d.empty = append(d.empty, pc.prev) // within its capacity
	d.mu.unlock()
	p.idle.releaseDepot(int64(full.n * sc.size))
	pc.prev, pc.loaded = pc.loaded, full
	return full
}

// swapInEmpty makes the P's loaded magazine of class c one with room, if that can be done
// inside the caller's pinned section: by swapping in the previous magazine, or by exchanging
// the previous (full) one for an empty one of the depot's home shard when its lock is free,
// its lists have room and the idle bound admits the full one. It returns the loaded
// magazine, full if neither worked.
func (p *BufferPool) swapInEmpty(pc *pcache, c, home int) *magazine {
	if q := pc.prev; q.n == 0 && len(q.items) != 0 {
		pc.loaded, pc.prev = q, pc.loaded
		return q
	}
	sc := &p.classes[c&(classSlots-1)]
	if pc.state != pcReady || pc.prev == outMag || !sc.keep {
		return pc.loaded
	}
	d := sc.tryLockHome(home)
	if d == nil {
		return pc.loaded
	}
	if len(d.empty) == 0 || len(d.full) == cap(d.full) || !p.admit(int64(pc.prev.n*sc.size)) {
		d.mu.unlock()
		return pc.loaded
	}
	empty := popMagazine(&d.empty)
	d.full = append(d.full, pc.prev) // within its capacity
	d.mu.unlock()
	pc.prev, pc.loaded = pc.loaded, empty
	return empty
}
