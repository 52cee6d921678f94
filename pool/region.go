package pool

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/zeropool-go/zeropool/offheap"
)

// A buffer slot's state byte. Put accepts only stateOut; the other states tell a double Put
// (idle, free, broken) from a slice the pool never handed out (new).
//
// The transitions, and who makes each (every write goes through setState, markOut or
// markIdle, which zeropool_checks checks against stateMoves below; the byte of a slot is
// written only by whoever holds the slot: its holder while out, the cache or the slab lock
// that has it while idle or free):
//
//	from     to       by
//	new      out      carve (a slot never handed out; a new mapping is made out or tracked)
//	free     out      carveSlot (a slot off its slab's free list, for the Get)
//	free     idle     carveSlot (the free slots taken with it, for the P's magazine)
//	idle     out      Get's fast path (markOut), getSlow
//	idle     tracked  getSlow (Config.TrackRate sampled this Get)
//	out      out      getSlow (a buffer carve has just marked out)
//	out      tracked  getSlow (a carved buffer, sampled)
//	out      idle     Put's fast path (markIdle), putSlow, putRelease, Preallocate (carved
//	                  buffers kept idle), getSlow (a Debug Get that could not unprotect it)
//	tracked  idle     putSlow (the record forgotten)
//	out      shared   Retain (the first reference added)
//	tracked  shared   Retain (the record forgotten: a shared buffer is no one holder's)
//	shared   out      dropRef (the last reference's Put, which goes on as any Put)
//	idle     idle     getSlow (a Debug Get that could not unprotect a cached buffer)
//	idle     free     releaseSlots (back on its slab's free list), release (a mapping,
//	                  unmapped next)
//	idle     broken   quarantine (its canary was overwritten: never handed out again)
//
// broken is final: the slot stays out of service until its slab is unmapped.
const (
	stateNew    = 0 // never handed out
	stateIdle   = 1 // cached, in a P's magazine or the depot
	stateOut    = 2 // held by a caller
	stateFree   = 3 // back on its slab's free list, or its pool closed
	stateBroken = 4 // its canary was overwritten: never handed out again
	// stateTracked is stateOut for a buffer whose Get was tracked (Config.TrackRate): the
	// Put fast path, which takes stateOut only, leaves it to the slow path, which forgets
	// the record.
	stateTracked = 5
	stateShared  = 6 // held by a caller, with references added by Retain (see retain.go)
)

// A region is one mapping of the pool: a slab of equal slots or a single buffer. The page
// map refers to it, so it lives as long as its memory is mapped.
type region struct {
	// Set at creation, then only read (by every Put's ownership check).
	base   addr    // first slot
	span   uintptr // bytes from the first slot to the end of the last; 1 for a single buffer
	mask   uintptr // distance between slots - 1; 0 for a single buffer
	states addr    // the state bytes, one per slot
	// fastPutOwner is the pool's owner when Put may cache this region's buffers on its fast
	// path (the fast path compares it with its pool's owner), else noFastPut (oversize buffers, Secure and Debug pools, which do work on every Put).
	// Regions name their pool by its owner, never by the *BufferPool: the page map keeps
	// every region reachable, and must not keep a dropped pool alive (see dropped.go).
	fastPutOwner *owner
	owner        *owner
	ci           int    // its size class index; -1 for oversize
	layout       layout // its class's, or layoutOversize
	shift        uint8  // log2 of the distance between slots
	stShift      uint8  // a slot's offset >> stShift is its state byte's offset (see stateGap)
	home         int    // the shard whose Ps carve this slab first
	pinned       bool
	// debugOut says, in a Debug pool, that the buffer of a single-buffer region is out; it
	// is changed and read under debugMu only (Purge reads it).
	debugOut bool
	frozen   atomic.Bool      // Freeze made the buffer read-only (single-buffer Secure regions); changed under growMu
	m        *offheap.Mapping // the mapping: only its methods act on it (the package functions refuse it)
	mem      []byte           // m.Bytes()
	pub      []byte           // Region.Mem: mem less the guard pages inside it (Secure slabs)
	mapped   int64            // the bytes charged to MappedBytes: the whole mapping, guard pages included
	size     int              // bytes of a buffer (for oversize, the mapping's usable bytes)
	id       uint64           // Region.ID: from the pool's counter, never reused

	// state is the state byte of a single-buffer region (states points here). Only the
	// buffer's holder touches it, as with a slab slot's byte.
	state uint8
	_     [64]byte // keep the slab bookkeeping below off the line Puts read

	// Slab bookkeeping, guarded by the class's slabMu.
	freeStack  addr // nslots uint16 slot indexes, nfree of them in use
	nfree      int
	carved     int // slots below carved have been handed out at least once
	nslots     int
	live       int  // slots idle or out (not new, not free)
	partialIdx int  // index in sizeClass.partial, or -1
	discarded  bool // every free slot's pages were given back by Trim
	unlocked   bool // Trim unlocked free slots of this pinned slab: lock it again on reuse
}

