//go:build !zeropool_portable

package iouring

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

func TestNewTableBadInput(t *testing.T) {
	r := newRing(t)
	for _, slots := range []int{0, -1, MaxSlots + 1} {
		_, err := NewTable(r.FD(), slots)
		assert.ErrorIs(t, err, ErrInvalidSlots, "slots %d", slots)
	}

	_, err := NewTable(-1, 8)
	assert.ErrorIs(t, err, ErrRingClosed, "fd -1")
	assert.ErrorIs(t, err, unix.EBADF)

	// A ring whose descriptor was closed.
	closed := newRing(t)
	fd := closed.FD()
	require.NoError(t, closed.Close())
	_, err = NewTable(fd, 8)
	assert.ErrorIs(t, err, ErrRingClosed, "a closed ring's descriptor")

	// A descriptor that is not an io_uring.
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	_, err = NewTable(int(f.Fd()), 8)
	assert.ErrorIs(t, err, ErrRingClosed, "a file that is not a ring")
	assert.ErrorIs(t, err, unix.EOPNOTSUPP)

	// A ring has one buffer table.
	tb := newTable(t, r, 8)
	_, err = NewTable(r.FD(), 8)
	assert.ErrorIs(t, err, unix.EBUSY, "a second table on one ring")
	assert.Contains(t, err.Error(), "already has a registered-buffer table")
	require.NoError(t, tb.Close())
	tb2, err := NewTable(r.FD(), MaxSlots)
	require.NoError(t, err, "after Close the ring takes a new table, of up to MaxSlots")
	require.NoError(t, tb2.Close())
}

// An OnMap error fails the Get that needed the region; nothing is registered, nothing stays
// mapped or pinned, and the pool keeps serving what it can.
func TestOnMapErrorFailsTheGet(t *testing.T) {
	r := newRing(t)
	pin0 := vmPin(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{MaxBufferSize: 1 * MiB})

	// A region above the kernel's 1 GiB per registered buffer (an oversize Get: mapped, never
	// touched, so this costs no memory).
	_, err := p.TryGet(MaxRegionSize + 1)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Empty(t, p.Regions(), "the refused region was unmapped")
	assert.Zero(t, p.Stats().MappedBytes)
	assert.Empty(t, tb.spansNow())

	// A closed table refuses every region.
	require.NoError(t, tb.Close())
	for _, n := range []int{4 * KiB, 1 * MiB} {
		_, err := p.TryGet(n)
		require.ErrorIs(t, err, ErrClosed, "Get(%d) with a closed table", n)
		assert.Contains(t, err.Error(), "OnMap", "the pool says which hook refused")
	}
	assert.Panics(t, func() { p.Get(4 * KiB) }, "Get panics where TryGet errs")
	assert.Empty(t, p.Regions())
	assert.Zero(t, p.Stats().MappedBytes)
	assert.Equal(t, pin0, vmPin(t), "nothing pinned")
	require.NoError(t, p.Close())
}

// A full table fails the Get that needs one more region, wrapped; once Trim unmaps regions,
// their slots take new ones.
func TestTableFull(t *testing.T) {
	oneP(t)
	r := newRing(t)
	tb := newTable(t, r, 2)
	p := hooked(t, tb, pool.Config{})
	a, b := p.Get(1*MiB), p.Get(1*MiB) // a region each
	_, err := p.TryGet(1 * MiB)
	require.ErrorIs(t, err, ErrTableFull)
	assert.Contains(t, err.Error(), "all 2 slots")
	_, err = p.TryGet(4 * KiB) // a slab: a region too
	require.ErrorIs(t, err, ErrTableFull)
	assert.Len(t, p.Regions(), 2, "the refused regions were unmapped")
	checkInStep(t, tb, p)

	// Buffers of the registered regions still work.
	checkRoundTrip(t, r, tb, t.TempDir(), a, 1)
	require.NoError(t, p.Put(a))
	require.NoError(t, p.Put(b))
	p.Trim()
	assert.Empty(t, tb.spansNow(), "Trim unmapped both regions and cleared their slots")
	c, d := p.Get(4*KiB), p.Get(1*MiB)
	checkRoundTrip(t, r, tb, t.TempDir(), c, 2)
	checkRoundTrip(t, r, tb, t.TempDir(), d, 3)
	checkInStep(t, tb, p)
	require.NoError(t, p.Put(c))
	require.NoError(t, p.Put(d))
}

