package offheap

import (
	"math/bits"
	"sync"
)

// live holds every mapping not yet unmapped, from Alloc and Map alike. It is what lets Free
// and the range operations refuse memory that is not theirs (foreign memory, an interior
// slice given to Free, a mapping already freed, the memory of a Mapping) instead of
// corrupting it, and what Stat reads. A record leaves it only once the kernel has unmapped
// the memory: the write lock is held across that munmap, so that no new mapping at the same
// address can be entered meanwhile (the kernel serialises munmap on the process's mmap lock
// anyway).
//
// Entering, dropping and finding a record cost a few map operations whatever the number of
// live mappings: byStart answers "the mapping that starts at addr" (Free, Stat, Unmap) with
// one lookup, and within answers "the mapping that holds addr" (the range operations) with
// at most one lookup per size level in use (see liveIndex).
var live struct {
	sync.RWMutex
	byStart map[uintptr]*mapping
	within  liveIndex
	// stuck holds what a failed Alloc or Map could not unmap again (see stuck.go).
	stuck []stuckRange
}

// enterLocked records m as live. The caller holds live's write lock.
func enterLocked(m *mapping) {
	if live.byStart == nil {
		live.byStart = make(map[uintptr]*mapping)
	}
	live.byStart[m.addr] = m
	live.within.add(m)
}

// dropLocked forgets m, whose memory the kernel has unmapped. The caller holds live's write
// lock.
func dropLocked(m *mapping) {
	delete(live.byStart, m.addr)
	live.within.remove(m)
}

// startingAt returns the live mapping whose usable range starts at addr, or nil. The caller
// holds live's lock.
func startingAt(addr uintptr) *mapping {
	if addr == 0 {
		return nil
	}
	return live.byStart[addr]
}

// holding returns the live mapping whose usable range holds addr, or nil. The caller holds
// live's lock.
func holding(addr uintptr) *mapping {
	if m := startingAt(addr); m != nil {
		return m
	}
	if addr == 0 {
		return nil
	}
	return live.within.find(addr)
}

// liveIndex finds the mapping that holds an address in time that does not depend on how many
// mappings there are. A mapping of usable size s is filed at level k, the least k with
// 2^k >= s, under the numbers of the (at most two) aligned blocks of 2^k bytes that its range
// meets. To find the mapping that holds addr, each level in use is asked for addr's block.
//
// A block holds at most three mappings of its level: those mappings are disjoint and each is
// longer than half a block, so at most one starts before the block and meets it (it holds the
// block's first byte) and at most two start inside it. Levels run from the page size's to
// that of the largest request (2^46 bytes), so a lookup costs at most 35 map lookups, and as
// many as there are levels in use in practice (one per power-of-two size class of mappings).
type liveIndex struct {
	levels uint64  // bit k: some mapping is filed at level k
	count  [64]int // mappings filed at each level
	blocks map[liveBlock]*[3]*mapping
}

// liveBlock names one aligned block of 2^level bytes: its start >> level.
type liveBlock struct {
	level uint8
	n     uintptr
}

// levelOf is the level a mapping of size bytes (> 0) is filed at.
func levelOf(size uintptr) uint8 { return uint8(bits.Len64(uint64(size - 1))) }

// blocksOf returns the blocks m's usable range meets (lo == hi when it meets one).
func blocksOf(m *mapping) (level uint8, lo, hi uintptr) {
	level = levelOf(m.size)
	return level, m.addr >> level, (m.addr + m.size - 1) >> level
}

func (x *liveIndex) add(m *mapping) {
	if x.blocks == nil {
		x.blocks = make(map[liveBlock]*[3]*mapping)
	}
	level, lo, hi := blocksOf(m)
	for n := lo; n <= hi; n++ {
		k := liveBlock{level, n}
		b := x.blocks[k]
		if b == nil {
			b = new([3]*mapping)
			x.blocks[k] = b
		}
		i := 0
		for i < len(b) && b[i] != nil {
			i++
		}
		if i == len(b) {
			// Unreachable for disjoint mappings (see liveIndex): the kernel never gives out
			// an address range twice.
			panic("offheap: a fourth live mapping in one block of the index")
		}
		b[i] = m
	}
	x.count[level]++
	x.levels |= 1 << level
}

func (x *liveIndex) remove(m *mapping) {
	level, lo, hi := blocksOf(m)
	found := false
	for n := lo; n <= hi; n++ {
		k := liveBlock{level, n}
		b := x.blocks[k]
		if b == nil {
			continue
		}
		empty := true
		for i := range b {
			if b[i] == m {
				b[i], found = nil, true
			}
			empty = empty && b[i] == nil
		}
		if empty {
			delete(x.blocks, k)
		}
	}
	if !found {
		return
	}
	if x.count[level]--; x.count[level] == 0 {
		x.levels &^= 1 << level
	}
}

// find returns the mapping whose usable range holds addr, or nil.
func (x *liveIndex) find(addr uintptr) *mapping {
	for levels := x.levels; levels != 0; levels &= levels - 1 {
		level := uint8(bits.TrailingZeros64(levels))
		b := x.blocks[liveBlock{level, addr >> level}]
		if b == nil {
			continue
		}
		for _, m := range b {
			if m != nil && addr-m.addr < m.size {
				return m
			}
		}
	}
	return nil
}

// len is the number of mappings in the index.
func (x *liveIndex) len() int {
	n := 0
	for _, c := range x.count {
		n += c
	}
	return n
}
