package pool

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCloseIdlePool(t *testing.T) {
	p, err := NewWithConfig(Config{})
	require.NoError(t, err)
	for _, n := range []int{100, 4096, 64 << 10, 1 << 20, 4 << 20} {
		require.NoError(t, p.Put(p.Get(n)))
	}
	require.Positive(t, p.Stats().MappedBytes)
	assert.NoError(t, p.Close(), "nothing out: Close succeeds")
	s := p.Stats()
	assert.Zero(t, s.MappedBytes, "Close unmaps everything idle")
	assert.Zero(t, s.Idle)
	assert.Zero(t, p.Len())
	assert.Equal(t, s.Maps, s.Unmaps)

	err = p.Close()
	assert.True(t, errors.Is(err, ErrClosed), "second Close: %v", err)
}

func TestGetAfterClose(t *testing.T) {
	p, err := NewWithConfig(Config{MaxBufferSize: 1 << 20})
	require.NoError(t, err)
	require.NoError(t, p.Put(p.Get(4096)))
	require.NoError(t, p.Close())
	for _, n := range []int{0, 1, 4096, 1 << 20, 2 << 20 /* oversize */} {
		b, err := p.TryGet(n)
		assert.Nil(t, b)
		assert.True(t, errors.Is(err, ErrClosed), "TryGet(%d) after Close: %v", n, err)
		err = mustPanicWith(t, func() { p.Get(n) })
		assert.True(t, errors.Is(err, ErrClosed), "Get(%d) after Close panics with %v", n, err)
	}
	_, err = p.TryGet(-1)
	assert.Error(t, err, "an invalid size is still an error after Close")
	assert.Zero(t, p.Stats().MappedBytes, "no Get after Close maps memory")
}

func TestCloseWithBuffersOut(t *testing.T) {
	p, err := NewWithConfig(Config{MaxBufferSize: 4 << 20})
	require.NoError(t, err)
	other := newPool(t, Config{})

	sizes := []int{100, 4096, 4096, 64 << 10, 1 << 20, 8 << 20 /* oversize */}
	var out [][]byte
	for i, n := range sizes {
		b := p.Get(n)
		b[0], b[n-1] = byte(i), byte(i)
		out = append(out, b)
	}
	// Idle buffers too, some of them in slabs that still have buffers out.
	for _, n := range []int{100, 4096, 4096, 2 << 20} {
		require.NoError(t, p.Put(p.Get(n)))
	}
	idle := p.Get(4096)
	require.NoError(t, p.Put(idle))

	err = p.Close()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrBuffersOut), "%v", err)
	assert.Contains(t, err.Error(), "6 buffers", "the error says how many buffers are out")
	s := p.Stats()
	assert.Equal(t, int64(len(sizes)), s.InUse)
	assert.Zero(t, s.Idle, "Close keeps nothing idle")
	assert.Positive(t, s.MappedBytes, "the buffers out stay mapped")

	// The buffers out stay usable until their Put.
	for i, b := range out {
		assert.Equal(t, byte(i), b[0])
		assert.Equal(t, byte(i), b[len(b)-1])
		for j := range b {
			b[j] = 0xcc
		}
		assert.True(t, b[len(b)/2] == 0xcc)
	}

	// Anything but a buffer that was out at Close is refused with ErrClosed.
	rejected := s.Rejected
	foreign := other.Get(4096)
	defer func() { assert.NoError(t, other.Put(foreign)) }()
	for name, b := range map[string][]byte{
		"heap slice":            make([]byte, 64),
		"another pool's buffer": foreign,
	} {
		err := p.Put(b)
		assert.True(t, errors.Is(err, ErrClosed), "Put(%s) after Close: %v", name, err)
		rejected++
		assert.Equal(t, rejected, p.Stats().Rejected, "Put(%s) is counted as refused", name)
	}
	err = p.Put(out[1][1:])
	assert.Error(t, err, "an interior slice is still refused after Close")
	rejected++

	// Each Put of a buffer out at Close succeeds and unmaps what nothing else uses.
	mapped := s.MappedBytes
	for i, b := range out {
		require.NoError(t, p.Put(b), "Put of buffer %d, out at Close", i)
		s := p.Stats()
		assert.Equal(t, int64(len(out)-i-1), s.InUse)
		assert.LessOrEqual(t, s.MappedBytes, mapped)
		mapped = s.MappedBytes
	}
	s = p.Stats()
	assert.Zero(t, s.MappedBytes, "once every buffer is back, nothing is mapped")
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.Idle)
	assert.Equal(t, s.Maps, s.Unmaps)

	// A second Put of one of them, its memory gone, is refused.
	err = p.Put(out[0])
	assert.True(t, errors.Is(err, ErrClosed), "Put of a buffer already back, after Close: %v", err)
	rejected++
	assert.Equal(t, rejected, p.Stats().Rejected)

	assert.True(t, errors.Is(p.Close(), ErrClosed), "second Close")
	_, err = p.TryGet(4096)
	assert.True(t, errors.Is(err, ErrClosed))
}

// A double Put after Close of a buffer whose slab is still mapped (another buffer of it is
// out) is refused, and does not disturb that other buffer.
func TestDoublePutAfterClose(t *testing.T) {
	p, err := NewWithConfig(Config{})
	require.NoError(t, err)
	a, b := p.Get(4096), p.Get(4096)
	b[0] = 0x77
	require.NoError(t, p.Put(a))
	require.True(t, errors.Is(p.Close(), ErrBuffersOut))

	before := p.Stats()
	err = p.Put(a)
	require.Error(t, err)
	t.Logf("double Put after Close: %v", err)
	assert.True(t, errors.Is(err, ErrClosed) || errors.Is(err, ErrDoublePut), "%v", err)
	assert.Equal(t, before.Rejected+1, p.Stats().Rejected)
	assert.Equal(t, before.InUse, p.Stats().InUse)
	assert.Equal(t, byte(0x77), b[0])

	require.NoError(t, p.Put(b))
	assert.Zero(t, p.Stats().MappedBytes)
}

