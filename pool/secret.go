package pool

import (
	"fmt"

	"github.com/zeropool-go/zeropool/offheap"
)

// Freeze makes a Secure buffer of a page or more read-only until Melt or its Put: a write to
// it faults at once. b must start a buffer of this pool that is out. Freeze of a frozen
// buffer does nothing. It returns ErrNotSecure for an ordinary pool, ErrSharedPage for a
// buffer smaller than a page (it changes nothing then), and ErrNotOwned for anything that is
// not a buffer of this pool that is out.
func (p *BufferPool) Freeze(b []byte) error { return p.setFrozen(b, true) }

// Melt makes a buffer that Freeze made read-only writable again. Melt of a buffer that is
// not frozen does nothing; its errors are Freeze's. Put of a frozen buffer melts it first.
func (p *BufferPool) Melt(b []byte) error { return p.setFrozen(b, false) }

func (p *BufferPool) setFrozen(b []byte, frozen bool) error {
	p.ensure()
	what := "Melt"
	if frozen {
		what = "Freeze"
	}
	a := addrOfSlice(b)
	r := lookup(a)
	if r == nil || r.owner != p.owner || cap(b) == 0 {
		return fmt.Errorf("%w: %s(%#x)", ErrNotOwned, what, a)
	}
	st, ok := r.slot(a)
	if !ok || !isOut(*st) {
		return fmt.Errorf("%w: %s(%#x): not a buffer that is out", ErrNotOwned, what, a)
	}
	if !p.cfg.Secure {
		return fmt.Errorf("%w: %s(%#x)", ErrNotSecure, what, a)
	}
	if r.layout.isSlab() {
		return fmt.Errorf("%w: %s of a %d-byte buffer; Get(%d) or more for a buffer with pages of its own",
			ErrSharedPage, what, r.size, offheap.PageSize())
	}
	// Under growMu, which Purge holds while it melts and wipes: the two never interleave.
	p.growMu.Lock()
	defer p.growMu.Unlock()
	if r.frozen.Load() == frozen {
		return nil
	}
	prot := offheap.ProtReadWrite
	if frozen {
		prot = offheap.ProtRead
	}
	if err := r.m.Protect(r.usable(), prot); err != nil {
		return opError(what, err)
	}
	r.frozen.Store(frozen)
	return nil
}

// melt makes a frozen buffer writable again. The caller holds growMu.
func (p *BufferPool) melt(r *region) {
	if r.m.Protect(r.usable(), offheap.ProtReadWrite) == nil {
		r.frozen.Store(false)
	}
}

// meltForPut melts a frozen buffer before its Put wipes it.
func (p *BufferPool) meltForPut(r *region) {
	if r.frozen.Load() {
		p.growMu.Lock()
		if r.frozen.Load() {
			p.melt(r)
		}
		p.growMu.Unlock()
	}
}

// Purge wipes every buffer of a Secure pool now, out or idle, frozen or not, and returns how
// many buffers it wiped; 0 for an ordinary pool, which it leaves alone. It is for the moment
// a process learns it must give up its secrets: a panic (call it from a deferred function),
// SIGINT or SIGTERM (call it from the goroutine that receives them through signal.Notify;
// the library installs no handler itself). It allocates nothing and takes only the pool's
// region lock, which no Get or Put holds for long. Buffers that are out stay valid (zeroed);
// their holders' secrets are gone. Slots never handed out are not touched. Idle buffers were
// wiped at their Put; a Debug pool's are inaccessible, and Purge counts them without
// touching them. Purge is safe against every other method on any goroutine, and works on a
// closed pool too (buffers still out).
func (p *BufferPool) Purge() int {
	p.ensure()
	if !p.cfg.Secure {
		return 0
	}
	n := 0
	p.growMu.Lock() // no region is unmapped, frozen or melted meanwhile: each takes it first
	defer p.growMu.Unlock()
	if p.cfg.Debug {
		p.debugMu.Lock() // no Debug Get or Put changes a buffer's access meanwhile
		defer p.debugMu.Unlock()
	}
	for r := range p.book.regions {
		n += r.purge(p)
	}
	return n
}

// purge wipes r's buffers that are out or idle and returns how many there were. A Debug
// pool's idle buffers are inaccessible and were wiped at their Put: they are counted only.
// The caller holds growMu (and, in a Debug pool, debugMu).
//
// A single-buffer region that is live holds one buffer, out or idle; its state byte is Go
// memory that Gets write without a lock, so it is not read here: Debug pools say whether
// the buffer is out in debugOut, under debugMu, and other pools wipe it either way (an idle
// buffer is zero already). A slab's state bytes are the slab's own memory.
func (r *region) purge(p *BufferPool) int {
	if !r.layout.isSlab() {
		if p.cfg.Debug && !r.debugOut {
			return 1
		}
		if r.frozen.Load() {
			p.melt(r)
		}
		offheap.Wipe(r.usable())
		return 1
	}
	n := 0
	for i := 0; i < r.nslots; i++ {
		switch *r.stateAt(i) {
		case stateOut, stateTracked, stateShared:
		case stateIdle:
			if p.cfg.Debug {
				n++
				continue
			}
		default:
			continue // never handed out, or back in the slab
		}
		offheap.Wipe(r.slotAddr(i).bytes(r.size))
		n++
	}
	return n
}

// canaryOf returns the canary word of the buffer at addr: the pool's secret mixed with the
// address, so that a canary copied from another slot does not pass.
func (p *BufferPool) canaryOf(a addr) uint64 { return p.canarySecret ^ uint64(a)*0x9e3779b97f4a7c15 }

// setCanary writes the canary after slot idx of a canary slab, when the slot is first used.
func (p *BufferPool) setCanary(r *region, idx int) {
	if r.layout == layoutCanarySlab {
		a := r.slotAddr(idx)
		*(a + addr(r.size)).uint64At() = p.canaryOf(a)
	}
}

// checkAndSeal applies a Secure pool's rules to a buffer coming back: check its canary, wipe
// it. A broken canary takes the buffer out of service for good.
func (p *BufferPool) checkAndSeal(e entry, r *region) error {
	b := e.addr.bytes(r.size)
	if r.layout == layoutCanarySlab && *(e.addr + addr(r.size)).uint64At() != p.canaryOf(e.addr) {
		offheap.Wipe(b)
		p.canaryFailures.Add(1)
		p.countPutUnpinned(r.ci)
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
	setState(e.state.state(), stateBroken)
	sc := &p.classes[r.ci]
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
