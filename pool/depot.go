package pool

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// depot is a size class's shared pool, behind the P caches: full (or partly full) magazines
// for Ps to take, empty ones for Ps to fill, and loose idle buffers of Ps that have no
// magazines of the class. It is sharded (Config.NumShards): a P uses its home shard (P id
// mod NumShards) first and the others when that one has nothing. The bytes it holds are
// admitted to the idle budget (budget.go) as they arrive and released as they leave; the
// loose buffers are bounded by MaxBuffersPerShard too. What it may not keep is released
// (slabs.go). A class's depot is made at its first use, so that a new pool costs little.
type depot struct {
	p      *BufferPool
	sc     *sizeClass
	shards []depotShard
	mask   int // len(shards) - 1
}

// depotShard is one shard of a depot, on lines of its own (see depotShardPad).
type depotShard struct {
	depotShardFields
	_ [depotShardPad]byte
}

type depotShardFields struct {
	mu    spinLock // guards the three lists; taken for a few pointer moves (see spinLock)
	full  []*magazine
	empty []*magazine
	loose []entry
}

// spinLock guards a depot shard. Unlike sync.Mutex it can be taken and released inside a
// pinned section (tryLockPinned never blocks, unlockPinned never wakes anyone), which lets a
// P exchange a magazine with the depot in the same pinned section that finds its own
// magazines empty or full. Every critical section is a few pointer moves, and every holder
// is pinned: the slow paths take the lock through lock, which pins them until unlock. So the
// Go scheduler never deschedules a holder, and a waiter spins on a holder that runs. The
// pinned swaps append only within a list's capacity; the slow paths' appends may grow a
// list, an allocation the runtime allows while pinned (it skips GC assists there), and
// drainInto's (Trim, Close) copies a whole shard out under the lock.
type spinLock struct{ v atomic.Uint32 }

// tryLockPinned takes the lock if it is free; call it pinned, and release it with
// unlockPinned in the same pinned section.
func (l *spinLock) tryLockPinned() bool { return l.v.CompareAndSwap(0, 1) }

func (l *spinLock) unlockPinned() { l.v.Store(0) }

// lock pins the caller (call it unpinned) and waits for the lock, spinning, reading, while
// it is held: its holder, pinned, is running its few pointer moves on another P. Only a
// holder whose thread the system has descheduled keeps it longer than lockSpins reads;
// then lock yields the P meanwhile. Before holders were pinned, a shorter spin yielded to
// holders that the scheduler had descheduled, which let a pipeline's other end onto this P
// in the middle of the caller's slow path, to find this P's magazine taken out and trade
// buffers one at a time.
func (l *spinLock) lock() {
	procPin()
	for !l.v.CompareAndSwap(0, 1) {
		for i := 0; i < lockSpins && l.v.Load() != 0; i++ {
		}
		if l.v.Load() != 0 {
			procUnpin()
			runtime.Gosched()
			procPin()
		}
	}
}

// lockSpins is how many times lock reads a held lock before it yields.
const lockSpins = 4000

// unlock releases a lock taken by lock, and unpins the caller.
func (l *spinLock) unlock() {
	l.v.Store(0)
	procUnpin()
}

// depotOf returns the depot of class ci, making it at the class's first use.
func (p *BufferPool) depotOf(ci int) *depot {
	sc := &p.classes[ci]
	if d := sc.depot.Load(); d != nil {
		return d
	}
	sc.slabMu.Lock()
	defer sc.slabMu.Unlock()
	if d := sc.depot.Load(); d != nil {
		return d
	}
	d := &depot{p: p, sc: sc, shards: make([]depotShard, p.cfg.NumShards), mask: p.shardMask}
	sc.depot.Store(d)
	return d
}

// homeShard is the depot shard of the current P.
func (p *BufferPool) homeShard() int {
	pid := procPin()
	procUnpin()
	return pid & p.shardMask
}

// admit reserves room in the idle budget for n more bytes in the depot; it reports false
// (reserving nothing) when they do not fit or the pool closed.
func (d *depot) admit(n int64) bool {
	return !d.p.closed.Load() && d.p.idle.admitDepot(n)
}

// bytes is what n buffers of the class hold.
func (d *depot) bytes(n int) int64 { return int64(n * d.sc.size) }

