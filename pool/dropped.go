package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/zeropool-go/zeropool/offheap"
)

// A pool is reachable from its users only. What the process keeps of it (the page map
// refers to every region, and each region names its pool) refers to the pool's owner, a
// small object of its own, never to the *BufferPool: so a pool that its users drop without
// Close can be collected, and a cleanup (runtime.AddCleanup) gives its idle memory back. The
// cleanup's argument, a dropped, reaches the pool's regions and hooks but not the pool.

// owner stands for one pool in its regions.
type owner struct{ id uint64 }

// noFastPut is the fastPutOwner of regions whose Puts need work (Secure, Debug, oversize): no
// pool's owner, so the Put fast path, which compares fast to its pool's owner, passes them by.
var noFastPut = &owner{}

// book is the set of a pool's regions, and the mappings the kernel refused to unmap. The pool
// guards regions with growMu; stuck guards itself. A dropped pool's cleanup finds it through
// the dropped.
type book struct {
	regions map[*region]struct{}
	stuck   offheap.StuckUnmaps // mappings the kernel refused to unmap; tried again by Trim and Close
}

// dropped is what the cleanup of a dropped pool needs; nothing in it refers to the pool.
type dropped struct {
	owner   *owner
	book    *book
	tracks  *tracker
	onUnmap func(Region)
	onLeak  func(Leak)
	closed  atomic.Bool // Close ran: the pool was not forgotten, though buffers may be out
}

// process holds the figures of every pool of the process, live and dropped.
var process struct {
	pools                   atomic.Uint64 // owners handed out (the last owner id)
	mapped                  atomic.Int64  // bytes mapped by every pool, live or dropped
	droppedPools            atomic.Uint64
	droppedOut, droppedOutB atomic.Int64  // buffers (and their bytes) still out of dropped pools
	leakedBuffers           atomic.Uint64 // Buffers collected without Release
	hookPanics              atomic.Uint64 // OnUnmap panics in cleanups, which have no caller to reach

	mu   sync.Mutex
	live map[*owner]weak.Pointer[BufferPool] // the pools set up and not yet dropped
}

// watchDrop registers p's cleanup and enters p in the process's list of live pools.
func (p *BufferPool) watchDrop() {
	d := &dropped{owner: p.owner, book: p.book, tracks: p.tracks, onUnmap: p.cfg.OnUnmap, onLeak: p.cfg.OnLeak}
	p.drop = d
	runtime.AddCleanup(p, dropPool, d)
	process.mu.Lock()
	if process.live == nil {
		process.live = make(map[*owner]weak.Pointer[BufferPool])
	}
	process.live[p.owner] = weak.Make(p)
	process.mu.Unlock()
}

// dropPool is the cleanup of a pool nobody refers to any more: no method of it can run
// again, so its regions are still. Every region with no buffer out is announced gone
// (OnUnmap) and unmapped; a region with a buffer out stays mapped, so that the buffer stays
// valid, and is counted in ProcessStats as out of a dropped pool, and reported as a leak:
// nothing can put it back.
func dropPool(d *dropped) {
	process.mu.Lock()
	delete(process.live, d.owner)
	process.mu.Unlock()
	defer process.droppedPools.Add(1) // last: a reader that sees the count sees the unmaps
	var out, outBytes int64
	for r := range d.book.regions {
		if n := r.buffersOut(); n > 0 {
			out += int64(n)
			outBytes += int64(n) * int64(r.size)
			continue
		}
		delete(d.book.regions, r)
		lo := r.memStart()
		setPages(lo, lo+addr(cap(r.mem)), nil)
		if d.onUnmap != nil && announceGone(d.onUnmap, r) != nil {
			process.hookPanics.Add(1) // a panic here has no caller to go to; the region is unmapped all the same
		}
		if d.book.stuck.Unmap(r.m) != nil {
			continue // kept in stuck, and tried once more below
		}
		process.mapped.Add(-r.mapped)
	}
	// What is refused again stays mapped and counted; nothing retries it after this.
	process.mapped.Add(-d.book.stuck.Retry())
	if out > 0 {
		process.droppedOut.Add(out)
		process.droppedOutB.Add(outBytes)
		what := LeakPoolDropped
		if d.closed.Load() {
			what = LeakPoolClosedDropped
		}
		report(d.onLeak, Leak{What: what, Buffers: out, Bytes: outBytes, Holders: d.tracks.holders(3)})
	}
}
