//go:build !linux || zeropool_portable

package offheap

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformanceCases is TestConformance's suite on other systems, against the portable backend:
// the cases every backend passes, and what the portable backend does instead of Linux's
// (refusals, PROT_NONE guards, discard by fresh pages). Where the backend's memory is Go
// memory (goMemory), what needs page protection is refused and checked as refused.
var conformanceCases = []conformanceCase{
	{"SizesAndContents", testSizesAndContents},
	{"Align", testAlign},
	{"Refusals", testPortableRefusals},
	{"PinBestEffort", testPortablePinBestEffort},
	{"HugePagesIgnored", testPortableHugePages},
	{"Populate", testPortablePopulate},
	{"GuardPages", testPortableGuardPages},
	{"Protect", testPortableProtect},
	{"Discard", testPortableDiscard},
	{"Guard", testPortableGuard},
	{"Wipe", testWipe},
	{"BadArguments", testBadArguments},
	{"FreeRefusesForeign", testFreeRefusesForeign},
	{"RangeOpsRefuseForeign", testPortableRangeOpsRefuseForeign},
	{"BackendBadSpecs", testPortableBackendBadSpecs},
	{"BackendBadRanges", testPortableBackendBadRanges},
	{"Concurrent", testConcurrent},
	{"Mapping", testPortableMapping},
	{"MappingBadArguments", testMappingBadArguments},
	{"PackageOpsRefuseOwned", testPortablePackageOpsRefuseOwned},
}

// TestPortableIsTheOnlyBackend: other systems have one backend, the default.
func TestPortableIsTheOnlyBackend(t *testing.T) {
	t.Setenv(EnvBackend, "")
	assert.Equal(t, []string{"portable"}, Backends())
	assert.Equal(t, "portable", DefaultBackend())
	b, err := Alloc(1)
	require.NoError(t, err)
	defer Free(b)
	in, err := Stat(b)
	require.NoError(t, err)
	assert.Equal(t, "portable", in.Backend)
	for _, name := range []string{"syscall", "cgo", "purego"} {
		assert.ErrorIs(t, CheckBackend(name), ErrUnknownBackend, "%s is Linux's", name)
	}
}

// requireUnsupported checks that err refuses a feature that needs Linux: errors.Is matches
// ErrUnsupported and errors.ErrUnsupported, and the message names the feature and the system.
func requireUnsupported(t *testing.T, err error, feature string) {
	t.Helper()
	require.Error(t, err, feature)
	assert.ErrorIs(t, err, ErrUnsupported, feature)
	assert.ErrorIs(t, err, errors.ErrUnsupported, feature)
	assert.Contains(t, err.Error(), feature)
	assert.Contains(t, err.Error(), systemName())
}

// liveMappings counts the package's live records, to show that a refusal leaves none.
func liveMappings() int {
	live.RLock()
	defer live.RUnlock()
	return len(live.byStart)
}

