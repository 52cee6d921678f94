package pool

import (
	"runtime"

	"sync/atomic"
)

// Per-P caches are magazines (Bonwick and Adams, "Magazines and Vmem", 2001): for each size
// class a P holds a loaded and a previous magazine, each a stack of up to M idle buffers.
// Get pops from the loaded one and Put pushes onto it; when it is empty (Get) or full (Put)
// and the previous one is full (Get) or empty (Put), the two swap, which costs nothing; only
// when both are empty or both full does the P exchange a whole magazine with its class's
// depot, in one short critical section. So a burst of any length costs one lock per M
// buffers, and the shared state is touched once per M buffers, not per buffer.

// magazine is a stack of idle buffers of one class.
type magazine struct {
	n     int
	items []entry // len(items) is the magazine's capacity, M of its class
	size  int     // its class's buffer size: the cap of the slices the fast path makes
}

func newMagazine(sc *sizeClass) *magazine {
	return &magazine{items: make([]entry, sc.mag), size: sc.size}
}

// entry is an idle buffer: its address and the address of its state byte.
type entry struct{ addr, state addr }

// cacheCost is the most a P's cache of class sc holds: two magazines and priv, in bytes.
func (sc *sizeClass) cacheCost() int64 { return int64((2*sc.mag + 1) * sc.size) }

// noMag stands in a P's cache for a magazine it does not have (not yet made, or a class the
// P caches do not hold); outMag for one that a slow path has taken out and will put back.
// Both hold nothing and have room for nothing, so the fast paths pass them by without a
// check of their own. They are never written.
var noMag, outMag = &magazine{}, &magazine{}

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

// setCaches turns the P caches off (Trim, Close) or on again. Turning them off waits until no
// goroutine is inside a P's cache: runtime.ReadMemStats stops the world, which cannot happen
// while any goroutine is between procPin and procUnpin (a pinned goroutine cannot be
// preempted), so once it returns every later pinned section sees noLocals.
func (p *BufferPool) setCaches(on bool) {
	p.localsMu.Lock()
	p.cachesOff = !on
	if on {
		p.locals.Store(p.allLocals.Load())
	} else {
		p.locals.Store(noLocals)
	}
	p.localsMu.Unlock()
	if !on {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
	}
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
