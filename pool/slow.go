package pool

import (
	"fmt"

	"github.com/zeropool-go/zeropool/offheap"
)

// maxRequest is the largest size TryGet attempts; larger requests cannot be mapped.
const maxRequest = 1 << 46

// getSlow serves a Get that the P's loaded magazine could not: from the P's other magazine,
// a full magazine of the depot, the free slots of the class's slabs, or fresh memory. With
// zero, the buffer is cleared unless its memory is fresh (zero already).
func (p *BufferPool) getSlow(size int, zero bool) ([]byte, error) {
	if err := p.ensureErr(); err != nil {
		return nil, err
	}
	defer p.raiseUnmapPanic()
	if uint(size-1) >= uint(p.maxPooled.Load()) {
		return p.getOther(size) // a fresh mapping, or Get(0): nothing to clear
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	c := max(classOf(size), p.minClass)
	sc := &p.classes[c]
	e, fresh, err := p.getClass(c)
	if err != nil {
		raiseHookPanic(err)
		return nil, opError(fmt.Sprintf("Get(%d)", size), err)
	}
	b := e.addr.buffer(size, sc.size)
	out := uint8(stateOut)
	if p.sampleSlow(c) {
		out = stateTracked
		p.tracks.record(e.addr, sc.size, 3) // getSlow, get, Get: the caller of Get next
	}
	if p.cfg.Debug {
		// Accessible first, then out: Purge wipes only buffers that are out, and must find
		// them accessible.
		r := lookup(e.addr)
		p.debugMu.Lock()
		err := r.m.Protect(b, offheap.ProtReadWrite)
		if err == nil {
			*e.state.state() = out
			r.debugOut = true
		}
		p.debugMu.Unlock()
		if err != nil {
			*e.state.state() = stateIdle
			if out == stateTracked {
				p.tracks.forget(e.addr)
			}
			p.countPutUnpinned(c)
			p.release(e, lookup(e.addr))
			return nil, opError(fmt.Sprintf("Get(%d)", size), err)
		}
	} else {
		*e.state.state() = out
	}
	if zero && !fresh {
		clear(b)
	}
	return b, nil
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

// countGetUnpinned counts a Get of class c from a path that is not pinned.
func (p *BufferPool) countGetUnpinned(c int, hit bool) {
	pc, l, _ := p.pinCache(c)
	p.countGet(pc, l, c, hit)
	unpin(l)
}

// getOther serves the sizes that have no pooled class: 0, negative, and above MaxBufferSize.
func (p *BufferPool) getOther(size int) ([]byte, error) {
	switch {
	case size == 0:
		if p.closed.Load() {
			return nil, ErrClosed
		}
		return zeroBuf[:0:0], nil
	case size < 0 || size > maxRequest:
		return nil, fmt.Errorf("%w: %d (want 0 to %d)", ErrInvalidSize, size, maxRequest)
	case p.closed.Load():
		return nil, ErrClosed
	}
	out := uint8(stateOut)
	if p.sampleSlow(-1) {
		out = stateTracked
	}
	r, err := p.newMapping(size, -1, out)
	if err != nil {
		raiseHookPanic(err)
		return nil, opError(fmt.Sprintf("Get(%d)", size), err)
	}
	if out == stateTracked {
		p.tracks.record(r.base, r.size, 4) // getOther, getSlow, get, Get: the caller of Get next
	}
	p.oversizeGets.Add(1)
	p.oversizeOut.Add(int64(r.size))
	p.notePeak(p.inUseBytes())
	return r.base.bytes(r.size)[:size], nil
}

// testHookDebugPut, when a test sets it, runs in a Debug pool's Put between reading a
// buffer's state and changing it.
var testHookDebugPut func()

// putSlow answers every Put that the fast path did not take: refusals, and buffers the P's
// loaded magazine could not take: it is full, the pool is Secure or Debug (work on every
// Put), draining or closed, or the buffer is oversize (unmapped at once).
func (p *BufferPool) putSlow(a addr) error {
	if err := p.ensureErr(); err != nil {
		return err
	}
	defer p.raiseUnmapPanic()
	r := lookup(a)
	if r == nil || r.owner != p.owner {
		return p.putUnknown(a)
	}
	st, ok := r.slot(a)
	if !ok {
		if start, size, inside := p.bufferAt(a); inside {
			return p.refuse(fmt.Errorf("%w: %#x is inside a buffer (%d bytes into the %d-byte buffer at %#x): Put the buffer itself, or the whole buffer Owner returns",
				ErrNotOwned, a, a-start, size, start))
		}
		return p.refuse(ErrNotOwned)
	}
	if *st == stateShared && p.dropRef(a, st) {
		return nil // one reference dropped; other holders keep the buffer
	}
	e := entry{a, addrOfState(st)}
	var s uint8
	if p.cfg.Debug {
		// A Debug pool makes the check and the change one step, so that of two concurrent
		// Puts of one buffer the second is refused; the buffer is wiped (Secure) and made
		// inaccessible in the same step, so that Purge, which takes the same lock, never
		// finds an idle buffer it could not touch, nor an out one it cannot.
		p.meltForPut(r)
		p.debugMu.Lock()
		s = *st
		if testHookDebugPut != nil {
			testHookDebugPut() // a test widens the window between the check and the change
		}
		if isOut(s) {
			p.seal(e, r)
			*st = stateIdle
			r.debugOut = false
		}
		p.debugMu.Unlock()
	} else if s = *st; isOut(s) {
		*st = stateIdle
	}
	if !isOut(s) {
		return p.refuseState(s)
	}
	if s == stateTracked {
		p.tracks.forget(a)
	}
	if p.cfg.Secure && !p.cfg.Debug {
		p.meltForPut(r)
		if err := p.checkAndSeal(e, r); err != nil {
			return err
		}
	}
	if r.kind == kindOversize {
		p.oversizePuts.Add(1)
		p.oversizeOut.Add(-int64(r.size))
		p.release(e, r)
		return nil
	}
	c := r.class
	if p.closed.Load() {
		p.countPutUnpinned(c)
		p.release(e, r)
		return nil
	}
	p.putClass(c, e)
	return nil
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

// inUseBytes is Stats().InUseBytes without the rest of Stats.
func (p *BufferPool) inUseBytes() int64 {
	var n int64
	for c := range p.classes {
		n += p.inUse(c) * int64(p.classes[c].size)
	}
	return n + p.oversizeOut.Load()
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

// makeRoom gives back, for a Get that MaxMappedBytes stopped, what Trim would, whole regions
// only (no page is discarded); it returns the bytes unmapped.
func (p *BufferPool) makeRoom() int64 {
	p.beginDrain()
	defer p.endDrain()
	if p.closed.Load() {
		return 0
	}
	return p.releaseWhileOpen(false)
}
