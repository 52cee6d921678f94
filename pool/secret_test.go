//go:build linux

package pool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/offheap"
)

// mapsCount returns the number of mappings (VMAs) of this process.
func mapsCount(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return bytes.Count(data, []byte("\n"))
}

// Every mapping of a Secure pool carries dd (MADV_DONTDUMP) and wf (MADV_WIPEONFORK), and
// lo (locked) where the process may lock it: the slab of small buffers, the mapping of a
// page-sized buffer and that of a large one.
func TestSecureMappingFlags(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	plain := newPool(t, Config{})
	canLock := hasCapIPCLock()
	for _, n := range []int{32, 4096, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := p.Get(n)
			flags, err := offheap.VmFlags(b)
			require.NoError(t, err)
			assert.Subset(t, flags, []string{"rd", "wr", "dd", "wf"}, "VmFlags of Get(%d)", n)
			if canLock {
				assert.Contains(t, flags, "lo", "VmFlags of Get(%d)", n)
			} else {
				t.Log("no CAP_IPC_LOCK: the lock is best effort, lo not checked")
			}
			require.NoError(t, p.Put(b))

			// An ordinary pool's mapping has none of them: the flags above come from Secure.
			o := plain.Get(n)
			flags, err = offheap.VmFlags(o)
			require.NoError(t, err)
			assert.NotContains(t, flags, "dd")
			assert.NotContains(t, flags, "wf")
			assert.NotContains(t, flags, "lo")
			require.NoError(t, plain.Put(o))
		})
	}
	if canLock {
		s := p.Stats()
		assert.Zero(t, s.PinFailures)
		var usable int64
		for _, r := range p.Regions() {
			usable += int64(len(r.Mem))
		}
		assert.GreaterOrEqual(t, s.PinnedBytes, usable, "a Secure pool pins every mapping")
		assert.LessOrEqual(t, s.PinnedBytes, s.MappedBytes, "guard pages are mapped, not pinned")
	}
}

// A Secure pool wipes a buffer on Put: the memory, still mapped while the buffer is idle,
// reads as zeros right after. An ordinary pool leaves the data where it was.
func TestSecureWipesOnPut(t *testing.T) {
	for _, secure := range []bool{true, false} {
		p := newPool(t, Config{Secure: secure})
		for _, n := range []int{32, 4096, 1 << 20} {
			t.Run(fmt.Sprintf("secure=%v/%d", secure, n), func(t *testing.T) {
				b := p.Get(n)
				full := b[:cap(b)]
				for i := range full {
					full[i] = 0xaa
				}
				addr, size := addrOf(b), cap(b)
				idle := p.Stats().Idle
				require.NoError(t, p.Put(b))
				require.Equal(t, idle+1, p.Stats().Idle, "the buffer is kept idle, so its memory stays mapped")
				mem := memAt(addr, size)
				if secure {
					assert.True(t, allZero(mem), "%d bytes at %#x after Put: %x...", size, addr, mem[:16])
				} else {
					assert.True(t, bytes.Equal(bytes.Repeat([]byte{0xaa}, size), mem), "an ordinary pool does not wipe")
				}
			})
		}
	}
}

// A Secure buffer of a page or more has a guard page on each side: a write one byte before
// its start or one byte past its end faults. An ordinary pool's buffer of a page has
// neighbours there instead.
func TestSecureGuardPages(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	for _, n := range []int{4096, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := p.Get(n)
			require.Equal(t, n, cap(b))
			addr := addrOf(b)
			assertNoFault(t, addr, "first byte")
			assertNoFault(t, addr+uintptr(n)-1, "last byte")
			assertFault(t, addr-1, true, "a write one byte before Get(%d)", n)
			assertFault(t, addr+uintptr(n), true, "a write one byte past Get(%d)", n)
			assertFault(t, addr+uintptr(n), false, "a read one byte past Get(%d)", n)
			// The faults come from guard pages, not from holes in the address space that
			// another mapping could fill: a VMA holds both addresses.
			for _, g := range []uintptr{addr - 1, addr + uintptr(n)} {
				_, err := offheap.VmFlags(memAt(g, 1))
				assert.NoError(t, err, "no guard page mapped at %#x", g)
			}
			require.NoError(t, p.Put(b))
		})
	}
	t.Run("ordinary pool", func(t *testing.T) {
		o := newPool(t, Config{})
		bufs := [][]byte{o.Get(4096), o.Get(4096), o.Get(4096)}
		mid := addrOf(bufs[1])
		assertNoFault(t, mid-1, "byte before a slab slot")
		assertNoFault(t, mid+4096, "byte after a slab slot")
		for _, b := range bufs {
			require.NoError(t, o.Put(b))
		}
	})
}