// stateMoves[from] has bit 1<<to set for every transition the table above allows.
var stateMoves = [...]uint8{
	stateNew:     1<<stateOut | 1<<stateTracked,
	stateIdle:    1<<stateOut | 1<<stateTracked | 1<<stateIdle | 1<<stateFree | 1<<stateBroken,
	stateOut:     1<<stateOut | 1<<stateTracked | 1<<stateIdle | 1<<stateShared,
	stateFree:    1<<stateOut | 1<<stateIdle,
	stateBroken:  0,
	stateTracked: 1<<stateIdle | 1<<stateShared,
	stateShared:  1 << stateOut,
}

// checkMove throws under zeropool_checks where the table does not allow from -> to.
func checkMove(from, to uint8) {
	if invariantChecks && (int(from) >= len(stateMoves) || stateMoves[from]&(1<<to) == 0) {
		throw("state " + strconv.Itoa(int(from)) + " -> " + strconv.Itoa(int(to)) + " is not in the transition table")
	}
}

// setState moves the state byte at st to to, along the table.
func setState(st *uint8, to uint8) {
	if invariantChecks {
		checkMove(*st, to)
	}
	*st = to
}

// The fast paths change a state byte through these three only: Get marks its buffer out, and
// Put takes a buffer on its fast path only when isPlainOut says it is stateOut, marking it
// idle. Every other value (idle, free, never handed out, broken, and the states of buffers
// out whose Put needs work: stateTracked, stateShared) sends the Put to the slow path, which
// sorts it out. isOut (below) is the slow paths' test of any state of a buffer out.
func markOut(st addr) {
	if invariantChecks {
		checkMove(*st.state(), stateOut)
	}
	*st.state() = stateOut
}

func isPlainOut(st addr) bool { return *st.state() == stateOut }

func markIdle(st addr) {
	if invariantChecks {
		checkMove(*st.state(), stateIdle)
	}
	*st.state() = stateIdle
}

// isOut reports whether a slot's state is one of a buffer that is out.
func isOut(state uint8) bool {
	return state == stateOut || state == stateTracked || state == stateShared
}

// stateAt is the state byte of slot idx: slots' state bytes are 1<<(shift-stShift) apart.
func (r *region) stateAt(idx int) *uint8 {
	return (r.states + addr(idx)<<((r.shift-r.stShift)&63)).state()
}

func (r *region) freeSlot(i int) *uint16 { return (r.freeStack + addr(2*i)).uint16At() }

func (r *region) slotAddr(idx int) addr { return r.base + addr(idx)<<r.shift }

func (r *region) entry(idx int) entry { return entry{r.slotAddr(idx), addrOfState(r.stateAt(idx))} }

// slot returns the state byte of the slot that starts at addr, or ok == false when addr starts
// no slot of r. This range check is what refuses every address r does not hold.
func (r *region) slot(a addr) (st *uint8, ok bool) {
	off := uintptr(a - r.base)
	if off >= r.span || off&r.mask != 0 {
		return nil, false
	}
	return (r.states + addr(off>>(r.stShift&63))).state(), true
}

// memStart is the first byte of r's mapping.
func (r *region) memStart() addr { return addrOfSlice(r.mem) }

