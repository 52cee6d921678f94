package pool

import (
	"errors"
	"fmt"

	"github.com/zeropool-go/zeropool/offheap"
)

var (
	// ErrNotSecure is returned by Freeze and Melt for a buffer of a pool without
	// Config.Secure.
	ErrNotSecure = errors.New("zeropool: not a Secure pool")
	// ErrSharedPage is returned by Freeze for a buffer smaller than a page: it shares its
	// page with other buffers (small secrets are packed into slabs), whose protection Freeze
	// must not change. Nothing is changed. A buffer of a page or more has pages of its own.
	ErrSharedPage = errors.New("zeropool: buffer shares its page with other buffers")
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
	if r.kind == kindSlab {
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

// usable is the whole buffer of a single-buffer region.
func (r *region) usable() []byte { return r.mem[:cap(r.mem):cap(r.mem)] }

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
	if r.kind != kindSlab {
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
