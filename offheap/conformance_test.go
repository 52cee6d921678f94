package offheap

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConformance runs one suite, unchanged, against every backend compiled into the binary:
// whatever one backend does, the others must do too, so that choosing a backend never
// changes behaviour. The suite is the system's (conformanceCases, in conformance_linux_test.go
// and conformance_other_test.go); the cases in this file are in both.
func TestConformance(t *testing.T) {
	for _, be := range Backends() {
		t.Run(be, func(t *testing.T) {
			requireBackend(t, be)
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, be) })
			}
		})
	}
}

// conformanceCase is one test of TestConformance, run against one backend.
type conformanceCase struct {
	name string
	fn   func(t *testing.T, backend string)
}

func testSizesAndContents(t *testing.T, be string) {
	pg := PageSize()
	for _, size := range []int{1, 100, pg - 1, pg, pg + 1, 3*pg + 17, 1 << 20, 5<<20 + 123} {
		b, err := Alloc(size, WithBackend(be))
		require.NoError(t, err, "Alloc(%d)", size)
		assert.Equal(t, size, len(b), "len")
		assert.Equal(t, int(roundUp(uint64(size), uint64(pg))), cap(b), "cap: whole pages")
		assert.Zero(t, addrOf(b)%uintptr(pg), "page-aligned")
		full := b[:cap(b)]
		assert.True(t, isZero(full), "a fresh mapping reads as zeros")
		fill(full, 0x5a)
		assert.Equal(t, cap(b), bytes.Count(full, []byte{0x5a}), "every byte holds what was written")
		in, err := Stat(b[:1])
		require.NoError(t, err)
		assert.Equal(t, Info{Size: cap(b), Mapped: cap(b), Backend: be}, in)
		// Free takes any slice that starts the mapping, whatever its len.
		require.NoError(t, Free(b[:0]), "Free(b[:0]) of %d bytes", size)
	}
}

func testAlign(t *testing.T, be string) {
	pg := PageSize()
	type alignCase struct {
		size, align int
		opts        []Option
	}
	cases := []alignCase{
		{1, 64, nil}, // below the page size: met anyway
		{pg, pg, nil},
		{1, 2 << 20, nil},
		{3 << 20, 2 << 20, nil},
		{pg, 64 << 20, []Option{Pin()}},
	}
	if !goMemory { // guard pages need page protection
		cases = append(cases, alignCase{5 * pg, 2 << 20, []Option{GuardPages()}})
	}
	for _, c := range cases {
		b := alloc(t, be, c.size, append(c.opts, Align(c.align))...)
		want := uintptr(max(c.align, pg))
		assert.Zero(t, addrOf(b)%want, "Align(%d) of %d bytes: %#x", c.align, c.size, addrOf(b))
		assert.True(t, isZero(b[:cap(b)]))
		b[0], b[:cap(b)][cap(b)-1] = 1, 1
	}
	// Of several Align options the largest wins.
	b := alloc(t, be, pg, Align(2<<20), Align(pg))
	assert.Zero(t, addrOf(b)%(2<<20))
}

func testWipe(t *testing.T, be string) {
	b := alloc(t, be, 2*PageSize())
	fill(b, 0xff)
	Wipe(b[10:110:110])
	assert.Equal(t, []byte{0xff, 0xff}, []byte{b[9], b[110]}, "Wipe stays inside its range")
	assert.True(t, isZero(b[10:110]))
	Wipe(b)
	assert.True(t, isZero(b))

	// Wipe clears up to cap, not just len.
	fill(b, 3)
	Wipe(b[:1])
	assert.True(t, isZero(b[:cap(b)]))
	h2 := make([]byte, 64)
	fill(h2, 9)
	Wipe(h2[:3])
	assert.True(t, isZero(h2))
	Wipe(nil)
}

func testBadArguments(t *testing.T, be string) {
	pg := PageSize()
	for _, size := range []int{0, -1, -pg, math.MinInt, maxSize + 1, math.MaxInt} {
		b, err := Alloc(size, WithBackend(be))
		assert.ErrorIs(t, err, ErrInvalid, "Alloc(%d)", size)
		assert.Nil(t, b)
	}
	for _, n := range []int{0, -1, -pg, 3, pg + 1, 3 << 20, math.MinInt} {
		b, err := Alloc(pg, Align(n), WithBackend(be))
		assert.ErrorIs(t, err, ErrInvalid, "Align(%d)", n)
		assert.Nil(t, b)
	}
	// Refusals leave the package serving.
	b := alloc(t, be, pg)
	b[0] = 1
}