// The table's regions must not overlap and must not be empty; OnUnmap of a region the table
// does not hold changes nothing.
func TestRegionsChecked(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{})
	buf := p.Get(64 * KiB)
	reg, off, err := p.RegionOf(buf)
	require.NoError(t, err)
	before := tb.spansNow()

	assert.ErrorIs(t, tb.OnMap(reg), ErrInvalidRegion, "the same region twice")
	assert.ErrorIs(t, tb.OnMap(pool.Region{ID: 99, Mem: reg.Mem[off : off+4096]}), ErrInvalidRegion, "a part of a registered region")
	assert.ErrorIs(t, tb.OnMap(pool.Region{ID: 99}), ErrInvalidRegion, "an empty region")
	assert.Equal(t, before, tb.spansNow())

	tb.OnUnmap(pool.Region{ID: 98, Mem: make([]byte, 4096)})
	tb.OnUnmap(pool.Region{ID: 97, Mem: reg.Mem[:4096]}) // the right start, the wrong length
	tb.OnUnmap(pool.Region{})
	assert.Equal(t, before, tb.spansNow(), "unknown regions are ignored")
	assert.NoError(t, tb.Err())
	checkRoundTrip(t, r, tb, t.TempDir(), buf, 4)
	require.NoError(t, p.Put(buf))
}

// Index answers only for memory in a registered region, and only when the whole slice fits.
func TestIndex(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{})
	other := pool.New() // a pool without the table's hooks
	defer other.Close()

	heap := make([]byte, 4096)
	foreign := other.Get(4096)
	defer other.Put(foreign)
	for name, b := range map[string][]byte{"heap": heap, "nil": nil, "empty": heap[:0:0], "unhooked pool": foreign} {
		_, ok := tb.Index(b)
		assert.False(t, ok, name)
	}

	buf := p.Get(1 * MiB)
	reg, _, err := p.RegionOf(buf)
	require.NoError(t, err)
	idx, ok := tb.Index(buf)
	require.True(t, ok)
	for name, b := range map[string][]byte{"whole": buf, "interior": buf[100:200], "last byte": buf[len(buf)-1:], "len 0 inside": buf[10:10]} {
		got, ok := tb.Index(b)
		assert.True(t, ok, name)
		assert.Equal(t, idx, got, name)
	}
	end := unsafe.Add(unsafe.Pointer(unsafe.SliceData(reg.Mem)), len(reg.Mem)-10)
	_, ok = tb.Index(unsafe.Slice((*byte)(end), 20))
	assert.False(t, ok, "a slice that runs past its region's end")
	assert.Zero(t, testing.AllocsPerRun(100, func() { tb.Index(buf) }), "Index does not allocate")
	require.NoError(t, p.Put(buf))
}

// A ring closed under the table: OnMap says so, a failed OnUnmap is counted and reported by
// Err, and its slot is never handed out again.
func TestRingClosedUnderTheTable(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 4)
	p := hooked(t, tb, pool.Config{MaxIdleBytes: 1})
	buf := p.Get(1 * MiB)
	idx, ok := tb.Index(buf)
	require.True(t, ok)
	free := len(tb.free)

	// The table's own descriptor is what it calls the kernel with; closing it is what a
	// library closing every descriptor it does not know would do.
	require.NoError(t, unix.Close(tb.fd))
	_, err := p.TryGet(1 * MiB)
	require.ErrorIs(t, err, ErrRingClosed)
	assert.ErrorIs(t, err, unix.EBADF)

	require.NoError(t, p.Put(buf)) // MaxIdleBytes 1: unmapped at once, OnUnmap cannot clear
	_, ok = tb.Index(buf)
	assert.False(t, ok, "Index forgets the region at once")
	err = tb.Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrRingClosed)
	assert.Contains(t, err.Error(), "1 OnUnmap")
	assert.Len(t, tb.free, free, "the slot of the failed clear is not reused")
	assert.NotContains(t, tb.free, idx)
	err = tb.Close()
	assert.ErrorIs(t, err, ErrRingClosed, "Close cannot unregister through a closed descriptor")
	assert.ErrorIs(t, tb.Close(), ErrClosed)
}

