package offheap

import (
	"bytes"
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
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

// heapPages returns n page-aligned pages of Go heap memory.
func heapPages(n int) []byte {
	pg := PageSize()
	raw := make([]byte, (n+1)*pg)
	off := (pg - int(addrOf(raw)%uintptr(pg))) % pg
	return raw[off : off+n*pg : off+n*pg]
}