func TestTrim(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	sizes := []int{100, 4096, 4096, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	var bufs [][]byte
	for _, n := range sizes {
		bufs = append(bufs, p.Get(n))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	before := p.Stats()
	require.Equal(t, len(sizes), p.Len())

	released := p.Trim()
	assert.Positive(t, released)
	s := p.Stats()
	assert.Zero(t, p.Len(), "Trim drops every idle buffer")
	assert.Zero(t, s.IdleBytes)
	assert.Less(t, s.MappedBytes, before.MappedBytes)
	assert.Zero(t, s.MappedBytes, "nothing was out: every mapping goes")
	assert.Equal(t, before.MappedBytes, released, "Trim reports the bytes it unmapped")
	assert.Zero(t, p.Trim(), "a second Trim has nothing to release")

	// The pool still works; the first Get of each class after Trim maps afresh.
	classes := map[int]bool{}
	for _, n := range sizes {
		roundTrip(t, p, n)
		classes[classFor(n)] = true
	}
	assert.Equal(t, before.Misses+uint64(len(classes)), p.Stats().Misses, "Gets after Trim are misses")
	assert.Positive(t, p.Len())
}

// Trim with buffers out leaves them alone: their slab stays mapped and their contents stay.
func TestTrimWithBuffersOut(t *testing.T) {
	needsMappedMemory(t, "Trim discarding free slots (fresh zero pages)")
	oneP(t)
	p := newPool(t, Config{})
	var keep, drop [][]byte
	for i := range 8 {
		b := p.Get(16 << 10)
		for j := range b {
			b[j] = byte(i + 1)
		}
		if i%2 == 0 {
			keep = append(keep, b)
		} else {
			drop = append(drop, b)
		}
	}
	for _, b := range drop {
		require.NoError(t, p.Put(b))
	}
	mapped := p.Stats().MappedBytes
	released := p.Trim()
	assert.Positive(t, released, "the free slots' pages are given back")
	assert.Zero(t, p.Len())
	assert.Equal(t, mapped, p.Stats().MappedBytes, "the slab stays mapped: buffers of it are out")
	for i, b := range keep {
		want := byte(2*i + 1)
		assert.True(t, b[0] == want && b[len(b)-1] == want && b[len(b)/2] == want,
			"buffer %d out during Trim keeps its contents", i)
	}
	// Trim discarded the free slots' pages (MADV_DONTNEED): handed out again, they read as
	// zeros.
	for range drop {
		b := p.Get(16 << 10)
		assert.True(t, allZero(b), "a discarded slot comes back zeroed")
		keep = append(keep, b)
	}
	for _, b := range keep {
		require.NoError(t, p.Put(b))
	}
	assert.Zero(t, p.Stats().InUse)
}

// Close while goroutines are busy with the pool: every Get after it fails with ErrClosed,
// every buffer out at that moment goes back with a nil Put, and at the end nothing is left
// mapped.
func TestCloseDuringTraffic(t *testing.T) {
	p, err := NewWithConfig(Config{MaxBufferSize: 1 << 20})
	require.NoError(t, err)
	const goroutines = 8
	var started, wg sync.WaitGroup
	var gets, closedGets atomic.Int64
	started.Add(goroutines)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			var held [][]byte
			first := true
			for {
				n := 1 + rng.IntN(1<<rng.IntN(22)) // up to 2 MiB: oversize included
				b, err := p.TryGet(n)
				if first {
					started.Done()
					first = false
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("TryGet(%d): %v", n, err)
					}
					closedGets.Add(1)
					break
				}
				gets.Add(1)
				b[0], b[n-1] = byte(g), byte(g)
				held = append(held, b)
				if len(held) > rng.IntN(4) {
					k := rng.IntN(len(held))
					if err := p.Put(held[k]); err != nil {
						t.Errorf("Put: %v", err)
					}
					held = append(held[:k], held[k+1:]...)
				}
			}
			for _, b := range held {
				if b[0] != byte(g) || b[len(b)-1] != byte(g) {
					t.Errorf("goroutine %d: a buffer out across Close lost its contents", g)
				}
				if err := p.Put(b); err != nil {
					t.Errorf("Put after Close of a buffer that was out: %v", err)
				}
			}
		})
	}
	started.Wait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for gets.Load() < 2000 {
		select {
		case <-done: // every goroutine stopped early: the errors above say why
			break wait
		default:
			runtime.Gosched()
		}
	}
	err = p.Close()
	if err != nil {
		assert.True(t, errors.Is(err, ErrBuffersOut), "%v", err)
	}
	wg.Wait()
	assert.Equal(t, int64(goroutines), closedGets.Load(), "every goroutine saw ErrClosed")
	s := p.Stats()
	assert.Zero(t, s.InUse, "%s", s)
	assert.Zero(t, s.Idle)
	assert.Zero(t, s.MappedBytes, "nothing stays mapped after Close and the last Put")
	assert.Equal(t, s.Maps, s.Unmaps)
	assert.Equal(t, s.Gets, s.Puts)
	assert.Zero(t, s.Rejected)
}
