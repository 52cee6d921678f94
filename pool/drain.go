package pool

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/zeropool-go/zeropool/offheap"
)

// drainLocals empties every P's magazines and priv into out and resets the P caches, so that each P
// makes its magazines again at its next use of a class. The caller holds drainMu and has
// turned the caches off (setCaches), so no goroutine is inside a P's cache.
func (p *BufferPool) drainLocals(out []entry) []entry {
	for _, l := range p.allLocals.Load().l {
		if l == unusedLocal {
			continue // never written
		}
		raceAcquire(l)
		l.lastEpoch = noEpoch
		for ci := range p.classes {
			// A magazine a slow path has taken out finds no slot when it comes back and goes
			// to the depot; its reservation ends here with the pair's.
			var held bool
			if out, held = l.c[ci].reset(out); held {
				p.idle.releaseLocal(p.classes[ci].cacheCost())
			}
		}
		raceReleaseMerge(l)
	}
	return out
}

// releaseIdle drains every cache and releases what it held; it returns the bytes unmapped.
// The caller holds drainMu with the P caches off.
func (p *BufferPool) releaseIdle() int64 {
	return p.releaseAll(p.drainDepots(p.drainLocals(nil)))
}

// Trim gives every idle buffer's memory back to the system and returns the bytes released:
// single-buffer mappings and slabs with nothing out are unmapped; in slabs that still have
// buffers out, the pages of the free slots of 4 KiB or more are discarded (MADV_DONTNEED), so
// resident memory falls; in pinned slabs those slots are unlocked first (the kernel refuses
// to discard locked pages) and the slab is locked again when one of them is reused. What
// the kernel refuses to unlock, discard or unmap stays counted in Stats.UnreleasedBytes and
// Stats.UnmapFailures. With OnMap or OnUnmap set, Trim discards nothing: it unmaps whole
// regions only, each after its OnUnmap. The pool stays usable; Gets after Trim map memory
// afresh.
//
// OnUnmap runs after Trim has released its locks, so it may call the pool back (Trim and
// Close included).
func (p *BufferPool) Trim() int64 {
	p.ensure()
	defer p.raiseUnmapPanic()
	p.trims.Add(1)
	p.beginDrain()
	defer p.endDrain()
	if p.closed.Load() {
		return p.retryStuck()
	}
	return p.releaseWhileOpen(!p.hooked())
}

// releaseWhileOpen gives back every idle buffer, every slab with nothing idle or out, the
// free slots' pages of the others when discard is set, and what the kernel refused to unmap
// before; it returns the bytes released. The caller holds drainMu and saw the pool open.
func (p *BufferPool) releaseWhileOpen(discard bool) int64 {
	p.setCaches(false)
	n := p.releaseIdle() + p.sweepSlabs(discard) + p.retryStuck()
	if !p.closed.Load() {
		p.setCaches(true)
	}
	return n
}

// hooked reports whether regions are announced (OnMap or OnUnmap): then the pages behind a
// live region never change, and only whole regions are given back.
func (p *BufferPool) hooked() bool { return p.cfg.OnMap != nil || p.cfg.OnUnmap != nil }

// sweepSlabs unmaps every slab with nothing idle or out, and, when discard is set, discards
// the pages of the free slots (of a page or more) of the others. It returns the bytes given
// back.
func (p *BufferPool) sweepSlabs(discard bool) int64 {
	var released, refused int64
	pg := offheap.PageSize()
	for ci := range p.classes {
		sc := &p.classes[ci]
		var empty []*region
		sc.slabMu.Lock()
		for _, r := range sc.partial {
			switch {
			case r.live == 0:
				empty = append(empty, r)
			case discard && sc.size >= pg && !r.discarded:
				for i := 0; i < r.nfree; i++ {
					slot := r.slotAddr(int(*r.freeSlot(i))).bytes(sc.size)
					if r.pinned {
						if err := r.m.Unlock(slot); err != nil {
							refused += int64(sc.size)
							continue
						}
						r.unlocked = true
					}
					if r.m.Discard(slot) == nil {
						released += int64(sc.size)
					} else {
						refused += int64(sc.size)
					}
				}
				r.discarded = true
			}
		}
		for _, r := range empty {
			sc.dropPartial(r)
			sc.forget(r)
		}
		sc.slabMu.Unlock()
		for _, r := range empty {
			p.idle.releaseEmptySlab()
			released += p.unmap(r)
		}
	}
	if discard {
		p.unreleased.Store(refused) // what this Trim could not give back
	}
	return released
}

