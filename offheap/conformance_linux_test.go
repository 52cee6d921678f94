//go:build !zeropool_portable

package offheap

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// conformanceCases is TestConformance's suite on Linux: every case, against every backend.
var conformanceCases = []conformanceCase{
	{"SizesAndContents", testSizesAndContents},
	{"Align", testAlign},
	{"VmFlags", testVmFlags},
	{"Pin", testPin},
	{"HugePages", testHugePages},
	{"Populate", testPopulate},
	{"GuardPages", testGuardPages},
	{"Protect", testProtect},
	{"LockUnlock", testLockUnlock},
	{"Discard", testDiscard},
	{"Guard", testGuard},
	{"Wipe", testWipe},
	{"BadArguments", testBadArguments},
	{"FreeRefusesForeign", testFreeRefusesForeign},
	{"RangeOpsRefuseForeign", testRangeOpsRefuseForeign},
	{"BackendBadSpecs", testBackendBadSpecs},
	{"BackendBadRanges", testBackendBadRanges},
	{"Concurrent", testConcurrent},
	{"Mapping", testMapping},
	{"MappingBadArguments", testMappingBadArguments},
	{"PackageOpsRefuseOwned", testPackageOpsRefuseOwned},
	{"SecretMem", testSecretMem},
}

func testVmFlags(t *testing.T, be string) {
	pg := PageSize()
	plain := alloc(t, be, 16*pg)
	flags := vmFlagSet(t, addrOf(plain))
	assert.True(t, flags["rd"] && flags["wr"], "plain mapping: %v", flags)
	for _, f := range []string{"lo", "dd", "wf", "dc", "hg"} {
		assert.False(t, flags[f], "a plain mapping has %q", f)
	}
	for _, c := range []struct {
		name string
		opt  Option
		flag string
	}{
		{"NoDump", NoDump(), "dd"},
		{"WipeOnFork", WipeOnFork(), "wf"},
		{"DontFork", DontFork(), "dc"},
	} {
		b := alloc(t, be, 16*pg, c.opt)
		assert.True(t, vmFlagSet(t, addrOf(b))[c.flag], "%s: %q at the start", c.name, c.flag)
		assert.True(t, vmFlagSet(t, addrOf(b)+uintptr(cap(b))-1)[c.flag], "%s: %q at the end", c.name, c.flag)
	}
	all := alloc(t, be, 16*pg, NoDump(), WipeOnFork(), DontFork(), GuardPages())
	flags = vmFlagSet(t, addrOf(all))
	for _, f := range []string{"dd", "wf", "dc"} {
		assert.True(t, flags[f], "all options: %q in %v", f, flags)
	}
}

func testPin(t *testing.T, be string) {
	pg := PageSize()
	for _, opt := range []Option{Pin(), PinRequired()} {
		b, err := Alloc(16*pg, opt, WithBackend(be))
		if err != nil && os.Geteuid() != 0 {
			t.Skipf("this user may not lock 16 pages: %v", err)
		}
		require.NoError(t, err)
		in, err := Stat(b)
		require.NoError(t, err)
		if os.Geteuid() == 0 {
			assert.True(t, in.Locked, "root locks")
			assert.NoError(t, in.LockErr)
		}
		if in.Locked {
			assert.True(t, vmFlagSet(t, addrOf(b))["lo"], "a locked mapping has lo")
		} else {
			assert.Error(t, in.LockErr, "an unlocked pinned mapping says why")
		}
		require.NoError(t, Free(b))
	}
}

func testHugePages(t *testing.T, be string) {
	if !thpAvailable() {
		t.Skip("no transparent huge pages in this kernel")
	}
	b := alloc(t, be, 4<<20, HugePages(), Align(2<<20))
	assert.Zero(t, addrOf(b)%(2<<20))
	assert.True(t, vmFlagSet(t, addrOf(b))["hg"], "HugePages: hg")
	fill(b, 1)
}

func testPopulate(t *testing.T, be string) {
	pg := PageSize()
	lazy := alloc(t, be, 32*pg)
	assert.Zero(t, residentPages(t, lazy), "an untouched mapping has no pages in RAM")
	// Page alignment takes MAP_POPULATE, a larger alignment MADV_POPULATE_WRITE.
	for _, align := range []int{pg, 64 << 10} {
		b := alloc(t, be, 32*pg, Populate(), Align(align))
		assert.Equal(t, 32, residentPages(t, b), "Populate with Align(%d)", align)
		assert.True(t, isZero(b))
	}
}

