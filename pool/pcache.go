package pool

import (
	"runtime"
	"sync/atomic"
)

// The P caches: for each size class a P holds a pcache, with one buffer apart (priv) and a
// loaded and a previous magazine (Bonwick and Adams, "Magazines and Vmem", 2001). Get pops
// from the loaded one and Put pushes onto it; when it is empty (Get) or full (Put) and the
// previous one is full (Get) or empty (Put), the two swap, which costs nothing; only when
// both are empty or both full does the P exchange them with its class's depot (both at once
// where the shard has two), in one short critical section. So a burst of any length costs one
// lock per 2M buffers.
//
// The protocol, stated here once. A pcache is touched only by the goroutine pinned to its P
// (pinCache ... unpin, procPin underneath), so its fields need no lock, and each change of
// them is made within one pinned section. Its state says what its magazines are:
//
//   - pcNew: none made yet. loaded and prev are noMag (empty and full at once, so the fast
//     paths pass them by) and priv is privClosed. The class's first slow path on this P
//     calls makeMagazines: it reserves the pair in the idle budget unpinned, then, pinned
//     again and only if the state is still pcNew, installs them (pcReady) or, refused,
//     sets pcOff.
//   - pcReady: loaded and prev are the P's two magazines; priv is open (entry{} or a buffer)
//     where the class's Puts may be cached as they are and the depot keeps the class.
//   - pcOff: no magazines (noMag), priv shut: the P caches' share of MaxIdleBytes was spent.
//     The class's Gets and Puts on this P go to the depot one buffer at a time.
//
// A slow path that must wait (the depot's lock, the slabs) takes prev out of the pcache and
// leaves outMag in its place (takeOutPrev), unpins, works, and pins again to put it back
// (restorePrev). While prev is outMag, no other slow path on this P exchanges a magazine
// (bypassed sends it to the depot one buffer at a time) and the fast paths pass outMag by
// (it is empty and full). Where prev is no longer outMag when the magazine comes back (the
// goroutine moved to another P, or Trim reset the cache meanwhile), the magazine goes to
// the depot instead. A magazine comes back only to the P it was taken from: one whose
// goroutine moved goes to the depot, and putBack then tells the first P (local.orphaned),
// whose next slow path fills the slot it left outMag (pinForSlowPath).
//
// drainLocals (Trim, Close) empties every pcache and resets it to pcNew, releasing its
// pair's reservation, after the cache barrier (setCaches, drain.go) has made sure no
// goroutine is inside any P's cache.

// pcache is one P's cache of one class: what the fast paths touch, in one cache line.
type pcache struct {
	// 64 bytes (padding.go): a cache line each, and an index is a shift. The padding comes
	// first: the fields fill the line today, and Go pads a zero-size last field.
	_ [pcachePad]byte
	pcacheFields
}

type pcacheFields struct {
	// priv is one idle buffer held outside the magazines, as sync.Pool's private: a Get+Put
	// cycle of one buffer takes it and puts it back there without reaching a magazine. Its
	// state says all: 0 is empty (Get empties it by that one word, leaving addr as it was),
	// privShut keeps it shut while the P has no magazines of the class (Get finds no buffer
	// in it, Put finds it taken), so the fast paths need no check of their own for that;
	// anything else is the state byte of the idle buffer at addr (see privHolds).
	priv         entry
	loaded, prev *magazine
	hits, puts   uint64 // only this P writes them (see bump)
	size         int    // the class's buffer size: the cap of the slices Get makes; never changes
	track        uint32 // Gets until the next tracked one (Config.TrackRate; see track.go)
	state        uint8  // pcNew, pcReady or pcOff
}

// privShut is the priv.state of a P cache that may not hold a buffer (see pcache.priv): no
// state byte is at address 1.
const privShut addr = 1

// privClosed is the priv of a P cache that may not hold a buffer.
var privClosed = entry{state: privShut}

// privHolds reports whether priv e holds a buffer (neither empty nor shut).
func privHolds(e entry) bool { return e.state > privShut }

// A pcache's state (see the protocol above).
const (
	pcNew = iota
	pcReady
	pcOff
)

