package pool

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/zeropool-go/zeropool/offheap"
)

// BufferPool hands out []byte buffers that live outside the Go heap and takes them back for
// reuse. It is safe for concurrent use by any number of goroutines. Close it to give all its
// memory back.
//
// The zero value is a pool with the defaults (New's), set up by the first method called on
// it, whichever that is, so a BufferPool can be a field of a struct, as a sync.Pool can. A
// BufferPool must not be copied after first use (go vet's copylocks check says so).
type BufferPool struct {
	// Read by every Get and Put; written only while the pool is set up. maxPooled is stored
	// last: a Get that reads it non-zero sees everything else set up, and a pool whose
	// maxPooled is 0 is a zero pool not set up yet (see ensure).
	maxPooled    atomic.Int64             // size of the largest pooled class: bigger Gets get a mapping of their own
	locals       atomic.Pointer[localSet] // the P caches in use; noLocals while they are off
	owner        *owner                   // what the pool's regions name it by (see dropped.go)
	tracking     bool                     // Config.TrackRate > 0, beside the fields every Get reads
	classes      []sizeClass
	shardMask    int
	minClass     int // lowest class that holds buffers (Debug pools: a page)
	cfg          Config
	canarySecret uint64 // Secure pools: the secret mixed into every canary (see canaryOf)
	closed       atomic.Bool

	// Everything below is written while the pool runs: keep it off the cache lines that every
	// Get and Put reads on every P.
	_ [128]byte

	localsMu  sync.Mutex               // serializes changes of locals and allLocals
	allLocals atomic.Pointer[localSet] // every P cache made, in use or not
	cachesOff bool                     // Trim or Close has turned the P caches off
	drainMu   sync.Mutex               // serializes Trim and Close
	debugMu   sync.Mutex               // Debug pools: makes a Put's state check and change one step

	idle idleBudget // MaxIdleBytes: the depots', the empty slabs' and the P caches' idle bytes

	// Counters off the hot path.
	notOwned, doublePuts, closedPuts   atomic.Uint64
	trims, pinFailures, canaryFailures atomic.Uint64
	maps, unmaps, unmapFailures        atomic.Uint64
	oversizeGets, oversizePuts         atomic.Uint64
	mapped, pinnedBytes, oversizeOut   atomic.Int64
	peakInUse, unreleased              atomic.Int64
	nextID                             atomic.Uint64  // the last Region.ID handed out
	uncached                           uncachedCounts // Gets and Puts counted while the P caches are off
	refs                               refTable       // references added by Retain

	growMu sync.Mutex // guards book, draining and deferred
	book   *book      // the pool's regions; what a cleanup finds of the pool once it is dropped
	tracks *tracker   // Config.TrackRate's records of buffers out
	drop   *dropped   // what the cleanup of the pool gets, if it is dropped
	// While Trim, Close or a Get making room holds drainMu, regions to announce gone wait in
	// deferred, so that OnUnmap runs after drainMu is released and may call the pool back.
	draining bool
	deferred []*region

	hookPanics    atomic.Uint64
	leakedBuffers atomic.Uint64
	unmapPanic    atomic.Pointer[hookPanic] // an OnUnmap panic, for the method that ran it to raise again
	setupMu       sync.Mutex                // serializes a zero pool's set-up
	setupErr      error                     // why a zero pool could not be set up
}

// New returns a pool with the defaults for this machine (DefaultConfig(runtime.NumCPU())).
// It panics only if ZEROPOOL_BACKEND names a backend that cannot be used.
func New() *BufferPool {
	p, err := NewWithConfig(Config{})
	if err != nil {
		panic(err)
	}
	return p
}