func testPortableRefusals(t *testing.T, be string) {
	pg := PageSize()
	before := liveMappings()
	for _, c := range []struct {
		feature string
		opts    []Option
	}{
		{"NoDump", []Option{NoDump()}},
		{"WipeOnFork", []Option{WipeOnFork()}},
		{"DontFork", []Option{DontFork()}},
		{"SecretMem", []Option{SecretMem()}},
		{"NoDump", []Option{Pin(), NoDump(), WipeOnFork(), GuardPages()}}, // a Secure pool's set
	} {
		b, err := Alloc(pg, append(c.opts, WithBackend(be))...)
		requireUnsupported(t, err, c.feature)
		assert.Nil(t, b)
		m, err := Map(pg, append(c.opts, WithBackend(be))...)
		requireUnsupported(t, err, c.feature)
		assert.Nil(t, m)
	}

	// PinRequired fails the mapping: as ErrPinFailed, as on Linux, and as unsupported.
	b, err := Alloc(pg, PinRequired(), WithBackend(be))
	requireUnsupported(t, err, "pinning (mlock)")
	assert.ErrorIs(t, err, ErrPinFailed)
	assert.Nil(t, b)
	assert.Equal(t, before, liveMappings(), "no refusal leaves a mapping behind")

	// Lock and Unlock are refused on memory that is there to lock; the memory is unchanged.
	b = alloc(t, be, 2*pg)
	fill(b, 4)
	requireUnsupported(t, Lock(b), "Lock (mlock)")
	requireUnsupported(t, Unlock(b), "Unlock (munlock)")
	m := mapOwned(t, be, pg)
	requireUnsupported(t, m.Lock(m.Bytes()), "Lock (mlock)")
	requireUnsupported(t, m.Unlock(m.Bytes()), "Unlock (munlock)")
	assert.Equal(t, 2*pg, bytes.Count(b, []byte{4}))

	// VmFlags reads /proc/self/smaps, which is Linux's.
	flags, err := VmFlags(b)
	requireUnsupported(t, err, "VmFlags")
	assert.Nil(t, flags)
	ok, err := HasVmFlags(b, "rd")
	requireUnsupported(t, err, "VmFlags")
	assert.False(t, ok)
}

func testPortablePinBestEffort(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 4*pg, Pin())
	fill(b, 1)
	in, err := Stat(b)
	require.NoError(t, err)
	assert.False(t, in.Locked, "the portable backend pins nothing")
	requireUnsupported(t, in.LockErr, "pinning (mlock)")
	m := mapOwned(t, be, pg, Pin())
	assert.False(t, m.Info().Locked)
	requireUnsupported(t, m.Info().LockErr, "pinning (mlock)")
}

func testPortableHugePages(t *testing.T, be string) {
	b := alloc(t, be, 4<<20, HugePages(), Align(2<<20))
	assert.Zero(t, addrOf(b)%(2<<20))
	assert.True(t, isZero(b))
	fill(b, 1)
}

func testPortablePopulate(t *testing.T, be string) {
	pg := PageSize()
	for _, align := range []int{pg, 64 << 10} {
		b := alloc(t, be, 32*pg, Populate(), Align(align))
		assert.Zero(t, addrOf(b)%uintptr(align))
		assert.True(t, isZero(b), "populated pages read as zeros")
		fill(b, 2)
	}
}

func testPortableGuardPages(t *testing.T, be string) {
	pg := PageSize()
	if goMemory {
		b, err := Alloc(pg, GuardPages(), WithBackend(be))
		requireUnsupported(t, err, "GuardPages")
		assert.Nil(t, b)
		return
	}
	for _, c := range []struct {
		size int
		opts []Option
	}{
		{pg, nil},
		{2*pg - 100, nil},
		{3 * pg, []Option{Pin()}},
		{2 << 20, []Option{Align(2 << 20)}},
		{pg, []Option{guardPagesProtNone()}},
	} {
		b := alloc(t, be, c.size, append(c.opts, GuardPages())...)
		in, err := Stat(b)
		require.NoError(t, err)
		assert.Equal(t, "mprotect", in.Guard, "PROT_NONE pages: MADV_GUARD_INSTALL is Linux's")
		start, end := addrOf(b), addrOf(b)+uintptr(cap(b))
		assert.False(t, writeFaults(t, start), "first byte")
		assert.False(t, writeFaults(t, end-1), "last byte")
		assert.True(t, writeFaults(t, end), "write just past the end of %d bytes", c.size)
		assert.True(t, writeFaults(t, start-1), "write just before the start of %d bytes", c.size)
		assert.True(t, readFaults(t, end), "read just past the end")
		assert.True(t, readFaults(t, start-uintptr(pg)), "read at the start of the lower guard")
		assert.True(t, writeFaults(t, end+uintptr(pg)-1), "write at the end of the upper guard")
		m, err := find(b)
		require.NoError(t, err)
		assert.Equal(t, uintptr(pg), m.addr-m.base, "one page of lower guard")
		assert.Equal(t, uintptr(2*pg), m.total-m.size, "a page on each side")
	}
}