// Close gives back the memory of every idle buffer at once, and makes later Gets fail with
// ErrClosed. Buffers still out stay valid until their Put, which unmaps them; Close then
// returns an error wrapping ErrBuffersOut that says how many. Close racing with any number
// of Gets, Puts and Trims leaks nothing: once it has returned and every buffer out has been
// put back, the pool holds no mapping. A second Close returns ErrClosed.
//
// OnUnmap runs after Close has released its locks, so it may call the pool back.
func (p *BufferPool) Close() error {
	p.ensure()
	if !p.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	p.drop.closed.Store(true)
	defer p.raiseUnmapPanic()
	p.beginDrain()
	p.setCaches(false) // for good: the P caches are never used again
	p.releaseIdle()
	p.sweepSlabs(false)
	p.retryStuck()
	p.endDrain()
	if s := p.Stats(); s.InUse > 0 {
		noun := "buffers"
		if s.InUse == 1 {
			noun = "buffer"
		}
		holders := ""
		if h := p.tracks.holders(3); len(h) > 0 {
			holders = "; tracked ones held by " + strings.Join(h, ", ")
		}
		return fmt.Errorf("%w: %d %s (%s); each stays valid until its Put, which unmaps it%s",
			ErrBuffersOut, s.InUse, noun, FormatBytes(s.InUseBytes), holders)
	}
	return nil
}

// setCaches turns the P caches off (Trim, Close) or on again. Turning them off waits until no
// goroutine is inside a P's cache: runtime.ReadMemStats stops the world, which cannot happen
// while any goroutine is between procPin and procUnpin (a pinned goroutine cannot be
// preempted), so once it returns every later pinned section sees noLocals.
func (p *BufferPool) setCaches(on bool) {
	p.localsMu.Lock()
	p.cachesOff = !on
	if on {
		p.locals.Store(p.allLocals.Load())
	} else {
		p.locals.Store(noLocals)
	}
	p.localsMu.Unlock()
	if !on {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
	}
}

// makeRoom gives back, for a Get that MaxMappedBytes stopped, what Trim would, whole regions
// only (no page is discarded); it returns the bytes unmapped.
func (p *BufferPool) makeRoom() int64 {
	p.beginDrain()
	defer p.endDrain()
	if p.closed.Load() {
		return 0
	}
	return p.releaseWhileOpen(false)
}

// beginDrain marks the start of a section that holds drainMu (Trim, Close, a Get making
// room): regions it releases are announced gone after the section, by endDrain, so that
// OnUnmap never runs with drainMu held and may call Trim or Close itself.
func (p *BufferPool) beginDrain() {
	p.drainMu.Lock()
	p.growMu.Lock()
	p.draining = true
	p.growMu.Unlock()
}

// endDrain ends the section beginDrain began: it releases drainMu, then announces and
// unmaps the regions the section released.
func (p *BufferPool) endDrain() {
	p.growMu.Lock()
	p.draining = false
	rs := p.deferred
	p.deferred = nil
	p.growMu.Unlock()
	p.drainMu.Unlock()
	for _, r := range rs {
		p.freeMapping(r, true)
	}
}

// deferUnmap keeps a region for endDrain when a drain is under way, and reports whether it
// did.
func (p *BufferPool) deferUnmap(r *region) bool {
	p.growMu.Lock()
	defer p.growMu.Unlock()
	if !p.draining {
		return false
	}
	p.deferred = append(p.deferred, r)
	return true
}
