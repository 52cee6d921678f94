package pool

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/offheap"
)

// rssAnon returns the anonymous memory of this process resident in RAM, after a collection
// that gives the Go heap's free pages back, so that the Go heap disturbs the reading as little
// as it can.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus(t, "RssAnon")
}

// resident returns how many bytes of the buffers' pages are in RAM, as mincore(2) sees them;
// pages no longer mapped count as not resident. Unlike the process's RssAnon, which moves with
// everything else the process does (the race detector's shadow memory among it), it measures
// the pool's memory alone.
func resident(t *testing.T, bufs [][]byte) int64 {
	t.Helper()
	pg := offheap.PageSize()
	var n int64
	vec := make([]byte, 0, 1024)
	for _, b := range bufs {
		b = b[:cap(b)]
		pages := (len(b) + pg - 1) / pg
		vec = slices.Grow(vec[:0], pages)[:pages]
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
		if errno == unix.ENOMEM {
			continue // unmapped
		}
		require.Zero(t, errno, "mincore: %v", errno)
		for _, v := range vec {
			if v&1 != 0 {
				n += int64(pg)
			}
		}
	}
	return n
}

// touchPages writes one byte into every page of b[:cap(b)], so that all of it is resident.
func touchPages(b []byte) {
	b = b[:cap(b)]
	for i := 0; i < len(b); i += offheap.PageSize() {
		b[i] = 1
	}
}

// Trim gives idle memory back to the system: with 64 MiB idle and resident (half in mappings
// of their own, half in slabs), resident memory falls by about as much.
func TestTrimReleasesResidentMemory(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBuffersPerShard: 1024}) // room to keep every buffer idle
	base := rssAnon(t)
	var bufs [][]byte
	for range 8 {
		bufs = append(bufs, p.Get(4*MiB)) // a mapping each
	}
	for range 512 {
		bufs = append(bufs, p.Get(64<<10)) // slab slots
	}
	for _, b := range bufs {
		touchPages(b)
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s := p.Stats()
	require.Equal(t, int64(64*MiB), s.IdleBytes, "every buffer is kept idle")
	require.Zero(t, s.InUse)

	held := rssAnon(t)
	require.Equal(t, int64(64*MiB), resident(t, bufs), "the idle buffers are resident")
	released := p.Trim()
	after := rssAnon(t)
	t.Logf("RssAnon: %s before, %s with 64 MiB idle, %s after Trim released %s",
		FormatBytes(base), FormatBytes(held), FormatBytes(after), FormatBytes(released))
	assert.GreaterOrEqual(t, released, int64(64*MiB))
	assert.Zero(t, resident(t, bufs), "none of the idle memory is resident after Trim")
	if !raceEnabled { // the race detector's shadow memory moves RssAnon by itself
		assert.GreaterOrEqual(t, held-after, int64(56*MiB), "the process's resident memory falls by most of the 64 MiB")
	}
	s = p.Stats()
	assert.Zero(t, s.IdleBytes)
	assert.Zero(t, s.MappedBytes)
}

// MaxIdleBytes bounds what the pool keeps: 16 buffers of 4 MiB, all touched, come back to a
// pool that may keep 8 MiB idle; the rest goes back to the system at once, so resident memory
// stays within the bound.
func TestMaxIdleBytesBoundsResidentMemory(t *testing.T) {
	const MiB = 1 << 20
	const bound = 8 * MiB
	p := newPool(t, Config{MaxIdleBytes: bound})
	base := rssAnon(t)
	var bufs [][]byte
	for range 16 {
		b := p.Get(4 * MiB)
		touchPages(b)
		bufs = append(bufs, b)
	}
	peak := rssAnon(t)
	require.Equal(t, int64(64*MiB), resident(t, bufs), "64 MiB out and resident")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	after := rssAnon(t)
	assert.LessOrEqual(t, resident(t, bufs), int64(bound), "what is resident of the buffers stays within the bound")
	s := p.Stats()
	t.Logf("RssAnon: %s before, %s with 64 MiB out, %s after the Puts; %s", FormatBytes(base),
		FormatBytes(peak), FormatBytes(after), s)
	assert.LessOrEqual(t, s.IdleBytes, int64(bound))
	assert.LessOrEqual(t, s.MappedBytes, int64(bound))
	assert.Positive(t, s.Idle, "the pool still keeps what fits")
	if !raceEnabled { // the race detector's shadow memory moves RssAnon by itself
		assert.LessOrEqual(t, after-base, int64(bound+4*MiB), "resident memory grew by no more than the bound (and some slack)")
	}
}