// Small Secure buffers share slabs fenced by guard pages: one between the slab's header and
// its first slot, one after its last slot. The test fills the first slab of a fresh pool
// (until a second slab is mapped) and touches the bytes just outside its slots.
func TestSecureSlabGuardPages(t *testing.T) {
	oneP(t) // each P carves from slabs of its own: one P fills one slab
	p := newPool(t, Config{Secure: true})
	pg := uintptr(offheap.PageSize())
	var held [][]byte
	defer func() {
		for _, b := range held {
			assert.NoError(t, p.Put(b))
		}
	}()
	first := p.Get(32)
	held = append(held, first)
	_, nslots, _, _ := slabLayout(2*cap(first), true, 0)
	lo, hi := addrOf(first), addrOf(first)
	for range nslots - 1 {
		b := p.Get(32)
		held = append(held, b)
		lo, hi = min(lo, addrOf(b)), max(hi, addrOf(b))
	}
	require.Equal(t, uint64(1), p.Stats().Maps, "one slab holds %d buffers", nslots)
	held = append(held, p.Get(32))
	require.Equal(t, uint64(2), p.Stats().Maps, "the first slab is full")
	stride := uintptr(2 * cap(first))
	require.Equal(t, uintptr(nslots-1)*stride, hi-lo, "the first slab's slots were all handed out")
	assert.Equal(t, lo, addrOf(first), "a fresh pool hands out the slab's first slot first")
	assertFault(t, lo-1, true, "a write one byte before the slab's first slot")
	assertFault(t, lo-1, false, "a read one byte before the slab's first slot")
	end := (hi + stride + pg - 1) &^ (pg - 1)
	assertFault(t, end, true, "a write just after the slab's last slot")
	assertNoFault(t, hi, "the last slot itself")
}

// A write past the end of a small Secure buffer lands in its canary; Put reports it
// (ErrCanary), takes the buffer back wiped and never hands that slot out again. The rest of
// the pool serves on.
func TestSecureCanary(t *testing.T) {
	oneP(t) // each P carves from slabs of its own: the test counts one slab's slots
	for _, n := range []int{32, 100, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPool(t, Config{Secure: true})
			// A second buffer of the slab stays idle throughout, so that the slab stays
			// mapped and its broken slot could be found again if it were not retired.
			keep := p.Get(n)
			b := p.Get(n)
			require.NoError(t, p.Put(keep))
			for i := range b {
				b[i] = 0xcc
			}
			addr, size := addrOf(b), cap(b)
			over := unsafe.Slice(unsafe.SliceData(b), size+1)
			over[size] ^= 0x01 // one byte past the end

			err := p.Put(b)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrCanary)
			assert.NotErrorIs(t, err, ErrNotOwned)
			s := p.Stats()
			assert.Equal(t, uint64(1), s.CanaryFailures)
			assert.Equal(t, uint64(2), s.Puts, "the broken buffer is taken back")
			assert.Zero(t, s.Rejected)
			assert.Zero(t, s.InUse)
			assert.Equal(t, int64(1), s.Idle, "only the good buffer is kept for reuse")
			assert.Contains(t, s.String(), "canary-failures=1")
			assert.True(t, allZero(memAt(addr, size)), "the broken buffer is wiped too")

			err = p.Put(b)
			assert.ErrorIs(t, err, ErrDoublePut, "a second Put of the retired buffer")

			// Every other slot of the slab is handed out, then a second slab's: never the
			// retired one.
			_, nslots, _, _ := slabLayout(2*size, true, 0)
			var bufs [][]byte
			for range nslots + 1 {
				c := p.Get(n)
				assert.NotEqual(t, addr, addrOf(c), "the retired slot was handed out again")
				bufs = append(bufs, c)
			}
			assert.Equal(t, uint64(2), p.Stats().Maps, "the first slab ran out one slot early")
			for i, c := range bufs {
				binary.LittleEndian.PutUint32(c, uint32(i))
			}
			for i, c := range bufs {
				require.Equal(t, uint32(i), binary.LittleEndian.Uint32(c))
				require.NoError(t, p.Put(c))
			}
			roundTrip(t, p, n)
			s = p.Stats()
			assert.Equal(t, uint64(1), s.CanaryFailures)
			assert.Zero(t, s.InUse)
		})
	}
}

// 20,000 secrets of 32 bytes cost a couple of slabs, not 20,000 mappings
// (vm.max_map_count is about 65,000).
func TestSecureManySmallSecrets(t *testing.T) {
	const n, size = 20000, 32
	p := newPool(t, Config{Secure: true})
	before := mapsCount(t)
	bufs := make([][]byte, n)
	for i := range bufs {
		b := p.Get(size)
		for j := 0; j < size; j += 8 {
			binary.LittleEndian.PutUint64(b[j:], uint64(i)<<8|uint64(j))
		}
		bufs[i] = b
	}
	after := mapsCount(t)
	s := p.Stats()
	t.Logf("mappings: %d before, %d with %d secrets out; pool maps=%d", before, after, n, s.Maps)
	assert.Less(t, after-before, 100, "mappings added for %d secrets", n)
	assert.LessOrEqual(t, s.Maps, uint64(4))
	assert.Equal(t, int64(n), s.InUse)
	for i, b := range bufs {
		for j := 0; j < size; j += 8 {
			if !assert.Equal(t, uint64(i)<<8|uint64(j), binary.LittleEndian.Uint64(b[j:]), "secret %d at %d: overlapped by another", i, j) {
				break
			}
		}
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.CanaryFailures)
}