// takeFull exchanges an empty magazine (nil: none) for a full one, the home shard first,
// then the others. It returns nil, keeping nothing, when every shard is empty.
func (d *depot) takeFull(empty *magazine, home int) *magazine {
	for i := range d.shards {
		s := &d.shards[(home+i)&d.mask]
		s.mu.lock()
		if len(s.full) > 0 {
			m := popMagazine(&s.full)
			if empty != nil {
				s.empty = append(s.empty, empty)
			}
			s.mu.unlock()
			d.p.idle.releaseDepot(d.bytes(m.len()))
			return m
		}
		s.mu.unlock()
	}
	return nil
}

// giveFull takes a magazine of idle buffers and returns an empty magazine for the P to
// fill. Where the depot may not keep them (the class is below MinBufferSize, MaxIdleBytes is
// reached, the pool closed) their memory is released instead, and the magazine itself
// comes back empty.
func (d *depot) giveFull(m *magazine, home int) *magazine {
	if m.empty() {
		return m
	}
	if !d.sc.keep || !d.admit(d.bytes(m.len())) {
		d.p.releaseAll(m.held())
		m.fill(0)
		return m
	}
	s := &d.shards[home]
	s.mu.lock()
	if d.p.closed.Load() { // checked under the lock: Close empties each shard under it
		s.mu.unlock()
		d.p.idle.releaseDepot(d.bytes(m.len()))
		d.p.releaseAll(m.held())
		m.fill(0)
		return m
	}
	s.full = append(s.full, m)
	var e *magazine
	if len(s.empty) > 0 {
		e = popMagazine(&s.empty)
	}
	s.mu.unlock()
	if e == nil {
		e = d.takeEmpty(home)
	}
	return e
}

// takeEmpty takes an empty magazine from the other shards (the goroutine may have moved
// since its magazines were emptied on another P's shard), or makes one.
func (d *depot) takeEmpty(home int) *magazine {
	for i := 1; i < len(d.shards); i++ {
		s := &d.shards[(home+i)&d.mask]
		s.mu.lock()
		if len(s.empty) > 0 {
			m := popMagazine(&s.empty)
			s.mu.unlock()
			return m
		}
		s.mu.unlock()
	}
	return newMagazine(d.sc)
}

// tryTakeEmpty takes an empty magazine from the home shard where its lock is free and it
// has one, else returns nil: takeEmpty for a caller that is pinned and may not wait.
func (d *depot) tryTakeEmpty(home int) *magazine {
	s := &d.shards[home&d.mask]
	if !s.mu.tryLockPinned() {
		return nil
	}
	var m *magazine
	if len(s.empty) > 0 {
		m = popMagazine(&s.empty)
	}
	s.mu.unlockPinned()
	return m
}

// giveEmpty keeps an empty magazine for a P to fill later.
func (d *depot) giveEmpty(m *magazine, home int) {
	if m == nil || len(m.items) == 0 {
		return
	}
	if invariantChecks && !m.empty() {
		throw("a magazine given to the depot as empty holds buffers")
	}
	s := &d.shards[home]
	s.mu.lock()
	s.empty = append(s.empty, m)
	s.mu.unlock()
}

// takeOne takes one idle buffer: a loose one, else one of a full magazine, the home shard
// first. ok is false when the depot is empty.
func (d *depot) takeOne(home int) (e entry, ok bool) {
	for i := range d.shards {
		s := &d.shards[(home+i)&d.mask]
		s.mu.lock()
		switch {
		case len(s.loose) > 0:
			e, ok = s.loose[len(s.loose)-1], true
			s.loose = s.loose[:len(s.loose)-1]
		case len(s.full) > 0:
			m := s.full[len(s.full)-1]
			e, ok = m.pop(), true
			if m.empty() {
				s.empty = append(s.empty, popMagazine(&s.full))
			}
		}
		s.mu.unlock()
		if ok {
			d.p.idle.releaseDepot(d.bytes(1))
			return e, true
		}
	}
	return entry{}, false
}

// giveOne keeps one idle buffer loose, or releases its memory where the depot may not keep
// it.
func (d *depot) giveOne(e entry, home int) {
	if d.sc.keep && d.admit(d.bytes(1)) {
		s := &d.shards[home]
		s.mu.lock()
		if !d.p.closed.Load() && len(s.loose) < d.p.cfg.MaxBuffersPerShard {
			s.loose = append(s.loose, e)
			s.mu.unlock()
			return
		}
		s.mu.unlock()
		d.p.idle.releaseDepot(d.bytes(1))
	}
	d.p.release(e, lookup(e.addr))
}

