package pool

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/offheap"
)

// newPool builds a pool for one test and closes it when the test ends. The Close error is
// ignored: tests that care about it call Close themselves. Where this system refuses the
// config, the test is skipped with the reason.
func newPool(t testing.TB, cfg Config) *BufferPool {
	t.Helper()
	skipWhereRefused(t, cfg)
	p, err := NewWithConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Close()
		p.idle.check() // under zeropool_checks: the budget within its bounds once the test is done
	})
	return p
}

// addrOf returns the address of a slice's first element, whatever its len and cap.
func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// oneP runs the rest of the test with GOMAXPROCS 1. The pool reuses buffers through per-P
// caches first, so a Get is only certain to find the buffer the previous Put cached when both
// run on the same P; with one P they always do.
func oneP(t testing.TB) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// onGoHeap asks the Go runtime itself whether b's first byte lies in its heap.
// runtime.AddCleanup looks the address up in the heap's span table and panics with
// "not in allocated block" for an address that no heap span covers, i.e. memory that the Go
// allocator did not hand out. For a heap address it registers a cleanup, which is stopped at
// once. (For the address of a global variable AddCleanup does nothing and onGoHeap answers
// true; callers pass memory from the pool, never globals.)
func onGoHeap(b []byte) (heap bool) {
	p := unsafe.SliceData(b)
	defer func() {
		if r := recover(); r != nil {
			if s := fmt.Sprint(r); !strings.Contains(s, "not in allocated block") {
				panic(r)
			}
			heap = false
		}
	}()
	c := runtime.AddCleanup(p, func(int) {}, 0)
	c.Stop()
	return true
}

// requireOffHeap checks that b's memory lives outside the Go heap: the runtime's span table
// does not know it (onGoHeap), and /proc/self/smaps shows a mapping that holds it, readable
// and writable. Where offheap's portable backend backs mappings with Go memory (windows,
// plan9, js, wasip1, or the zeropool_gomem tag) there is nothing to check.
func requireOffHeap(t testing.TB, b []byte) {
	t.Helper()
	require.NotZero(t, cap(b), "an empty slice owns no memory")
	if backendIsGoMemory(t) {
		return
	}
	assert.False(t, onGoHeap(b), "%#x is inside the Go heap", addrOf(b))
	if !linuxKernel {
		return
	}
	flags, err := offheap.VmFlags(b)
	if assert.NoError(t, err, "no mapping holds %#x", addrOf(b)) {
		assert.Subset(t, flags, []string{"rd", "wr"}, "VmFlags of the mapping at %#x", addrOf(b))
	}
}

// backendIsGoMemory reports whether the default backend's memory is Go memory (offheap's
// portable backend where the system has no mmap): a page of its lies in the Go heap.
func backendIsGoMemory(t testing.TB) bool {
	t.Helper()
	m, err := offheap.Map(offheap.PageSize())
	require.NoError(t, err)
	defer m.Unmap()
	return onGoHeap(m.Bytes())
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// classFor returns the size class Get serves a request of n bytes (n >= 1) from.
func classFor(n int) int {
	c := minClassSize
	for c < n && c < maxSlabClassSize {
		c <<= 1
	}
	if c >= n {
		return c
	}
	// Above the slab classes: four classes per power of two, 5/4, 6/4, 7/4 and 8/4 of it.
	for o := maxSlabClassSize; ; o <<= 1 {
		for q := 5; q <= 8; q++ {
			if c = o / 4 * q; c >= n {
				return c
			}
		}
	}
}

// classRow returns the per-class row of s for buffers of size bytes.
func classRow(t testing.TB, s Stats, size int) ClassStats {
	t.Helper()
	for _, c := range s.Classes {
		if c.Size == size {
			return c
		}
	}
	require.Failf(t, "no class row", "no row for class %d in\n%s", size, s)
	return ClassStats{}
}

// roundTrip checks that p still serves a Get and takes the buffer back.
func roundTrip(t testing.TB, p *BufferPool, size int) {
	t.Helper()
	before := p.Stats()
	b, err := p.TryGet(size)
	require.NoError(t, err, "Get(%d)", size)
	require.Len(t, b, size)
	b[0], b[size-1] = 0x5a, 0xa5
	assert.Equal(t, before.InUse+1, p.Stats().InUse, "InUse while a buffer is out")
	assert.NoError(t, p.Put(b), "Put of the buffer Get(%d) returned", size)
	assert.Equal(t, before.InUse, p.Stats().InUse, "InUse after the round trip")
}

// mustPanicWith runs f and returns the error it panicked with; it fails the test if f
// returns normally or panics with something that is not an error.
func mustPanicWith(t testing.TB, f func()) (err error) {
	t.Helper()
	defer func() {
		r := recover()
		require.NotNil(t, r, "expected a panic")
		e, ok := r.(error)
		require.True(t, ok, "panic value %v (%T) is not an error", r, r)
		err = e
	}()
	f()
	return nil
}

// procStatus returns a field of /proc/self/status in bytes ("VmLck", "VmSize", ...), for
// fields that the kernel reports in kB.
func procStatus(t testing.TB, field string) int64 {
	t.Helper()
	n, err := procfs.StatusBytes(field)
	require.NoError(t, err)
	return n
}

// vmLck returns the bytes this process has locked into RAM, as the kernel counts them.
func vmLck(t testing.TB) int64 { return procStatus(t, "VmLck") }

// hasCapIPCLock reports whether CAP_IPC_LOCK is in this process's effective set, so that mlock
// is not bounded by RLIMIT_MEMLOCK.
func hasCapIPCLock() bool {
	v, err := procfs.StatusField("CapEff")
	if err != nil {
		return false
	}
	const capIPCLock = 14
	caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
	return err == nil && caps&(1<<capIPCLock) != 0
}

// ptr turns an address of the pool's memory into a pointer, for tests that touch memory by
// address.
func ptr(a uintptr) unsafe.Pointer { return addr(a).pointer() }

// inChild runs body in a child process of the test binary (childtest), for tests whose
// failure may be a fatal error (a fault in memory the runtime does not know, a deadlock the
// runtime reports) that would otherwise take the whole test binary down. The parent passes
// when the child's test passed.
func inChild(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	if childtest.Is(t.Name()) {
		body(t)
		return
	}
	out, err := childtest.Run(t, t.Name(), childtest.Options{})
	require.NoError(t, err, "the child failed:\n%s", out)
	if strings.Contains(out, "--- SKIP: "+t.Name()) {
		t.Skipf("the child skipped:\n%s", out)
	}
	assert.Contains(t, out, "--- PASS: "+t.Name(), "child output:\n%s", out)
}

// recovered runs f and returns the value it panicked with, nil if it returned.
func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// mappedAt reports whether a map entry of this process covers [lo, lo+n) exactly as one
// region of the pool would: the kernel's word on whether a region is still mapped. (The
// kernel reuses freed ranges, but not for an entry of exactly that range in the moments a
// test looks.)
func mappedAt(t testing.TB, lo uintptr, n int) bool {
	t.Helper()
	maps, err := procfs.Maps()
	require.NoError(t, err)
	return procfs.Covered(maps, lo, lo+uintptr(n)) == uintptr(n)
}
