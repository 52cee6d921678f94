//go:build !zeropool_portable

package iouring

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/pool"
)

// sizes covers both layouts: slab classes (4 KiB, 64 KiB: 2 MiB slabs of slots) and a class
// with a mapping of its own per buffer (1 MiB).
var sizes = []struct {
	name   string
	size   int
	region int // bytes of the region that holds a buffer of this size
}{
	{"4KiB", 4 * KiB, 2 * MiB},
	{"64KiB", 64 * KiB, 2 * MiB},
	{"1MiB", 1 * MiB, 1 * MiB},
}

// READ_FIXED and WRITE_FIXED move the right bytes into and out of pooled buffers of every
// layout, through the slot Index gives; every region is registered whole, in one slot.
func TestFixedReadWrite(t *testing.T) {
	oneP(t) // each P carves from slabs of its own: one P's two buffers share a slab
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(t)
			tb := newTable(t, r, 64)
			p := hooked(t, tb, pool.Config{})
			a, b := p.Get(tc.size), p.Get(tc.size)
			for i, buf := range [][]byte{a, b} {
				reg, off, err := p.RegionOf(buf)
				require.NoError(t, err)
				assert.Len(t, reg.Mem, tc.region, "the region holding a %d-byte buffer", tc.size)
				assert.GreaterOrEqual(t, off, 0)
				checkRoundTrip(t, r, tb, t.TempDir(), buf, byte(i+1))
			}
			ia, _ := tb.Index(a)
			ib, _ := tb.Index(b)
			if tc.region > tc.size {
				assert.Equal(t, ia, ib, "two buffers of one slab share its slot")
			} else {
				assert.NotEqual(t, ia, ib, "buffers with their own mappings have a slot each")
			}
			checkInStep(t, tb, p)
			require.NoError(t, p.Put(a))
			require.NoError(t, p.Put(b))
		})
	}
}

// The regression the registration hooks exist for. Without them, Put, Trim (which gave free
// slots' pages back with MADV_DONTNEED) and Get again returned the same address with new
// pages, while the kernel still held the old ones: READ_FIXED reported the bytes read and the
// buffer stayed zero, WRITE_FIXED wrote the old pages' data. Here the same address comes back
// and the data must be right every time.
func TestNoStaleDataAfterTrim(t *testing.T) {
	for _, pinned := range []bool{false, true} {
		for _, tc := range sizes[:2] { // slab classes: their slots are what Trim discarded
			name := tc.name
			if pinned {
				name += "/Pinned"
			}
			t.Run(name, func(t *testing.T) {
				oneP(t)
				r := newRing(t)
				tb := newTable(t, r, 64)
				p := hooked(t, tb, pool.Config{Pinned: pinned})
				keep := p.Get(tc.size) // keeps the slab alive, so Trim may only touch free slots
				buf := p.Get(tc.size)
				checkRoundTrip(t, r, tb, t.TempDir(), buf, 1)
				was := addr(buf)
				reg, _, err := p.RegionOf(buf)
				require.NoError(t, err)
				require.NoError(t, p.Put(buf))
				p.Trim()

				buf = p.Get(tc.size)
				require.Equal(t, was, addr(buf), "the same slot comes back after Trim")
				again, _, err := p.RegionOf(buf)
				require.NoError(t, err)
				assert.Equal(t, reg.ID, again.ID, "the slab stayed mapped")
				checkRoundTrip(t, r, tb, t.TempDir(), buf, 2)
				require.NoError(t, p.Put(buf))
				require.NoError(t, p.Put(keep))
			})
		}
	}
}

// When Trim unmaps a whole region and a later Get maps one at the same address, the new
// region is registered afresh (a new ID, an OnMap first): never the old registration.
func TestNoStaleDataAfterRemap(t *testing.T) {
	cases := []struct {
		name string
		cfg  pool.Config
		size int
		// release gives the buffer's region back to the system after its Put.
		release func(p *pool.BufferPool, buf []byte)
	}{
		{"Trim/slab", pool.Config{}, 64 * KiB, func(p *pool.BufferPool, buf []byte) { p.Trim() }},
		{"Trim/mapping", pool.Config{}, 1 * MiB, func(p *pool.BufferPool, buf []byte) { p.Trim() }},
		// Idle bounds: a pool that keeps nothing idle unmaps a region when its last buffer comes
		// back.
		{"MaxIdleBytes/mapping", pool.Config{MaxIdleBytes: 1}, 1 * MiB, nil},
		{"MaxIdleBytes/slab", pool.Config{MaxIdleBytes: 1}, 64 * KiB, nil},
		// Oversize: above MaxBufferSize every buffer has its own mapping, unmapped by its Put.
		{"Oversize", pool.Config{MaxBufferSize: 1 * MiB}, 3 * MiB, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oneP(t)
			r := newRing(t)
			tb := newTable(t, r, 64)
			p := hooked(t, tb, tc.cfg)
			sameAddr := false
			// The kernel hands a freed range out again to the next mapping of its size; a few
			// rounds make sure the case of the same address is among those checked.
			for round := range 4 {
				buf := p.Get(tc.size)
				reg, _, err := p.RegionOf(buf)
				require.NoError(t, err)
				checkRoundTrip(t, r, tb, t.TempDir(), buf, byte(round))
				was := addr(buf)
				unmaps := p.Stats().Unmaps
				require.NoError(t, p.Put(buf))
				if tc.release != nil {
					tc.release(p, buf)
				}
				require.Greater(t, p.Stats().Unmaps, unmaps, "the region was unmapped")
				assert.Empty(t, tb.spansNow(), "its slot was cleared")
				_, ok := tb.Index(reg.Mem)
				assert.False(t, ok, "Index no longer finds the unmapped region")

				buf = p.Get(tc.size)
				now, _, err := p.RegionOf(buf)
				require.NoError(t, err)
				assert.NotEqual(t, reg.ID, now.ID, "a new region")
				sameAddr = sameAddr || addr(buf) == was
				checkRoundTrip(t, r, tb, t.TempDir(), buf, byte(round)^0x80)
				checkInStep(t, tb, p)
				require.NoError(t, p.Put(buf))
				if tc.release != nil {
					tc.release(p, buf)
				}
			}
			assert.True(t, sameAddr, "a region was mapped again at an address used before (the stale case)")
		})
	}
}