// bypassed reports whether a slow path must pass pc's magazines by and trade one buffer with
// the depot: the P has no cache in use (pc nil), the class has no magazines, the P's were
// refused, or another slow path on this P has taken prev out (and kept it out while this one
// yielded, see waitPrev). A pcNew pcache is not bypassed: its magazines are made.
func (pc *pcache) bypassed(sc *sizeClass) bool {
	return pc == nil || sc.mag == 0 || pc.state == pcOff || pc.prev == outMag
}

// waitPrev reports whether a slow path should yield the P and look again, rather than
// trade one buffer with the depot: another goroutine's slow path on this P has taken prev
// out (a pipeline's other end, scheduled onto this P while the first waits for a lock) and
// gives it back once it runs again. It says so twice at most per slow path (yields counts).
func (pc *pcache) waitPrev(yields *int) bool {
	if pc == nil || pc.prev != outMag || *yields >= maxPrevWaits {
		return false
	}
	*yields++
	return true
}

// maxPrevWaits bounds waitPrev's yields per slow path.
const maxPrevWaits = 2

// takeOutPrev takes the previous magazine out for a slow path that unpins, leaving outMag.
func (pc *pcache) takeOutPrev() *magazine {
	m := pc.prev
	pc.prev = outMag
	return m
}

// restorePrev puts m back as the loaded magazine, the loaded one becoming the previous, if
// pc still waits for it (prev is outMag); it reports whether it did.
func (pc *pcache) restorePrev(m *magazine) bool {
	if pc == nil || pc.prev != outMag {
		return false
	}
	pc.prev, pc.loaded = pc.loaded, m
	return true
}

// reset empties pc into out and makes it pcNew again; it reports whether pc held a pair of
// magazines (whose reservation the caller releases). A magazine a slow path has taken out
// will find no slot and go to the depot.
func (pc *pcache) reset(out []entry) ([]entry, bool) {
	for _, m := range []*magazine{pc.loaded, pc.prev} {
		if m != noMag && m != outMag {
			out = m.drainInto(out)
		}
	}
	if privHolds(pc.priv) {
		out = append(out, pc.priv)
	}
	held := pc.state == pcReady
	pc.loaded, pc.prev, pc.priv, pc.state = noMag, noMag, privClosed, pcNew
	return out, held
}

// pop takes an idle buffer from the loaded magazine, or from the previous one, swapping them.
func (pc *pcache) pop() (entry, bool) {
	m := pc.loaded
	if m.empty() {
		if pc.prev.empty() {
			return entry{}, false
		}
		m, pc.prev = pc.prev, m
		pc.loaded = m
	}
	return m.pop(), true
}

// push puts an idle buffer on the loaded magazine, or on the previous one when it is empty,
// swapping them.
func (pc *pcache) push(e entry) bool {
	m := pc.loaded
	if m.full() {
		if q := pc.prev; !q.empty() || q.full() { // q.full(): noMag, outMag
			return false
		}
		m, pc.prev = pc.prev, m
		pc.loaded = m
	}
	m.push(e)
	return true
}

// putPriv puts the idle buffer e, which was out, into the empty priv of this P's cache pc:
// both Put fast paths end so. It is small enough to be inlined; call it pinned, on the P
// whose cache pc is.
func (pc *pcache) putPriv(e entry, pid int) {
	pc.priv = e
	markIdle(e.state)
	if raceEnabled { // bump written out, as in handOut
		bump(&pc.puts, 1)
	} else {
		pc.puts++
	}
	if lineCheck {
		noteWrite(pid, e.state, lineState, e.addr)
		noteWrite(pid, addrOfVar(&pc.priv), linePCache, e.addr)
	}
}

