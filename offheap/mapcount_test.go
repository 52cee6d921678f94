//go:build linux && !zeropool_portable

package offheap

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/procfs"
)

// TestAtMapCountLimit: at vm.max_map_count the kernel refuses to unmap a mapping from the
// middle of a merged run of mappings (that needs one more map entry). Free and Unmap then
// fail with an error that says so, the mapping stays live and usable, and once entries are
// free again it can be unmapped. A fresh mapping whose slack the kernel refuses to trim keeps
// the slack as part of the mapping: nothing a backend mapped is ever forgotten. Runs in a
// child: the limit is per process.
func TestAtMapCountLimit(t *testing.T) {
	if err := procfs.CanFillMapCount(); err != nil {
		t.Skip(err)
	}
	if os.Getenv(childMode) == "mapcount" {
		mapCountChild(t)
		return
	}
	runBackendChild(t, "TestAtMapCountLimit", "mapcount", false, "map count limit checked: backend=%s\n")
}

func mapCountChild(t *testing.T) {
	backends := backendsOfParent(t)
	f, err := procfs.NewMapFiller()
	require.NoError(t, err)
	defer func() { assert.NoError(t, f.Close()) }()
	// atLimit runs op with the process at the limit, and gives entries back right after.
	atLimit := func(op func()) {
		t.Helper()
		require.NoError(t, f.Fill())
		op()
		require.NoError(t, f.Release(64))
	}
	for _, be := range backends {
		freeAtLimit(t, be, atLimit)
		unmapAtLimit(t, be, atLimit)
		trimAtLimit(t, be, atLimit)
		t.Logf("map count limit checked: backend=%s", be)
	}
}

// covered returns how many bytes of [lo, lo+n) /proc/self/maps shows mapped.
func covered(t *testing.T, lo, n uintptr) uintptr {
	t.Helper()
	maps, err := procfs.Maps()
	require.NoError(t, err)
	return procfs.Covered(maps, lo, lo+n)
}

// middleOf returns the index of the first of bs (page-sized, mapped one after another, so
// that most merge into one entry) that lies in the middle of its map entry, not at either end.
// A mapping placed in a hole that another left may merge on one side only, so there are
// several.
func middleOf(t *testing.T, bs [][]byte) int {
	t.Helper()
	maps, err := procfs.Maps()
	require.NoError(t, err)
	for i, b := range bs {
		lo, hi := addrOf(b), addrOf(b)+uintptr(cap(b))
		for _, e := range maps {
			if e.Lo < lo && hi < e.Hi {
				return i
			}
		}
	}
	t.Fatalf("none of %d mappings lies in the middle of a merged run", len(bs))
	return -1
}

func freeAtLimit(t *testing.T, be string, atLimit func(func())) {
	pg := uintptr(PageSize())
	bs := make([][]byte, 6)
	for i := range bs {
		b, err := Alloc(int(pg), WithBackend(be))
		require.NoError(t, err)
		bs[i] = b
	}
	k := middleOf(t, bs)
	mid := bs[k]
	fill(mid, 0x42)
	var err error
	atLimit(func() { err = Free(mid) })
	require.Error(t, err, "%s: Free from the middle of a merged run at the limit", be)
	assert.ErrorIs(t, err, unix.ENOMEM, "%s", be)
	assert.Contains(t, err.Error(), "vm.max_map_count", "%s: the error says why", be)
	in, err := Stat(mid)
	require.NoError(t, err, "%s: still live after the refusal", be)
	assert.Equal(t, int(pg), in.Size)
	assert.Equal(t, pg, covered(t, addrOf(mid), pg), "%s: /proc/self/maps still shows it", be)
	assert.Equal(t, byte(0x42), mid[pg-1], "%s: contents kept", be)
	mid[0] = 1 // still usable
	require.NoError(t, Free(mid), "%s: Free once entries are free again", be)
	assert.Zero(t, covered(t, addrOf(mid), pg), "%s: gone from /proc/self/maps", be)
	assert.ErrorIs(t, Free(mid), ErrNotMapped, "%s: freed once", be)
	for i, b := range bs {
		if i != k {
			require.NoError(t, Free(b))
		}
	}
}

