package pool

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
)

// MaxReferences is the most references one buffer may have at once: its Get's and up to
// MaxReferences-1 Retains. A Retain beyond it fails with ErrTooManyReferences.
const MaxReferences = 1 << 16

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
	mu     sync.Mutex
	counts refCounts // per buffer in stateShared, the references beyond its last Put's

	retains, refPuts atomic.Uint64 // Stats.Retains and Stats.RefPuts
}

// refCounts maps buffer addresses to counts: an open-addressing table with linear probing
// and backward-shift deletion, so that the Retain and last Put of one buffer after another
// (a zero-copy send per message) insert and delete without allocating or rehashing, as a Go
// map emptied and filled again does. Address 0 is never a buffer: it marks a free slot.
type refCounts struct {
	keys  []addr
	vals  []uint32
	n     int
	shift uint8 // 64 - log2(len(keys))
}

// slot returns where a is, or the free slot where it would go.
func (t *refCounts) slot(a addr) int {
	mask := len(t.keys) - 1
	i := int(uint64(a>>4) * 0x9E3779B97F4A7C15 >> (t.shift & 63))
	for t.keys[i] != 0 && t.keys[i] != a {
		i = (i + 1) & mask
	}
	return i
}

// get returns a's count and whether a has one.
func (t *refCounts) get(a addr) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	i := t.slot(a)
	return t.vals[i], t.keys[i] == a
}

// set gives a the count v, growing the table to stay at most half full.
func (t *refCounts) set(a addr, v uint32) {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	i := t.slot(a)
	if t.keys[i] == 0 {
		t.keys[i] = a
		t.n++
	}
	t.vals[i] = v
}

// remove forgets a's count, moving later entries of its probe run back into the hole.
func (t *refCounts) remove(a addr) {
	if t.n == 0 {
		return
	}
	i := t.slot(a)
	if t.keys[i] != a {
		return
	}
	mask := len(t.keys) - 1
	for j := (i + 1) & mask; t.keys[j] != 0; j = (j + 1) & mask {
		home := int(uint64(t.keys[j]>>4) * 0x9E3779B97F4A7C15 >> (t.shift & 63))
		// The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.keys[i], t.vals[i] = 0, 0
	t.n--
}

func (t *refCounts) len() int { return t.n }

func (t *refCounts) grow() {
	old, oldVals := t.keys, t.vals
	size := max(16, 2*len(old))
	t.keys, t.vals, t.n = make([]addr, size), make([]uint32, size), 0
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	for i, k := range old {
		if k != 0 {
			t.set(k, oldVals[i])
		}
	}
}

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
// a buffer adds an entry to a table on the Go heap (removed at its last Put; the table grows
// with the buffers retained at once and allocates nothing after); buffers never retained
// cost nothing more.
func (p *BufferPool) Retain(b []byte) error {
	p.ensure()
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
	switch *st {
	case stateOut, stateTracked:
		if *st == stateTracked {
			p.tracks.forget(start) // a shared buffer is no longer one holder's
		}
		rt.counts.set(start, 1)
		setState(st, stateShared)
	case stateShared:
		n, _ := rt.counts.get(start)
		if n+2 > MaxReferences { // n+1 references now
			rt.mu.Unlock()
			return fmt.Errorf("%w: the buffer at %#x has %d references (MaxReferences)", ErrTooManyReferences, start, n+1)
		}
		rt.counts.set(start, n+1)
	default: // put back between bufferAt and here: by another goroutine, which is a race
		rt.mu.Unlock()
		return fmt.Errorf("%w: Retain of the buffer at %#x, which is back in the pool", ErrDoublePut, start)
	}
	rt.mu.Unlock()
	rt.retains.Add(1)
	return nil
}

// refuseRetain explains a Retain of an address that starts no buffer that is out.
func (p *BufferPool) refuseRetain(a addr) error {
	if r := lookup(a); r != nil && r.owner == p.owner {
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
	if *st != stateShared {
		rt.mu.Unlock()
		return false
	}
	if n, _ := rt.counts.get(a); n > 0 {
		rt.counts.set(a, n-1)
		rt.mu.Unlock()
		rt.refPuts.Add(1)
		return true
	}
	rt.counts.remove(a)
	setState(st, stateOut)
	rt.mu.Unlock()
	return false
}
