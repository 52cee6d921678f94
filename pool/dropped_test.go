package pool

import (
	"runtime"
	"sync"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
