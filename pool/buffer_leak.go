package pool

import (
	"runtime"
	"sync/atomic"
)

// A Buffer dropped without Release would hold its pool storage for good without anyone
// knowing: a cleanup (runtime.AddCleanup) counts and reports it (Config.OnLeak,
// Stats.LeakedBuffers). It does not put the storage back: a slice that Bytes returned may
// still refer to it, and the pool would hand it to someone else under that slice.

// bufferLeak is what a Buffer's cleanup knows of it: its pool and its storage now. It refers
// to the pool, not to the Buffer.
type bufferLeak struct {
	p       *BufferPool
	storage atomic.Uintptr // the storage's address (0: none yet)
	size    atomic.Int64   // its capacity
}

// watch gives b its cleanup.
func (b *Buffer) watch() {
	b.leak = &bufferLeak{p: b.p}
	if cap(b.buf) != 0 {
		b.leak.storage.Store(uintptr(addrOfSlice(b.buf)))
		b.leak.size.Store(int64(cap(b.buf)))
	}
	b.cleanup = runtime.AddCleanup(b, bufferDropped, b.leak)
}

// bufferDropped is the cleanup of a Buffer dropped without Release.
func bufferDropped(l *bufferLeak) {
	size := l.size.Load()
	if size == 0 {
		return // it never held storage
	}
	l.p.leakedBuffers.Add(1)
	process.leakedBuffers.Add(1)
	var holders []string
	if rec := l.p.tracks.lookup(addr(l.storage.Load())); rec != nil {
		holders = []string{"1 x " + callerOf(rec.stack)}
	}
	report(l.p.cfg.OnLeak, Leak{What: LeakBufferDropped, Buffers: 1, Bytes: size, Holders: holders})
}
