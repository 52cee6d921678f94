package pool

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/zeropool-go/zeropool/offheap"
)

// drainLocals empties every P's cache into the returned slice. The caller holds drainMu and
// has set p.active to 0, so no Get or Put starts using a P's cache; runtime.ReadMemStats
// stops the world, which cannot happen while any goroutine is between procPin and procUnpin
// (a pinned goroutine cannot be preempted), so once it returns no one is still inside a P's
// cache and every later pinned section sees active == 0.
func (p *BufferPool) drainLocals() []entry {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var out []entry
	for i := range p.locals {
		l := &p.locals[i]
		raceAcquire(unsafe.Pointer(l))
		for c := range p.classes {
			n := int(l.n[c])
			out = append(out, l.items[c<<p.strideShift:][:n]...)
			setN(&l.n[c], 0)
		}
		raceReleaseMerge(unsafe.Pointer(l))
	}
	return out
}

// drainShared empties every shard into out.
func (p *BufferPool) drainShared(out []entry) []entry {
	for c := range p.classes {
		sc := &p.classes[c]
		for i := range sc.shards {
			sh := &sc.shards[i]
			sh.mu.Lock()
			out = append(out, sh.items...)
			p.sharedIdle.Add(-int64(len(sh.items) * sc.size))
			sh.items = sh.items[:0]
			sh.n.Store(0)
			sh.mu.Unlock()
		}
	}
	return out
}

// releaseIdle drains every cache and releases what it held; it returns the bytes unmapped.
func (p *BufferPool) releaseIdle() int64 {
	return p.releaseAll(p.drainShared(p.drainLocals()))
}

// Trim gives every idle buffer's memory back to the system and returns the bytes released:
// single-buffer mappings and slabs with nothing out are unmapped; in slabs that still have
// buffers out, the pages of the free slots of 4 KiB or more are discarded (MADV_DONTNEED), so
// resident memory falls. The pool stays usable; Gets after Trim map memory afresh.
func (p *BufferPool) Trim() int64 {
	mustPool(p)
	p.trims.Add(1)
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	p.active.Store(0)
	n := p.releaseIdle() + p.sweepSlabs(!p.hooked()) + p.retryStuck()
	if !p.closed.Load() {
		p.active.Store(int32(len(p.locals)))
	}
	return n
}

// sweepSlabs unmaps every slab with nothing idle or out, and, when discard is set, discards
// the pages of the free slots (of a page or more) of the others. It returns the bytes given
// back.
func (p *BufferPool) sweepSlabs(discard bool) int64 {
	var released int64
	pg := offheap.PageSize()
	for c := range p.classes {
		sc := &p.classes[c]
		var empty []*region
		sc.slabMu.Lock()
		for _, r := range sc.partial {
			switch {
			case r.live == 0:
				empty = append(empty, r)
			case discard && sc.size >= pg && !r.discarded:
				for i := 0; i < r.nfree; i++ {
					slot := unsafe.Slice((*byte)(ptr(r.slotAddr(int(*r.freeSlot(i))))), sc.size)
					if offheap.Discard(slot) == nil {
						released += int64(sc.size)
					}
				}
				r.discarded = true
			}
		}
		for _, r := range empty {
			sc.dropPartial(r)
		}
		sc.slabMu.Unlock()
		for _, r := range empty {
			p.emptyIdle.Add(-slabSize)
			released += p.unmap(r)
		}
	}
	return released
}

// Close gives back the memory of every idle buffer at once, and makes later Gets fail with
// ErrClosed. Buffers still out stay valid until their Put, which unmaps them; Close then
// returns an error wrapping ErrBuffersOut that says how many. A second Close returns
// ErrClosed.
func (p *BufferPool) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	p.active.Store(0) // for good: the P caches are never used again
	p.releaseIdle()
	p.sweepSlabs(false)
	p.retryStuck()
	if s := p.Stats(); s.InUse > 0 {
		noun := "buffers"
		if s.InUse == 1 {
			noun = "buffer"
		}
		return fmt.Errorf("%w: %d %s (%s); each stays valid until its Put, which unmaps it",
			ErrBuffersOut, s.InUse, noun, FormatBytes(s.InUseBytes))
	}
	return nil
}

// hooked reports whether regions are announced (OnMap or OnUnmap): then the pages behind a
// live region never change, and only whole regions are given back.
func (p *BufferPool) hooked() bool { return p.cfg.OnMap != nil || p.cfg.OnUnmap != nil }