// A forked child sees a Secure buffer as zeros (MADV_WIPEONFORK), while the parent keeps its
// data; a child sees an ordinary pool's buffer as it is.
func TestSecureWipedInForkedChild(t *testing.T) {
	secure := newPool(t, Config{Secure: true})
	plain := newPool(t, Config{})
	for _, tc := range []struct {
		name string
		p    *BufferPool
		n    int
		want int // the child's exit status: 0 all zero, 1 data seen
	}{
		{"secure/32", secure, 32, 0},
		{"secure/4096", secure, 4096, 0},
		{"secure/1MiB", secure, 1 << 20, 0},
		{"ordinary/32", plain, 32, 1},
		{"ordinary/4096", plain, 4096, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.p.Get(tc.n)
			for i := range b {
				b[i] = 0xaa
			}
			status, err := forkReadsZero(unsafe.SliceData(b), len(b))
			require.NoError(t, err)
			assert.Equal(t, tc.want, status, "exit status of the forked child (0: it read zeros)")
			assert.True(t, bytes.Equal(bytes.Repeat([]byte{0xaa}, tc.n), b), "the parent keeps its data")
			require.NoError(t, tc.p.Put(b))
		})
	}
}

// RequirePinned turns a failure to pin into an error from TryGet; without it a Secure pool
// works unpinned and reports the failure. The test runs in a child process as uid 65534 with
// RLIMIT_MEMLOCK lowered to 64 KiB, below a slab.
func TestSecureRequirePinned(t *testing.T) {
	needsLinux(t, "Secure pools")
	if childtest.Is(t.Name()) {
		requirePinnedChild(t)
		return
	}
	childtest.SkipUnlessRoot(t)
	out, err := childtest.Run(t, t.Name(), childtest.Options{Unprivileged: true})
	t.Logf("child output:\n%s", out)
	require.NoError(t, err, "the child failed")
	assert.Contains(t, out, "--- PASS: "+t.Name())
	v := childtest.Values(t, out)
	require.Contains(t, v, "uid", "child output:\n%s", out)
	assert.Equal(t, int64(childtest.Nobody), v["uid"])
	assert.Equal(t, int64(2), v["refused"], "RequirePinned refused both Gets")
	assert.Equal(t, int64(2), v["pin-failures"], "the best-effort pool reports its failures, once per mapping")
	assert.Zero(t, v["pinned-bytes"])
}

func requirePinnedChild(t *testing.T) {
	lim := unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim))
	require.False(t, hasCapIPCLock(), "the child must not be able to lock beyond its limit")

	strict, err := NewWithConfig(Config{Secure: true, RequirePinned: true})
	require.NoError(t, err)
	refused := 0
	for _, n := range []int{32, 1 << 20} { // a 2 MiB slab; a 1 MiB mapping
		b, err := strict.TryGet(n)
		assert.True(t, b == nil, "TryGet(%d) returned %d bytes", n, len(b))
		if assert.Error(t, err, "TryGet(%d) of an unpinnable Secure buffer", n) {
			refused++
			assert.True(t, errors.Is(err, offheap.ErrPinFailed), "TryGet(%d): %v", n, err)
		}
		assert.Panics(t, func() { strict.Get(n) })
	}
	s := strict.Stats()
	assert.Zero(t, s.Gets)
	assert.Zero(t, s.MappedBytes, "nothing of a refused Get stays mapped")
	require.NoError(t, strict.Close())

	lax, err := NewWithConfig(Config{Secure: true})
	require.NoError(t, err)
	for _, n := range []int{32, 1 << 20} {
		b, err := lax.TryGet(n)
		require.NoError(t, err, "TryGet(%d) without RequirePinned", n)
		copy(b, "a secret, unpinned but still wiped")
		addr := addrOf(b)
		require.NoError(t, lax.Put(b))
		assert.True(t, allZero(memAt(addr, n)), "Get(%d) wiped on Put", n)
	}
	s = lax.Stats()
	assert.Positive(t, s.PinFailures)
	assert.Zero(t, s.PinnedBytes)
	fmt.Printf("child: uid=%d refused=%d pin-failures=%d pinned-bytes=%d\n",
		os.Getuid(), refused, s.PinFailures, s.PinnedBytes)
	require.NoError(t, lax.Close())
}

// Reuse of a secret buffer is cheap: no allocation per Get and Put.
func TestSecureGetPutAllocatesNothing(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	for range 10 {
		require.NoError(t, p.Put(p.Get(32)))
	}
	key := make([]byte, 32)
	allocs := testing.AllocsPerRun(1000, func() {
		b := p.Get(32)
		copy(b, key)
		if err := p.Put(b); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "allocations per Secure Get+Put of 32 bytes")
}
