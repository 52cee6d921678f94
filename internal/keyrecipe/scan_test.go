//go:build linux

package keyrecipe

import (
	"crypto/rand"
	"errors"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mapFenced maps n bytes of readable memory between two PROT_NONE pages, so that it is a
// mapping of its own in /proc/self/maps (the kernel merges neighbouring anonymous mappings of
// the same protection) and Scan's chunks start at its first byte. It is unmapped at the end
// of the test.
func mapFenced(t *testing.T, n int) []byte {
	t.Helper()
	page := os.Getpagesize()
	all, err := unix.Mmap(-1, 0, n+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, unix.Munmap(all)) })
	require.NoError(t, unix.Mprotect(all[:page], unix.PROT_NONE))
	require.NoError(t, unix.Mprotect(all[page+n:], unix.PROT_NONE))
	return all[page : page+n : page+n]
}

func randomNeedle(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	b[0] |= 1 // never all zero
	return b
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// hitsIn is where needle i was found inside r.
func hitsIn(rep Report, i int, r Range) []uintptr {
	var out []uintptr
	for _, h := range rep.Hits {
		if h.Needle == i && r.contains(h.Addr) {
			out = append(out, h.Addr)
		}
	}
	return out
}

// Scan finds every copy once: at the start and the end of a mapping, across the boundary of
// two read chunks, and inside the bytes two chunks share.
func TestScanFindsEveryCopyOnce(t *testing.T) {
	mem := mapFenced(t, 3*chunkSize)
	long, short := randomNeedle(t, 32), randomNeedle(t, 16)
	needles := [][]byte{long, short}
	// Chunks overlap by the longest needle less a byte: chunk k starts at k*step.
	const step = chunkSize - (32 - 1)
	places := []struct {
		what   string
		needle int
		off    int
	}{
		{"long at the start", 0, 0},
		{"long across a chunk boundary", 0, chunkSize - 10},
		{"long inside a chunk", 0, chunkSize + chunkSize/2},
		{"short in the bytes chunks 2 and 3 share", 1, 2*step + 2},
		{"short at the end", 1, 3*chunkSize - 16},
	}
	want := make([][]uintptr, len(needles))
	for _, p := range places {
		copy(mem[p.off:], needles[p.needle])
		want[p.needle] = append(want[p.needle], addrOf(mem)+uintptr(p.off))
	}
	rep, err := Scan(needles)
	require.NoError(t, err)
	for i := range needles {
		assert.ElementsMatch(t, want[i], hitsIn(rep, i, RangeOf(mem)), "needle %d", i)
	}

	// The needles' own heap copies are found too: the scan reads the Go heap.
	assert.NotEmpty(t, hitsIn(rep, 0, RangeOf(long)))
	assert.NotEmpty(t, hitsIn(rep, 1, RangeOf(short)))
}

// A hit inside a skip range is not reported; the rest of the mapping is still searched.
func TestScanSkipsRanges(t *testing.T) {
	mem := mapFenced(t, 4*os.Getpagesize())
	n := randomNeedle(t, 32)
	copy(mem[100:], n)
	copy(mem[3*os.Getpagesize():], n)
	rep, err := Scan([][]byte{n}, Range{addrOf(mem), addrOf(mem) + 200})
	require.NoError(t, err)
	assert.Equal(t, []uintptr{addrOf(mem) + uintptr(3*os.Getpagesize())}, hitsIn(rep, 0, RangeOf(mem)))
}

// A page /proc/self/mem refuses (here a guard page installed with MADV_GUARD_INSTALL inside a
// readable mapping) is counted as refused, and the pages around it are still searched.
func TestScanCountsRefusedPages(t *testing.T) {
	page := os.Getpagesize()
	mem := mapFenced(t, 8*page)
	n := randomNeedle(t, 32)
	copy(mem[page:], n)
	copy(mem[6*page:], n)
	err := unix.Madvise(mem[4*page:5*page], unix.MADV_GUARD_INSTALL)
	if errors.Is(err, unix.EINVAL) {
		t.Skip("the kernel has no MADV_GUARD_INSTALL (Linux 6.13)")
	}
	require.NoError(t, err)
	rep, err := Scan([][]byte{n})
	require.NoError(t, err)
	assert.ElementsMatch(t, []uintptr{addrOf(mem) + uintptr(page), addrOf(mem) + uintptr(6*page)}, hitsIn(rep, 0, RangeOf(mem)))
	assert.GreaterOrEqual(t, rep.Unreadable, int64(page))
}

func TestScanRefusesBadNeedles(t *testing.T) {
	for name, n := range map[string][]byte{"empty": nil, "zeros": make([]byte, 32)} {
		t.Run(name, func(t *testing.T) {
			_, err := Scan([][]byte{{1, 2, 3}, n})
			assert.ErrorIs(t, err, ErrBadNeedle)
		})
	}
}

func TestParseMapsLine(t *testing.T) {
	m, err := parseMapsLine("7f0000000000-7f0000201000 rw-p 00000000 00:00 0 ")
	require.NoError(t, err)
	assert.Equal(t, Range{0x7f0000000000, 0x7f0000201000}, m.Range)
	assert.True(t, m.readable)
	assert.False(t, m.special())

	m, err = parseMapsLine("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]")
	require.NoError(t, err)
	assert.False(t, m.readable)
	assert.True(t, m.special())

	for _, bad := range []string{"", "7f00-7e00 rw-p 0 00:00 0", "zz-7f00 rw-p 0 00:00 0", "7f00 rw-p 0 00:00 0"} {
		_, err := parseMapsLine(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// The scan leaves out its read buffer's bytes only, even where the kernel merged the buffer's
// mapping with a neighbour.
func TestRangeWithout(t *testing.T) {
	r := Range{100, 200}
	for _, c := range []struct {
		o    Range
		want []Range
	}{
		{Range{0, 50}, []Range{r}},
		{Range{200, 300}, []Range{r}},
		{Range{100, 200}, nil},
		{Range{50, 250}, nil},
		{Range{100, 150}, []Range{{150, 200}}},
		{Range{150, 200}, []Range{{100, 150}}},
		{Range{120, 180}, []Range{{100, 120}, {180, 200}}},
	} {
		assert.Equal(t, c.want, r.without(c.o), "%v without %v", r, c.o)
	}
}