func unmapAtLimit(t *testing.T, be string, atLimit func(func())) {
	pg := uintptr(PageSize())
	ms := make([]*Mapping, 6)
	bs := make([][]byte, len(ms))
	for i := range ms {
		m, err := Map(int(pg), WithBackend(be))
		require.NoError(t, err)
		ms[i], bs[i] = m, m.Bytes()
	}
	k := middleOf(t, bs)
	mid, b := ms[k], bs[k]
	var err error
	atLimit(func() { err = mid.Unmap() })
	require.Error(t, err, "%s: Unmap from the middle of a merged run at the limit", be)
	assert.ErrorIs(t, err, unix.ENOMEM, "%s", be)
	assert.Contains(t, err.Error(), "vm.max_map_count", "%s", be)
	assert.Equal(t, b, mid.Bytes(), "%s: still live after the refusal", be)
	require.NoError(t, mid.Protect(b, ProtRead), "%s: still usable", be)
	require.NoError(t, mid.Protect(b, ProtReadWrite))
	b[0] = 1
	assert.Equal(t, pg, covered(t, addrOf(b), pg), "%s", be)
	require.NoError(t, mid.Unmap(), "%s: Unmap once entries are free again", be)
	assert.Zero(t, covered(t, addrOf(b), pg), "%s", be)
	assert.ErrorIs(t, mid.Unmap(), ErrNotMapped, "%s", be)
	for i, m := range ms {
		if i != k {
			require.NoError(t, m.Unmap())
		}
	}
}

// bigAlign makes a mapping's raw length so large that the kernel places it below every other
// mapping (no hole between them fits it), next to the one mapped last.
const bigAlign = 64 << 20

