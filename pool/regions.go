package pool

import (
	"fmt"
	"slices"
)

// Region is one mapping of the pool: a slab of same-size slots, or one buffer's own mapping.
// Config.OnMap and Config.OnUnmap announce each region's birth and death; Regions lists the
// live ones. A region is what to register with a device or the kernel (io_uring fixed
// buffers, RDMA memory regions): while it lives, its address and its pages stay the same.
type Region struct {
	ID    uint64 // unique within the pool for its lifetime, never reused
	Mem   []byte // the whole usable mapping; its address and its pages stay the same until OnUnmap
	Class int    // buffer size of its slots; for a single-buffer mapping, that buffer's cap
}

// public describes r as a Region.
func (r *region) public() Region {
	c := r.size
	return Region{ID: r.id, Mem: r.mem[:cap(r.mem):cap(r.mem)], Class: c}
}

// Regions returns every live region of the pool, oldest first. It allocates the slice it
// returns; the regions' memory is the pool's (do not Put or unmap it).
func (p *BufferPool) Regions() []Region {
	mustPool(p)
	p.growMu.Lock()
	out := make([]Region, 0, len(p.regions))
	for r := range p.regions {
		out = append(out, r.public())
	}
	p.growMu.Unlock()
	slices.SortFunc(out, func(a, b Region) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// RegionOf returns the live region holding b's first byte and that byte's offset in
// Region.Mem, whether or not b is a whole buffer or is out. It returns ErrNotOwned for
// memory no region of the pool holds (nil and empty slices included).
func (p *BufferPool) RegionOf(b []byte) (Region, int, error) {
	mustPool(p)
	if cap(b) == 0 {
		return Region{}, 0, fmt.Errorf("%w: RegionOf of an empty slice", ErrNotOwned)
	}
	a := addrOfSlice(b)
	p.growMu.Lock()
	defer p.growMu.Unlock()
	r := lookup(a)
	if r == nil || r.pool != p {
		return Region{}, 0, fmt.Errorf("%w: %#x", ErrNotOwned, a)
	}
	lo := r.memStart()
	if uintptr(a-lo) >= uintptr(cap(r.mem)) {
		return Region{}, 0, fmt.Errorf("%w: %#x", ErrNotOwned, a)
	}
	return r.public(), int(a - lo), nil
}

// Owner returns the whole buffer (len == cap == the buffer's capacity) holding b's first
// byte while that buffer is out, so that an interior slice b[k:] can be put back:
// p.Put(must(p.Owner(b))). It returns ErrNotOwned for memory that is not part of a buffer
// of this pool that is out now (an idle buffer, a slab's header, a canary, foreign memory).
func (p *BufferPool) Owner(b []byte) ([]byte, error) {
	mustPool(p)
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
	if r == nil || r.pool != p || a < r.base {
		return 0, 0, false
	}
	off := uintptr(a - r.base)
	if r.kind == kindSlab {
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

// Preallocate maps n buffers of size bytes now and keeps them idle, so that the next n Gets
// of that size find memory that is mapped (and, with Populate or Pinned, resident). It is the
// Rust crate's preallocate. Buffers beyond the pool's idle bounds (MaxIdleBytes) are not
// kept: Preallocate then returns an error saying how many were. n <= 0 does nothing.
func (p *BufferPool) Preallocate(size, n int) error {
	mustPool(p)
	if n <= 0 {
		return nil
	}
	if size <= 0 || size > p.maxPooled {
		return fmt.Errorf("%w: Preallocate(%d, %d): size must be 1 to MaxBufferSize (%d)", ErrInvalidSize, size, n, p.maxPooled)
	}
	if p.closed.Load() {
		return ErrClosed
	}
	// The buffers go to the depot, not to this P's magazines, so that a Get on any P finds
	// them.
	c := max(classOf(size), p.minClass)
	sc := &p.classes[c]
	before := p.classStats(c).Idle
	home := p.homeShard()
	var m *magazine
	if sc.mag > 0 {
		m = newMagazine(sc)
	}
	for range n {
		e, _, _, err := p.carve(c, home, nil)
		if err != nil {
			if m != nil && m.n > 0 {
				p.giveFull(c, m, home)
			}
			return fmt.Errorf("zeropool: Preallocate(%d, %d): %w", size, n, err)
		}
		*e.state.state() = stateIdle
		if m == nil {
			p.giveOne(c, e, home)
			continue
		}
		m.items[m.n] = e
		if m.n++; m.n == len(m.items) {
			m = p.giveFull(c, m, home)
		}
	}
	if m != nil && m.n > 0 {
		p.giveEmpty(c, p.giveFull(c, m, home), home)
	}
	if kept := p.classStats(c).Idle - before; kept < int64(n) { // the rest went back to the slabs
		return fmt.Errorf("zeropool: Preallocate(%d, %d): kept %d idle; MaxIdleBytes (%s) holds no more",
			size, n, max(kept, 0), FormatBytes(p.cfg.MaxIdleBytes))
	}
	return nil
}

// mustPool gives a nil pool a plain, recoverable panic, before any pinned section where a
// nil dereference would be a fatal error instead.
func mustPool(p *BufferPool) {
	if p == nil {
		panic("zeropool: method called on a nil *BufferPool")
	}
}
