package pool

import (
	"strconv"
	"sync/atomic"
)

// idleBudget is Config.MaxIdleBytes: the bytes held idle, in three parts that together never
// pass it. It is the only place the rule is written: every part is admitted, reserved and
// released through its methods.
//
//   - depot: buffers idle in the depots, admitted as they arrive (a magazine at a time, or
//     one loose buffer) and released as Ps take them or Trim drains them;
//   - emptySlabs: slabs kept mapped with nothing idle or out (slabSize each), so that a
//     burst larger than the caches finds its memory again;
//   - local: the P caches' magazines, reserved at their full capacity (two magazines and
//     priv) from a P's first use of a class until Trim or Close drains the caches, and never
//     more than localMax, the P caches' share (1/localShare of MaxIdleBytes).
//
// Each admission adds its bytes first, then checks the sum, and takes them back where the
// sum passes the bound: concurrent admissions cannot pass it together.
type idleBudget struct {
	max, localMax            int64
	depot, emptySlabs, local atomic.Int64
}

// localShare: the P caches' magazines may together hold up to 1/localShare of MaxIdleBytes;
// the depots and empty slabs get the rest. One pair of magazines may take at most
// 1/pairShare of that, so that many classes and many Ps find room.
const (
	localShare = 5
	pairShare  = 16
)

// init sets the bound, maxIdle bytes, before the pool is used.
func (b *idleBudget) init(maxIdle int64) { b.max, b.localMax = maxIdle, maxIdle/localShare }

// magazineSize is the capacity of a class's magazines: LocalCacheSize buffers, fewer where
// two magazines of them and priv would take more than a pair's share of the P caches'
// budget; 0 where not even three buffers fit: such a class is held by the depot alone.
func (b *idleBudget) magazineSize(perClass, size int) int {
	return int(min(int64(perClass), (b.localMax/pairShare/int64(size)-1)/2))
}

// admit adds n bytes to part if the whole budget still holds them, and reports whether it
// did; false leaves part as it was.
func (b *idleBudget) admit(part *atomic.Int64, n int64) bool {
	v := part.Add(n)
	if b.depot.Load()+b.emptySlabs.Load()+b.local.Load() > b.max || part == &b.local && v > b.localMax {
		part.Add(-n)
		return false
	}
	if invariantChecks && v > b.max {
		throw("idle budget part " + strconv.FormatInt(v, 10) + " above MaxIdleBytes " + strconv.FormatInt(b.max, 10))
	}
	return true
}

// release gives back n bytes that admit took for part.
func (b *idleBudget) release(part *atomic.Int64, n int64) {
	if v := part.Add(-n); invariantChecks && v < 0 {
		throw("idle budget part negative: " + strconv.FormatInt(v, 10))
	}
}

// admitDepot admits n bytes idle in the depots; releaseDepot gives them back.
func (b *idleBudget) admitDepot(n int64) bool { return b.admit(&b.depot, n) }
func (b *idleBudget) releaseDepot(n int64)    { b.release(&b.depot, n) }

// reserveLocal reserves n bytes for a pair of magazines of one P; releaseLocal gives them
// back.
func (b *idleBudget) reserveLocal(n int64) bool { return b.admit(&b.local, n) }
func (b *idleBudget) releaseLocal(n int64)      { b.release(&b.local, n) }

// keepEmptySlab admits a slab that just became empty (nothing idle or out) to stay mapped;
// releaseEmptySlab gives its bytes back when it is used again or unmapped.
func (b *idleBudget) keepEmptySlab() bool { return b.admit(&b.emptySlabs, slabSize) }
func (b *idleBudget) releaseEmptySlab()   { b.release(&b.emptySlabs, slabSize) }

// holdsEmptySlabs reports whether a slab is kept mapped empty.
func (b *idleBudget) holdsEmptySlabs() bool { return b.emptySlabs.Load() > 0 }

// check asserts, under zeropool_checks, what holds whenever no admission is under way: every
// part between 0 and the bound, the sum within MaxIdleBytes, the P caches within their share.
func (b *idleBudget) check() {
	if !invariantChecks {
		return
	}
	d, e, l := b.depot.Load(), b.emptySlabs.Load(), b.local.Load()
	if d < 0 || e < 0 || l < 0 || d+e+l > b.max || l > b.localMax {
		throw("idle budget: depot " + strconv.FormatInt(d, 10) + " + empty slabs " + strconv.FormatInt(e, 10) +
			" + P caches " + strconv.FormatInt(l, 10) + " against MaxIdleBytes " + strconv.FormatInt(b.max, 10) +
			" (P caches' share " + strconv.FormatInt(b.localMax, 10) + ")")
	}
}