// mapRegion maps bytes for a region: aligned to a granule (the page map's unit, and a huge
// page), pinned when the pool asks, fenced by guard pages when guard is set, kept out of
// core dumps and forked children in Secure pools and, with SecretMem, out of the kernel's
// direct map. The mapping is owned: offheap's package functions refuse it, so nobody changes
// the pool's pages behind its back. It fails with ErrExhausted beyond MaxMappedBytes.
func (p *BufferPool) mapRegion(bytes int, huge, guard bool) (m *offheap.Mapping, pinned bool, charged int64, err error) {
	opts := []offheap.Option{offheap.Align(granuleSize), offheap.WithBackend(p.cfg.Backend)}
	if huge {
		opts = append(opts, offheap.HugePages())
	}
	if guard {
		opts = append(opts, offheap.GuardPages())
	}
	if p.cfg.Secure {
		opts = append(opts, offheap.NoDump(), offheap.WipeOnFork())
	}
	if p.cfg.Populate {
		opts = append(opts, offheap.Populate())
	}
	if p.cfg.DontFork {
		opts = append(opts, offheap.DontFork())
	}
	if p.cfg.SecretMem {
		opts = append(opts, offheap.SecretMem())
	}
	switch {
	case p.cfg.Pinned && p.cfg.RequirePinned:
		opts = append(opts, offheap.PinRequired())
	case p.cfg.Pinned:
		opts = append(opts, offheap.Pin())
	}
	// Charge the bytes first, guard pages included, so that concurrent Gets cannot pass the
	// bound together and MappedBytes never reads above it.
	pg := offheap.PageSize()
	charge := int64((bytes + pg - 1) &^ (pg - 1))
	if guard {
		charge += 2 * int64(pg)
	}
	if err := p.charge(charge); err != nil {
		return nil, false, 0, err
	}
	m, err = offheap.Map(bytes, opts...)
	if err != nil {
		p.addMapped(-charge)
		return nil, false, 0, err
	}
	if d := int64(m.Info().Mapped) - charge; d != 0 {
		p.addMapped(d) // alignment slack the kernel kept
		charge += d
	}
	if p.cfg.Pinned {
		if m.Info().Locked {
			pinned = true
		} else {
			p.pinFailures.Add(1)
		}
	}
	return m, pinned, charge, nil
}

// charge adds n bytes to MappedBytes if MaxMappedBytes admits them, first making room from
// the pool's idle memory where it does not; it fails with ErrExhausted where even that is not
// enough. No lock of the pool may be held: making room is a Trim.
func (p *BufferPool) charge(n int64) error {
	bound := p.cfg.MaxMappedBytes
	for tried := false; ; tried = true {
		m := p.mapped.Load()
		if bound <= 0 || m+n <= bound {
			if p.mapped.CompareAndSwap(m, m+n) {
				process.mapped.Add(n)
				return nil
			}
			continue
		}
		if tried || !p.holdsIdle() || p.makeRoom() == 0 {
			return fmt.Errorf("%w: mapping %s more would pass %s (%s mapped)", ErrExhausted,
				FormatBytes(n), FormatBytes(bound), FormatBytes(m))
		}
	}
}

// holdsIdle reports whether the pool holds memory that makeRoom could give back.
func (p *BufferPool) holdsIdle() bool {
	if p.idle.holdsEmptySlabs() || p.Len() > 0 {
		return true
	}
	return p.book.stuck.Len() > 0
}

// newMapping maps and registers a single-buffer region of size bytes (class ci, or -1 for an
// oversize buffer) whose buffer is in state st.
func (p *BufferPool) newMapping(size, ci int, st uint8) (*region, error) {
	m, pinned, charged, err := p.mapRegion(size, size >= granuleSize, p.cfg.Secure)
	if err != nil {
		return nil, err
	}
	mem := m.Bytes()
	lay := layoutMapping
	if ci < 0 {
		lay = layoutOversize
		size = cap(mem)
	}
	r := &region{
		base: addrOfSlice(mem), span: 1, ci: ci, layout: lay, pub: mem[:cap(mem):cap(mem)],
		pinned: pinned, m: m, mem: mem, mapped: charged, size: size, partialIdx: -1, owner: p.owner, fastPutOwner: noFastPut,
	}
	if ci >= 0 && p.cachesPuts() {
		r.fastPutOwner = p.owner
	}
	r.states = addrOfState(&r.state)
	r.state = st // before the region is the pool's: nothing else reads it before
	if err := p.register(r); err != nil {
		return nil, err
	}
	return r, nil
}

// cachesPuts reports whether Put may cache a buffer without doing anything to it first:
// Secure pools wipe every buffer on Put, Debug pools protect it.
func (p *BufferPool) cachesPuts() bool { return !p.cfg.Secure && !p.cfg.Debug }

// register enters a fresh region in the pool after OnMap has accepted it, or unmaps it and
// fails if OnMap refused it or the pool closed meanwhile (so that Close never leaves a mapping
// behind).
func (p *BufferPool) register(r *region) error {
	r.id = p.nextID.Add(1)
	if p.cfg.OnMap != nil {
		if err := p.callOnMap(r); err != nil {
			p.freeMapping(r, false)
			return opError(fmt.Sprintf("OnMap of region %d (%s)", r.id, FormatBytes(int64(len(r.pub)))), err)
		}
	}
	p.growMu.Lock()
	lo := r.memStart()
	if p.closed.Load() || !setPages(lo, lo+addr(cap(r.mem)), r) {
		p.growMu.Unlock()
		p.freeMapping(r, true)
		if p.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("zeropool: mapping at %#x is beyond the address space the pool indexes", lo)
	}
	p.book.regions[r] = struct{}{}
	p.maps.Add(1)
	if r.pinned {
		p.pinnedBytes.Add(int64(cap(r.mem)))
	}
	p.growMu.Unlock()
	return nil
}