// handOut is the part of a fast-path Get that every source of the buffer shares: e, taken
// from pc (class ci) of this P, is counted and marked out, and remembered as the P's last
// buffer for the lookup-free Put; it returns the buffer, len n and cap c. (c is pc.size,
// read by the caller: an instruction on the call's line, where the compiler can put the
// inlined call's mark instead of a NOP.)
func (l *local) handOut(pc *pcache, e entry, ci, pid, n, c int) []byte {
	// bump written out (raceEnabled is a constant): an inlined call whose line has no
	// instruction of its own costs a NOP for its mark, one instruction per Get+Put.
	if raceEnabled {
		bump(&pc.hits, 1)
	} else {
		pc.hits++
	}
	markOut(e.state)
	l.last, l.lastCI, l.lastEpoch = e, uint(ci), unmapEpoch.Load()
	if lineCheck {
		noteWrite(pid, addrOfVar(&pc.hits), linePCache, e.addr)
		noteWrite(pid, e.state, lineState, e.addr)
	}
	return e.addr.buffer(n, c)
}

// swapInFull makes the loaded magazine one with a buffer in it, if that can be done inside
// the caller's pinned section: by swapping in the previous magazine, or by exchanging the
// previous (empty) one, and the loaded one where the shard has two, for full ones of class
// ci's depot, from the first shard (the home shard first) whose lock is free and whose
// empty list has room (so nothing waits or allocates). It returns the loaded magazine, empty
// if neither worked. The Get fast path calls it. The other shards matter to a pipeline: its
// putting P gives full magazines to its own home shard, where the getting P finds them
// without leaving its pinned section (which would leave its previous magazine taken out, so
// that another goroutine on the P trades one buffer at a time meanwhile).
//
// The exchange is depot.takeFull written out (with tryLockPinned): a call of its own costs
// a burst (a swap per 2M buffers) more instructions.
func (pc *pcache) swapInFull(p *BufferPool, ci, home int) *magazine {
	if !pc.prev.empty() {
		pc.loaded, pc.prev = pc.prev, pc.loaded
		return pc.loaded
	}
	if pc.state != pcReady || pc.prev == outMag {
		return pc.loaded
	}
	d := p.classes[ci&(classSlots-1)].depot.Load()
	if d == nil {
		return pc.loaded
	}
	for i := range d.shards {
		s := &d.shards[(home+i)&d.mask]
		if !s.mu.tryLockPinned() {
			continue
		}
		if len(s.full) == 0 || len(s.empty) == cap(s.empty) {
			s.mu.unlockPinned()
			continue
		}
		full := popMagazine(&s.full)
		s.empty = append(s.empty, pc.prev) // within its capacity
		n := full.len()
		// Both of the P's magazines are empty: where the shard has a second full one (and
		// room for a second empty one), that pair is exchanged too, so that the next
		// exchange is 2M Gets away rather than M and a burst takes the lock half as often.
		second := pc.loaded
		if len(s.full) > 0 && len(s.empty) < cap(s.empty) && second.empty() {
			s.empty = append(s.empty, second)
			second = popMagazine(&s.full)
			n += second.len()
		}
		s.mu.unlockPinned()
		p.idle.releaseDepot(d.bytes(n))
		pc.prev, pc.loaded = second, full
		return full
	}
	return pc.loaded
}

// swapInEmpty makes the loaded magazine one with room, if that can be done inside the
// caller's pinned section: by swapping in the previous magazine, or by exchanging the
// previous (full) one, and the loaded one where both fit, for empty ones of the home shard
// of class ci's depot where its lock is free, its lists have room and the idle budget
// admits the full ones. It returns the loaded magazine, full if neither worked. The Put
// fast path calls it.
//
// The exchange is depot.giveFull written out for one shard (with tryLockPinned), as in
// swapInFull.
func (pc *pcache) swapInEmpty(p *BufferPool, ci, home int) *magazine {
	if q := pc.prev; q.empty() && !q.full() {
		pc.loaded, pc.prev = q, pc.loaded
		return q
	}
	sc := &p.classes[ci&(classSlots-1)]
	if pc.state != pcReady || pc.prev == outMag || !sc.keep {
		return pc.loaded
	}
	d := sc.depot.Load()
	if d == nil {
		return pc.loaded
	}
	s := &d.shards[home&d.mask]
	if !s.mu.tryLockPinned() {
		return pc.loaded
	}
	if len(s.empty) == 0 || len(s.full) == cap(s.full) || p.closed.Load() {
		s.mu.unlockPinned()
		return pc.loaded
	}
	// Both of the P's magazines are full: both go to the shard where it has two empty ones
	// (and room) and the budget admits both, so that the next exchange is 2M Puts away; else
	// prev alone, where the budget admits it.
	n := pc.prev.len()
	both := len(s.empty) > 1 && len(s.full)+1 < cap(s.full) && pc.loaded.full()
	if !both || !p.idle.admitDepot(d.bytes(n+pc.loaded.len())) {
		both = false
		if !p.idle.admitDepot(d.bytes(n)) {
			s.mu.unlockPinned()
			return pc.loaded
		}
	}
	empty := popMagazine(&s.empty)
	s.full = append(s.full, pc.prev) // within its capacity
	second := pc.loaded
	if both {
		s.full = append(s.full, second)
		second = popMagazine(&s.empty)
	}
	s.mu.unlockPinned()
	pc.prev, pc.loaded = second, empty
	return empty
}