// Stats are exact once concurrent traffic has stopped: goroutines count their own Gets, Puts
// and refused Puts, and the sums match the pool's counters to the unit.
func TestStatsExactAfterConcurrentTraffic(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBufferSize: 1 * MiB, MaxIdleBytes: 16 * MiB})
	const goroutines, ops = 8, 2000
	type tally struct {
		gets, puts, rejected uint64
		held                 [][]byte
	}
	tallies := make([]tally, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			tl := &tallies[g]
			rng := rand.New(rand.NewPCG(uint64(g), 0xc0de))
			for range ops {
				switch r := rng.IntN(10); {
				case r < 4 || len(tl.held) == 0:
					n := 1 + rng.IntN(1<<rng.IntN(22)) // up to 2 MiB: oversize included
					b, err := p.TryGet(n)
					if err != nil {
						t.Errorf("TryGet(%d): %v", n, err)
						return
					}
					b[0], b[n-1] = byte(g), byte(g)
					tl.gets++
					tl.held = append(tl.held, b)
				case r < 8:
					k := rng.IntN(len(tl.held))
					if err := p.Put(tl.held[k]); err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					tl.puts++
					tl.held = append(tl.held[:k], tl.held[k+1:]...)
				case r == 8:
					if err := p.Put(make([]byte, 16)); !errors.Is(err, ErrNotOwned) {
						t.Errorf("Put of a heap slice: %v", err)
					}
					tl.rejected++
				default:
					b := tl.held[rng.IntN(len(tl.held))]
					if err := p.Put(b[1:]); !errors.Is(err, ErrNotOwned) {
						t.Errorf("Put of an interior slice: %v", err)
					}
					tl.rejected++
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	var gets, puts, rejected uint64
	var inUseBytes int64
	for _, tl := range tallies {
		gets += tl.gets
		puts += tl.puts
		rejected += tl.rejected
		for _, b := range tl.held {
			inUseBytes += int64(cap(b))
		}
	}
	s := p.Stats()
	t.Logf("counted: gets=%d puts=%d rejected=%d; %s", gets, puts, rejected, s)
	assert.Equal(t, gets, s.Gets, "Gets")
	assert.Equal(t, puts, s.Puts, "Puts")
	assert.Equal(t, rejected, s.Rejected, "Rejected")
	assert.Equal(t, int64(gets-puts), s.InUse, "InUse")
	assert.Equal(t, inUseBytes, s.InUseBytes, "InUseBytes")
	assert.Equal(t, s.Gets, s.Hits+s.Misses)
	var classGets, classPuts uint64
	var classInUse int64
	for _, c := range s.Classes {
		classGets += c.Gets
		classPuts += c.Puts
		classInUse += c.InUse
	}
	assert.LessOrEqual(t, classGets, s.Gets, "per-class rows leave out only oversize Gets")
	assert.Equal(t, s.Gets-classGets, s.Puts-classPuts+uint64(s.InUse-classInUse), "oversize Gets = oversize Puts + oversize out")

	for _, tl := range tallies {
		for _, b := range tl.held {
			require.NoError(t, p.Put(b))
		}
	}
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.InUseBytes)
	assert.Equal(t, s.Gets, s.Puts)
	assert.Equal(t, rejected, s.Rejected)
}

// GetZeroed does not touch memory that is zero already: a fresh 64 MiB buffer comes back with
// none of its pages resident, while a reused one is cleared.
func TestGetZeroedLeavesFreshMemoryAlone(t *testing.T) {
	const MiB = 1 << 20
	oneP(t)
	p := newPool(t, Config{})
	b := p.GetZeroed(64 * MiB)
	assert.Zero(t, resident(t, [][]byte{b}), "a fresh buffer was faulted in by GetZeroed")
	touchPages(b)
	require.NoError(t, p.Put(b))
	c := p.GetZeroed(64 * MiB)
	require.Equal(t, addrOf(b), addrOf(c), "the buffer is reused")
	assert.True(t, allZero(c), "a reused buffer is cleared")
	require.NoError(t, p.Put(c))
}
