package pool

import (
	"sync/atomic"
	"unsafe"
)

// local is one P's cache: per class, a stack of up to localCap idle buffers, touched only by
// the goroutine running on that P inside procPin.
type local struct {
	n     [classSlots]uint32
	stack [classSlots]uintptr // address of class c's items: items[c<<strideShift:][:localCap]
	items []entry
	classCounters
	_ [128]byte // no false sharing with the next P's cache (nor its adjacent-line prefetch)
}

// classCounters count per class. In a P's cache only that P writes them.
type classCounters struct {
	hits, misses, puts [classSlots]uint64
}

// entry is an idle buffer: its address and the address of its state byte.
type entry struct{ addr, state uintptr }

// cache returns the P's cache for pid, or nil when that P has none (GOMAXPROCS grew after
// the pool was built) or the caches are being drained. Call it pinned.
func (p *BufferPool) cache(pid int) *local {
	if uint(pid) >= uint(p.active.Load()) {
		return nil
	}
	return (*local)(unsafe.Add(p.localBase, uintptr(pid)*unsafe.Sizeof(local{})))
}

// item returns the i-th slot of class c's stack in the P's cache. Callers keep i below the
// class's localCap, which the compiler cannot see.
func (l *local) item(c int, i uint32) *entry {
	return (*entry)(ptr(l.stack[c] + uintptr(i)*unsafe.Sizeof(entry{})))
}

// maxBatch bounds the buffers moved at once between a P's cache and a shard.
const maxBatch = 32

// spillLocal takes back batch[0] into the current P's cache in one pinned section, counting the
// Put: straight into the cache when it has room (Secure pools' Puts come here), else with
// the oldest of the cache moved out behind it into batch. It returns how many entries of
// batch are for the shards (0 when the cache took batch[0]) and the P's home shard.
func (p *BufferPool) spillLocal(c int, batch []entry) (n, home int) {
	pid := procPin()
	home = pid & p.shardMask
	l := p.cache(pid)
	if l == nil {
		procUnpin()
		atomic.AddUint64(&p.spill.puts[c], 1)
		return 1, home
	}
	raceAcquire(unsafe.Pointer(l))
	bump(&l.puts[c], 1)
	k := l.n[c]
	if k < p.classes[c].localCap {
		*l.item(c, k) = batch[0]
		setN(&l.n[c], k+1)
		raceReleaseMerge(unsafe.Pointer(l))
		procUnpin()
		return 0, home
	}
	items := l.items[c<<p.strideShift:][:k]
	m := copy(batch[1:], items)
	copy(items, items[m:])
	setN(&l.n[c], k-uint32(m))
	raceReleaseMerge(unsafe.Pointer(l))
	procUnpin()
	return 1 + m, home
}

// refill counts a Get of class c that the P's cache did not serve and puts the rest of the
// batch fetched for it into the P's cache as far as it has room, in one pinned section. It
// returns how many it took.
func (p *BufferPool) refill(c int, hit bool, rest []entry) int {
	pid := procPin()
	l := p.cache(pid)
	if l == nil {
		procUnpin()
		if hit {
			atomic.AddUint64(&p.spill.hits[c], 1)
		} else {
			atomic.AddUint64(&p.spill.misses[c], 1)
		}
		return 0
	}
	raceAcquire(unsafe.Pointer(l))
	if hit {
		bump(&l.hits[c], 1)
	} else {
		bump(&l.misses[c], 1)
	}
	n, k := l.n[c], 0
	for k < len(rest) && n < p.classes[c].localCap {
		*l.item(c, n) = rest[k]
		n++
		k++
	}
	setN(&l.n[c], n)
	raceReleaseMerge(unsafe.Pointer(l))
	procUnpin()
	return k
}

// home returns the shard index of the current P.
func (p *BufferPool) home() int {
	pid := procPin()
	procUnpin()
	return pid & p.shardMask
}

// countPut counts a Put of class c that the P's cache did not take.
func (p *BufferPool) countPut(c int) {
	pid := procPin()
	if uint(pid) < uint(len(p.locals)) {
		l := &p.locals[pid]
		raceAcquire(unsafe.Pointer(l))
		bump(&l.puts[c], 1)
		raceReleaseMerge(unsafe.Pointer(l))
	} else {
		atomic.AddUint64(&p.spill.puts[c], 1)
	}
	procUnpin()
}