// Preallocated buffers live in registered regions from the start. (On one P, so that the
// Gets find the buffers Preallocate put into that P's cache.)
func TestPreallocate(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			oneP(t)
			r := newRing(t)
			tb := newTable(t, r, 64)
			p := hooked(t, tb, pool.Config{Populate: true})
			require.NoError(t, p.Preallocate(tc.size, 3))
			checkInStep(t, tb, p)
			require.NotEmpty(t, tb.spansNow())
			maps := p.Stats().Maps
			var bufs [][]byte
			for i := range 3 {
				buf := p.Get(tc.size)
				checkRoundTrip(t, r, tb, t.TempDir(), buf, byte(i+7))
				bufs = append(bufs, buf)
			}
			assert.Equal(t, maps, p.Stats().Maps, "the Gets found the preallocated memory")
			for _, b := range bufs {
				require.NoError(t, p.Put(b))
			}
		})
	}
}

// Closing the pool clears every slot (the kernel then refuses READ_FIXED through them) and
// gives every pinned page back; Table.Close is then clean.
func TestPoolClose(t *testing.T) {
	r := newRing(t)
	pin0 := vmPin(t)
	tb := newTable(t, r, 64)
	p := hooked(t, tb, pool.Config{MaxBufferSize: 1 * MiB})
	var bufs [][]byte
	for _, n := range []int{4 * KiB, 64 * KiB, 1 * MiB, 3 * MiB /* oversize */} {
		bufs = append(bufs, p.Get(n))
	}
	used := map[uint16][]byte{}
	for i, b := range bufs {
		checkRoundTrip(t, r, tb, t.TempDir(), b, byte(i))
		idx, _ := tb.Index(b)
		used[idx] = b
	}
	assert.Equal(t, regionBytes(p), vmPin(t)-pin0, "VmPin counts every registered region")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	require.NoError(t, p.Close())
	assert.Empty(t, tb.spansNow(), "every slot is empty")
	assert.Len(t, tb.free, 64, "every slot is free again")
	assert.Equal(t, pin0, vmPin(t), "the kernel unpinned every page")
	// What the kernel says: a fixed operation through a cleared slot finds no buffer.
	f := dataFile(t, t.TempDir(), patterned(4096, 1))
	heap := make([]byte, 4096)
	for idx := range used {
		cqes, err := r.Run(uring.SQE{Op: uring.OpReadFixed, FD: int(f.Fd()), Buf: heap, BufIndex: idx})
		require.NoError(t, err)
		assert.ErrorIs(t, cqes[0].Err(), unix.EFAULT, "slot %d is empty in the kernel", idx)
	}
	assert.NoError(t, tb.Err())
	require.NoError(t, tb.Close())
	assert.ErrorIs(t, tb.Close(), ErrClosed)
}

// O_DIRECT moves data between the device and the registered pages with no copy through the
// page cache: pooled buffers of 4 KiB or more are page-aligned, as it requires.
func TestODirect(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 64)
	p := hooked(t, tb, pool.Config{})
	dir := packageDir(t)
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			want := patterned(tc.size, byte(tc.size>>12))
			f := dataFile(t, dir, want)
			df, err := os.OpenFile(f.Name(), os.O_RDWR|unix.O_DIRECT, 0)
			if errors.Is(err, unix.EINVAL) {
				t.Skipf("the filesystem of %s refuses O_DIRECT: %v", dir, err)
			}
			require.NoError(t, err)
			defer df.Close()
			buf := p.GetZeroed(tc.size)
			defer func() { require.NoError(t, p.Put(buf)) }()
			res := readFixed(t, r, tb, int(df.Fd()), buf, 0)
			if res == -int32(unix.EINVAL) {
				t.Skipf("the filesystem of %s refuses O_DIRECT reads: %v", dir, errno(res))
			}
			require.Equal(t, int32(tc.size), res, "%v", errno(res))
			assert.True(t, bytes.Equal(want, buf), "O_DIRECT READ_FIXED (first difference at %d)", firstDiff(want, buf))

			pattern(buf, 0xa5)
			res = writeFixed(t, r, tb, int(df.Fd()), buf, int64(tc.size))
			require.Equal(t, int32(tc.size), res, "%v", errno(res))
			got := make([]byte, tc.size)
			_, err = f.ReadAt(got, int64(tc.size))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(buf, got), "O_DIRECT WRITE_FIXED (first difference at %d)", firstDiff(buf, got))
		})
	}
}

// oneP keeps the test on one P, so that a buffer put back is the next one that P gets.
func oneP(t testing.TB) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}
