package pool

import (
	"errors"
	"fmt"
)

// hookPanic is a panic of Config.OnMap or Config.OnUnmap, caught so that the pool can put
// itself in order (unmap the region, keep its counters and caches exact) before the panic
// goes on to the caller of the method that ran the hook, with the hook's own value.
type hookPanic struct {
	hook  string
	value any
}

func (h *hookPanic) Error() string { return fmt.Sprintf("zeropool: %s panicked: %v", h.hook, h.value) }

// callOnMap runs OnMap for a region that is mapped but not yet the pool's. A panic comes
// back as a *hookPanic error, which the paths that map treat as any refusal of OnMap (the
// region is unmapped, unannounced) until raiseHookPanic raises it again at the top.
func (p *BufferPool) callOnMap(r *region) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.hookPanics.Add(1)
			err = &hookPanic{"OnMap", v}
		}
	}()
	return p.cfg.OnMap(r.public())
}

// raiseHookPanic panics with the value an OnMap panicked with, if err carries one; the
// public methods that map call it on their way out.
func raiseHookPanic(err error) {
	var h *hookPanic
	if errors.As(err, &h) {
		panic(h.value)
	}
}

// callOnUnmap runs OnUnmap for a region that is no longer the pool's. A panic is kept for
// raiseUnmapPanic, so that the unmap, and the rest of the call that unmaps, still happen.
func (p *BufferPool) callOnUnmap(r *region) {
	if v := announceGone(p.cfg.OnUnmap, r); v != nil {
		p.hookPanics.Add(1)
		p.unmapPanic.CompareAndSwap(nil, &hookPanic{"OnUnmap", v})
	}
}

// announceGone runs onUnmap for r and returns what it panicked with, nil if it returned.
func announceGone(onUnmap func(Region), r *region) (panicked any) {
	defer func() { panicked = recover() }()
	onUnmap(r.public())
	return nil
}

// raiseUnmapPanic panics with the value an OnUnmap panicked with since the last call, if
// one did. The public methods that can unmap (Get, Put, Trim, Close, Preallocate) call it as
// their last step: the panic goes to the call that ran the hook or, when several calls
// unmap at once, to one of them.
func (p *BufferPool) raiseUnmapPanic() {
	if p.unmapPanic.Load() != nil {
		if h := p.unmapPanic.Swap(nil); h != nil {
			panic(h.value)
		}
	}
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