// local is one P's cache: a pcache per class, touched only by the goroutine running on that P
// inside procPin.
type local struct {
	localHead
	_ [localHeadPad]byte // the pcaches start on a line of their own (padding.go)

	c      [classSlots]pcache
	misses [classSlots]uint64 // Gets that carved fresh memory, per class; off the fast paths' lines

	// outGen numbers, per class, the times a slow path took this P's previous magazine out
	// (local.takeOutPrev); only this P writes it. orphaned is the number of such a magazine that
	// came back on another P and went to the depot instead (putBack, on that P): the slot
	// it left outMag here will not be restored, and pinForSlowPath fills it.
	outGen   [classSlots]uint32
	orphaned [classSlots]atomic.Uint32
	_        [128]byte // no false sharing with the next P's cache (nor its adjacent-line prefetch)
}

type localHead struct {
	// last is the buffer this P's last fast-path Get handed out, of class lastCI, while
	// unmapEpoch was lastEpoch. Put of that buffer on this P (a Get+Put cycle) needs no
	// page-map lookup: the address identifies it, and while the epoch holds its state byte is
	// mapped, so the state check that catches a double Put reads it directly.
	last      entry
	lastCI    uint
	lastEpoch uint64
}

// noEpoch is the lastEpoch of a P that remembers no buffer: unmapEpoch never reaches it.
const noEpoch = ^uint64(0)

