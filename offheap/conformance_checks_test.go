package offheap

import (
	"bytes"
	"math"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checks below are the parts of the conformance cases that every system's backends must
// pass alike; each system's case adds what only it can check (VmFlags on Linux, Go memory's
// refusals elsewhere).

// checkProtect changes the access of b, two pages filled with 7 (b[0] then set to 1), a page
// at a time and as a whole, and checks each change by its faults. whileNone, if set, runs
// while the first page is ProtNone.
func checkProtect(t *testing.T, b []byte, whileNone func(a uintptr)) {
	t.Helper()
	pg := PageSize()
	first, a := b[:pg:pg], addrOf(b)

	require.NoError(t, Protect(first, ProtNone))
	assert.True(t, readFaults(t, a), "read of a ProtNone page")
	assert.True(t, writeFaults(t, a+uintptr(pg)-1), "write to a ProtNone page")
	assert.False(t, writeFaults(t, a+uintptr(pg)), "the next page keeps its access")
	if whileNone != nil {
		whileNone(a)
	}

	require.NoError(t, Protect(first, ProtRead))
	assert.False(t, readFaults(t, a))
	assert.Equal(t, byte(7), sink, "contents survive protection changes")
	assert.True(t, writeFaults(t, a), "write to a ProtRead page")

	require.NoError(t, Protect(first, ProtReadWrite))
	assert.False(t, writeFaults(t, a))
	assert.Equal(t, byte(1), b[0])

	require.NoError(t, Protect(b, ProtNone))
	assert.True(t, writeFaults(t, a+uintptr(2*pg)-1))
	require.NoError(t, Protect(b, ProtReadWrite))
}

// checkGuard makes the middle page of b, three pages filled with 5, a guard, checks that it
// is one of the kinds named and faults while its neighbours keep their access, and returns
// its address.
func checkGuard(t *testing.T, b []byte, kinds ...string) uintptr {
	t.Helper()
	pg := PageSize()
	mid := addrOf(b) + uintptr(pg)
	kind, err := Guard(b[pg : 2*pg : 2*pg])
	require.NoError(t, err)
	assert.Contains(t, kinds, kind)
	assert.True(t, writeFaults(t, mid), "the guard's first byte")
	assert.True(t, readFaults(t, mid+uintptr(pg)-1), "the guard's last byte")
	assert.False(t, writeFaults(t, mid-1), "the page before keeps its access")
	assert.False(t, writeFaults(t, mid+uintptr(pg)), "the page after keeps its access")
	assert.Equal(t, byte(5), b[0])
	_, err = Guard(heapPages(1))
	assert.ErrorIs(t, err, ErrNotMapped, "Guard of heap memory")
	return mid
}

// namedRangeOp is a package-level operation on a range of pages.
type namedRangeOp struct {
	name string
	op   func([]byte) error
}

// rangeOps are the package-level range operations every system has.
var rangeOps = []namedRangeOp{
	{"Lock", Lock},
	{"Unlock", Unlock},
	{"Protect", func(b []byte) error { return Protect(b, ProtNone) }},
	{"Discard", Discard},
}

// checkRangeOpsRefuseForeign checks that each of ops refuses what no mapping of backend be
// holds (heap memory, a freed mapping, a range past a mapping's end) and ranges that are off
// a page boundary or empty, touching nothing; it returns the three-page mapping it used,
// filled with 1 afterwards (it kept its access).
func checkRangeOpsRefuseForeign(t *testing.T, be string, ops []namedRangeOp) []byte {
	t.Helper()
	pg := PageSize()
	heap := heapPages(2)
	fill(heap, 0x33)
	b := alloc(t, be, 3*pg)
	freed, err := Alloc(pg, WithBackend(be))
	require.NoError(t, err)
	require.NoError(t, Free(freed))
	pastEnd := unsafe.Slice(&b[0], cap(b)+pg) // never touched: only its bounds are looked at
	for _, o := range ops {
		assert.ErrorIs(t, o.op(heap), ErrNotMapped, "%s of heap memory", o.name)
		assert.ErrorIs(t, o.op(freed), ErrNotMapped, "%s of a freed mapping", o.name)
		assert.ErrorIs(t, o.op(pastEnd), ErrNotMapped, "%s past the end of a mapping", o.name)
		assert.ErrorIs(t, o.op(b[1:]), ErrInvalid, "%s of a range off a page boundary", o.name)
		assert.ErrorIs(t, o.op(b[:0:0]), ErrInvalid, "%s of an empty range", o.name)
		assert.ErrorIs(t, o.op(nil), ErrInvalid, "%s of nil", o.name)
	}
	assert.Equal(t, 2*pg, bytes.Count(heap, []byte{0x33}), "heap memory untouched")
	fill(b, 1) // the mapping kept its access
	return b
}

// badSpec is a spec Alloc never builds, and the error a backend must refuse it with.
type badSpec struct {
	s    mapSpec
	want error
}

// badSpecs are the specs every backend refuses alike: EINVAL for sizes and alignments that are
// not whole pages and for unknown flags, noMemory (the system's ENOMEM) for what no address
// space can hold.
func badSpecs(noMemory error) []badSpec {
	pg := uint64(PageSize())
	return []badSpec{
		{mapSpec{size: 0, align: pg}, syscall.EINVAL},
		{mapSpec{size: pg - 1, align: pg}, syscall.EINVAL},
		{mapSpec{size: pg + 1, align: pg}, syscall.EINVAL},
		{mapSpec{size: pg, align: 0}, syscall.EINVAL},
		{mapSpec{size: pg, align: pg / 2}, syscall.EINVAL},
		{mapSpec{size: pg, align: 3 * pg}, syscall.EINVAL},
		{mapSpec{size: pg, align: pg, flags: specAllFlags + 1}, syscall.EINVAL},
		{mapSpec{size: pg, align: pg, flags: 1 << 31}, syscall.EINVAL},
		{mapSpec{size: math.MaxUint64 &^ (pg - 1), align: pg}, noMemory},
		{mapSpec{size: math.MaxUint64 &^ (pg - 1), align: pg, flags: specGuard}, noMemory},
		{mapSpec{size: pg, align: 1 << 62}, noMemory},
		{mapSpec{size: 1 << 50, align: pg}, noMemory},
	}
}

// checkBadSpecs calls the backend directly with each spec: it must refuse it with its error,
// clear the spec's outputs, and leave nothing behind.
func checkBadSpecs(t *testing.T, bk backend, specs []badSpec) {
	t.Helper()
	for i, c := range specs {
		s := c.s
		s.result, s.base, s.total, s.addr, s.lockErr = 7, 1, 1, 1, 1
		err := bk.mapRegion(&s)
		assert.ErrorIs(t, err, c.want, "case %d: %+v", i, c.s)
		assert.Equal(t, mapSpec{size: c.s.size, align: c.s.align, flags: c.s.flags}, s,
			"case %d: outputs cleared", i)
	}
}

// checkBadRanges maps two pages with the backend directly and checks that it refuses ranges
// and values that are not its own (discard is the backend's advice to discard a range); it
// returns the mapping's address, for the caller to unmap.
func checkBadRanges(t *testing.T, bk backend, discard int) uintptr {
	t.Helper()
	pg := uintptr(PageSize())
	s := mapSpec{size: uint64(2 * pg), align: uint64(pg)}
	require.NoError(t, bk.mapRegion(&s))
	a := uintptr(s.addr)
	assert.ErrorIs(t, bk.unmap(a+1, pg), syscall.EINVAL)
	assert.ErrorIs(t, bk.unmap(a, 0), syscall.EINVAL)
	assert.ErrorIs(t, bk.protect(a, pg, 0x7fff0000), syscall.EINVAL)
	assert.ErrorIs(t, bk.protect(a+1, pg, int(ProtRead)), syscall.EINVAL)
	assert.ErrorIs(t, bk.advise(a, pg, 12345), syscall.EINVAL)
	assert.ErrorIs(t, bk.advise(a+1, pg, discard), syscall.EINVAL)
	return a
}

// checkFreshMapping checks a Mapping of 3 pages and a byte (mapOwned(t, be, 3*pg+1)): its
// usable bytes, zeroed and page-aligned, and Stat and Info of it; it fills the bytes with
// 0x5a and returns them and the Info.
func checkFreshMapping(t *testing.T, m *Mapping, be string) ([]byte, Info) {
	t.Helper()
	pg := PageSize()
	b := m.Bytes()
	assert.Equal(t, 4*pg, len(b), "len: the usable bytes, page-rounded")
	assert.Equal(t, 4*pg, cap(b), "cap == len")
	assert.Zero(t, addrOf(b)%uintptr(pg), "page-aligned")
	assert.True(t, isZero(b), "a fresh mapping reads as zeros")
	fill(b, 0x5a)
	st, err := Stat(b)
	require.NoError(t, err, "Stat reads owned memory")
	assert.Equal(t, Info{Size: 4 * pg, Mapped: 4 * pg, Backend: be}, st)
	assert.Equal(t, st, m.Info(), "Info is Stat")
	return b, st
}

// checkMappingRangeOps protects, discards and guards pages of m's four pages b (filled by
// checkFreshMapping) through m's own methods, the guard one of the kinds named.
func checkMappingRangeOps(t *testing.T, m *Mapping, b []byte, kinds ...string) {
	t.Helper()
	pg := PageSize()
	a := addrOf(b)
	second := b[pg : 2*pg : 2*pg]
	require.NoError(t, m.Protect(second, ProtRead))
	assert.True(t, writeFaults(t, a+uintptr(pg)), "write to a ProtRead page")
	assert.False(t, readFaults(t, a+uintptr(pg)))
	assert.False(t, writeFaults(t, a), "the page before keeps its access")
	require.NoError(t, m.Protect(second, ProtReadWrite))
	assert.False(t, writeFaults(t, a+uintptr(pg)))

	require.NoError(t, m.Discard(b[2*pg:]))
	assert.True(t, isZero(b[2*pg:]), "discarded pages read as zeros")
	assert.Equal(t, byte(0x5a), b[pg-1], "the rest is kept")

	kind, err := m.Guard(b[3*pg:])
	require.NoError(t, err)
	assert.Contains(t, kinds, kind)
	assert.True(t, writeFaults(t, a+uintptr(3*pg)), "a guard page")
	assert.False(t, writeFaults(t, a+uintptr(3*pg)-1), "the page before the guard")
}

// checkUnmap unmaps m, whose bytes were b and whose Info was st, and checks what a Mapping
// says afterwards.
func checkUnmap(t *testing.T, m *Mapping, b []byte, st Info) {
	t.Helper()
	require.NoError(t, m.Unmap())
	assert.ErrorIs(t, m.Unmap(), ErrNotMapped, "a second Unmap")
	assert.Nil(t, m.Bytes(), "Bytes after Unmap")
	assert.Equal(t, st, m.Info(), "Info after Unmap still describes what was mapped")
	_, err := Stat(b)
	assert.ErrorIs(t, err, ErrNotMapped, "Stat after Unmap")
	assert.ErrorIs(t, m.Protect(b[:PageSize()], ProtNone), ErrNotMapped, "Protect after Unmap")
}
