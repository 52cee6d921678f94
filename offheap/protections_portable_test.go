//go:build (!linux || zeropool_portable) && !zeropool_gomem && (aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package offheap

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProtections checks the record of non-read-write ranges against a model: the access of
// every unit of a small address space, after each of a sequence of changes.
func TestProtections(t *testing.T) {
	const rw = int(ProtReadWrite)
	steps := []struct {
		lo, hi uintptr
		prot   int
	}{
		{10, 20, int(ProtNone)},
		{15, 25, int(ProtRead)}, // overlaps the end of the first
		{5, 12, int(ProtRead)},  // overlaps its start
		{12, 14, rw},            // a hole in the middle
		{0, 40, int(ProtNone)},  // covers everything
		{8, 30, rw},             // splits it in two
		{30, 31, int(ProtRead)}, // adjacent to the right part
		{0, 40, rw},             // nothing recorded any more
		{3, 4, int(ProtNone)},
	}
	var p protections
	var model [40]int
	for i := range model {
		model[i] = rw
	}
	for n, s := range steps {
		p.setLocked(s.lo, s.hi, s.prot)
		for a := s.lo; a < s.hi; a++ {
			model[a] = s.prot
		}
		got := [40]int{}
		for i := range got {
			got[i] = rw
		}
		p.eachLocked(0, 40, func(lo, hi uintptr, prot int) {
			for a := lo; a < hi; a++ {
				got[a] = prot
			}
		})
		assert.Equal(t, model, got, "after step %d", n)
		for i := 1; i < len(p.r); i++ {
			assert.LessOrEqual(t, p.r[i-1].hi, p.r[i].lo, "after step %d: sorted and disjoint", n)
		}
		for _, r := range p.r {
			assert.NotEqual(t, rw, r.prot, "after step %d: read-write is never recorded", n)
		}
		// A window sees exactly its part.
		var seen []protRange
		p.eachLocked(9, 13, func(lo, hi uintptr, prot int) { seen = append(seen, protRange{lo, hi, prot}) })
		for _, r := range seen {
			assert.True(t, r.lo >= 9 && r.hi <= 13 && r.lo < r.hi, "after step %d: %+v inside [9, 13)", n, r)
		}
	}
	assert.Equal(t, []protRange{{3, 4, int(ProtNone)}}, p.r)
}
