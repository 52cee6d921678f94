package pool

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realIdle gets n buffers of size from p and marks them idle, as a P's cache holds them: the
// entries the depot keeps.
func realIdle(t *testing.T, p *BufferPool, size, n int) []entry {
	t.Helper()
	var es []entry
	for range n {
		b := p.Get(size)
		a := addrOfSlice(b)
		st, ok := lookup(a).slot(a)
		require.True(t, ok)
		setState(st, stateIdle)
		es = append(es, entry{a, addrOfState(st)})
	}
	return es
}

// giveFull keeps a full magazine and hands back an empty one; takeFull finds it again from
// any shard, home first, and the budget counts its bytes meanwhile.
func TestDepotGiveTakeFull(t *testing.T) {
	p := newPool(t, Config{NumShards: 2, LocalCacheSize: 4})
	ci := classOf(4096)
	d := p.depotOf(ci)
	m := newMagazine(d.sc)
	for _, e := range realIdle(t, p, 4096, 3) {
		m.push(e)
	}
	empty := d.giveFull(m, 1)
	require.NotNil(t, empty)
	assert.NotSame(t, m, empty)
	assert.True(t, empty.empty())
	assert.Equal(t, []*magazine{m}, d.shards[1].full)
	assert.Equal(t, d.bytes(3), p.idle.depot.Load())

	got := d.takeFull(empty, 0)
	assert.Same(t, m, got, "found on the other shard")
	assert.Zero(t, p.idle.depot.Load())
	assert.Equal(t, []*magazine{empty}, d.shards[1].empty, "the empty one takes the full one's place")
	assert.Nil(t, d.takeFull(nil, 0), "nothing left")
	d.giveEmpty(d.giveFull(got, 0), 0)
}

// giveOne keeps loose buffers up to MaxBuffersPerShard; takeOne takes them back.
func TestDepotGiveTakeOne(t *testing.T) {
	p := newPool(t, Config{NumShards: 1, MaxBuffersPerShard: 2})
	ci := classOf(4096)
	d := p.depotOf(ci)
	es := realIdle(t, p, 4096, 3)
	unmaps := p.Stats().Maps
	for _, e := range es {
		d.giveOne(e, 0)
	}
	assert.Len(t, d.shards[0].loose, 2, "MaxBuffersPerShard")
	assert.Equal(t, uint8(stateFree), *es[2].state.state(), "the third went back to its slab")
	assert.Equal(t, d.bytes(2), p.idle.depot.Load())
	e, ok := d.takeOne(0)
	require.True(t, ok)
	assert.Equal(t, es[1], e, "last in, first out")
	_, ok = d.takeOne(0)
	require.True(t, ok)
	_, ok = d.takeOne(0)
	assert.False(t, ok)
	assert.Zero(t, p.idle.depot.Load())
	assert.Equal(t, unmaps, p.Stats().Maps)
}

// A depot shard is 128 bytes (padding.go's computed padding): no false sharing between shards.
func TestDepotShardSize(t *testing.T) {
	assert.Equal(t, uintptr(128), unsafe.Sizeof(depotShard{}))
}

// Preallocate maps buffers now and keeps them idle: the next Gets map nothing.
func TestPreallocate(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	require.NoError(t, p.Preallocate(64<<10, 20))
	s := p.Stats()
	assert.Equal(t, int64(20), classRow(t, s, 64<<10).Idle)
	assert.Equal(t, int64(20*64<<10), p.idle.depot.Load(), "in the depot, where a Get on any P finds them")
	assert.Zero(t, s.Gets, "Preallocate is no Get")
	maps := s.Maps
	var bufs [][]byte
	for range 20 {
		bufs = append(bufs, p.Get(64<<10))
	}
	assert.Equal(t, maps, p.Stats().Maps)
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	assert.ErrorIs(t, p.Preallocate(-1, 1), ErrInvalidSize)
	assert.NoError(t, p.Preallocate(4096, 0))
	small := newPool(t, Config{MaxIdleBytes: 1 << 20})
	assert.Error(t, small.Preallocate(1<<20, 4), "beyond MaxIdleBytes not all can be kept")
}

// lock waits for its holder, spinning: the holder is pinned from lock to unlock, so the
// waiter, on another P, takes the lock as soon as the holder lets go. The holder never waits
// for the waiter to start (pinned, it would hold off a stop-the-world that the other P has
// already joined): where the waiter has not run by unlock, the check is only weaker.
func TestSpinLockWaitsForItsHolder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the waiter needs a P of its own while the holder is pinned")
	}
	for range 20 {
		var l spinLock
		var got atomic.Bool
		start, done := make(chan struct{}), make(chan struct{})
		go func() {
			<-start
			l.lock()
			got.Store(true)
			l.unlock()
			close(done)
		}()
		l.lock()
		close(start)
		for end := time.Now().Add(time.Millisecond); time.Now().Before(end); {
		}
		taken := got.Load()
		l.unlock()
		assert.False(t, taken, "taken while held")
		<-done
		assert.True(t, got.Load())
		assert.True(t, l.tryLockPinned(), "free again")
		l.unlockPinned()
	}
}
