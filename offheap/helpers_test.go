package offheap

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Which optional backends this build compiles in; cgo_test.go and purego_test.go set them
// under the same build tags as the backends.
var cgoCompiled, puregoCompiled bool

// libInUse returns the path of the shared library the purego backend loaded, if it did.
var libInUse = func() string { return "" }

// libraryMissing reports whether a backend failed to open only because its shared library is
// nowhere to be found; purego_test.go sets it where that backend is compiled in.
var libraryMissing = func(error) bool { return false }

// requireBackend stops the test when a listed backend cannot be used. That is a failure, with
// one exception: the purego backend with no library anywhere and ZEROPOOL_LIB unset (a plain
// `go test -tags zeropool_purego` before `make lib`) is skipped with the reason.
func requireBackend(tb testing.TB, name string) {
	tb.Helper()
	err := CheckBackend(name)
	if err == nil {
		return
	}
	if os.Getenv("ZEROPOOL_LIB") == "" && libraryMissing(err) {
		tb.Skipf("backend %s: %v", name, err)
	}
	tb.Fatalf("backend %s is compiled in but cannot be used: %v", name, err)
}

// usableBackends lists the backends requireBackend would not skip.
func usableBackends(t *testing.T) []string {
	var names []string
	for _, name := range Backends() {
		if err := CheckBackend(name); err != nil && os.Getenv("ZEROPOOL_LIB") == "" && libraryMissing(err) {
			continue
		}
		names = append(names, name)
	}
	return names
}

// alloc maps size bytes with the named backend and frees them when the test ends, unless the
// test freed them itself.
func alloc(t *testing.T, backend string, size int, opts ...Option) []byte {
	t.Helper()
	b, err := Alloc(size, append(opts, WithBackend(backend))...)
	require.NoError(t, err, "Alloc(%d) with the %s backend", size, backend)
	t.Cleanup(func() { _ = Free(b) })
	return b
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

func fill(b []byte, v byte) {
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// sink keeps a read from being optimized away.
var sink byte

// faultOn runs touch and reports the address of the fault it caused, if any. The fault
// (SIGSEGV or SIGBUS on a guard page, a PROT_NONE page or an unmapped one) becomes a panic
// through debug.SetPanicOnFault and is recovered here; any other panic goes on.
func faultOn(touch func()) (addr uintptr, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			addr, faulted = e.Addr(), true
		}
	}()
	touch()
	return 0, false
}

// writeFaults reports whether a one-byte store at addr faults, checking that the fault is at
// addr and not somewhere else.
func writeFaults(t *testing.T, addr uintptr) bool {
	t.Helper()
	at, faulted := faultOn(func() { *(*byte)(ptr(addr)) = 1 })
	if faulted {
		require.Equal(t, addr, at, "fault address")
	}
	return faulted
}

// readFaults is writeFaults for a load.
func readFaults(t *testing.T, addr uintptr) bool {
	t.Helper()
	at, faulted := faultOn(func() { sink = *(*byte)(ptr(addr)) })
	if faulted {
		require.Equal(t, addr, at, "fault address")
	}
	return faulted
}

// residentPages counts the pages of b[:cap(b)] that are in RAM (mincore).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	n := (cap(b) + PageSize() - 1) / PageSize()
	vec := make([]byte, n)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, addrOf(b), uintptr(cap(b)), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, e, "mincore")
	count := 0
	for _, v := range vec {
		count += int(v & 1)
	}
	return count
}

// vmFlagSet is VmFlags at addr as a set.
func vmFlagSet(t *testing.T, addr uintptr) map[string]bool {
	t.Helper()
	flags, err := vmFlagsAt(addr)
	require.NoError(t, err)
	set := make(map[string]bool, len(flags))
	for _, f := range flags {
		set[f] = true
	}
	return set
}

// thpAvailable reports whether the kernel has transparent huge pages at all (MADV_HUGEPAGE
// is EINVAL without them, and accepted whatever the sysfs policy says with them).
func thpAvailable() bool {
	_, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil
}

// heapPages returns n page-aligned pages of Go heap memory.
func heapPages(n int) []byte {
	pg := PageSize()
	raw := make([]byte, (n+1)*pg)
	off := (pg - int(addrOf(raw)%uintptr(pg))) % pg
	return raw[off : off+n*pg : off+n*pg]
}

// guardInstallSupported probes for MADV_GUARD_INSTALL (Linux 6.13+) on a scratch page.
func guardInstallSupported(t *testing.T) bool {
	t.Helper()
	m, err := unix.Mmap(-1, 0, PageSize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	defer unix.Munmap(m)
	return unix.Madvise(m, unix.MADV_GUARD_INSTALL) == nil
}

// runBackendChild runs test again in a child process in mode (unprivileged when asked) and
// checks that it passed and that it checked every usable backend: each writes line, with %s
// for the backend's name.
func runBackendChild(t *testing.T, test, mode string, unprivileged bool, line string) {
	t.Helper()
	out, err := runChild(t, test, mode, nil, unprivileged)
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, out, "--- PASS: "+test)
	for _, be := range usableBackends(t) {
		assert.Contains(t, out, fmt.Sprintf(line, be), "child:\n%s", out)
	}
}

// lowerMemlock sets the child's RLIMIT_MEMLOCK to limit bytes and skips where the child is
// still root (whom the limit does not bind).
func lowerMemlock(t *testing.T, limit uint64) {
	t.Helper()
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}))
	if os.Geteuid() == 0 {
		t.Skip("still root: the parent could not drop privileges")
	}
}
