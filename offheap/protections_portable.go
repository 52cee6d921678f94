//go:build (!linux || zeropool_portable) && !zeropool_gomem && (aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package offheap

import (
	"slices"
	"sort"
	"sync"
)

// protections records which ranges of the portable backend's mappings are not read-write
// (guard pages, Protect), because no portable call reads a range's access back and a discard
// (fresh pages mapped over the range) must keep it. Ranges are disjoint and sorted; a Debug
// pool holds one per idle buffer.
type protections struct {
	mu sync.Mutex // held across each system call and its record, so that they agree
	r  []protRange
}

type protRange struct {
	lo, hi uintptr
	prot   int
}

// setLocked records that [lo, hi) now has access prot; read-write is not recorded. The
// caller holds mu.
func (p *protections) setLocked(lo, hi uintptr, prot int) {
	i, j := p.overlapping(lo, hi)
	var repl []protRange
	if i < j && p.r[i].lo < lo {
		repl = append(repl, protRange{p.r[i].lo, lo, p.r[i].prot})
	}
	if prot != int(ProtReadWrite) {
		repl = append(repl, protRange{lo, hi, prot})
	}
	if i < j && p.r[j-1].hi > hi {
		repl = append(repl, protRange{hi, p.r[j-1].hi, p.r[j-1].prot})
	}
	p.r = slices.Replace(p.r, i, j, repl...)
}

// eachLocked calls fn for every recorded part of [lo, hi), in address order. The caller
// holds mu.
func (p *protections) eachLocked(lo, hi uintptr, fn func(lo, hi uintptr, prot int)) {
	i, j := p.overlapping(lo, hi)
	for _, r := range p.r[i:j] {
		fn(max(r.lo, lo), min(r.hi, hi), r.prot)
	}
}

// overlapping returns the ranges r[i:j] that overlap [lo, hi).
func (p *protections) overlapping(lo, hi uintptr) (i, j int) {
	i = sort.Search(len(p.r), func(k int) bool { return p.r[k].hi > lo })
	j = i + sort.Search(len(p.r)-i, func(k int) bool { return p.r[i+k].lo >= hi })
	return i, j
}
