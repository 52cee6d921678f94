package pool

import "github.com/zeropool-go/zeropool/offheap"

// slabLayout returns the layout of a slab whose slots are stride bytes apart: the header
// bytes (colour bytes, the state bytes, then the free stack of uint16 indexes, rounded up to
// whole pages so that slots stay page-aligned), the slot count, and the log2 of the distance
// between two slots' state bytes (see stateGap). colour shifts the state bytes within the
// header by up to the room its last page has left, so that the first state byte of every slab
// does not fall into the same L1 set (slabs are 2 MiB aligned). With guards, the slots are
// fenced by a guard page on each side.
func slabLayout(stride int, guards bool, colour int) (hdr, nslots, colourUsed int, gapShift uint8) {
	pg := offheap.PageSize()
	fence := 0
	if guards {
		fence = 2 * pg
	}
	gapShift = stateGap(stride)
	n := slabSize / stride
	for {
		used := statesBytes(n, gapShift) + 2*n
		hdr = (used + pg - 1) &^ (pg - 1)
		if m := (slabSize - hdr - fence) / stride; m < n {
			n = m
			continue
		}
		room := hdr - used
		return hdr, n, min(colour%(2*pg), room) &^ (cacheLine - 1), gapShift
	}
}

// stateGap returns the log2 of the distance between the state bytes of two neighbouring
// slots stride bytes apart: stride/64, at most 128 bytes, at least 1. Every Get and Put writes
// its buffer's state byte, and any two buffers can be on two Ps (a buffer travels through the
// depot, a channel, a goroutine that moved), so two slots' state bytes in one cache line are
// a line that two Ps write on every operation. From 4 KiB up, each slot's state byte has a
// line of its own (128 bytes, a line pair for the adjacent-line prefetcher, from 8 KiB), for
// at most 1/64 of the slab (1.6%). Below 4 KiB a line per slot would cost 3% (2 KiB) to 100%
// (64 B) of the slab; there the state bytes keep the same 1/64 of the slab, so the buffers
// that share a state line are the neighbours within one 4 KiB of slab memory.
func stateGap(stride int) uint8 {
	g := uint8(0)
	for g < 7 && 64<<(g+1) <= stride {
		g++
	}
	return g
}

// statesBytes is the header room of n state bytes 1<<gapShift apart, rounded up to a line
// pair so that the free stack after them, which slow paths write, shares no line with them.
func statesBytes(n int, gapShift uint8) int {
	return (n<<gapShift + 2*cacheLine - 1) &^ (2*cacheLine - 1)
}

// cacheLine is the unit of the slab header's colours.
const cacheLine = 64

// carve hands out a buffer of class ci that no cache holds: a free slot of a slab, a slot of
// a slab never used, a slot of a new slab, or a new mapping. fresh reports whether its
// memory is new (a miss). When the buffer comes from a slab's free list, up to len(more)
// further free slots of that slab are taken too, marked idle, for the caller to cache: n
// says how many. The buffer's state is stateOut.
func (p *BufferPool) carve(ci, home int, more []entry) (e entry, fresh bool, n int, err error) {
	sc := &p.classes[ci]
	if sc.layout == layoutMapping {
		r, err := p.newMapping(sc.size, ci, stateOut)
		if err != nil {
			return entry{}, false, 0, err
		}
		p.carved(sc, 0)
		return entry{r.base, r.states}, true, 0, nil
	}
	sc.slabMu.Lock()
	e, fresh, n, ok := p.carveSlot(sc, home, more)
	sc.slabMu.Unlock()
	if ok {
		p.carved(sc, n)
		return e, fresh, n, nil
	}
	// No slab has room: map a new one without the lock, which OnMap must not run under (it
	// may call the pool back, a Get of this class included), and take its first slot.
	r, err := p.newSlab(ci, home)
	if err != nil {
		return entry{}, false, 0, err
	}
	sc.slabMu.Lock()
	sc.current[home] = r
	r.carved, r.live = 1, 1
	p.setCanary(r, 0)
	setState(r.stateAt(0), stateOut)
	sc.addPartial(r)
	sc.slabMu.Unlock()
	p.carved(sc, 0)
	return entry{r.base, r.states}, true, 0, nil
}

