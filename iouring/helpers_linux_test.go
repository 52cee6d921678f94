//go:build !zeropool_portable

package iouring

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/pool"
)

const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// newRing returns a ring closed at the end of the test, or skips the test where io_uring is
// unavailable (saying why).
func newRing(t testing.TB) *uring.Ring {
	t.Helper()
	return newRingOf(t, 16)
}

// newRingOf is newRing with room for entries in flight.
func newRingOf(t testing.TB, entries uint32) *uring.Ring {
	t.Helper()
	if err := uring.Unavailable(); err != nil {
		t.Skip(err)
	}
	r, err := uring.New(entries)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	return r
}

// newTable returns a table of slots on r, closed at the end of the test unless the test
// closed it.
func newTable(t testing.TB, r *uring.Ring, slots int) *Table {
	t.Helper()
	tb, err := NewTable(r.FD(), slots)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := tb.Close(); err != nil {
			assert.ErrorIs(t, err, ErrClosed, "Table.Close at the end of the test")
		}
	})
	return tb
}

// hooked returns a pool announcing its regions to tb, closed at the end of the test unless
// the test closed it.
func hooked(t testing.TB, tb *Table, cfg pool.Config) *pool.BufferPool {
	t.Helper()
	cfg.OnMap, cfg.OnUnmap = tb.OnMap, tb.OnUnmap
	p, err := pool.NewWithConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			assert.ErrorIs(t, err, pool.ErrClosed, "pool Close at the end of the test")
		}
	})
	return p
}

// spans returns the regions the table holds, as Index sees them.
func (t *Table) spansNow() []span { return t.snap.Load().spans }

// pattern fills b with bytes that depend on seed and on each byte's offset, so that a
// transfer into the wrong place or from the wrong pages shows.
func pattern(b []byte, seed byte) {
	for i := range b {
		b[i] = byte(i*131+i>>9) ^ seed
	}
}

func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	pattern(b, seed)
	return b
}

// dataFile creates a file in dir holding data and returns it open for reading and writing.
func dataFile(t testing.TB, dir string, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, ".zeropool-iouring-*")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	})
	_, err = f.WriteAt(data, 0)
	require.NoError(t, err)
	return f
}

// readFixed reads len(buf) bytes at off of f into buf with READ_FIXED, through the slot
// Index gives, and returns the completion's result (bytes, or -errno).
func readFixed(t testing.TB, r *uring.Ring, tb *Table, fd int, buf []byte, off int64) int32 {
	t.Helper()
	idx, ok := tb.Index(buf)
	require.True(t, ok, "Index of a pooled buffer at %#x", addr(buf))
	cqes, err := r.Run(uring.SQE{Op: uring.OpReadFixed, FD: fd, Off: uint64(off), Buf: buf, BufIndex: idx})
	require.NoError(t, err)
	return cqes[0].Res
}

// writeFixed is readFixed's twin for WRITE_FIXED.
func writeFixed(t testing.TB, r *uring.Ring, tb *Table, fd int, buf []byte, off int64) int32 {
	t.Helper()
	idx, ok := tb.Index(buf)
	require.True(t, ok, "Index of a pooled buffer at %#x", addr(buf))
	cqes, err := r.Run(uring.SQE{Op: uring.OpWriteFixed, FD: fd, Off: uint64(off), Buf: buf, BufIndex: idx})
	require.NoError(t, err)
	return cqes[0].Res
}

