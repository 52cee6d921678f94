package pool

import (
	"fmt"

	"github.com/zeropool-go/zeropool/offheap"
)

// canaryOf returns the canary word of the buffer at addr: the pool's secret mixed with the
// address, so that a canary copied from another slot does not pass.
func (p *BufferPool) canaryOf(a addr) uint64 { return p.canary ^ uint64(a)*0x9e3779b97f4a7c15 }

// setCanary writes the canary after slot idx of a canary slab, when the slot is first used.
func (p *BufferPool) setCanary(r *region, idx int) {
	if r.canary {
		a := r.slotAddr(idx)
		*(a + addr(r.size)).uint64At() = p.canaryOf(a)
	}
}

// checkAndSeal applies a Secure pool's rules to a buffer coming back: check its canary, wipe
// it. A broken canary takes the buffer out of service for good.
func (p *BufferPool) checkAndSeal(e entry, r *region) error {
	b := e.addr.bytes(r.size)
	if r.canary && *(e.addr + addr(r.size)).uint64At() != p.canaryOf(e.addr) {
		offheap.Wipe(b)
		p.canaries.Add(1)
		p.countPutUnpinned(r.class)
		p.quarantine(e, r)
		return fmt.Errorf("%w: buffer at %#x (%d bytes)", ErrCanary, e.addr, r.size)
	}
	offheap.Wipe(b)
	return nil
}

// seal applies a Debug pool's rules to a buffer coming back: wipe it (Secure) and make it
// inaccessible. Debug pools have no canaries (their buffers have pages of their own). The
// caller holds debugMu.
func (p *BufferPool) seal(e entry, r *region) {
	b := e.addr.bytes(r.size)
	if p.cfg.Secure {
		offheap.Wipe(b)
	}
	// Best effort: a kernel out of map entries leaves the buffer accessible, no worse than an
	// ordinary pool.
	_ = r.m.Protect(b, offheap.ProtNone)
}

// quarantine retires a slot whose canary was broken: it is neither cached nor freed, so it
// is never handed out again, and its slab is unmapped when nothing else of it is in use.
func (p *BufferPool) quarantine(e entry, r *region) {
	*e.state.state() = stateBroken
	sc := &p.classes[r.class]
	sc.slabMu.Lock()
	r.live--
	sc.live.Add(-1)
	// An empty slab with a retired slot is unmapped at once: it may have no slot left to
	// hand out, and then nothing would ever find it again.
	drop := r.live == 0
	if drop {
		sc.dropPartial(r)
		sc.forget(r)
	}
	sc.slabMu.Unlock()
	if drop {
		p.unmap(r)
	}
}