func testPortableProtect(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 2*pg)
	fill(b, 7)
	if goMemory {
		first := b[:pg:pg]
		for _, p := range []Prot{ProtNone, ProtRead, ProtReadWrite} {
			requireUnsupported(t, Protect(first, p), "Protect (mprotect")
		}
		assert.Equal(t, 2*pg, bytes.Count(b, []byte{7}), "nothing changed")
		return
	}
	checkProtect(t, b, nil)
}

// testPortableDiscard: fresh zero pages replace the discarded ones, and every page keeps the
// access it had (the portable backend remembers what Protect and guards set).
func testPortableDiscard(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 6*pg)
	fill(b, 0xab)
	if goMemory {
		requireUnsupported(t, Discard(b), "Discard")
		assert.Equal(t, 6*pg, bytes.Count(b, []byte{0xab}), "nothing changed")
		return
	}
	require.NoError(t, Discard(b[pg:3*pg:3*pg]))
	assert.True(t, isZero(b[pg:3*pg]), "discarded pages read as zeros")
	assert.Equal(t, []byte{0xab, 0xab, 0xab, 0xab}, []byte{b[0], b[pg-1], b[3*pg], b[6*pg-1]}, "the rest is kept")

	// Pages 3 and 4 inaccessible, page 5 read-only; discard all of it.
	a := addrOf(b)
	require.NoError(t, Protect(b[3*pg:5*pg:5*pg], ProtNone))
	require.NoError(t, Protect(b[5*pg:], ProtRead))
	require.NoError(t, Protect(b[4*pg:5*pg:5*pg], ProtNone)) // overlapping records are fine
	require.NoError(t, Discard(b))
	assert.True(t, isZero(b[:3*pg]), "discarded read-write pages read as zeros")
	assert.True(t, readFaults(t, a+uintptr(3*pg)), "a ProtNone page stays inaccessible")
	assert.True(t, writeFaults(t, a+uintptr(5*pg)-1), "its neighbour too")
	assert.False(t, readFaults(t, a+uintptr(5*pg)), "a ProtRead page stays readable")
	assert.Equal(t, byte(0), sink, "and reads as zero")
	assert.True(t, writeFaults(t, a+uintptr(5*pg)), "and read-only")
	assert.False(t, writeFaults(t, a+uintptr(3*pg)-1), "read-write pages stay writable")

	require.NoError(t, Protect(b, ProtReadWrite))
	require.NoError(t, Discard(b))
	assert.True(t, isZero(b), "after ProtReadWrite nothing is remembered: all read-write, all zero")
	b[5*pg] = 1
}

func testPortableGuard(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 3*pg)
	fill(b, 5)
	if goMemory {
		kind, err := Guard(b[pg : 2*pg : 2*pg])
		requireUnsupported(t, err, "Protect (mprotect")
		assert.Equal(t, "mprotect", kind)
		return
	}
	mid := checkGuard(t, b, "mprotect")
	require.NoError(t, Discard(b))
	assert.True(t, writeFaults(t, mid), "a guard stays a guard through a discard")
}

func testPortableRangeOpsRefuseForeign(t *testing.T, be string) {
	checkRangeOpsRefuseForeign(t, be, append(rangeOps[:len(rangeOps):len(rangeOps)],
		namedRangeOp{"Guard", func(b []byte) error { _, err := Guard(b); return err }}))
}

