package pool

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// depot is one shard of a class's shared pool: full (or partly full) magazines for Ps to
// take, empty ones for Ps to fill, and loose idle buffers of Ps that have no magazines of the
// class. Bounded by bytes through MaxIdleBytes, and the loose buffers by MaxBuffersPerShard.
type depot struct {
	mu    spinLock
	full  []*magazine
	empty []*magazine
	loose []entry
	_     [128 - 8 - 3*24]byte // one shard per 128 bytes: no false sharing between shards
}

// spinLock guards a depot shard. Unlike sync.Mutex it can be taken and released inside a
// pinned section (tryLock never blocks, unlock never wakes anyone), which lets a P exchange
// a magazine with the depot in the same pinned section that finds its own magazines
// empty or full. Every critical section is a few pointer moves and never allocates.
type spinLock struct{ v atomic.Uint32 }

func (l *spinLock) tryLock() bool { return l.v.CompareAndSwap(0, 1) }

// lock waits for the lock; call it unpinned only.
func (l *spinLock) lock() {
	for !l.v.CompareAndSwap(0, 1) {
		runtime.Gosched()
	}
}

func (l *spinLock) unlock() { l.v.Store(0) }

// depots returns the shards of class c, making them at the class's first use so that a new
// pool costs little memory.
func (p *BufferPool) depots(c int) []depot {
	if d := p.classes[c].depots.Load(); d != nil {
		return *d
	}
	return p.makeDepots(c)
}

func (p *BufferPool) makeDepots(c int) []depot {
	sc := &p.classes[c]
	sc.slabMu.Lock()
	defer sc.slabMu.Unlock()
	if d := sc.depots.Load(); d != nil {
		return *d
	}
	d := make([]depot, p.cfg.NumShards)
	sc.depots.Store(&d)
	return d
}

// homeShard is the depot shard of the current P.
func (p *BufferPool) homeShard() int {
	pid := procPin()
	procUnpin()
	return pid & p.shardMask
}

// admit reserves room for n more bytes idle in the depots, within the shared share of
// MaxIdleBytes; it reports false (reserving nothing) when they do not fit or the pool closed.
func (p *BufferPool) admit(n int64) bool {
	if p.closed.Load() {
		return false
	}
	return p.idle.admitDepot(n)
}

// takeFull exchanges an empty magazine (nil: none) for a full one from the depot of class c,
// the P's home shard first, then the others. It returns nil, keeping nothing, when every
// shard is empty.
func (p *BufferPool) takeFull(c int, empty *magazine, home int) *magazine {
	sc := &p.classes[c]
	ds := p.depots(c)
	for i := range ds {
		d := &ds[(home+i)&p.shardMask]
		d.mu.lock()
		if len(d.full) > 0 {
			m := popMagazine(&d.full)
			if empty != nil {
				d.empty = append(d.empty, empty)
			}
			d.mu.unlock()
			p.idle.releaseDepot(int64(m.n * sc.size))
			return m
		}
		d.mu.unlock()
	}
	return nil
}

// giveFull hands a magazine of idle buffers to the depot of class c and returns an empty
// magazine for the P to fill. Where the depot may not keep them (the class is below
// MinBufferSize, MaxIdleBytes is reached, the pool closed) their memory is released
// instead, and the magazine itself comes back empty.
func (p *BufferPool) giveFull(c int, m *magazine, home int) *magazine {
	sc := &p.classes[c]
	if m.n == 0 {
		return m
	}
	if !sc.keep || !p.admit(int64(m.n*sc.size)) {
		p.releaseAll(m.items[:m.n])
		m.n = 0
		return m
	}
	d := &p.depots(c)[home]
	d.mu.lock()
	if p.closed.Load() { // checked under the lock: Close empties each shard under it
		d.mu.unlock()
		p.idle.releaseDepot(int64(m.n * sc.size))
		p.releaseAll(m.items[:m.n])
		m.n = 0
		return m
	}
	d.full = append(d.full, m)
	var e *magazine
	if len(d.empty) > 0 {
		e = popMagazine(&d.empty)
	}
	d.mu.unlock()
	if e == nil {
		e = p.takeEmpty(c, home)
	}
	return e
}

// takeEmpty takes an empty magazine of class c from the depot's other shards (the goroutine
// may have moved since its magazines were emptied on another P's shard), or makes one.
func (p *BufferPool) takeEmpty(c, home int) *magazine {
	ds := p.depots(c)
	for i := 1; i < len(ds); i++ {
		d := &ds[(home+i)&p.shardMask]
		d.mu.lock()
		if len(d.empty) > 0 {
			m := popMagazine(&d.empty)
			d.mu.unlock()
			return m
		}
		d.mu.unlock()
	}
	return newMagazine(&p.classes[c])
}

// giveEmpty keeps an empty magazine in the depot of class c for a P to fill later.
func (p *BufferPool) giveEmpty(c int, m *magazine, home int) {
	if m == nil || len(m.items) == 0 {
		return
	}
	d := &p.depots(c)[home]
	d.mu.lock()
	d.empty = append(d.empty, m)
	d.mu.unlock()
}

// takeOne takes one idle buffer of class c from the depot: a loose one, else one of a full
// magazine. ok is false when the depot is empty.
func (p *BufferPool) takeOne(c, home int) (e entry, ok bool) {
	sc := &p.classes[c]
	ds := p.depots(c)
	for i := range ds {
		d := &ds[(home+i)&p.shardMask]
		d.mu.lock()
		switch {
		case len(d.loose) > 0:
			e, ok = d.loose[len(d.loose)-1], true
			d.loose = d.loose[:len(d.loose)-1]
		case len(d.full) > 0:
			m := d.full[len(d.full)-1]
			m.n--
			e, ok = m.items[m.n], true
			if m.n == 0 {
				d.empty = append(d.empty, popMagazine(&d.full))
			}
		}
		d.mu.unlock()
		if ok {
			p.idle.releaseDepot(int64(sc.size))
			return e, true
		}
	}
	return entry{}, false
}