// carved counts 1 + n buffers of class sc that carve handed out: one out, n idle.
func (p *BufferPool) carved(sc *sizeClass, n int) {
	sc.live.Add(int64(1 + n))
	p.notePeak(p.inUseBytes() + int64(sc.size)) // this Get is not counted yet
}

// carveSlot takes a slot of class sc from a slab that has room, as carve does, with more
// free slots of the same slab for the caller to cache; ok is false when no slab has room.
// The caller holds slabMu.
func (p *BufferPool) carveSlot(sc *sizeClass, home int, more []entry) (e entry, fresh bool, n int, ok bool) {
	for len(sc.partial) > 0 {
		r := sc.partialFor(home)
		if r == nil {
			break
		}
		var idx int
		switch {
		case r.nfree > 0:
			if r.unlocked {
				p.relock(r)
			}
			r.nfree--
			idx = int(*r.freeSlot(r.nfree))
			for n < len(more) && r.nfree > 0 {
				r.nfree--
				j := int(*r.freeSlot(r.nfree))
				setState(r.stateAt(j), stateIdle)
				more[n] = r.entry(j)
				n++
			}
		case r.carved < r.nslots:
			idx = r.carved
			r.carved++
			fresh = true
			p.setCanary(r, idx)
		default:
			sc.dropPartial(r)
			continue
		}
		if r.live == 0 {
			p.idle.releaseEmptySlab()
		}
		r.live += 1 + n
		if r.nfree == 0 && r.carved == r.nslots {
			sc.dropPartial(r)
		}
		setState(r.stateAt(idx), stateOut)
		return r.entry(idx), fresh, n, true
	}
	return entry{}, false, 0, false
}

// relock locks a pinned slab again after Trim unlocked its free slots to discard them. The
// caller holds the class's slabMu.
func (p *BufferPool) relock(r *region) {
	r.unlocked = false
	if err := r.m.Lock(r.mem); err != nil {
		p.pinFailures.Add(1)
		r.pinned = false
		p.pinnedBytes.Add(-int64(cap(r.mem)))
	}
}

// partialFor picks the slab to carve from for a P of shard home, or nil for a new one: among
// the last few on the list, one of the P's own shard, else one with a free slot (memory
// used before, scattered anyway); else the slab the shard last carved new slots from, if it
// has room. A P never carves new slots from another shard's slab: two Ps' buffers would then
// sit next to each other, their state bytes in one cache line that both write on every Get
// and Put. The caller holds slabMu.
func (sc *sizeClass) partialFor(home int) *region {
	last := len(sc.partial) - 1
	var free *region
	for i := last; i >= max(0, last-3); i-- {
		r := sc.partial[i]
		if r.home == home {
			return r
		}
		if free == nil && r.nfree > 0 {
			free = r
		}
	}
	if free != nil {
		return free
	}
	if r := sc.current[home]; r != nil && r.carved < r.nslots {
		return r
	}
	return nil
}

// forget clears a slab that is about to be unmapped from the shard it was current for. The
// caller holds slabMu.
func (sc *sizeClass) forget(r *region) {
	if sc.current[r.home] == r {
		sc.current[r.home] = nil
	}
}

// addPartial puts a slab with a free or new slot on the class's list, once. The caller holds
// slabMu, as for dropPartial.
func (sc *sizeClass) addPartial(r *region) {
	if r.partialIdx < 0 {
		r.partialIdx = len(sc.partial)
		sc.partial = append(sc.partial, r)
	}
}

// dropPartial takes a slab off the class's list, if it is on it, in O(1).
func (sc *sizeClass) dropPartial(r *region) {
	if i := r.partialIdx; i >= 0 {
		last := sc.partial[len(sc.partial)-1]
		sc.partial[i], last.partialIdx = last, i
		sc.partial[len(sc.partial)-1] = nil
		sc.partial = sc.partial[:len(sc.partial)-1]
		r.partialIdx = -1
	}
}