func testPortableBackendBadSpecs(t *testing.T, be string) {
	bk, err := openBackend(be)
	require.NoError(t, err)
	pg := uint64(PageSize())
	checkBadSpecs(t, bk, append(badSpecs(errNoMemory),
		badSpec{mapSpec{size: pg, align: pg, flags: specNoDump}, ErrUnsupported},
		badSpec{mapSpec{size: pg, align: pg, flags: specSecretMem | specLock}, ErrUnsupported}))

	s := mapSpec{size: 2 * pg, align: pg, flags: specLock}
	require.NoError(t, bk.mapRegion(&s))
	assert.Equal(t, s.addr, s.base)
	assert.Equal(t, s.size, s.total)
	assert.Zero(t, s.result, "not locked")
	assert.NotZero(t, s.lockErr, "and says so")
	require.NoError(t, bk.unmap(uintptr(s.base), uintptr(s.total)))
	if !goMemory {
		s = mapSpec{size: 2 * pg, align: pg, flags: specGuard | specNoGuardMadvise}
		require.NoError(t, bk.mapRegion(&s))
		assert.Equal(t, s.addr-pg, s.base)
		assert.Equal(t, s.size+2*pg, s.total)
		assert.Zero(t, s.result)
		require.NoError(t, bk.unmap(uintptr(s.base), uintptr(s.total)))
	}
}

func testPortableBackendBadRanges(t *testing.T, be string) {
	bk, err := openBackend(be)
	require.NoError(t, err)
	pg := uintptr(PageSize())
	a := checkBadRanges(t, bk, adviceDiscard)
	if goMemory {
		assert.ErrorIs(t, bk.unmap(a, pg), syscall.EINVAL, "Go memory is given back whole")
	}
	require.NoError(t, bk.unmap(a, 2*pg))
}

// testPortableMapping: a Mapping is an ordinary live mapping to its holder, as on Linux.
func testPortableMapping(t *testing.T, be string) {
	pg := PageSize()
	m := mapOwned(t, be, 3*pg+1)
	b, st := checkFreshMapping(t, m, be)
	a := addrOf(b)
	if !goMemory {
		checkMappingRangeOps(t, m, b, "mprotect")
	} else {
		requireUnsupported(t, m.Protect(b, ProtRead), "Protect")
		requireUnsupported(t, m.Discard(b), "Discard")
	}

	checkUnmap(t, m, b, st)
	if goMemory {
		assert.False(t, readFaults(t, a), "Go memory stays readable while a slice refers to it")
	} else {
		assert.True(t, readFaults(t, a), "the memory is gone")
	}
}

// testPortablePackageOpsRefuseOwned: Free and the package-level range operations refuse
// memory of a Mapping with ErrNotOwned (and ErrInvalid), and change nothing.
func testPortablePackageOpsRefuseOwned(t *testing.T, be string) {
	pg := PageSize()
	m := mapOwned(t, be, 4*pg)
	b := m.Bytes()
	fill(b, 0x77)
	for _, o := range []struct {
		name string
		op   func([]byte) error
	}{
		{"Free", Free},
		{"Lock", Lock},
		{"Unlock", Unlock},
		{"Protect", func(b []byte) error { return Protect(b, ProtNone) }},
		{"Discard", Discard},
		{"Guard", func(b []byte) error { _, err := Guard(b); return err }},
	} {
		for _, c := range []struct {
			what string
			b    []byte
		}{
			{"the whole mapping", b},
			{"an interior page", b[2*pg : 3*pg : 3*pg]},
			{"an interior slice off a page boundary", b[100:]},
		} {
			err := o.op(c.b)
			assert.ErrorIs(t, err, ErrNotOwned, "%s of %s", o.name, c.what)
			assert.ErrorIs(t, err, ErrInvalid, "%s of %s", o.name, c.what)
		}
	}
	assert.Equal(t, 4*pg, bytes.Count(b, []byte{0x77}), "contents unchanged")
	for i := range 4 {
		assert.False(t, writeFaults(t, addrOf(b)+uintptr(i*pg)), "page %d still writable", i)
	}
	require.NoError(t, m.Unmap(), "its own Unmap works")
	assert.False(t, errors.Is(Free(b), ErrNotOwned), "once unmapped it is no one's: plain ErrNotMapped")
}