// drainInto empties every shard into out.
func (d *depot) drainInto(out []entry) []entry {
	for i := range d.shards {
		s := &d.shards[i]
		s.mu.lock()
		n := len(s.loose)
		out = append(out, s.loose...)
		s.loose = s.loose[:0]
		for _, m := range s.full {
			n += m.len()
			out = m.drainInto(out)
		}
		clear(s.full)
		s.full = s.full[:0]
		s.mu.unlock()
		d.p.idle.releaseDepot(d.bytes(n))
	}
	return out
}

// drainDepots empties every class's depot into out.
func (p *BufferPool) drainDepots(out []entry) []entry {
	for ci := range p.classes {
		if d := p.classes[ci].depot.Load(); d != nil {
			out = d.drainInto(out)
		}
	}
	return out
}

// popMagazine takes the last magazine of a shard's list (not empty); the caller holds the
// shard's lock.
func popMagazine(l *[]*magazine) *magazine {
	k := len(*l) - 1
	m := (*l)[k]
	(*l)[k] = nil
	*l = (*l)[:k]
	return m
}

// keepAdmitted keeps idle buffers whose bytes admit has already counted: as one magazine
// where the class has magazines (len(es) <= its capacity), else loose, within
// MaxBuffersPerShard. What the depot cannot keep (the pool closed, the loose bound) is
// released, its bytes given back to the budget. It returns how many it kept.
func (d *depot) keepAdmitted(es []entry, home int) int {
	if len(es) == 0 {
		return 0
	}
	s := &d.shards[home]
	kept := 0
	var m *magazine
	if d.sc.mag > 0 {
		m = newMagazine(d.sc)
		m.fill(copy(m.items, es))
	}
	s.mu.lock()
	switch {
	case d.p.closed.Load():
	case m != nil:
		s.full = append(s.full, m)
		kept = m.len()
	default:
		kept = min(len(es), max(d.p.cfg.MaxBuffersPerShard-len(s.loose), 0))
		s.loose = append(s.loose, es[:kept]...)
	}
	s.mu.unlock()
	if rest := es[kept:]; len(rest) > 0 {
		d.p.idle.releaseDepot(d.bytes(len(rest)))
		d.p.releaseAll(rest)
	}
	return kept
}

func (p *BufferPool) Preallocate(size, n int) error {
	if err := p.ensureErr(); err != nil {
		return err
	}
	defer p.raiseUnmapPanic()
	if n <= 0 {
		return nil
	}
	maxPooled := int(p.maxPooled.Load())
	if size <= 0 || size > maxPooled {
		return fmt.Errorf("%w: Preallocate(%d, %d): size must be 1 to MaxBufferSize (%d)", ErrInvalidSize, size, n, maxPooled)
	}
	if p.closed.Load() {
		return ErrClosed
	}
	// The buffers go to the depot, not to this P's magazines, so that a Get on any P finds
	// them. Each is admitted to the idle budget before it is carved, so that IdleBytes never
	// passes MaxIdleBytes, not even for a moment.
	ci := max(classOf(size), p.minClass)
	sc := &p.classes[ci]
	home := p.homeShard()
	d := p.depotOf(ci)
	op := fmt.Sprintf("Preallocate(%d, %d)", size, n)
	kept := 0
	for kept < n {
		batch := 1
		if sc.mag > 0 {
			batch = min(sc.mag, n-kept)
		}
		if !sc.keep || !d.admit(d.bytes(batch)) {
			return fmt.Errorf("zeropool: %s: kept %d idle; MaxIdleBytes (%s) holds no more",
				op, kept, FormatBytes(p.cfg.MaxIdleBytes))
		}
		es := make([]entry, 0, batch)
		for len(es) < batch {
			e, _, _, err := p.carve(ci, home, nil)
			if err != nil {
				p.idle.releaseDepot(d.bytes(batch - len(es)))
				d.keepAdmitted(es, home)
				raiseHookPanic(err)
				return opError(op, err)
			}
			if p.cfg.Debug { // an idle buffer of a Debug pool is inaccessible
				p.debugMu.Lock()
				p.seal(e, lookup(e.addr))
				setState(e.state.state(), stateIdle)
				p.debugMu.Unlock()
			} else {
				setState(e.state.state(), stateIdle)
			}
			es = append(es, e)
		}
		if k := d.keepAdmitted(es, home); k < batch {
			return fmt.Errorf("zeropool: %s: kept %d idle; the depot holds no more (MaxBuffersPerShard %d)",
				op, kept+k, p.cfg.MaxBuffersPerShard)
		}
		kept += batch
	}
	return nil
}