// trimAtLimit: a mapping aligned beyond a page is over-mapped and trimmed. Placed right under a
// mapping it merges with, its upper slack is in the middle of the merged entry and cannot be
// trimmed at the limit: it must stay part of the mapping, so that Free unmaps it too.
func trimAtLimit(t *testing.T, be string, atLimit func(func())) {
	pg := uintptr(PageSize())
	roofPtr, err := unix.MmapPtr(-1, 0, nil, bigAlign+pg, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	roof := uintptr(roofPtr)
	defer func() { require.NoError(t, unix.MunmapPtr(roofPtr, bigAlign+pg)) }()
	// Two pages, so that the raw length is no multiple of 2 MiB: the kernel would align such
	// an anonymous mapping to a huge page boundary, away from its neighbour.
	size := 2 * pg
	raw := size + bigAlign - pg
	window := roof - raw // the raw mapping lies here, right under the roof

	var b []byte
	atLimit(func() { b, err = Alloc(int(size), Align(bigAlign), WithBackend(be)) })
	require.NoError(t, err, "%s: a mapping that merges with its neighbour needs no new entry", be)
	m, err := find(b)
	require.NoError(t, err)
	require.Equal(t, roof, m.base+m.total, "%s: the mapping ends at the roof: the slack above it was kept", be)
	assert.Greater(t, m.total, m.size, "%s: the slack is part of the mapping", be)
	assert.Equal(t, m.total, covered(t, m.base, m.total), "%s", be)
	assert.Equal(t, m.total, covered(t, window, raw), "%s: nothing mapped under the roof but the mapping", be)
	b[0] = 1
	require.NoError(t, Free(b))
	assert.Zero(t, covered(t, window, raw), "%s: Free unmapped the slack too", be)
}

// refusingBackend wraps a backend and makes its next refusals unmaps fail with ENOMEM, as the
// kernel does at vm.max_map_count. A fresh mapping is never in the middle of a merged run, so
// the kernel itself cannot be made to refuse the cleanup of a failed one on demand.
type refusingBackend struct {
	backend
	refusals int
	failMap  bool // mapRegion maps, then fails as if a later step had, leaving its cleanup to unmap
	noLock   bool // mapRegion locks nothing and says the lock was refused
}

func (b *refusingBackend) name() string { return "refusing" }

func (b *refusingBackend) unmap(addr, length uintptr) error {
	if b.refusals > 0 {
		b.refusals--
		return unix.ENOMEM
	}
	return b.backend.unmap(addr, length)
}

func (b *refusingBackend) mapRegion(s *mapSpec) error {
	if b.noLock {
		s.flags &^= specLock
		err := b.backend.mapRegion(s)
		s.flags |= specLock
		s.lockErr = -int64(unix.EPERM)
		return err
	}
	if err := b.backend.mapRegion(s); err != nil || !b.failMap {
		return err
	}
	// The recipe's cleanup, refused: the outputs say what stays mapped.
	s.addr, s.result, s.lockErr = 0, 0, 0
	if err := b.unmap(uintptr(s.base), uintptr(s.total)); err == nil {
		s.base, s.total = 0, 0
	}
	return unix.EINVAL
}

// TestStuckRangesUnmappedLater: when a failed mapping cannot be unmapped again (the
// recipe's cleanup, or Alloc's own after a refused required lock), the error says so and the
// bytes are unmapped after the next successful Free; nothing is forgotten.
func TestStuckRangesUnmappedLater(t *testing.T) {
	pg := uintptr(PageSize())
	inner, err := openBackend("syscall")
	require.NoError(t, err)
	rb := &refusingBackend{backend: inner}
	backends = append(backends, &backendSlot{name: rb.name(), open: func() (backend, error) { return rb, nil }})
	t.Cleanup(func() { backends = backends[:len(backends)-1] })
	stuckNow := func() []stuckRange {
		live.RLock()
		defer live.RUnlock()
		return append([]stuckRange(nil), live.stuck...)
	}

	for _, c := range []struct {
		name string
		opts []Option
		set  func()
		want error
	}{
		{"failed recipe", nil, func() { rb.failMap, rb.noLock, rb.refusals = true, false, 1 }, unix.EINVAL},
		// The backend is asked for a best-effort lock and Alloc unmaps again itself.
		{"required lock", []Option{PinRequired()}, func() { rb.failMap, rb.noLock, rb.refusals = false, true, 1 }, ErrPinFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.set()
			b, err := Alloc(int(pg), append(c.opts, WithBackend(rb.name()))...)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), "could not be unmapped again")
			st := stuckNow()
			require.Len(t, st, 1, "kept to be unmapped later")
			assert.Equal(t, st[0].total, covered(t, st[0].base, st[0].total), "still mapped")

			other := alloc(t, "syscall", int(pg))
			require.NoError(t, Free(other))
			assert.Empty(t, stuckNow(), "retried after a successful Free")
			// The range is unmapped now; the kernel may already have handed it to a new
			// mapping (the runtime's, a thread stack), so /proc/self/maps cannot tell.
			if n := covered(t, st[0].base, st[0].total); n != 0 {
				t.Logf("the range was mapped again by someone else since (%d bytes)", n)
			}
		})
	}
}

// refusingMunmap returns a munmap for syscallBackend that fails the next n calls with ENOMEM.
func refusingMunmap(n *int) func(addr, length uintptr) error {
	return func(addr, length uintptr) error {
		if *n > 0 {
			*n--
			return unix.ENOMEM
		}
		return unix.MunmapPtr(ptr(addr), length)
	}
}

// TestSyscallTrimRefused: slack that the kernel refuses to trim stays part of the mapping
// (zp_map's side of this is in csrc/zeropool_test.c).
func TestSyscallTrimRefused(t *testing.T) {
	pg := uint64(PageSize())
	const align = 64 << 10
	for _, refusals := range []int{1, 2} {
		n := refusals
		b := syscallBackend{munmap: refusingMunmap(&n)}
		s := mapSpec{size: pg, align: align}
		require.NoError(t, b.mapRegion(&s))
		assert.Zero(t, s.addr%align)
		assert.Greater(t, s.total, s.size, "%d refused: the slack is kept", refusals)
		if refusals == 2 && n == 0 {
			assert.Equal(t, pg+align-pg, s.total, "head and tail kept: the whole raw mapping")
		}
		assert.Equal(t, uintptr(s.total), covered(t, uintptr(s.base), uintptr(s.total)))
		n = 0 // one trim only when the raw mapping happened to start aligned
		require.NoError(t, b.unmap(uintptr(s.base), uintptr(s.total)))
		assert.Zero(t, covered(t, uintptr(s.base), uintptr(s.total)), "unmapping the mapping unmaps the slack")
	}
}
