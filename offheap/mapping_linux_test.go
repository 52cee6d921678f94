//go:build !zeropool_portable

package offheap

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testMapping: a Mapping is an ordinary live mapping to its holder: its methods act on it as
// the package-level functions act on memory from Alloc.
func testMapping(t *testing.T, be string) {
	pg := PageSize()
	m := mapOwned(t, be, 3*pg+1)
	b, st := checkFreshMapping(t, m, be)
	flags, err := VmFlags(b)
	require.NoError(t, err, "VmFlags reads owned memory")
	assert.Contains(t, flags, "wr")

	a := addrOf(b)
	checkMappingRangeOps(t, m, b, "madvise", "mprotect")
	if err := m.Lock(b[:pg:pg]); err == nil || os.Geteuid() == 0 {
		require.NoError(t, err, "root locks")
		assert.True(t, vmFlagSet(t, a)["lo"], "Lock: lo")
		require.NoError(t, m.Unlock(b[:pg:pg]))
		assert.False(t, vmFlagSet(t, a)["lo"], "Unlock: no lo")
	}

	checkUnmap(t, m, b, st)
	assert.True(t, readFaults(t, a), "the memory is gone")

	// Options apply as they do to Alloc.
	g := mapOwned(t, be, pg, GuardPages(), NoDump(), Align(64<<10))
	gb := g.Bytes()
	assert.Zero(t, addrOf(gb)%(64<<10))
	assert.NotEmpty(t, g.Info().Guard)
	assert.True(t, vmFlagSet(t, addrOf(gb))["dd"])
	assert.True(t, writeFaults(t, addrOf(gb)+uintptr(pg)), "the upper guard page")
}

// testPackageOpsRefuseOwned: Free and the package-level range operations refuse memory of a
// Mapping with ErrNotOwned (and ErrInvalid), and change nothing: the kernel still reports
// the mapping as it was.
func testPackageOpsRefuseOwned(t *testing.T, be string) {
	pg := PageSize()
	m := mapOwned(t, be, 4*pg)
	b := m.Bytes()
	fill(b, 0x77)
	before := vmFlagSet(t, addrOf(b))
	ops := []struct {
		name string
		op   func([]byte) error
	}{
		{"Free", Free},
		{"Lock", Lock},
		{"Unlock", Unlock},
		{"Protect", func(b []byte) error { return Protect(b, ProtNone) }},
		{"ProtectRead", func(b []byte) error { return Protect(b, ProtRead) }},
		{"Discard", Discard},
		{"Guard", func(b []byte) error { _, err := Guard(b); return err }},
	}
	for _, o := range ops {
		for _, c := range []struct {
			what string
			b    []byte
		}{
			{"the whole mapping", b},
			{"its first page", b[:pg:pg]},
			{"an interior page", b[2*pg : 3*pg : 3*pg]},
			{"an interior slice off a page boundary", b[100:]},
		} {
			err := o.op(c.b)
			assert.ErrorIs(t, err, ErrNotOwned, "%s of %s", o.name, c.what)
			assert.ErrorIs(t, err, ErrInvalid, "%s of %s", o.name, c.what)
			if err != nil {
				assert.Contains(t, err.Error(), "belongs to a pool")
			}
		}
	}
	assert.Equal(t, 4*pg, bytes.Count(b, []byte{0x77}), "contents unchanged")
	assert.Equal(t, before, vmFlagSet(t, addrOf(b)), "VmFlags unchanged")
	for i := range 4 {
		assert.False(t, writeFaults(t, addrOf(b)+uintptr(i*pg)), "page %d still writable", i)
	}
	assert.Equal(t, 4, residentPages(t, b), "nothing discarded")
	_, err := Stat(b)
	assert.NoError(t, err, "still live")
	require.NoError(t, m.Unmap(), "its own Unmap works")
	assert.False(t, errors.Is(Free(b), ErrNotOwned), "once unmapped it is no one's: plain ErrNotMapped")

	// Memory from Alloc is unaffected by the owned kind living beside it.
	u := alloc(t, be, pg)
	require.NoError(t, Protect(u, ProtRead))
	require.NoError(t, Protect(u, ProtReadWrite))
	u[0] = 1
}