func testFreeRefusesForeign(t *testing.T, be string) {
	pg := PageSize()
	heap := heapPages(2)
	fill(heap, 0x42)
	assert.ErrorIs(t, Free(heap), ErrNotMapped, "heap memory")
	assert.ErrorIs(t, Free(make([]byte, 10)), ErrNotMapped, "a small heap slice")
	assert.ErrorIs(t, Free(nil), ErrNotMapped, "nil")
	assert.Equal(t, 2*pg, bytes.Count(heap, []byte{0x42}), "heap memory untouched")

	b, err := Alloc(3*pg, WithBackend(be))
	require.NoError(t, err)
	assert.ErrorIs(t, Free(b[pg:]), ErrNotMapped, "an interior slice on a page boundary")
	assert.ErrorIs(t, Free(b[1:]), ErrNotMapped, "an interior slice")
	fill(b, 3) // still mapped after the refusals
	_, err = Stat(b[pg:])
	assert.ErrorIs(t, err, ErrNotMapped, "Stat of an interior slice")

	require.NoError(t, Free(b))
	assert.ErrorIs(t, Free(b), ErrNotMapped, "already freed")
	_, err = Stat(b)
	assert.ErrorIs(t, err, ErrNotMapped, "Stat of a freed mapping")
}

func testConcurrent(t *testing.T, be string) {
	pg := PageSize()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				// Every other mapping is an owned one: both kinds share one registry.
				var b []byte
				var m *Mapping
				var err error
				if i%2 == 0 {
					b, err = Alloc(pg*(1+(g+i)%5), WithBackend(be))
				} else if m, err = Map(pg*(1+(g+i)%5), WithBackend(be)); err == nil {
					b = m.Bytes()
				}
				if err != nil {
					errs <- err
					return
				}
				stamp := byte(g*50 + i)
				fill(b, stamp)
				runtime.Gosched()
				if bytes.Count(b, []byte{stamp}) != len(b) {
					errs <- assert.AnError
				}
				if m != nil {
					if !errors.Is(Free(b), ErrNotOwned) {
						errs <- errors.New("Free of an owned mapping was not refused")
					}
					err = m.Unmap()
				} else {
					err = Free(b)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// TestUnknownBackend: a name that is not compiled in is an error, never a fallback.
func TestUnknownBackend(t *testing.T) {
	b, err := Alloc(PageSize(), WithBackend("nope"))
	assert.ErrorIs(t, err, ErrUnknownBackend)
	assert.Nil(t, b)
	assert.ErrorIs(t, CheckBackend("nope"), ErrUnknownBackend)
	assert.Contains(t, err.Error(), Backends()[0], "the error lists what is compiled in")
}

// mapOwned maps an owned mapping with the named backend and unmaps it when the test ends,
// unless the test did.
func mapOwned(t *testing.T, be string, size int, opts ...Option) *Mapping {
	t.Helper()
	m, err := Map(size, append(opts, WithBackend(be))...)
	require.NoError(t, err, "Map(%d) with the %s backend", size, be)
	t.Cleanup(func() { _ = m.Unmap() })
	return m
}

// testMappingBadArguments: a Mapping's methods refuse what the package-level ones refuse, and
// any memory outside the Mapping, including another live mapping.
func testMappingBadArguments(t *testing.T, be string) {
	pg := PageSize()
	for _, size := range []int{0, -1, maxSize + 1} {
		m, err := Map(size, WithBackend(be))
		assert.ErrorIs(t, err, ErrInvalid, "Map(%d)", size)
		assert.Nil(t, m)
	}
	_, err := Map(pg, Align(3), WithBackend(be))
	assert.ErrorIs(t, err, ErrInvalid, "Map with a bad alignment")
	_, err = Map(pg, WithBackend("nope"))
	assert.ErrorIs(t, err, ErrUnknownBackend)

	m := mapOwned(t, be, 2*pg)
	other := alloc(t, be, pg)
	neighbour := mapOwned(t, be, pg)
	b := m.Bytes()
	fill(b, 9)
	heap := heapPages(1)
	pastEnd := unsafe.Slice(&b[0], cap(b)+pg) // never touched: only its bounds are looked at
	ops := []struct {
		name string
		op   func([]byte) error
	}{
		{"Lock", m.Lock},
		{"Unlock", m.Unlock},
		{"Protect", func(b []byte) error { return m.Protect(b, ProtNone) }},
		{"Discard", m.Discard},
		{"Guard", func(b []byte) error { _, err := m.Guard(b); return err }},
	}
	for _, o := range ops {
		assert.ErrorIs(t, o.op(heap), ErrNotMapped, "%s of heap memory", o.name)
		assert.ErrorIs(t, o.op(other), ErrNotMapped, "%s of a mapping from Alloc", o.name)
		assert.ErrorIs(t, o.op(neighbour.Bytes()), ErrNotMapped, "%s of another Mapping", o.name)
		assert.ErrorIs(t, o.op(pastEnd), ErrNotMapped, "%s past the end", o.name)
		assert.ErrorIs(t, o.op(b[1:]), ErrInvalid, "%s off a page boundary", o.name)
		assert.ErrorIs(t, o.op(b[:0:0]), ErrInvalid, "%s of an empty range", o.name)
		assert.ErrorIs(t, o.op(nil), ErrInvalid, "%s of nil", o.name)
	}
	assert.Equal(t, 2*pg, bytes.Count(b, []byte{9}), "nothing changed")

	var null *Mapping
	assert.ErrorIs(t, null.Unmap(), ErrInvalid, "Unmap of a nil Mapping")
	assert.ErrorIs(t, null.Protect(b, ProtRead), ErrInvalid, "Protect on a nil Mapping")
	assert.Nil(t, null.Bytes())
	assert.Equal(t, Info{}, null.Info())
}
