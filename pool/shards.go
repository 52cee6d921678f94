package pool

import (
	"sync"
	"sync/atomic"
)

// shard is one shared stack of a class.
type shard struct {
	mu    sync.Mutex
	items []entry
	// n mirrors len(items), written under mu; read without it, it lets Get and Put pass by a
	// shard that is empty or full without taking its lock.
	n atomic.Int32
	_ [128 - 8 - 24 - 4]byte // one shard per 128 bytes: no false sharing between shards
}

// takeShared pops up to len(dst) buffers from shard i of sc into dst.
func (p *BufferPool) takeShared(sc *sizeClass, i int, dst []entry) int {
	sh := &sc.shards[i]
	if sh.n.Load() == 0 {
		return 0
	}
	sh.mu.Lock()
	k := min(len(sh.items), len(dst))
	copy(dst, sh.items[len(sh.items)-k:])
	sh.items = sh.items[:len(sh.items)-k]
	sh.n.Store(int32(len(sh.items)))
	sh.mu.Unlock()
	if k > 0 {
		p.sharedIdle.Add(-int64(k * sc.size))
	}
	return k
}

// giveShared pushes idle buffers onto the shards of sc, shard i first, then the others, as
// far as the shards' bound and the shared byte budget allow, and releases the rest.
func (p *BufferPool) giveShared(sc *sizeClass, i int, es []entry) {
	for j := 0; j <= p.shardMask && len(es) > 0; j++ {
		sh := &sc.shards[(i+j)&p.shardMask]
		if int(sh.n.Load()) >= p.cfg.MaxBuffersPerShard {
			continue
		}
		sh.mu.Lock()
		if p.closed.Load() { // checked under the lock: Close empties each shard under it
			sh.mu.Unlock()
			break
		}
		if sh.items == nil {
			sh.items = make([]entry, 0, min(p.cfg.MaxBuffersPerShard, 64))
		}
		full := false
		for len(es) > 0 && !full {
			if len(sh.items) >= p.cfg.MaxBuffersPerShard {
				break
			}
			if p.sharedIdle.Add(int64(sc.size))+p.emptyIdle.Load() > p.sharedBudget {
				p.sharedIdle.Add(-int64(sc.size))
				full = true
				break
			}
			sh.items = append(sh.items, es[0])
			es = es[1:]
		}
		sh.n.Store(int32(len(sh.items)))
		sh.mu.Unlock()
		if full {
			break // the budget, not this shard, is full
		}
	}
	p.releaseAll(es)
}
