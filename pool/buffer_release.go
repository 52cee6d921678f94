package pool

// putRelease is Put for storage a Buffer's growth passed: a buffer with a mapping of its own
// (a class above the slab classes) goes back to the system at once instead of waiting idle
// for a Get of its class, which a Buffer that grew through that class on its way to a larger
// one is unlikely to make soon. Every other buffer, and every buffer of a Secure or Debug
// pool (whose Put checks and wipes it), takes the ordinary Put. The Put is counted as Put
// counts it, and a refusal is Put's own: it returns the same error.
//
// It is the path a Put takes after Close (putSlow): the buffer is marked idle, counted, and
// released with its region, OnUnmap first.
func (p *BufferPool) putRelease(buf []byte) error {
	a := addrOfSlice(buf)
	r := lookup(a)
	if r == nil || r.owner != p.owner || r.layout != layoutMapping || r.frozen.Load() || p.cfg.Secure || p.cfg.Debug {
		return p.Put(buf)
	}
	st, ok := r.slot(a)
	if !ok || *st != stateOut {
		return p.Put(buf) // refused there, and counted; a tracked buffer's Put forgets it
	}
	setState(st, stateIdle)
	p.countPutUnpinned(r.ci)
	p.release(entry{a, addrOfState(st)}, r)
	return nil
}