// checkRoundTrip proves that READ_FIXED puts the file's bytes where buf's holder reads them,
// and that WRITE_FIXED sends the bytes buf's holder wrote: a stale registration (the kernel
// pinning other pages than the ones at buf's address) fails both.
func checkRoundTrip(t testing.TB, r *uring.Ring, tb *Table, dir string, buf []byte, seed byte) {
	t.Helper()
	n := len(buf)
	want := patterned(n, seed)
	f := dataFile(t, dir, want)
	clear(buf)
	res := readFixed(t, r, tb, int(f.Fd()), buf, 0)
	require.Equal(t, int32(n), res, "READ_FIXED of %d bytes: %v", n, errno(res))
	require.True(t, bytes.Equal(want, buf), "READ_FIXED put the file's bytes into the %d-byte pooled buffer (first difference at %d)", n, firstDiff(want, buf))

	pattern(buf, seed^0x5a)
	res = writeFixed(t, r, tb, int(f.Fd()), buf, 0)
	require.Equal(t, int32(n), res, "WRITE_FIXED of %d bytes: %v", n, errno(res))
	got := make([]byte, n)
	_, err := f.ReadAt(got, 0)
	require.NoError(t, err)
	require.True(t, bytes.Equal(buf, got), "WRITE_FIXED wrote the pooled buffer's bytes (first difference at %d)", firstDiff(buf, got))
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func errno(res int32) error {
	if res < 0 {
		return unix.Errno(-res)
	}
	return nil
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// vmPin returns the bytes this process has pinned (io_uring registered buffers, RDMA, ...),
// as the kernel counts them.
func vmPin(t testing.TB) int64 {
	t.Helper()
	n, err := procfs.StatusBytes("VmPin")
	require.NoError(t, err)
	return n
}

func vmLck(t testing.TB) int64 {
	t.Helper()
	n, err := procfs.StatusBytes("VmLck")
	require.NoError(t, err)
	return n
}

// regionBytes sums the sizes of the pool's live regions.
func regionBytes(p *pool.BufferPool) int64 {
	var n int64
	for _, r := range p.Regions() {
		n += int64(len(r.Mem))
	}
	return n
}

// checkInStep asserts that the table holds exactly the pool's live regions, each whole.
func checkInStep(t testing.TB, tb *Table, p *pool.BufferPool) {
	t.Helper()
	regions := p.Regions()
	spans := tb.spansNow()
	require.Len(t, spans, len(regions), "one slot per live region")
	seen := map[uint16]bool{}
	for _, r := range regions {
		idx, ok := tb.Index(r.Mem)
		require.True(t, ok, "region %d is registered whole", r.ID)
		assert.False(t, seen[idx], "slot %d holds one region", idx)
		seen[idx] = true
	}
}

// tempDir is a directory on a disk filesystem where there is one (the package directory),
// for O_DIRECT; t.TempDir may be tmpfs.
func packageDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

func childLine(format string, args ...any) { fmt.Printf("child: "+format+"\n", args...) }

func uringRead(fd int, b []byte, idx uint16) uring.SQE {
	return uring.SQE{Op: uring.OpReadFixed, FD: fd, Buf: b, BufIndex: idx}
}

func uringUnavailable() error { return uring.Unavailable() }

// inUnprivilegedChild runs child in a child process of the test binary as uid/gid 65534 (the
// test needs root to start it, and io_uring), checks that it passed unprivileged, and returns
// the values it printed; in the child it runs child and returns nil.
func inUnprivilegedChild(t *testing.T, child func(*testing.T)) map[string]int64 {
	t.Helper()
	if childtest.Is(t.Name()) {
		child(t)
		return nil
	}
	childtest.SkipUnlessRoot(t)
	if err := uringUnavailable(); err != nil {
		t.Skip(err)
	}
	out, err := childtest.Run(t, t.Name(), childtest.Options{Unprivileged: true, CopyFiles: []string{"ZEROPOOL_LIB"}})
	t.Logf("child output:\n%s", out)
	require.NoError(t, err, "the child failed:\n%s", out)
	assert.Contains(t, out, "--- PASS: "+t.Name())
	v := childtest.Values(t, out)
	require.Contains(t, v, "uid", "child output:\n%s", out)
	assert.Equal(t, int64(childtest.Nobody), v["uid"], "the child ran unprivileged")
	return v
}
