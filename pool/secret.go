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
	// must not change. Nothing is changed.
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
	mustPool(p)
	what := "Melt"
	if frozen {
		what = "Freeze"
	}
	a := addrOfSlice(b)
	r := lookup(a)
	if r == nil || r.pool != p || cap(b) == 0 {
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
		return fmt.Errorf("%w: %s of a %d-byte buffer", ErrSharedPage, what, r.size)
	}
	if r.frozen == frozen {
		return nil
	}
	prot := offheap.ProtReadWrite
	if frozen {
		prot = offheap.ProtRead
	}
	if err := r.m.Protect(r.usable(), prot); err != nil {
		return fmt.Errorf("zeropool: %s: %w", what, err)
	}
	r.frozen = frozen
	return nil
}

// melt makes a frozen buffer writable again before its Put wipes it.
func (p *BufferPool) melt(r *region) {
	if r.m.Protect(r.usable(), offheap.ProtReadWrite) == nil {
		r.frozen = false
	}
}

// usable is the whole buffer of a single-buffer region.
func (r *region) usable() []byte { return r.mem[:cap(r.mem):cap(r.mem)] }

// Purge wipes every buffer of a Secure pool now, out or idle, frozen or not, and returns how
// many it wiped; 0 for an ordinary pool, which it leaves alone. It is for the moment a
// process learns it must give up its secrets: a panic (call it from a deferred function),
// SIGINT or SIGTERM (call it from the goroutine that receives them through signal.Notify;
// the library installs no handler itself). It allocates nothing and takes only the pool's
// region lock, which no Get or Put holds for long. Buffers that are out stay valid (zeroed);
// their holders' secrets are gone. Purge works on a closed pool too (buffers still out).
func (p *BufferPool) Purge() int {
	mustPool(p)
	if !p.cfg.Secure {
		return 0
	}
	n := 0
	p.growMu.Lock() // no region is unmapped meanwhile: unmap takes it first
	defer p.growMu.Unlock()
	for r := range p.regions {
		switch r.kind {
		case kindSlab:
			for i := 0; i < r.nslots; i++ {
				offheap.Wipe(r.slotAddr(i).bytes(r.size))
			}
			n += r.nslots
		default:
			if r.frozen {
				p.melt(r)
			}
			offheap.Wipe(r.usable())
			n++
		}
	}
	return n
}