// unmap removes a region from the pool, gives its memory back to the system and returns the
// bytes unmapped. The caller owns the region exclusively (no slot of it is cached or out).
func (p *BufferPool) unmap(r *region) int64 {
	p.growMu.Lock()
	lo := r.memStart()
	setPages(lo, lo+addr(cap(r.mem)), nil)
	delete(p.book.regions, r)
	p.unmaps.Add(1)
	if r.pinned {
		p.pinnedBytes.Add(-int64(cap(r.mem)))
	}
	p.growMu.Unlock()
	p.freeMapping(r, true)
	return r.mapped
}

// freeMapping gives a region's memory back to the system, after OnUnmap when announce is
// set (the region was announced by OnMap). A mapping the kernel refuses to unmap (ENOMEM at
// vm.max_map_count, where unmapping from the middle of a merged VMA needs a split) is never
// forgotten: it stays counted in MappedBytes and in Stats.UnmapFailures, and the pool tries
// again at the next Trim and at Close.
//
// While Trim, Close or a Get making room drains the pool, an announced region waits for the
// drain's end (see beginDrain): OnUnmap then runs with no lock of the pool held.
func (p *BufferPool) freeMapping(r *region, announce bool) {
	if announce && p.cfg.OnUnmap != nil {
		if p.deferUnmap(r) {
			return
		}
		p.callOnUnmap(r)
	}
	if err := p.book.stuck.Unmap(r.m); err != nil {
		p.unmapFailures.Add(1)
		return
	}
	p.addMapped(-r.mapped)
}

// addMapped changes the bytes the pool maps, and the process's total with them.
func (p *BufferPool) addMapped(n int64) {
	p.mapped.Add(n)
	process.mapped.Add(n)
}

// retryStuck tries again to unmap the mappings the kernel refused before, and returns the
// bytes it unmapped.
func (p *BufferPool) retryStuck() int64 {
	n := p.book.stuck.Retry()
	p.addMapped(-n)
	return n
}

// Owner returns the whole buffer (len == cap == the buffer's capacity) holding b's first
// byte while that buffer is out, so that an interior slice b[k:] can be put back:
// p.Put(must(p.Owner(b))). It returns ErrNotOwned for memory that is not part of a buffer
// of this pool that is out now (an idle buffer, a slab's header, a canary, foreign memory).
func (p *BufferPool) Owner(b []byte) ([]byte, error) {
	p.ensure()
	if cap(b) == 0 {
		return nil, fmt.Errorf("%w: Owner of an empty slice", ErrNotOwned)
	}
	a := addrOfSlice(b)
	start, size, ok := p.bufferAt(a)
	if !ok {
		return nil, fmt.Errorf("%w: %#x is in no buffer that is out", ErrNotOwned, a)
	}
	return start.bytes(size), nil
}

// bufferAt finds the buffer that is out and holds addr: its first byte and its capacity.
func (p *BufferPool) bufferAt(a addr) (start addr, size int, ok bool) {
	r := lookup(a)
	if r == nil || r.owner != p.owner || a < r.base {
		return 0, 0, false
	}
	off := uintptr(a - r.base)
	if r.layout.isSlab() {
		if off >= r.span {
			return 0, 0, false
		}
		slot := off >> r.shift << r.shift
		if off-slot >= uintptr(r.size) { // a canary, between two slots
			return 0, 0, false
		}
		start = r.base + addr(slot)
	} else {
		if off >= uintptr(r.size) {
			return 0, 0, false
		}
		start = r.base
	}
	st, ok := r.slot(start)
	if !ok || !isOut(*st) {
		return 0, 0, false
	}
	return start, r.size, true
}

// buffersOut counts r's buffers that are out. It reads every state byte: call it only where
// no Get or Put of r's pool can run (its cleanup).
func (r *region) buffersOut() int {
	if !r.layout.isSlab() {
		if isOut(r.state) {
			return 1
		}
		return 0
	}
	n := 0
	for i := 0; i < r.nslots; i++ {
		if isOut(*r.stateAt(i)) {
			n++
		}
	}
	return n
}

// usable is the whole buffer of a single-buffer region.
func (r *region) usable() []byte { return r.mem[:cap(r.mem):cap(r.mem)] }