func testGuardPages(t *testing.T, be string) {
	pg := PageSize()
	for _, mode := range []struct {
		name  string
		opt   Option
		guard string // "" for the best the kernel supports
	}{
		{"Default", GuardPages(), ""},
		{"ProtNone", guardPagesProtNone(), "mprotect"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			for _, c := range []struct {
				size int
				opts []Option
			}{
				{pg, nil},
				{2*pg - 100, nil},
				{3 * pg, []Option{NoDump(), Pin()}},
				{2 << 20, []Option{Align(2 << 20)}},
			} {
				b := alloc(t, be, c.size, append(c.opts, mode.opt)...)
				in, err := Stat(b)
				require.NoError(t, err)
				want := mode.guard
				if want == "" {
					want = "mprotect"
					if guardInstallSupported(t) {
						want = "madvise"
					}
				}
				assert.Equal(t, want, in.Guard)
				assert.Equal(t, cap(b)+2*pg, in.Mapped, "Mapped counts the two guard pages")
				start, end := addrOf(b), addrOf(b)+uintptr(cap(b))
				assert.False(t, writeFaults(t, start), "first byte")
				assert.False(t, writeFaults(t, end-1), "last byte")
				assert.True(t, writeFaults(t, end), "write just past the end of %d bytes", c.size)
				assert.True(t, writeFaults(t, start-1), "write just before the start of %d bytes", c.size)
				assert.True(t, readFaults(t, end), "read just past the end")
				assert.True(t, readFaults(t, start-uintptr(pg)), "read at the start of the lower guard")
				assert.True(t, writeFaults(t, end+uintptr(pg)-1), "write at the end of the upper guard")
				if in.Guard == "mprotect" {
					for _, g := range []uintptr{start - 1, end} {
						f := vmFlagSet(t, g)
						assert.False(t, f["rd"] || f["wr"], "a PROT_NONE guard page: %v", f)
					}
				}
				assert.Equal(t, []byte{1, 1}, []byte{b[0], b[:cap(b)][cap(b)-1]}, "the stores that did not fault landed")
			}
		})
	}
}

func testProtect(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 2*pg)
	fill(b, 7)
	checkProtect(t, b, func(a uintptr) { assert.False(t, vmFlagSet(t, a)["rd"]) })
}

func testLockUnlock(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 4*pg)
	err := Lock(b)
	if err != nil && os.Geteuid() != 0 {
		t.Skipf("this user may not lock 4 pages: %v", err)
	}
	require.NoError(t, err)
	assert.True(t, vmFlagSet(t, addrOf(b))["lo"])
	require.NoError(t, Unlock(b))
	assert.False(t, vmFlagSet(t, addrOf(b))["lo"])

	second := b[pg : 2*pg : 2*pg]
	require.NoError(t, Lock(second))
	assert.True(t, vmFlagSet(t, addrOf(second))["lo"], "the locked page")
	assert.False(t, vmFlagSet(t, addrOf(b))["lo"], "the page before it")
	assert.False(t, vmFlagSet(t, addrOf(b)+uintptr(2*pg))["lo"], "the page after it")
	require.NoError(t, Unlock(second))
}

func testDiscard(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 4*pg)
	fill(b, 0xab)
	assert.Equal(t, 4, residentPages(t, b))

	require.NoError(t, Discard(b[pg:3*pg:3*pg]))
	assert.Equal(t, 2, residentPages(t, b), "discarded pages leave RAM")
	assert.True(t, isZero(b[pg:3*pg]), "discarded pages read as zeros")
	assert.Equal(t, []byte{0xab, 0xab, 0xab, 0xab}, []byte{b[0], b[pg-1], b[3*pg], b[4*pg-1]}, "the rest is kept")

	require.NoError(t, Discard(b))
	assert.True(t, isZero(b))
	b[5] = 1 // still mapped and writable
}

func testGuard(t *testing.T, be string) {
	pg := PageSize()
	b := alloc(t, be, 3*pg)
	fill(b, 5)
	checkGuard(t, b, "madvise", "mprotect")
}

func testRangeOpsRefuseForeign(t *testing.T, be string) {
	pg := PageSize()
	b := checkRangeOpsRefuseForeign(t, be, rangeOps)
	require.NoError(t, Discard(b[pg:]), "an interior range on a page boundary is fine")
	assert.Equal(t, byte(1), b[0])
}

// testBackendBadSpecs calls the backend directly with specs that Alloc never builds: every
// backend must refuse them the same way and leave nothing behind.
func testBackendBadSpecs(t *testing.T, be string) {
	bk, err := openBackend(be)
	require.NoError(t, err)
	pg := uint64(PageSize())
	checkBadSpecs(t, bk, badSpecs(unix.ENOMEM))

	s := mapSpec{size: 2 * pg, align: pg, flags: specGuard | specNoGuardMadvise | specNoDump}
	require.NoError(t, bk.mapRegion(&s))
	assert.Equal(t, s.addr-pg, s.base)
	assert.Equal(t, s.size+2*pg, s.total)
	assert.Zero(t, s.result)
	assert.True(t, vmFlagSet(t, uintptr(s.addr))["dd"])
	require.NoError(t, bk.unmap(uintptr(s.base), uintptr(s.total)))
}

func testBackendBadRanges(t *testing.T, be string) {
	bk, err := openBackend(be)
	require.NoError(t, err)
	a := checkBadRanges(t, bk, unix.MADV_DONTNEED)
	require.NoError(t, bk.unmap(a, 2*uintptr(PageSize())))
}

// TestBackendsCompiledIn checks the list against this build's tags and the preference order.
func TestBackendsCompiledIn(t *testing.T) {
	t.Setenv(EnvBackend, "")
	want := []string{"syscall"}
	if puregoCompiled {
		want = append([]string{"purego"}, want...)
	}
	if cgoCompiled {
		want = append([]string{"cgo"}, want...)
	}
	assert.Equal(t, want, Backends())
	assert.Equal(t, want[0], DefaultBackend(), "the default is the first compiled in")
	if slices.Contains(usableBackends(t), DefaultBackend()) {
		b, err := Alloc(1)
		require.NoError(t, err)
		t.Cleanup(func() { _ = Free(b) })
		in, err := Stat(b)
		require.NoError(t, err)
		assert.Equal(t, DefaultBackend(), in.Backend, "Alloc without WithBackend")
	}
}
