package pool

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxReferences is the most references one buffer may have at once: its Get's and up to
// MaxReferences-1 Retains. A Retain beyond it fails with ErrTooManyReferences.
const MaxReferences = 1 << 16

// ErrTooManyReferences is returned by Retain for a buffer that has MaxReferences references
// already. Nothing is added.
var ErrTooManyReferences = errors.New("zeropool: too many references to one buffer")

// A buffer in stateShared (region.go) is out with references added by Retain. Put's fast
// path accepts only stateOut, so every Put of such a buffer goes to putSlow, which drops one
// reference under the reference table's lock. The buffer stays in stateShared until the Put
// of its last reference, which turns it back to stateOut under that lock and gives it back as
// any Put does. Only the last holder writes the state byte then: every other holder's Put
// took the lock before, so no Put of another holder reads the byte while it changes (the
// fast path's plain loads never meet a transition they could misjudge).

// refTable is a pool's count of the references Retain added: for each buffer in stateShared,
// by its first byte, the references beyond the one its last Put will drop. A buffer never
// retained has no entry, so the fast paths never look here.
type refTable struct {
	mu    sync.Mutex
	extra map[addr]uint32

	retains, refPuts atomic.Uint64 // Stats.Retains and Stats.RefPuts
}

// isOut reports whether a slot's state is one of a buffer that is out.
func isOut(state uint8) bool { return state == stateOut || state == stateShared }

// Retain adds a reference to a buffer that is out, so that one buffer can have several
// holders (a buffer handed to the kernel until its completion, one message sent on N
// connections). The buffer goes back to the pool at the Put that drops its last reference:
// one Put per Get, plus one per Retain. Every other Put only drops a reference, returns nil,
// and is counted in Stats.RefPuts, not in Stats.Puts, so that Stats.InUse stays Gets minus
// Puts: a retained buffer is one buffer out until its last Put.
//
// b may be any slice of the buffer, an interior one too (Retain finds the buffer as Owner
// does); each Put must still name the buffer's first byte (Put of an interior slice is
// refused, as ever: recover the buffer with Owner). Holders may Put a retained buffer
// concurrently, from different goroutines: each Put drops one reference, and the last one
// gives the buffer back after every other holder's Put. A holder must not touch the buffer
// after its own Put.
//
// Retain(nil) and Retain of Get(0)'s empty buffer do nothing, as Put of them does. Errors,
// with nothing added: ErrDoublePut for a buffer that is back in the pool, ErrNotOwned for
// memory that is in no buffer of this pool that is out (heap memory, another pool's buffer,
// an interior slice of an idle buffer), ErrTooManyReferences beyond MaxReferences.
//
// What the last Put does is what any Put does: a Secure pool wipes the buffer then (not at
// the Puts before), a Debug pool makes it inaccessible then and refuses a Put too many with
// ErrDoublePut, a buffer above MaxBufferSize is unmapped then, and after Close the last Put
// unmaps. A retained buffer counts as out for Trim and Close. Freeze, Melt and Owner act on a
// retained buffer as on any buffer that is out.
//
// Retain takes a lock that every Put of a retained buffer takes too, and the first Retain of
// a buffer adds an entry to a map on the Go heap (removed at its last Put); buffers never
// retained cost nothing more.
func (p *BufferPool) Retain(b []byte) error {
	mustPool(p)
	a := addrOfSlice(b)
	if a == 0 || a == addrOfSlice(zeroBuf[:]) {
		return nil
	}
	start, _, ok := p.bufferAt(a)
	if !ok {
		return p.refuseRetain(a)
	}
	st, _ := lookup(start).slot(start)
	rt := &p.refs
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch *st {
	case stateOut:
		if rt.extra == nil {
			rt.extra = make(map[addr]uint32)
		}
		rt.extra[start] = 1
		*st = stateShared
	case stateShared:
		n := rt.extra[start]
		if n+2 > MaxReferences { // n+1 references now
			return fmt.Errorf("%w: the buffer at %#x has %d references (MaxReferences)", ErrTooManyReferences, start, n+1)
		}
		rt.extra[start] = n + 1
	default: // put back between bufferAt and here: by another goroutine, which is a race
		return fmt.Errorf("%w: Retain of the buffer at %#x, which is back in the pool", ErrDoublePut, start)
	}
	rt.retains.Add(1)
	return nil
}

// refuseRetain explains a Retain of an address that starts no buffer that is out.
func (p *BufferPool) refuseRetain(a addr) error {
	if r := lookup(a); r != nil && r.pool == p {
		if st, ok := r.slot(a); ok && *st != stateNew {
			return fmt.Errorf("%w: Retain of the buffer at %#x, which is back in the pool", ErrDoublePut, a)
		}
	}
	return fmt.Errorf("%w: Retain(%#x): in no buffer of this pool that is out", ErrNotOwned, a)
}

// dropRef is putSlow's part for a buffer in stateShared (st is its state byte, a its first
// byte). It drops one reference and reports true when others are left; for the last
// reference it turns the buffer back to stateOut and reports false, so that putSlow goes on
// to give it back. It also reports false when the buffer is no longer shared (a Put too many,
// racing with the last one): putSlow judges it as any Put.
func (p *BufferPool) dropRef(a addr, st *uint8) bool {
	rt := &p.refs
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if *st != stateShared {
		return false
	}
	if n := rt.extra[a]; n > 0 {
		rt.extra[a] = n - 1
		rt.refPuts.Add(1)
		return true
	}
	delete(rt.extra, a)
	*st = stateOut
	return false
}
