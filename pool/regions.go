package pool

import (
	"fmt"
	"slices"
)

// Region is one mapping of the pool: a slab of same-size slots, or one buffer's own mapping.
// Config.OnMap and Config.OnUnmap announce each region's birth and death; Regions lists the
// live ones. A region is what to register with a device or the kernel (io_uring fixed
// buffers, RDMA memory regions): while it lives, its address and its pages stay the same.
//
// Mem is the whole usable mapping: every byte of it may be read and written, by the CPU or
// by the kernel (it can be registered as it is). Guard pages are not part of it: a Secure
// slab's Mem is the part between its two guard pages, a Secure buffer's Mem is the buffer.
// The one exception is a Debug pool, which makes idle buffers inaccessible while they are
// idle.
type Region struct {
	ID    uint64 // unique within the pool for its lifetime, never reused
	Mem   []byte // the whole usable mapping; its address and its pages stay the same until OnUnmap
	Class int    // buffer size of its slots; for a single-buffer mapping, that buffer's cap
}

// public describes r as a Region.
func (r *region) public() Region {
	return Region{ID: r.id, Mem: r.pub, Class: r.size}
}

// Regions returns every live region of the pool, oldest first. It allocates the slice it
// returns; the regions' memory is the pool's (do not Put or unmap it).
func (p *BufferPool) Regions() []Region {
	p.ensure()
	p.growMu.Lock()
	out := make([]Region, 0, len(p.book.regions))
	for r := range p.book.regions {
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
// memory no region of the pool holds (nil and empty slices included, and a Secure slab's
// header and guard pages, which are not part of its Mem).
func (p *BufferPool) RegionOf(b []byte) (Region, int, error) {
	p.ensure()
	if cap(b) == 0 {
		return Region{}, 0, fmt.Errorf("%w: RegionOf of an empty slice", ErrNotOwned)
	}
	a := addrOfSlice(b)
	p.growMu.Lock()
	defer p.growMu.Unlock()
	r := lookup(a)
	if r == nil || r.owner != p.owner {
		return Region{}, 0, fmt.Errorf("%w: %#x", ErrNotOwned, a)
	}
	lo := addrOfSlice(r.pub)
	if uintptr(a-lo) >= uintptr(len(r.pub)) {
		return Region{}, 0, fmt.Errorf("%w: %#x", ErrNotOwned, a)
	}
	return r.public(), int(a - lo), nil
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
