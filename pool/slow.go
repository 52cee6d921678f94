package pool

import (
	"fmt"

	"github.com/zeropool-go/zeropool/offheap"
)

// maxRequest is the largest size TryGet attempts; larger requests cannot be mapped.
const maxRequest = 1 << 46

// getSlow serves a Get that the P's loaded magazine could not: from the P's other magazine,
// a full magazine of the depot, the free slots of the class's slabs, or fresh memory. With
// zero, the buffer is cleared unless its memory is fresh (zero already).
func (p *BufferPool) getSlow(size int, zero bool) ([]byte, error) {
	if err := p.ensureErr(); err != nil {
		return nil, err
	}
	defer p.raiseUnmapPanic()
	if uint(size-1) >= uint(p.maxPooled.Load()) {
		return p.getOther(size) // a fresh mapping, or Get(0): nothing to clear
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	ci := max(classOf(size), p.minClass)
	sc := &p.classes[ci]
	e, fresh, err := p.getClass(ci)
	if err != nil {
		raiseHookPanic(err)
		return nil, opError(fmt.Sprintf("Get(%d)", size), err)
	}
	b := e.addr.buffer(size, sc.size)
	out := uint8(stateOut)
	if p.sampleSlow(ci) {
		out = stateTracked
		rec, prof := p.tracks.record(e.addr, sc.size, 2) // getSlow, get
		prof.Add(rec, 3)                                 // getSlow, get, Get: the caller of Get next
	}
	if p.cfg.Debug {
		// Accessible first, then out: Purge wipes only buffers that are out, and must find
		// them accessible.
		r := lookup(e.addr)
		p.debugMu.Lock()
		err := r.m.Protect(b, offheap.ProtReadWrite)
		if err == nil {
			setState(e.state.state(), out)
			r.debugOut = true
		}
		p.debugMu.Unlock()
		if err != nil {
			setState(e.state.state(), stateIdle)
			if out == stateTracked {
				p.tracks.forget(e.addr)
			}
			p.countPutUnpinned(ci)
			p.release(e, lookup(e.addr))
			return nil, opError(fmt.Sprintf("Get(%d)", size), err)
		}
	} else {
		setState(e.state.state(), out)
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
	out := uint8(stateOut)
	if p.sampleSlow(-1) {
		out = stateTracked
	}
	r, err := p.newMapping(size, -1, out)
	if err != nil {
		raiseHookPanic(err)
		return nil, opError(fmt.Sprintf("Get(%d)", size), err)
	}
	if out == stateTracked {
		rec, prof := p.tracks.record(r.base, r.size, 3) // getOther, getSlow, get
		prof.Add(rec, 4)                                // getOther, getSlow, get, Get: the caller of Get next
	}
	p.oversizeGets.Add(1)
	p.oversizeOut.Add(int64(r.size))
	p.notePeak(p.inUseBytes())
	return r.base.bytes(r.size)[:size], nil
}

// testHookDebugPut, when a test sets it, runs in a Debug pool's Put between reading a
// buffer's state and changing it.
var testHookDebugPut func()

// putSlow answers every Put that the fast path did not take: refusals, and buffers the P's
// loaded magazine could not take: it is full, the pool is Secure or Debug (work on every
// Put), draining or closed, or the buffer is oversize (unmapped at once).
func (p *BufferPool) putSlow(a addr) error {
	if err := p.ensureErr(); err != nil {
		return err
	}
	defer p.raiseUnmapPanic()
	r := lookup(a)
	if r == nil || r.owner != p.owner {
		return p.putUnknown(a)
	}
	st, ok := r.slot(a)
	if !ok {
		if start, size, inside := p.bufferAt(a); inside {
			return p.refuse(fmt.Errorf("%w: %#x is inside a buffer (%d bytes into the %d-byte buffer at %#x): Put the buffer itself, or the whole buffer Owner returns",
				ErrNotOwned, a, a-start, size, start))
		}
		return p.refuse(ErrNotOwned)
	}
	if *st == stateShared && p.dropRef(a, st) {
		return nil // one reference dropped; other holders keep the buffer
	}
	e := entry{a, addrOfState(st)}
	var s uint8
	if p.cfg.Debug {
		// A Debug pool makes the check and the change one step, so that of two concurrent
		// Puts of one buffer the second is refused; the buffer is wiped (Secure) and made
		// inaccessible in the same step, so that Purge, which takes the same lock, never
		// finds an idle buffer it could not touch, nor an out one it cannot.
		p.meltForPut(r)
		p.debugMu.Lock()
		s = *st
		if testHookDebugPut != nil {
			testHookDebugPut() // a test widens the window between the check and the change
		}
		if isOut(s) {
			p.seal(e, r)
			setState(st, stateIdle)
			r.debugOut = false
		}
		p.debugMu.Unlock()
	} else if s = *st; isOut(s) {
		setState(st, stateIdle)
	}
	if !isOut(s) {
		return p.refuseState(s)
	}
	if s == stateTracked {
		p.tracks.forget(a)
	}
	if p.cfg.Secure && !p.cfg.Debug {
		p.meltForPut(r)
		if err := p.checkAndSeal(e, r); err != nil {
			return err
		}
	}
	if r.layout == layoutOversize {
		p.oversizePuts.Add(1)
		p.oversizeOut.Add(-int64(r.size))
		p.release(e, r)
		return nil
	}
	ci := r.ci
	if p.closed.Load() {
		p.countPutUnpinned(ci)
		p.release(e, r)
		return nil
	}
	p.putClass(ci, e)
	return nil
}
