package pool

import (
	"errors"
	"fmt"
	"slices"
)

// hookPanic is a panic of Config.OnMap or Config.OnUnmap, caught so that the pool can put
// itself in order (unmap the region, keep its counters and caches exact) before the panic
// goes on to the caller of the method that ran the hook, with the hook's own value.
type hookPanic struct {
	hook  string
	value any
}

func (h *hookPanic) Error() string { return fmt.Sprintf("zeropool: %s panicked: %v", h.hook, h.value) }

// callOnMap runs OnMap for a region that is mapped but not yet the pool's. A panic comes
// back as a *hookPanic error, which the paths that map treat as any refusal of OnMap (the
// region is unmapped, unannounced) until raiseHookPanic raises it again at the top.
func (p *BufferPool) callOnMap(r *region) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.hookPanics.Add(1)
			err = &hookPanic{"OnMap", v}
		}
	}()
	return p.cfg.OnMap(r.public())
}

// raiseHookPanic panics with the value an OnMap panicked with, if err carries one; the
// public methods that map call it on their way out.
func raiseHookPanic(err error) {
	var h *hookPanic
	if errors.As(err, &h) {
		panic(h.value)
	}
}

// callOnUnmap runs OnUnmap for a region that is no longer the pool's. A panic is kept for
// raiseUnmapPanic, so that the unmap, and the rest of the call that unmaps, still happen.
func (p *BufferPool) callOnUnmap(r *region) {
	if v := announceGone(p.cfg.OnUnmap, r); v != nil {
		p.hookPanics.Add(1)
		p.unmapPanic.CompareAndSwap(nil, &hookPanic{"OnUnmap", v})
	}
}

// announceGone runs onUnmap for r and returns what it panicked with, nil if it returned.
func announceGone(onUnmap func(Region), r *region) (panicked any) {
	defer func() { panicked = recover() }()
	onUnmap(r.public())
	return nil
}

// raiseUnmapPanic panics with the value an OnUnmap panicked with since the last call, if
// one did. The public methods that can unmap (Get, Put, Trim, Close, Preallocate) call it as
// their last step: the panic goes to the call that ran the hook or, when several calls
// unmap at once, to one of them.
func (p *BufferPool) raiseUnmapPanic() {
	if p.unmapPanic.Load() != nil {
		if h := p.unmapPanic.Swap(nil); h != nil {
			panic(h.value)
		}
	}
}

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