func newLocal() *local {
	l := &local{localHead: localHead{lastEpoch: noEpoch}}
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

// pinCache pins the goroutine and returns the current P's cache of class ci, the P's cache,
// and the P's home shard; the caller calls unpin(l). pc is nil when the P has no cache in
// use (the caches are off).
func (p *BufferPool) pinCache(ci int) (pc *pcache, l *local, home int) {
	pid := procPin()
	if ls := p.locals.Load().l; uint(pid) < uint(len(ls)) {
		if l := ls[pid]; l != unusedLocal {
			raceAcquire(l)
			return &l.c[ci&(classSlots-1)], l, pid & p.shardMask
		}
	}
	return p.pinCacheSlow(ci, pid)
}

// pinCacheSlow is pinCache for a P that has no cache of its own yet: it makes one.
func (p *BufferPool) pinCacheSlow(ci, pid int) (pc *pcache, l *local, home int) {
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
				return &l.c[ci&(classSlots-1)], l, pid & p.shardMask
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

// uncachedCounts are the Gets and Puts counted while the P caches are off (no P cache to
// count them in), per class.
type uncachedCounts struct{ hits, misses, puts [classSlots]atomic.Uint64 }

// countGet counts a Get of class ci served outside the P's cache; call it pinned.
func (p *BufferPool) countGet(pc *pcache, l *local, ci int, hit bool) {
	switch {
	case pc == nil && hit:
		p.uncached.hits[ci&(classSlots-1)].Add(1)
	case pc == nil:
		p.uncached.misses[ci&(classSlots-1)].Add(1)
	case hit:
		bump(&pc.hits, 1)
	default:
		bump(&l.misses[ci&(classSlots-1)], 1)
	}
}

// countPut counts a Put of class ci taken outside the P's cache; call it pinned.
func (p *BufferPool) countPut(pc *pcache, ci int) {
	if pc == nil {
		p.uncached.puts[ci&(classSlots-1)].Add(1)
		return
	}
	bump(&pc.puts, 1)
}

// countPutUnpinned counts a Put of class ci from a path that is not pinned.
func (p *BufferPool) countPutUnpinned(ci int) {
	pc, l, _ := p.pinCache(ci)
	p.countPut(pc, ci)
	unpin(l)
}

// countGetUnpinned counts a Get of class ci from a path that is not pinned.
func (p *BufferPool) countGetUnpinned(ci int, hit bool) {
	pc, l, _ := p.pinCache(ci)
	p.countGet(pc, l, ci, hit)
	unpin(l)
}

// pinForSlowPath is pinCache for a slow path: while another goroutine's slow path on this P
// has the class's previous magazine taken out, it yields the P to it (twice at most, see
// waitPrev) and pins again. Where that slow path has finished on another P instead (its
// goroutine moved; see putBack), the magazine is in the depot and will not come back: the
// P takes an empty magazine in its place, the depot's or a new one, so that its pair works
// again rather than sending every later slow path here to the depot one buffer at a time.
func (p *BufferPool) pinForSlowPath(ci int) (pc *pcache, l *local, home int) {
	var spare *magazine
	for yields := 0; ; {
		pc, l, home = p.pinCache(ci)
		if pc != nil && pc.prev == outMag && l.prevOrphaned(ci) {
			if d := p.classes[ci].depot.Load(); spare == nil && d != nil {
				spare = d.tryTakeEmpty(home) // the magazine given to the depot, most likely
			}
			if spare != nil {
				pc.prev = spare
				return pc, l, home
			}
			unpin(l)
			spare = newMagazine(&p.classes[ci]) // unpinned: it allocates
			continue
		}
		if !pc.waitPrev(&yields) {
			return pc, l, home
		}
		unpin(l)
		runtime.Gosched()
	}
}

// takenOut is where a slow path took a previous magazine out: the P's cache and the number
// of the take-out there (local.outGen).
type takenOut struct {
	l   *local
	gen uint32
}

// takeOutPrev takes class ci's previous magazine out of this P's cache pc for a slow path
// (pcache.takeOutPrev), numbering the take-out, and returns the magazine and where it was
// taken, for putBack. Call it pinned.
func (l *local) takeOutPrev(pc *pcache, ci int) (*magazine, takenOut) {
	l.outGen[ci&(classSlots-1)]++
	return pc.takeOutPrev(), takenOut{l, l.outGen[ci&(classSlots-1)]}
}

// prevOrphaned reports whether the last take-out of class ci's previous magazine here came
// back on another P (call it pinned).
func (l *local) prevOrphaned(ci int) bool {
	return l.orphaned[ci&(classSlots-1)].Load() == l.outGen[ci&(classSlots-1)]
}

// getClass takes a buffer of class ci for getSlow and counts the Get. fresh tells memory
// never used before (a miss) from memory used before (a hit).
func (p *BufferPool) getClass(ci int) (e entry, fresh bool, err error) {
	sc := &p.classes[ci]
	for {
		pc, l, home := p.pinForSlowPath(ci)
		if pc.bypassed(sc) {
			// No magazines here (or another Get or Put on this P is exchanging one): one
			// buffer from the depot or the slabs.
			unpin(l)
			return p.getOne(ci, home)
		}
		if e, ok := pc.pop(); ok { // refilled since the fast path looked
			p.countGet(pc, l, ci, true)
			unpin(l)
			return e, false, nil
		}
		if pc.state == pcNew {
			unpin(l)
			p.makeMagazines(ci)
			continue
		}
		// Both magazines are empty: exchange the previous one for a full one from the
		// depot, pinned where that can be done without waiting (swapInFull), else unpinned,
		// filling it from the slabs if the depot has nothing. The P keeps its loaded (empty)
		// magazine meanwhile; outMag marks the slot taken.
		if m := pc.swapInFull(p, ci, home); !m.empty() {
			e = m.pop()
			bump(&pc.hits, 1)
			unpin(l)
			return e, false, nil
		}
		m, from := l.takeOutPrev(pc, ci)
		unpin(l)
		if full := p.depotOf(ci).takeFull(m, home); full != nil {
			return p.putBack(ci, full, true, true, from), false, nil
		}
		// Fill m from the slabs: one buffer for this Get, and as many more free slots of
		// the same slab as m holds, for the next Gets.
		var n int
		e, fresh, n, err = p.carve(ci, home, m.items[:len(m.items)-1])
		m.fill(n)
		if err != nil {
			p.putBack(ci, m, false, false, from)
			return entry{}, false, err
		}
		m.push(e)
		return p.putBack(ci, m, true, !fresh, from), fresh, nil
	}
}

// getOne takes one buffer of class ci for a P without magazines of the class: from the
// depot, else from the slabs. It counts the Get.
func (p *BufferPool) getOne(ci, home int) (entry, bool, error) {
	if e, ok := p.depotOf(ci).takeOne(home); ok {
		p.countGetUnpinned(ci, true)
		return e, false, nil
	}
	e, fresh, _, err := p.carve(ci, home, nil)
	if err == nil {
		p.countGetUnpinned(ci, !fresh)
	}
	return e, fresh, err
}

// putBack returns a magazine that a slow path took out (from) to the slot outMag marks in
// that P's cache, if the goroutine still runs there: as the loaded magazine, the loaded one
// becoming the previous. With get set it first pops the Get's buffer from the magazine and
// counts the Get (a hit when hit is set), in the same pinned section. Where the slot is gone
// (Trim emptied the caches meanwhile) or the goroutine moved to another P, the magazine goes
// to the depot instead; in the second case the first P is told, so that it fills its slot.
func (p *BufferPool) putBack(ci int, m *magazine, get, hit bool, from takenOut) (e entry) {
	pc, l, home := p.pinCache(ci)
	if get {
		e = m.pop()
		p.countGet(pc, l, ci, hit)
	}
	if l == from.l && pc.restorePrev(m) {
		unpin(l)
		return e
	}
	unpin(l)
	d := p.depotOf(ci)
	if m.empty() {
		d.giveEmpty(m, home)
	} else {
		d.giveEmpty(d.giveFull(m, home), home)
	}
	if l != from.l && from.l != nil {
		// After the depot has the magazine (its buffers are counted there now, or released):
		// only then may the first P fill the slot, or its cache could hold more than its
		// reservation while this magazine was still out.
		from.l.orphaned[ci&(classSlots-1)].Store(from.gen)
	}
	return e
}

// makeMagazines gives the current P a pair of magazines for class ci (and opens its priv),
// out of the P caches' share of MaxIdleBytes; where that share is spent, the P holds no magazines of the class
// and its Gets and Puts of it go to the depot.
func (p *BufferPool) makeMagazines(ci int) {
	sc := &p.classes[ci]
	cost := sc.cacheCost()
	ok := p.idle.reserveLocal(cost)
	var a, b *magazine
	if ok {
		a, b = newMagazine(sc), newMagazine(sc)
	}
	pc, l, _ := p.pinCache(ci)
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

// putClass keeps an idle buffer of class ci: on the P's magazines, else in the depot, else
// (beyond the idle bounds) it releases the buffer's memory. It counts the Put.
func (p *BufferPool) putClass(ci int, e entry) {
	sc := &p.classes[ci]
	for {
		pc, l, home := p.pinForSlowPath(ci)
		if pc.bypassed(sc) {
			p.countPut(pc, ci)
			unpin(l)
			p.depotOf(ci).giveOne(e, home)
			return
		}
		if pc.push(e) {
			p.countPut(pc, ci)
			unpin(l)
			return
		}
		if pc.state == pcNew {
			unpin(l)
			p.makeMagazines(ci)
			continue
		}
		// Both magazines are full: the previous one goes to the depot, and an empty one
		// comes back for this buffer, pinned where that can be done without waiting
		// (swapInEmpty), else unpinned.
		if m := pc.swapInEmpty(p, ci, home); !m.full() {
			m.push(e)
			bump(&pc.puts, 1)
			unpin(l)
			return
		}
		m, from := l.takeOutPrev(pc, ci)
		p.countPut(pc, ci)
		unpin(l)
		m = p.depotOf(ci).giveFull(m, home)
		m.push(e)
		p.putBack(ci, m, false, false, from)
		return
	}
}
