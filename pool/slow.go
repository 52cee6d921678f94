package pool

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/zeropool-go/zeropool/offheap"
)

// maxBatch bounds the buffers moved at once between a P's cache and a shard.
const maxBatch = 32

// maxRequest is the largest size TryGet attempts; larger requests cannot be mapped.
const maxRequest = 1 << 46

// getSlow serves a Get that the P's cache could not. For a pooled class: from the shards
// (the P's home shard first, then stealing), refilling the P's cache with a batch, else from
// fresh memory.
func (p *BufferPool) getSlow(size int) ([]byte, error) {
	if uint(size-1) >= uint(p.maxClass) {
		return p.getOther(size)
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	c := max(classOf(size), p.minClass)
	sc := &p.classes[c]
	var batch [maxBatch]entry
	want := min(maxBatch, int(sc.localCap)+1) // the P's cache is empty: fill it
	home := p.home()
	got := 0
	for i := 0; i <= p.shardMask && got == 0; i++ {
		got = p.takeShared(sc, (home+i)&p.shardMask, batch[:want])
	}
	var e entry
	fresh := false
	if got == 0 {
		// From the slabs: a slot of the free lists (memory already used, so a hit) comes with
		// up to want-1 more from the same slab for the P's cache; a new slot is a miss.
		var err error
		if e, fresh, got, err = p.fresh(c, batch[:want-1]); err != nil {
			return nil, fmt.Errorf("zeropool: Get(%d): %w", size, err)
		}
		batch[got] = e
		got++
	}
	e = batch[got-1]
	p.countGet(c, !fresh)
	if rest := batch[:got-1]; len(rest) > 0 {
		p.cacheBatch(c, rest)
	}
	*(*uint8)(ptr(e.state)) = stateOut
	b := makeSlice(e.addr, size, sc.size)
	if p.cfg.Debug {
		if err := offheap.Protect(b, offheap.ProtReadWrite); err != nil {
			p.countPut(c)
			p.release(e, p.pages.lookup(e.addr))
			return nil, fmt.Errorf("zeropool: Get(%d): %w", size, err)
		}
	}
	return b, nil
}

// fresh hands out a buffer of class c that no cache holds: a slot of a slab with room, a
// slot of a new slab, or a new mapping. fresh reports whether its memory is new (a miss).
// When the buffer comes from a slab's free list, up to len(more) further free slots of that
// slab are taken too, marked idle, for the caller to cache: n says how many.
func (p *BufferPool) fresh(c int, more []entry) (e entry, fresh bool, n int, err error) {
	sc := &p.classes[c]
	if sc.layout == layoutMapping {
		r, err := p.newMapping(sc.size, c)
		if err != nil {
			return entry{}, false, 0, err
		}
		r.state = stateOut
		return entry{r.base, r.states}, true, 0, nil
	}
	sc.slabMu.Lock()
	defer sc.slabMu.Unlock()
	for len(sc.partial) > 0 {
		r := sc.partial[len(sc.partial)-1]
		var idx int
		switch {
		case r.nfree > 0:
			r.nfree--
			idx = int(*r.freeSlot(r.nfree))
			for n < len(more) && r.nfree > 0 {
				r.nfree--
				j := int(*r.freeSlot(r.nfree))
				*r.stateAt(j) = stateIdle
				more[n] = entry{r.slotAddr(j), uintptr(unsafe.Pointer(r.stateAt(j)))}
				n++
			}
		case r.bump < r.nslots:
			idx = r.bump
			r.bump++
			fresh = true
			p.setCanary(r, idx)
		default:
			sc.dropPartial(r)
			continue
		}
		if r.live == 0 {
			p.emptyIdle.Add(-slabSize)
		}
		r.live += 1 + n
		if r.nfree == 0 && r.bump == r.nslots {
			sc.dropPartial(r)
		}
		*r.stateAt(idx) = stateOut
		return entry{r.slotAddr(idx), uintptr(unsafe.Pointer(r.stateAt(idx)))}, fresh, n, nil
	}
	r, err := p.newSlab(c)
	if err != nil {
		return entry{}, false, 0, err
	}
	r.bump, r.live = 1, 1
	p.setCanary(r, 0)
	*r.stateAt(0) = stateOut
	sc.addPartial(r)
	return entry{r.base, r.states}, true, 0, nil
}

// keepEmpty decides whether a slab that just became empty stays mapped: while the shared
// budget has room for it, it does, and counts in emptyIdle.
func (p *BufferPool) keepEmpty() bool {
	if p.sharedIdle.Load()+p.emptyIdle.Add(slabSize) > p.sharedBudget {
		p.emptyIdle.Add(-slabSize)
		return false
	}
	return true
}

// setCanary writes the canary after slot idx of a canary slab, when the slot is first used.
func (p *BufferPool) setCanary(r *region, idx int) {
	if r.canary {
		addr := r.slotAddr(idx)
		*(*uint64)(ptr(addr + uintptr(r.size))) = p.canaryOf(addr)
	}
}

func (sc *sizeClass) addPartial(r *region) {
	if r.partialIdx < 0 {
		r.partialIdx = len(sc.partial)
		sc.partial = append(sc.partial, r)
	}
}

func (sc *sizeClass) dropPartial(r *region) {
	if i := r.partialIdx; i >= 0 {
		last := sc.partial[len(sc.partial)-1]
		sc.partial[i], last.partialIdx = last, i
		sc.partial[len(sc.partial)-1] = nil
		sc.partial = sc.partial[:len(sc.partial)-1]
		r.partialIdx = -1
	}
}

// getOther serves the sizes that have no pooled class: 0, negative, and above MaxBufferSize.
func (p *BufferPool) getOther(size int) ([]byte, error) {
	switch {
	case size == 0:
		if p.closed.Load() {
			return nil, ErrClosed
		}
		return zeroBuf[:0], nil
	case size < 0 || size > maxRequest:
		return nil, fmt.Errorf("%w: %d (want 0 to %d)", ErrInvalidSize, size, maxRequest)
	case p.closed.Load():
		return nil, ErrClosed
	}
	r, err := p.newMapping(size, -1)
	if err != nil {
		return nil, fmt.Errorf("zeropool: Get(%d): %w", size, err)
	}
	r.state = stateOut
	p.oversizeGets.Add(1)
	p.oversizeOut.Add(int64(r.size))
	return unsafe.Slice((*byte)(ptr(r.base)), r.size)[:size], nil
}

// putSlow answers every Put that the fast path did not take: refusals, and buffers the P's
// cache could not take because it is full (then half of it moves to the shard too), the pool
// is draining or closed, the class is below MinBufferSize, or the buffer is oversize
// (unmapped at once).
func (p *BufferPool) putSlow(addr uintptr) error {
	r := p.pages.lookup(addr)
	if r == nil {
		return p.putUnknown(addr)
	}
	_, st, ok := r.slot(addr)
	if !ok {
		return p.refuse(ErrNotOwned)
	}
	if s := *st; s != stateOut {
		return p.reject(s)
	}
	*st = stateIdle
	e := entry{addr, uintptr(unsafe.Pointer(st))}
	if p.cfg.Secure || p.cfg.Debug {
		if err := p.secure(e, r); err != nil {
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
	if c < p.minKeep || p.closed.Load() {
		p.countPut(c)
		p.release(e, r)
		return nil
	}
	sc := &p.classes[c]
	var batch [maxBatch + 1]entry
	batch[0] = e
	n, home := p.spillLocal(c, batch[:min(maxBatch+1, int(sc.localCap)/2+2)])
	if n > 0 {
		p.giveShared(sc, home, batch[:n])
	}
	return nil
}

// spillLocal takes back batch[0] into the current P's cache in one pinned section, counting the
// Put: straight into the cache when it has room (Secure pools' Puts come here), else with
// the oldest of the cache moved out behind it into batch. It returns how many entries of
// batch are for the shards (0 when the cache took batch[0]) and the P's home shard.
func (p *BufferPool) spillLocal(c int, batch []entry) (n, home int) {
	pid := procPin()
	home = pid & p.shardMask
	l := p.cache(pid)
	if l == nil {
		procUnpin()
		atomic.AddUint64(&p.spill.puts[c], 1)
		return 1, home
	}
	raceAcquire(unsafe.Pointer(l))
	bump(&l.puts[c], 1)
	k := l.n[c]
	if k < p.classes[c].localCap {
		*l.item(c, k) = batch[0]
		setN(&l.n[c], k+1)
		raceReleaseMerge(unsafe.Pointer(l))
		procUnpin()
		return 0, home
	}
	items := l.items[c<<p.strideShift:][:k]
	m := copy(batch[1:], items)
	copy(items, items[m:])
	setN(&l.n[c], k-uint32(m))
	raceReleaseMerge(unsafe.Pointer(l))
	procUnpin()
	return 1 + m, home
}

// secure applies a Secure or Debug pool's rules to a buffer coming back: check its canary,
// wipe it, make it inaccessible. A broken canary takes the buffer out of service for good.
func (p *BufferPool) secure(e entry, r *region) error {
	b := makeSlice(e.addr, r.size, r.size)
	if r.canary && *(*uint64)(ptr(e.addr + uintptr(r.size))) != p.canaryOf(e.addr) {
		offheap.Wipe(b)
		p.canaries.Add(1)
		p.countPut(r.class)
		p.quarantine(e, r)
		return fmt.Errorf("%w: buffer at %#x (%d bytes)", ErrCanary, e.addr, r.size)
	}
	if p.cfg.Secure {
		offheap.Wipe(b)
	}
	if p.cfg.Debug {
		// Best effort: a kernel out of map entries leaves the buffer accessible, no worse
		// than an ordinary pool.
		_ = offheap.Protect(b, offheap.ProtNone)
	}
	return nil
}

// quarantine retires a slot whose canary was broken: it is neither cached nor freed, so it
// is never handed out again, and its slab is unmapped when nothing else of it is in use.
func (p *BufferPool) quarantine(e entry, r *region) {
	*(*uint8)(ptr(e.state)) = stateBroken
	sc := &p.classes[r.class]
	sc.slabMu.Lock()
	r.live--
	// An empty slab with a retired slot is unmapped at once: it may have no slot left to
	// hand out, and then nothing would ever find it again.
	drop := r.live == 0
	if drop {
		sc.dropPartial(r)
	}
	sc.slabMu.Unlock()
	if drop {
		p.unmap(r)
	}
}

// home returns the shard index of the current P.
func (p *BufferPool) home() int {
	pid := procPin()
	procUnpin()
	return pid & p.shardMask
}

// countGet counts a Get of class c that the P's cache did not serve.
func (p *BufferPool) countGet(c int, hit bool) {
	pid := procPin()
	if uint(pid) < uint(len(p.locals)) {
		l := &p.locals[pid]
		raceAcquire(unsafe.Pointer(l))
		if hit {
			bump(&l.hits[c], 1)
		} else {
			bump(&l.misses[c], 1)
		}
		raceReleaseMerge(unsafe.Pointer(l))
	} else if hit {
		atomic.AddUint64(&p.spill.hits[c], 1)
	} else {
		atomic.AddUint64(&p.spill.misses[c], 1)
	}
	procUnpin()
}

// countPut counts a Put of class c that the P's cache did not take.
func (p *BufferPool) countPut(c int) {
	pid := procPin()
	if uint(pid) < uint(len(p.locals)) {
		l := &p.locals[pid]
		raceAcquire(unsafe.Pointer(l))
		bump(&l.puts[c], 1)
		raceReleaseMerge(unsafe.Pointer(l))
	} else {
		atomic.AddUint64(&p.spill.puts[c], 1)
	}
	procUnpin()
}

// takeShared pops up to len(dst) buffers from shard i of sc into dst.
func (p *BufferPool) takeShared(sc *sizeClass, i int, dst []entry) int {
	sh := &sc.shards[i]
	if sh.n.Load() == 0 {
		return 0
	}
	sh.mu.Lock()
	k := min(len(sh.items), len(dst))
	copy(dst, sh.items[len(sh.items)-k:])
	sh.items = sh.items[:len(sh.items)-k]
	sh.n.Store(int32(len(sh.items)))
	sh.mu.Unlock()
	if k > 0 {
		p.sharedIdle.Add(-int64(k * sc.size))
	}
	return k
}

// giveShared pushes idle buffers onto the shards of sc, shard i first, then the others, as
// far as the shards' bound and the shared byte budget allow, and releases the rest.
func (p *BufferPool) giveShared(sc *sizeClass, i int, es []entry) {
	for j := 0; j <= p.shardMask && len(es) > 0; j++ {
		sh := &sc.shards[(i+j)&p.shardMask]
		if int(sh.n.Load()) >= p.cfg.MaxBuffersPerShard {
			continue
		}
		sh.mu.Lock()
		if p.closed.Load() { // checked under the lock: Close empties each shard under it
			sh.mu.Unlock()
			break
		}
		if sh.items == nil {
			sh.items = make([]entry, 0, min(p.cfg.MaxBuffersPerShard, 64))
		}
		full := false
		for len(es) > 0 && !full {
			if len(sh.items) >= p.cfg.MaxBuffersPerShard {
				break
			}
			if p.sharedIdle.Add(int64(sc.size))+p.emptyIdle.Load() > p.sharedBudget {
				p.sharedIdle.Add(-int64(sc.size))
				full = true
				break
			}
			sh.items = append(sh.items, es[0])
			es = es[1:]
		}
		sh.n.Store(int32(len(sh.items)))
		sh.mu.Unlock()
		if full {
			break // the budget, not this shard, is full
		}
	}
	p.releaseAll(es)
}

// cacheBatch puts idle buffers of class c into the current P's cache as far as it has room,
// and the rest into the shards.
func (p *BufferPool) cacheBatch(c int, es []entry) {
	if k := p.pushLocal(c, es); k < len(es) {
		p.giveShared(&p.classes[c], p.home(), es[k:])
	}
}

// pushLocal puts idle buffers of class c into the current P's cache as far as it has room,
// and returns how many it took.
func (p *BufferPool) pushLocal(c int, es []entry) int {
	sc := &p.classes[c]
	k := 0
	if l := p.cache(procPin()); l != nil {
		raceAcquire(unsafe.Pointer(l))
		n := l.n[c]
		for k < len(es) && n < sc.localCap {
			*l.item(c, n) = es[k]
			n++
			k++
		}
		setN(&l.n[c], n)
		raceReleaseMerge(unsafe.Pointer(l))
	}
	procUnpin()
	return k
}

// releaseAll releases idle buffers, each as release does, taking a slab lock once for a run
// of buffers of one class, and returns the bytes unmapped.
func (p *BufferPool) releaseAll(es []entry) int64 {
	var n int64
	for len(es) > 0 {
		r := p.pages.lookup(es[0].addr)
		if r.kind != kindSlab {
			n += p.release(es[0], r)
			es = es[1:]
			continue
		}
		k := 1
		for k < len(es) && k < maxBatch {
			if q := p.pages.lookup(es[k].addr); q.kind != kindSlab || q.class != r.class {
				break
			}
			k++
		}
		n += p.releaseSlots(es[:k], r.class)
		es = es[k:]
	}
	return n
}

// releaseSlots is release for slab slots of class c, under one lock.
func (p *BufferPool) releaseSlots(es []entry, c int) int64 {
	sc := &p.classes[c]
	var drop [maxBatch]*region
	nd := 0
	sc.slabMu.Lock()
	for _, e := range es {
		r := p.pages.lookup(e.addr)
		*(*uint8)(ptr(e.state)) = stateFree
		*r.freeSlot(r.nfree) = uint16((e.addr - r.base) >> r.shift)
		r.nfree++
		r.live--
		r.discarded = false
		sc.addPartial(r)
		if r.live == 0 && (p.closed.Load() || !p.keepEmpty()) {
			sc.dropPartial(r)
			drop[nd] = r
			nd++
		}
	}
	sc.slabMu.Unlock()
	var n int64
	for _, r := range drop[:nd] {
		n += p.unmap(r)
	}
	return n
}

// release gives an idle buffer's memory back and returns the bytes unmapped: a slab slot goes
// to its slab's free list (a slab with nothing idle or out stays mapped while the shared
// budget has room for it, and is unmapped otherwise and after Close), a single-buffer region
// to the system.
func (p *BufferPool) release(e entry, r *region) int64 {
	if r.kind != kindSlab {
		*(*uint8)(ptr(e.state)) = stateFree
		return p.unmap(r)
	}
	return p.releaseSlots([]entry{e}, r.class)
}