// giveOne keeps one idle buffer of class c loose in the depot, or releases its memory where
// the depot may not keep it.
func (p *BufferPool) giveOne(c int, e entry, home int) {
	sc := &p.classes[c]
	if sc.keep && p.admit(int64(sc.size)) {
		d := &p.depots(c)[home]
		d.mu.lock()
		if !p.closed.Load() && len(d.loose) < p.cfg.MaxBuffersPerShard {
			d.loose = append(d.loose, e)
			d.mu.unlock()
			return
		}
		d.mu.unlock()
		p.idle.releaseDepot(int64(sc.size))
	}
	p.release(e, lookup(e.addr))
}

// drainDepots empties every shard of every class into out.
func (p *BufferPool) drainDepots(out []entry) []entry {
	for c := range p.classes {
		sc := &p.classes[c]
		d := sc.depots.Load()
		if d == nil {
			continue
		}
		for i := range *d {
			d := &(*d)[i]
			d.mu.lock()
			n := len(d.loose)
			out = append(out, d.loose...)
			d.loose = d.loose[:0]
			for _, m := range d.full {
				n += m.n
				out = append(out, m.items[:m.n]...)
				m.n = 0
			}
			clear(d.full)
			d.full = d.full[:0]
			d.mu.unlock()
			p.idle.releaseDepot(int64(n * sc.size))
		}
	}
	return out
}

// tryLockHome locks the home shard of the class's depot if that needs no waiting, for a
// pinned section; nil when the shard is busy or the class has no depot yet.
func (sc *sizeClass) tryLockHome(home int) *depot {
	ds := sc.depots.Load()
	if ds == nil {
		return nil
	}
	if d := &(*ds)[home]; d.mu.tryLock() {
		return d
	}
	return nil
}

// popMagazine takes the last magazine of a depot list (not empty); the caller holds the
// shard's lock.
func popMagazine(l *[]*magazine) *magazine {
	k := len(*l) - 1
	m := (*l)[k]
	(*l)[k] = nil
	*l = (*l)[:k]
	return m
}

// keepAdmitted keeps idle buffers of class c whose bytes admit has already counted: as one
// magazine in the depot where the class has magazines (len(es) <= its capacity), else loose,
// within MaxBuffersPerShard. What the depot cannot keep (the pool closed, the loose bound) is
// released, its bytes given back to the budget. It returns how many it kept.
func (p *BufferPool) keepAdmitted(c int, es []entry, home int) int {
	if len(es) == 0 {
		return 0
	}
	sc := &p.classes[c]
	d := &p.depots(c)[home]
	kept := 0
	var m *magazine
	if sc.mag > 0 {
		m = newMagazine(sc)
		m.n = copy(m.items, es)
	}
	d.mu.lock()
	switch {
	case p.closed.Load():
	case m != nil:
		d.full = append(d.full, m)
		kept = m.n
	default:
		kept = min(len(es), max(p.cfg.MaxBuffersPerShard-len(d.loose), 0))
		d.loose = append(d.loose, es[:kept]...)
	}
	d.mu.unlock()
	if rest := es[kept:]; len(rest) > 0 {
		p.idle.releaseDepot(int64(len(rest) * sc.size))
		p.releaseAll(rest)
	}
	return kept
}

// Preallocate maps n buffers of size bytes now and keeps them idle, so that the next n Gets
// of that size find memory that is mapped (and, with Populate or Pinned, resident). It is the
// Rust crate's preallocate. Buffers beyond the pool's idle bounds (MaxIdleBytes) are not
// mapped: Preallocate then returns an error saying how many were kept. n <= 0 does nothing.
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
	c := max(classOf(size), p.minClass)
	sc := &p.classes[c]
	home := p.homeShard()
	op := fmt.Sprintf("Preallocate(%d, %d)", size, n)
	kept := 0
	for kept < n {
		batch := 1
		if sc.mag > 0 {
			batch = min(sc.mag, n-kept)
		}
		if !sc.keep || !p.admit(int64(batch*sc.size)) {
			return fmt.Errorf("zeropool: %s: kept %d idle; MaxIdleBytes (%s) holds no more",
				op, kept, FormatBytes(p.cfg.MaxIdleBytes))
		}
		es := make([]entry, 0, batch)
		for len(es) < batch {
			e, _, _, err := p.carve(c, home, nil)
			if err != nil {
				p.idle.releaseDepot(int64((batch - len(es)) * sc.size))
				p.keepAdmitted(c, es, home)
				raiseHookPanic(err)
				return opError(op, err)
			}
			if p.cfg.Debug { // an idle buffer of a Debug pool is inaccessible
				p.debugMu.Lock()
				p.seal(e, lookup(e.addr))
				*e.state.state() = stateIdle
				p.debugMu.Unlock()
			} else {
				*e.state.state() = stateIdle
			}
			es = append(es, e)
		}
		if k := p.keepAdmitted(c, es, home); k < batch {
			return fmt.Errorf("zeropool: %s: kept %d idle; the depot holds no more (MaxBuffersPerShard %d)",
				op, kept+k, p.cfg.MaxBuffersPerShard)
		}
		kept += batch
	}
	return nil
}
