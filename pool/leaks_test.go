package pool

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect runs the collector until done reports true or a bound of cycles passes; cleanups
// run on their own goroutine after the cycle that finds their object unreachable.
func collect(done func() bool) bool {
	for range 200 {
		runtime.GC()
		if done() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// leakLog collects the leak reports of a pool.
type leakLog struct {
	mu    sync.Mutex
	leaks []Leak
}

func (l *leakLog) onLeak(k Leak) {
	l.mu.Lock()
	l.leaks = append(l.leaks, k)
	l.mu.Unlock()
}

func (l *leakLog) all() []Leak {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Leak(nil), l.leaks...)
}

// Pools dropped without Close give their idle memory back: 20 pools with 4 MiB idle each
// are collected (weak pointers to them go nil), and the process's resident memory and
// mapped bytes fall back to where they were. (Before, the page map kept every pool, and its
// memory, for good.) In a child: resident memory is the whole process's.
func TestDroppedPoolsGiveTheirMemoryBack(t *testing.T) {
	inChild(t, func(t *testing.T) {
		runtime.GC()
		rss0 := procStatus(t, "RssAnon")
		mapped0 := Process().MappedBytes
		dropped0 := Process().DroppedPools
		var weaks []weak.Pointer[BufferPool]
		func() {
			for range 20 {
				p, err := NewWithConfig(Config{})
				require.NoError(t, err)
				var bufs [][]byte
				for range 4 {
					b := p.Get(1 << 20)
					for i := 0; i < len(b); i += 4096 {
						b[i] = 1 // resident
					}
					bufs = append(bufs, b)
				}
				for _, b := range bufs {
					require.NoError(t, p.Put(b))
				}
				weaks = append(weaks, weak.Make(p))
			}
		}()
		assert.GreaterOrEqual(t, procStatus(t, "RssAnon")-rss0, int64(70<<20), "the pools' memory is resident")
		require.True(t, collect(func() bool { return Process().DroppedPools-dropped0 >= 20 }), "20 cleanups ran")
		for i, w := range weaks {
			assert.Nil(t, w.Value(), "pool %d was collected", i)
		}
		assert.Equal(t, mapped0, Process().MappedBytes, "every dropped pool's memory is unmapped")
		needsMappedMemory(t, "resident memory given back at the unmap")
		slack := int64(8 << 20)
		if raceEnabled {
			slack = 32 << 20 // the race detector's shadow memory grows with the heap the test used
		}
		assert.Less(t, procStatus(t, "RssAnon")-rss0, slack, "resident memory is back within a few MiB")
	})
}

// A pool dropped with a buffer out gives its idle memory back, keeps the buffer mapped and
// its data intact, runs OnUnmap for the regions it unmaps, counts the buffer as out of a
// dropped pool, and reports the leak with the holder's call site. In a child, so that no
// other test's pool is dropped meanwhile and the process-wide counts are this pool's alone.
func TestDroppedPoolWithBufferOut(t *testing.T) { inChild(t, droppedPoolWithBufferOut) }

func droppedPoolWithBufferOut(t *testing.T) {
	var leaks leakLog
	var unmapped sync.Map
	before := Process()
	held := dropPoolHolding(t, &leaks, &unmapped)
	require.True(t, collect(func() bool { return len(leaks.all()) > 0 }), "the leak was reported")
	assert.Equal(t, "kept", string(held[:4]), "the buffer out is intact")
	held[5] = 7 // and still writable
	after := Process()
	assert.Equal(t, before.DroppedBuffersOut+1, after.DroppedBuffersOut)
	assert.Equal(t, before.DroppedBytesOut+int64(cap(held)), after.DroppedBytesOut)
	l := leaks.all()[0]
	assert.Equal(t, LeakPoolDropped, l.What)
	assert.Equal(t, int64(1), l.Buffers)
	require.NotEmpty(t, l.Holders)
	assert.Contains(t, l.Holders[0], "dropPoolHolding", "the holder's call site")
	if !refusedHere(Config{OnUnmap: func(Region) {}}) {
		n := 0
		unmapped.Range(func(any, any) bool { n++; return true })
		assert.Positive(t, n, "OnUnmap ran for the idle regions")
	}
}

func dropPoolHolding(t *testing.T, leaks *leakLog, unmapped *sync.Map) []byte {
	cfg := Config{TrackRate: 1, OnLeak: leaks.onLeak, OnUnmap: func(r Region) { unmapped.Store(r.ID, true) }}
	if refusedHere(cfg) {
		cfg.OnUnmap = nil // hooks are Linux's: the rest of the test holds everywhere
	}
	p, err := NewWithConfig(cfg)
	require.NoError(t, err)
	idle := p.Get(1 << 20)
	require.NoError(t, p.Put(idle))
	held := p.Get(4096)
	copy(held, "kept")
	return held
}

// holdBuffers gets n buffers and keeps them: the call site the profile must name.
func holdBuffers(p *BufferPool, n int) [][]byte {
	var out [][]byte
	for range n {
		out = append(out, p.Get(4096))
	}
	return out
}

// profileText is the zeropool.inuse profile in its text form.
func profileText(t *testing.T) (count int, text string) {
	t.Helper()
	prof := pprof.Lookup(InUseProfile)
	require.NotNil(t, prof, "the profile is registered once a Get was tracked")
	var buf bytes.Buffer
	require.NoError(t, prof.WriteTo(&buf, 1))
	return prof.Count(), buf.String()
}

// Buffers out are attributed to the code that got them: the zeropool.inuse profile names
// the function that holds them, and forgets them at their Puts, whatever the path.
func TestInUseProfileNamesHolders(t *testing.T) {
	p := newPool(t, Config{TrackRate: 1})
	base, _ := profileTextIfAny(t)
	bufs := holdBuffers(p, 3)
	n, text := profileText(t)
	assert.Equal(t, base+3, n)
	assert.Contains(t, text, "holdBuffers")
	tracked := p.Tracked()
	require.Len(t, tracked, 3)
	assert.Contains(t, tracked[0].Caller(), "holdBuffers")
	assert.Equal(t, 4096, tracked[0].Size)
	assert.Equal(t, int64(3), p.Stats().TrackedBuffers)

	// Every way back forgets the record: Put, Put through Owner, a SizedPool, a Buffer.
	require.NoError(t, p.Put(bufs[0]))
	o, err := p.Owner(bufs[1][10:])
	require.NoError(t, err)
	require.NoError(t, p.Put(o))
	s := p.Sized(4096)
	s.Put(bufs[2])
	sb := s.Get()
	bb := p.NewBuffer(100)
	_, _ = bb.WriteString("x")
	assert.Len(t, p.Tracked(), 2, "the SizedPool's and the Buffer's Gets are tracked")
	s.Put(sb)
	require.NoError(t, bb.Release())
	n, text = profileText(t)
	assert.Equal(t, base, n)
	assert.NotContains(t, text, "holdBuffers")
	assert.Empty(t, p.Tracked())

	// Gets above MaxBufferSize and from a Debug pool (which tracks every Get) too.
	q := newPool(t, Config{MaxBufferSize: 1 << 20, Debug: true})
	big := q.Get(3 << 20)
	small := q.Get(64)
	assert.Len(t, q.Tracked(), 2)
	require.NoError(t, q.Put(big))
	require.NoError(t, q.Put(small))
	assert.Empty(t, q.Tracked())
}

// profileTextIfAny is profileText for a profile that may not exist yet.
func profileTextIfAny(t *testing.T) (int, string) {
	if pprof.Lookup(InUseProfile) == nil {
		return 0, ""
	}
	return profileText(t)
}

// TrackRate N tracks about one Get in N: within a factor of 2 over many Gets.
func TestTrackRateSamples(t *testing.T) {
	for _, rate := range []int{16, 256} {
		p := newPool(t, Config{TrackRate: rate})
		const gets = 64 * 256
		bufs := make([][]byte, 0, gets)
		for range gets {
			bufs = append(bufs, p.Get(64))
		}
		n := len(p.Tracked())
		want := gets / rate
		assert.GreaterOrEqual(t, n, want/2, "rate %d", rate)
		assert.LessOrEqual(t, n, want*2, "rate %d", rate)
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
		assert.Empty(t, p.Tracked())
	}
	p := newPool(t, Config{})
	for range 1000 {
		require.NoError(t, p.Put(p.Get(64)))
	}
	b := p.Get(64)
	assert.Empty(t, p.Tracked(), "TrackRate 0 tracks nothing")
	require.NoError(t, p.Put(b))
	_, err := NewWithConfig(Config{TrackRate: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// Close with buffers out names the call sites that hold them when tracking is on.
func TestCloseNamesHolders(t *testing.T) {
	p, err := NewWithConfig(Config{TrackRate: 1})
	require.NoError(t, err)
	bufs := holdBuffers(p, 2)
	err = p.Close()
	require.ErrorIs(t, err, ErrBuffersOut)
	assert.Contains(t, err.Error(), "2 x github.com/zeropool-go/zeropool/pool.holdBuffers")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
}

// A Buffer dropped without Release is counted and reported; its storage is not reused.
func TestBufferDroppedWithoutRelease(t *testing.T) {
	var leaks leakLog
	p := newPool(t, Config{TrackRate: 1, OnLeak: leaks.onLeak})
	dropBuffer(p)
	require.True(t, collect(func() bool { return len(leaks.all()) > 0 }))
	l := leaks.all()[0]
	assert.Equal(t, LeakBufferDropped, l.What)
	assert.Equal(t, int64(8192), l.Bytes)
	require.NotEmpty(t, l.Holders)
	assert.Contains(t, l.Holders[0], "dropBuffer")
	s := p.Stats()
	assert.Equal(t, uint64(1), s.LeakedBuffers)
	assert.Equal(t, int64(1), s.InUse, "the storage stays out: a Bytes slice may still refer to it")
	assert.GreaterOrEqual(t, Process().LeakedBuffers, uint64(1))

	released := p.NewBuffer(10)
	require.NoError(t, released.Release())
	runtime.GC()
	runtime.GC()
	assert.Len(t, leaks.all(), 1, "a released Buffer is no leak")
}

func dropBuffer(p *BufferPool) {
	b := p.NewBuffer(8192)
	_, _ = b.WriteString("forgotten")
}

// The process-wide figures add up every pool's. In a child: other tests' dropped pools would
// change them meanwhile.
func TestProcessStats(t *testing.T) { inChild(t, processStats) }

func processStats(t *testing.T) {
	before := Process()
	p := newPool(t, Config{})
	b := p.Get(1 << 20)
	idle := p.Get(4096)
	require.NoError(t, p.Put(idle))
	s := Process()
	assert.Equal(t, before.Pools+1, s.Pools)
	assert.Equal(t, before.MappedBytes+p.Stats().MappedBytes, s.MappedBytes)
	assert.GreaterOrEqual(t, s.InUseBytes, int64(1<<20))
	assert.GreaterOrEqual(t, s.IdleBytes, int64(4096))
	require.NoError(t, p.Put(b))
	require.NoError(t, p.Close())
	assert.Equal(t, before.MappedBytes, Process().MappedBytes)
	assert.Equal(t, fmt.Sprint(GoMemoryLimit(1<<30, 0)), fmt.Sprint(int64(1<<30)-Process().MappedBytes))
	assert.Equal(t, int64(64<<20), GoMemoryLimit(1<<20, 64<<20), "never below minHeap")
}