// NewWithConfig returns a pool configured by cfg; zero fields take their defaults. It returns
// an error wrapping ErrInvalidConfig for values it cannot honour. No memory is mapped until the
// first Get.
func NewWithConfig(cfg Config) (*BufferPool, error) {
	p := new(BufferPool)
	if err := p.setup(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// ensure sets up a zero pool with the defaults at its first use, once, and panics as New
// does where that fails. On a nil pool it is a plain, recoverable panic, before any pinned
// section where a nil dereference would be a fatal error instead.
func (p *BufferPool) ensure() {
	if err := p.ensureErr(); err != nil {
		panic(err)
	}
}

// ensureErr is ensure returning the error instead, for methods that return errors.
func (p *BufferPool) ensureErr() error {
	if p == nil {
		panic("zeropool: method called on a nil *BufferPool")
	}
	if p.maxPooled.Load() != 0 {
		return nil
	}
	p.setupMu.Lock()
	defer p.setupMu.Unlock()
	if p.maxPooled.Load() == 0 && p.setupErr == nil {
		p.setupErr = p.setup(Config{})
	}
	return p.setupErr
}

// setup makes p, a zero BufferPool, a pool configured by cfg.
func (p *BufferPool) setup(cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if cfg.SecretMem {
		// Ask the kernel now, so that a pool it cannot back fails here, not at a Get.
		m, err := offheap.Map(offheap.PageSize(), offheap.SecretMem(), offheap.WithBackend(cfg.Backend))
		if err != nil {
			return opError("SecretMem", err)
		}
		if err := m.Unmap(); err != nil {
			return opError("SecretMem", err)
		}
	}
	initPageMap()
	nclass := classOf(cfg.MaxBufferSize) + 1
	p.cfg = cfg
	p.shardMask = cfg.NumShards - 1
	p.book = &book{regions: make(map[*region]struct{})}
	p.owner = &owner{id: process.pools.Add(1)}
	p.tracks = newTracker(cfg.TrackRate)
	p.tracking = cfg.TrackRate > 0
	p.idle.init(cfg.MaxIdleBytes)
	minKeep := 0
	if cfg.MinBufferSize > 0 {
		minKeep = classOf(cfg.MinBufferSize)
		if classSize(minKeep) < cfg.MinBufferSize {
			minKeep++
		}
	}
	ls := make([]*local, max(runtime.GOMAXPROCS(0), 1))
	for i := range ls {
		ls[i] = unusedLocal // each P makes its cache at its first slow path
	}
	p.allLocals.Store(&localSet{ls})
	p.locals.Store(p.allLocals.Load())
	pg := offheap.PageSize()
	if cfg.Debug {
		p.minClass = classOf(pg)
	}
	if cfg.Secure {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return opError("canary secret", err)
		}
		p.canarySecret = binary.LittleEndian.Uint64(b[:])
	}
	p.classes = make([]sizeClass, nclass)
	for ci := range p.classes {
		sc := &p.classes[ci]
		sc.size = classSize(ci)
		sc.keep = ci >= minKeep
		if ci < slabClasses {
			sc.current = make([]*region, cfg.NumShards)
		}
		switch {
		case cfg.Secure && !cfg.Debug && sc.size < pg:
			sc.layout = layoutCanarySlab
		case cfg.Secure || sc.size > maxSlabClassSize:
			sc.layout = layoutMapping
		}
		if !cfg.Debug { // a Debug pool's every Get and Put changes protections: no P caches
			sc.mag = p.idle.magazineSize(cfg.LocalCacheSize, sc.size)
		}
	}
	if need := p.smallestRegion(); cfg.MaxMappedBytes > 0 && cfg.MaxMappedBytes < need {
		return fmt.Errorf("%w: MaxMappedBytes %s is smaller than the %s region that a Get of %d bytes maps",
			ErrInvalidConfig, FormatBytes(cfg.MaxMappedBytes), FormatBytes(need), classSize(p.minClass))
	}
	p.watchDrop()
	p.maxPooled.Store(int64(cfg.MaxBufferSize)) // last: the pool is set up (see ensureErr)
	return nil
}

// smallestRegion is the size of the region that the smallest Get maps (a slab, or a
// mapping with its guard pages): a MaxMappedBytes below it refuses every small Get.
func (p *BufferPool) smallestRegion() int64 {
	sc := &p.classes[p.minClass]
	if sc.layout != layoutMapping {
		return slabSize
	}
	n := int64(sc.size)
	if p.cfg.Secure {
		n += 2 * int64(offheap.PageSize())
	}
	return n
}

// Config returns the pool's configuration with every default filled in.
func (p *BufferPool) Config() Config {
	p.ensure()
	return p.cfg
}

// zeroBuf is where Get(0)'s slice points: len and cap 0, so nobody can append into it in
// place (append copies to the heap), and Put of it does nothing.
var zeroBuf [1]byte

// Get returns a buffer of len size (cap at least size) that lives outside the Go heap. A
// reused buffer holds whatever its last holder left in it; a fresh one is zeroed. Buffers of
// 4 KiB or more start on a page boundary, smaller ones on a multiple of their size class.
// Get panics where TryGet would return an error.
func (p *BufferPool) Get(size int) []byte {
	// Get's fast path is get's (read the comments there), written out again without the
	// zero flag and the error result: 9 instructions fewer per Get+Put.
	if uint(size-1) >= uint(p.maxPooled.Load()) { // see get
		return p.mustGetSlow(size)
	}
	ci := classOf(size) & (classSlots - 1) // before pinning: one word spilled around procPin, not two
	pid := procPin()
	if ls := p.locals.Load().l; uint(pid) < uint(len(ls)) {
		l := ls[pid]
		raceAcquire(l)
		pc := &l.c[ci]
		if p.countsDown(l) {
			if pc.track--; pc.track == 0 {
				raceReleaseMerge(l)
				procUnpin()
				return p.mustGetSlow(size)
			}
		}
		if e := pc.priv; privHolds(e) {
			pc.priv.state = 0
			b := l.handOut(pc, e, ci, pid, size, pc.size)
			runtime.KeepAlive(p) // a dropped pool's cleanup must not find the buffer idle before it is out
			if lineCheck {
				noteWrite(pid, addrOfVar(&pc.priv), linePCache, e.addr)
			}
			raceReleaseMerge(l)
			procUnpin()
			return b
		}
		m := pc.loaded
		n, items := m.n-1, m.items
		if uint(n) >= uint(len(items)) {
			m = l.c[ci].swapInFull(p, ci, pid&p.shardMask) // not pc: see get
			n, items = m.n-1, m.items
		}
		if uint(n) < uint(len(items)) {
			e := items[n]
			m.n = n
			b := l.handOut(pc, e, ci, pid, size, pc.size)
			runtime.KeepAlive(p)
			if lineCheck {
				noteWrite(pid, addrOfVar(&m.n), lineMagazine, e.addr)
			}
			raceReleaseMerge(l)
			procUnpin()
			return b
		}
		if p.countsDown(l) {
			pc.track++
		}
		raceReleaseMerge(l)
	}
	procUnpin()
	return p.mustGetSlow(size)
}

// countsDown reports whether a fast-path Get on the P whose cache is l counts down to its
// next tracked Get (Config.TrackRate): in a tracking pool, on a P with a cache of its own
// (unusedLocal is shared by every P and never written).
func (p *BufferPool) countsDown(l *local) bool { return p.tracking && l != unusedLocal }

// mustGetSlow is Get's slow path: getSlow, panicking on its error. It stands where get stands
// for TryGet, so that a tracked Get's stack is as many frames deep either way.
//
//go:noinline
func (p *BufferPool) mustGetSlow(size int) []byte {
	b, err := p.getSlow(size, false)
	if err != nil {
		panic(err)
	}
	return b
}

// GetZeroed is Get with the contents zeroed. Memory the pool maps afresh is zero already and
// is not touched, so a large fresh buffer costs no page faults here.
func (p *BufferPool) GetZeroed(size int) []byte {
	b, err := p.get(size, true)
	if err != nil {
		panic(err)
	}
	return b
}

// TryGet is Get returning an error instead of panicking: ErrInvalidSize for a negative or
// impossible size, ErrClosed after Close, ErrExhausted beyond MaxMappedBytes, or the
// system's refusal to map memory.
func (p *BufferPool) TryGet(size int) ([]byte, error) { return p.get(size, false) }

// get is the fast path of TryGet and GetZeroed (Get has its own copy): the current P's priv
// of the class, else a pop from its loaded magazine; the slow path serves the rest.
// Everything live across procUnpin is spilled around the call, so the state byte and the
// buffer's capacity are written and read before it.
func (p *BufferPool) get(size int, zero bool) ([]byte, error) {
	// Sizes no pooled class holds (0, negative, above MaxBufferSize) go to the slow path
	// before pinning, and so does every Get of a zero pool that is not set up yet (maxPooled
	// is stored last when a pool is set up, so locals is set when it is read). Reading p
	// unpinned also makes a nil pool a plain, recoverable panic, where the same dereference
	// while pinned would be a fatal error.
	if uint(size-1) >= uint(p.maxPooled.Load()) { // size <= 0, or above the largest class
		return p.getSlow(size, zero)
	}
	pid := procPin()
	if ls := p.locals.Load().l; uint(pid) < uint(len(ls)) {
		l := ls[pid]
		ci := classOf(size) & (classSlots - 1)
		raceAcquire(l)
		pc := &l.c[ci]
		// With Config.TrackRate, the P's countdown to its next tracked Get reaching zero
		// sends this Get to the slow path, which tracks it; a Get that goes there for want of
		// a buffer takes its count back, so that sampleSlow counts it once.
		if p.countsDown(l) {
			if pc.track--; pc.track == 0 {
				raceReleaseMerge(l)
				procUnpin()
				return p.getSlow(size, zero)
			}
		}
		// priv first: one load finds the buffer of a Get+Put cycle (privClosed has none).
		// Its hand-out tail is the magazine's below, written out twice on purpose: one
		// shared tail after either source measured one instruction more per Get+Put.
		if e := pc.priv; privHolds(e) {
			pc.priv.state = 0
			b := l.handOut(pc, e, ci, pid, size, pc.size)
			runtime.KeepAlive(p) // a dropped pool's cleanup must not find the buffer idle before it is out
			if lineCheck {
				noteWrite(pid, addrOfVar(&pc.priv), linePCache, e.addr)
			}
			raceReleaseMerge(l)
			procUnpin()
			if zero {
				clear(b)
			}
			return b, nil
		}
		// One unsigned compare both finds an empty magazine (n == -1) and proves the index
		// in range. An empty one is swapped for a full one where that needs no waiting.
		m := pc.loaded
		n, items := m.n-1, m.items
		if uint(n) >= uint(len(items)) {
			m = l.c[ci].swapInFull(p, ci, pid&p.shardMask) // not pc: the address is then computed here only
			n, items = m.n-1, m.items
		}
		if uint(n) < uint(len(items)) {
			e := items[n]
			m.n = n
			b := l.handOut(pc, e, ci, pid, size, pc.size)
			runtime.KeepAlive(p)
			if lineCheck {
				noteWrite(pid, addrOfVar(&m.n), lineMagazine, e.addr)
			}
			raceReleaseMerge(l)
			procUnpin()
			if zero {
				clear(b)
			}
			return b, nil
		}
		if p.countsDown(l) {
			pc.track++ // not served here: the slow path counts this Get (see sampleSlow)
		}
		raceReleaseMerge(l)
	}
	procUnpin()
	return p.getSlow(size, zero)
}

// Put gives buf back to the pool. buf must start at the first byte of a buffer from this
// pool's Get that has not been put back yet; its len and cap may differ (buf[:0] is fine).
// Put(nil) does nothing. Anything else is refused, the pool unchanged: ErrNotOwned for a
// slice the pool did not hand out, ErrDoublePut for a buffer already back. After Close every
// refusal also wraps ErrClosed. A second Put of a buffer whose memory the pool has already
// given back to the system (an oversize buffer, or one beyond the idle bounds) finds nothing
// there and gets ErrNotOwned; a second Put after the buffer was handed out again cannot be
// told from the new holder's. After Put the caller must not touch the buffer again: the pool
// may hand it to someone else at once.
//
// Two concurrent Puts of one buffer are a data race in the caller, as with any other shared
// slice: an ordinary pool may accept both (its fast path makes no atomic operation to
// catch misuse); a Debug pool refuses the second. A buffer with references added by Retain
// is the exception: its holders may Put it concurrently, each Put dropping one reference.
//
// An empty slice cut at the end of a buffer, b[cap(b):], still points at b's first byte (Go
// never lets a slice point past its array; with cap 0 it keeps the base), so Put(b[cap(b):])
// is Put(b). A slice cut inside the buffer, such as b[len(b):] with len(b) < cap(b), points
// inside it and is refused with ErrNotOwned: Put the buffer itself, or recover it with Owner.
//
// Memory handed to the kernel (vmsplice, splice, MSG_ZEROCOPY, an io_uring operation) must
// not be put back until the kernel is done with it: the pipe drained, the completion
// received. SPLICE_F_GIFT does not change that; a Secure pool's wipe on Put would zero data
// still in flight, and a Debug pool cannot see the kernel's writes into a buffer it holds.
func (p *BufferPool) Put(buf []byte) error {
	// The fast paths: a buffer that is out, of a region whose Puts need no work, going into
	// the current P's priv of its class or onto its loaded magazine. Anything else (errors
	// included) is sorted out by putSlow. Reading p.locals before pinning makes a nil pool
	// panic recoverably (see get).
	locals := &p.locals
	pid, a := procPin(), addrOfSlice(buf) // a after pinning: computed before, it is spilled around the call
	// A zero pool not yet set up has no locals at all: nil, checked while pinned (a nil
	// dereference there would be a fatal error).
	if lsp := locals.Load(); lsp != nil && uint(pid) < uint(len(lsp.l)) {
		l := lsp.l[pid]
		raceAcquire(l)
		// The buffer this P's last Get handed out (a Get+Put cycle): no lookup while no
		// region was unmapped since (see local.last). priv is open only in pools whose Puts
		// need no work.
		if a == l.last.addr && l.lastEpoch == unmapEpoch.Load() {
			pc := &l.c[l.lastCI&(classSlots-1)]
			// The state first: in the other order the compiler leaves a NOP before the
			// priv test (measured: one instruction more per Put).
			if isPlainOut(l.last.state) && pc.priv.state == 0 {
				pc.putPriv(l.last, pid)
				raceReleaseMerge(l)
				procUnpin()
				return nil
			}
		}
		if r := lookup(a); r != nil && r.fastPutOwner == p.owner {
			// region.slot, written out: through the call the compiler emits more instructions.
			if off := uintptr(a - r.base); off < r.span && off&r.mask == 0 {
				st := r.states + addr(off>>(r.stShift&63))
				pc := &l.c[r.ci&(classSlots-1)]
				if isPlainOut(st) {
					if pc.priv.state == 0 { // privClosed is never empty
						pc.putPriv(entry{a, st}, pid)
						raceReleaseMerge(l)
						procUnpin()
						return nil
					}
					m := pc.loaded
					n, items := m.n, m.items
					if uint(n) >= uint(len(items)) { // full: swapped for one with room where that needs no waiting
						m = l.c[r.ci&(classSlots-1)].swapInEmpty(p, r.ci, pid&p.shardMask) // not pc: see get
						n, items = m.n, m.items
					}
					if uint(n) < uint(len(items)) {
						// priv stays the top of the P's stack (the buffer used last, warm in
						// the cache, is the next one out): its buffer moves to the magazine.
						// A shut priv (a class below MinBufferSize) stays shut.
						markIdle(st)
						e := entry{a, st}
						if privHolds(pc.priv) {
							e, pc.priv = pc.priv, e
						}
						items[n] = e
						m.n = n + 1
						bump(&pc.puts, 1)
						if lineCheck {
							noteWrite(pid, st, lineState, a)
							noteWrite(pid, addrOfVar(&items[n]), lineMagazine, a)
							noteWrite(pid, addrOfVar(&m.n), lineMagazine, a)
							noteWrite(pid, addrOfVar(&pc.puts), linePCache, a)
						}
						raceReleaseMerge(l)
						procUnpin()
						return nil
					}
				}
			}
		}
		raceReleaseMerge(l)
	}
	procUnpin()
	return p.putSlow(a)
}

// refuseState refuses a Put of a slot in state: a double Put if the slot was handed out
// before, else a slice the pool never handed out.
func (p *BufferPool) refuseState(state uint8) error {
	if state == stateIdle || state == stateFree || state == stateBroken {
		return p.refuse(ErrDoublePut)
	}
	return p.refuse(ErrNotOwned)
}

// refuse counts a refused Put and returns its error, marked ErrClosed too after Close.
func (p *BufferPool) refuse(err error) error {
	if p.closed.Load() {
		p.closedPuts.Add(1)
		return both(ErrClosed, err)
	}
	if err == ErrDoublePut {
		p.doublePuts.Add(1)
	} else {
		p.notOwned.Add(1)
	}
	return err
}

// putUnknown answers a Put of an address no region of the pool holds.
func (p *BufferPool) putUnknown(a addr) error {
	if a == 0 || a == addrOfSlice(zeroBuf[:]) {
		return nil
	}
	return p.refuse(ErrNotOwned)
}

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
	ci := max(classOf(size), p.minClass)
	sc := &p.classes[ci]
	e, fresh, err := p.getClass(ci)
	if err != nil {
		raiseHookPanic(err)
		return nil, opError(fmt.Sprintf("Get(%d)", size), err)
	}
	b := e.addr.buffer(size, sc.size)
	out := uint8(stateOut)
	if p.sampleSlow(ci) {
		out = stateTracked
		rec, prof := p.tracks.record(e.addr, sc.size, 2) // getSlow, get
		prof.Add(rec, 3)                                 // getSlow, get, Get: the caller of Get next
	}
	if p.cfg.Debug {
		// Accessible first, then out: Purge wipes only buffers that are out, and must find
		// them accessible.
		r := lookup(e.addr)
		p.debugMu.Lock()
		err := r.m.Protect(b, offheap.ProtReadWrite)
		if err == nil {
			setState(e.state.state(), out)
			r.debugOut = true
		}
		p.debugMu.Unlock()
		if err != nil {
			setState(e.state.state(), stateIdle)
			if out == stateTracked {
				p.tracks.forget(e.addr)
			}
			p.countPutUnpinned(ci)
			p.release(e, lookup(e.addr))
			return nil, opError(fmt.Sprintf("Get(%d)", size), err)
		}
	} else {
		setState(e.state.state(), out)
	}
	if zero && !fresh {
		clear(b)
	}
	return b, nil
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
		rec, prof := p.tracks.record(r.base, r.size, 3) // getOther, getSlow, get
		prof.Add(rec, 4)                                // getOther, getSlow, get, Get: the caller of Get next
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
			setState(st, stateIdle)
			r.debugOut = false
		}
		p.debugMu.Unlock()
	} else if s = *st; isOut(s) {
		setState(st, stateIdle)
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
	if r.layout == layoutOversize {
		p.oversizePuts.Add(1)
		p.oversizeOut.Add(-int64(r.size))
		p.release(e, r)
		return nil
	}
	ci := r.ci
	if p.closed.Load() {
		p.countPutUnpinned(ci)
		p.release(e, r)
		return nil
	}
	p.putClass(ci, e)
	return nil
}