// The registration follows the pool under concurrent Gets, Puts and Trims from many
// goroutines (run with -race): every buffer out is in a registered region, and at the end
// the table holds exactly the pool's regions.
func TestConcurrentHooks(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 256)
	p := hooked(t, tb, pool.Config{MaxIdleBytes: 8 * MiB, MaxBufferSize: 2 * MiB})
	var ringMu sync.Mutex
	f := dataFile(t, t.TempDir(), patterned(4*MiB, 9))
	var wg sync.WaitGroup
	sizes := []int{512, 4 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB /* oversize */}
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				n := sizes[(g+i)%len(sizes)]
				b, err := p.TryGet(n)
				if err != nil {
					errs <- err
					return
				}
				idx, ok := tb.Index(b)
				if !ok {
					errs <- errors.New("a buffer out is in no registered region")
					return
				}
				if i%25 == 0 { // now and then, a real READ_FIXED
					ringMu.Lock()
					clear(b)
					cqes, err := r.Run(uringRead(int(f.Fd()), b, idx))
					ringMu.Unlock()
					if err != nil || cqes[0].Res != int32(n) || firstDiff(b, patterned(n, 9)) != -1 {
						errs <- errors.New("READ_FIXED into a buffer under concurrent hooks")
						return
					}
				}
				if err := p.Put(b); err != nil {
					errs <- err
					return
				}
				if i%50 == g {
					p.Trim()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkInStep(t, tb, p)
	require.NoError(t, p.Close())
	assert.Empty(t, tb.spansNow())
	assert.Len(t, tb.free, 256)
}

// VmPin, the kernel's count of this process's pinned pages, grows by exactly the registered
// regions and returns to where it started once the pool is closed.
func TestVmPinReturns(t *testing.T) {
	r := newRing(t)
	pin0 := vmPin(t)
	tb := newTable(t, r, 16)
	p := hooked(t, tb, pool.Config{})
	var bufs [][]byte
	for _, tc := range sizes {
		bufs = append(bufs, p.Get(tc.size), p.Get(tc.size))
	}
	assert.Equal(t, regionBytes(p), vmPin(t)-pin0, "VmPin grew by the registered regions")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	p.Trim()
	assert.Equal(t, regionBytes(p), vmPin(t)-pin0, "after Trim, by the regions still mapped")
	require.NoError(t, p.Close())
	assert.Equal(t, pin0, vmPin(t), "after Close, back to the start")
	require.NoError(t, tb.Close())
	assert.Equal(t, pin0, vmPin(t))
}

// Unprivileged (no CAP_IPC_LOCK), registered buffers are bounded by RLIMIT_MEMLOCK: the Get
// that would pass it fails with ErrMemlock, nothing is registered, and the pool serves again
// once Trim has unregistered regions. The bound is the user's, counted apart from mlock's
// (a Pinned pool locks as much again), as the child's VmPin and VmLck show. The test runs in
// a child process as uid/gid 65534 with RLIMIT_MEMLOCK lowered.
func TestMemlockLimit(t *testing.T) {
	v := inUnprivilegedChild(t, memlockChild)
	if v == nil {
		return // this is the child
	}
	assert.Equal(t, int64(memlockLimit), v["memlock"])
	assert.Equal(t, int64(1), v["memlock-refused"], "the Get beyond the limit failed with ErrMemlock")
	assert.Equal(t, int64(2*MiB), v["vmpin"], "one slab registered")
	assert.Equal(t, int64(2*MiB), v["vmlck"], "and locked, charged apart")
	assert.Equal(t, int64(0), v["vmpin-after"])
}

// memlockLimit leaves room for one 2 MiB slab and the ring's own pages (charged to the same
// count: 16 KiB for a 16-entry ring on Linux 6.18), not for two slabs.
const memlockLimit = 2*MiB + 256*KiB

func memlockChild(t *testing.T) {
	lim := unix.Rlimit{Cur: memlockLimit, Max: memlockLimit}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim))
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{Pinned: true})

	a, err := p.TryGet(4 * KiB)
	require.NoError(t, err, "one slab fits in RLIMIT_MEMLOCK")
	checkRoundTrip(t, r, tb, t.TempDir(), a, 1)
	pin, lck := vmPin(t), vmLck(t)

	_, err = p.TryGet(64 * KiB) // a second slab would pass the limit
	require.ErrorIs(t, err, ErrMemlock)
	assert.ErrorIs(t, err, unix.ENOMEM)
	assert.Contains(t, err.Error(), "RLIMIT_MEMLOCK is "+strconv.Itoa(memlockLimit))
	refused := 1
	assert.Len(t, p.Regions(), 1, "the refused region was unmapped")
	assert.Len(t, tb.spansNow(), 1)
	assert.Equal(t, pin, vmPin(t), "nothing more pinned")

	require.NoError(t, p.Put(a))
	p.Trim()
	assert.Zero(t, vmPin(t), "Trim unregistered the slab")
	b, err := p.TryGet(64 * KiB)
	require.NoError(t, err, "the pool serves again")
	checkRoundTrip(t, r, tb, t.TempDir(), b, 2)
	require.NoError(t, p.Put(b))
	require.NoError(t, p.Close())
	childLine("uid=%d memlock=%d memlock-refused=%d vmpin=%d vmlck=%d vmpin-after=%d",
		os.Getuid(), lim.Cur, refused, pin, lck, vmPin(t))
}
