package pool

import (
	"fmt"
	"unsafe"

	"github.com/zeropool-go/zeropool/offheap"
)

// maxRequest is the largest size TryGet attempts; larger requests cannot be mapped.
const maxRequest = 1 << 46

// getSlow serves a Get that the P's cache could not. For a pooled class: from the shards
// (the P's home shard first, then stealing), refilling the P's cache with a batch, else from
// fresh memory. With zero, the buffer is cleared unless its memory is fresh (zero already).
func (p *BufferPool) getSlow(size int, zero bool) ([]byte, error) {
	if uint(size-1) >= uint(p.maxClass) {
		return p.getOther(size) // a fresh mapping, or Get(0): nothing to clear
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
	rest := batch[:got-1]
	if k := p.refill(c, !fresh, rest); k < len(rest) {
		p.giveShared(sc, home, rest[k:])
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
	st, ok := r.slot(addr)
	if !ok {
		return p.refuse(ErrNotOwned)
	}
	if s := *st; s != stateOut {
		return p.refuseState(s)
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