// releaseAll releases idle buffers, each as release does, taking a slab lock once for a run
// of buffers of one class, and returns the bytes unmapped.
func (p *BufferPool) releaseAll(es []entry) int64 {
	var n int64
	for len(es) > 0 {
		r := lookup(es[0].addr)
		if !r.layout.isSlab() {
			n += p.release(es[0], r)
			es = es[1:]
			continue
		}
		k := 1
		for k < len(es) && k < maxBatch {
			if q := lookup(es[k].addr); !q.layout.isSlab() || q.ci != r.ci {
				break
			}
			k++
		}
		n += p.releaseSlots(es[:k], r.ci)
		es = es[k:]
	}
	return n
}

// maxBatch bounds the slots released under one slab lock.
const maxBatch = 64

// releaseSlots is release for slab slots of class ci, under one lock.
func (p *BufferPool) releaseSlots(es []entry, ci int) int64 {
	sc := &p.classes[ci]
	var drop [maxBatch]*region
	nd := 0
	sc.slabMu.Lock()
	for _, e := range es {
		r := lookup(e.addr)
		setState(e.state.state(), stateFree)
		*r.freeSlot(r.nfree) = uint16((e.addr - r.base) >> r.shift)
		r.nfree++
		r.live--
		r.discarded = false
		sc.addPartial(r)
		if r.live == 0 && (p.closed.Load() || !p.idle.keepEmptySlab()) {
			sc.dropPartial(r)
			sc.forget(r)
			drop[nd] = r
			nd++
		}
	}
	sc.slabMu.Unlock()
	sc.live.Add(-int64(len(es)))
	var n int64
	for _, r := range drop[:nd] {
		n += p.unmap(r)
	}
	return n
}

// release gives an idle buffer's memory back and returns the bytes unmapped: a slab slot goes
// to its slab's free list (a slab with nothing idle or out stays mapped while the idle
// budget has room for it, and is unmapped otherwise and after Close), a single-buffer region
// to the system.
func (p *BufferPool) release(e entry, r *region) int64 {
	if !r.layout.isSlab() {
		setState(e.state.state(), stateFree)
		if r.layout == layoutMapping {
			p.classes[r.ci].live.Add(-1)
		}
		return p.unmap(r)
	}
	return p.releaseSlots([]entry{e}, r.ci)
}

// newSlab maps and registers a slab for class ci, to be carved first by the Ps of shard home.
// The caller holds the class's slabMu.
func (p *BufferPool) newSlab(ci, home int) (*region, error) {
	size := classSize(ci)
	stride, shift := size, uint8(minClassShift+ci)
	lay := p.classes[ci].layout
	canary := lay == layoutCanarySlab
	if canary {
		stride, shift = 2*size, shift+1
	}
	hdr, n, colour, gapShift := slabLayout(stride, canary, int(p.nextID.Load())*7*cacheLine)
	m, pinned, charged, err := p.mapRegion(slabSize, false, false)
	if err != nil {
		return nil, err
	}
	mem := m.Bytes()
	start := addrOfSlice(mem)
	base := start + addr(hdr)
	pub := mem[:cap(mem):cap(mem)]
	if canary {
		pg := offheap.PageSize()
		end := (hdr + pg + n*stride + pg - 1) &^ (pg - 1)
		for _, g := range []int{hdr, end} {
			if _, err := m.Guard(mem[g : g+pg : g+pg]); err != nil {
				p.freeMapping(&region{m: m, mem: mem, mapped: charged}, false)
				return nil, err
			}
		}
		base += addr(pg)
		pub = mem[hdr+pg : end : end] // the slots and canaries, between the guard pages
	}
	r := &region{
		base: base, span: uintptr(n * stride), mask: uintptr(stride - 1),
		states: start + addr(colour), ci: ci, layout: lay, shift: shift, stShift: shift - gapShift,
		pinned: pinned, m: m, mem: mem, pub: pub, mapped: charged, size: size, owner: p.owner, fastPutOwner: noFastPut, home: home,
		freeStack: start + addr(colour+statesBytes(n, gapShift)), nslots: n, partialIdx: -1,
	}
	if p.cachesPuts() {
		r.fastPutOwner = p.owner
	}
	if err := p.register(r); err != nil {
		return nil, err
	}
	return r, nil
}
