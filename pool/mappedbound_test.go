package pool

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/offheap"
)

const mib = 1 << 20

// Every path that maps makes room from the pool's own idle memory before it fails with
// ErrExhausted: Gets above MaxBufferSize and a Buffer growing past it too. (Before, only
// Gets of pooled classes did.)
func TestGetsAboveMaxBufferSizeMakeRoom(t *testing.T) {
	idle6MiB := func(t *testing.T) *BufferPool {
		p := newPool(t, Config{MaxBufferSize: mib, MaxMappedBytes: 8 * mib})
		var bufs [][]byte
		for range 6 {
			bufs = append(bufs, p.Get(mib))
		}
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
		require.Equal(t, int64(6*mib), p.Stats().IdleBytes)
		return p
	}
	t.Run("TryGet", func(t *testing.T) {
		p := idle6MiB(t)
		b, err := p.TryGet(6 * mib)
		require.NoError(t, err, "6 MiB idle is given back for a 6 MiB oversize Get")
		assert.LessOrEqual(t, p.Stats().MappedBytes, int64(8*mib))
		require.NoError(t, p.Put(b))
	})
	t.Run("Buffer", func(t *testing.T) {
		p := idle6MiB(t)
		buf := p.NewBuffer(0)
		_, err := buf.Write(make([]byte, 6*mib))
		require.NoError(t, err, "a Buffer grows past MaxBufferSize by making room")
		assert.Equal(t, 6*mib, buf.Len())
		require.NoError(t, buf.Release())
	})
	t.Run("Preallocate", func(t *testing.T) {
		p := idle6MiB(t)
		require.NoError(t, p.Preallocate(256<<10, 8), "Preallocate makes room from the idle 1 MiB buffers")
	})
}

// Guard pages are mapped memory: they count in MappedBytes and against MaxMappedBytes, as
// the kernel counts them. (Before, four Secure 1 MiB buffers mapped 4,227,072 bytes under a
// 4,194,304-byte bound that said 4,194,304 were mapped.)
func TestGuardPagesChargedToMaxMappedBytes(t *testing.T) {
	pg := offheap.PageSize()
	p := newPool(t, Config{Secure: true})
	var bufs [][]byte
	for range 4 {
		bufs = append(bufs, p.Get(mib))
	}
	maps, err := procfs.Maps()
	require.NoError(t, err)
	var kernel uintptr
	for _, b := range bufs {
		lo := addrOf(b) - uintptr(pg)
		n := procfs.Covered(maps, lo, lo+uintptr(cap(b)+2*pg))
		assert.Equal(t, uintptr(cap(b)+2*pg), n, "the buffer and its two guard pages are mapped")
		kernel += n
	}
	assert.Equal(t, int64(kernel), p.Stats().MappedBytes, "MappedBytes counts what the kernel maps")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}

	q := newPool(t, Config{Secure: true, MaxMappedBytes: 4 * mib})
	var out [][]byte
	for {
		b, err := q.TryGet(mib)
		if err != nil {
			require.ErrorIs(t, err, ErrExhausted)
			break
		}
		out = append(out, b)
	}
	assert.Len(t, out, 3, "three 1 MiB buffers and their guard pages fit in 4 MiB, four do not")
	assert.LessOrEqual(t, q.Stats().MappedBytes, int64(4*mib))
	for _, b := range out {
		require.NoError(t, q.Put(b))
	}
}

// MappedBytes never reads above MaxMappedBytes, not even for the moment a refused Get's
// reservation lasts. (Before, a reservation was added and then refunded.)
func TestMappedBytesNeverReadsAboveBound(t *testing.T) {
	const bound = 8 * mib
	p := newPool(t, Config{MaxMappedBytes: bound})
	var held [][]byte
	for {
		b, err := p.TryGet(mib)
		if err != nil {
			break
		}
		held = append(held, b) // nothing idle: a refused Get has no room to make
	}
	var stop atomic.Bool
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if m := p.mapped.Load(); m > peak.Load() {
				peak.Store(m)
			}
		}
	}()
	var workers sync.WaitGroup
	for range 2 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for range 20_000 {
				_, err := p.TryGet(3 * mib)
				assert.ErrorIs(t, err, ErrExhausted)
			}
		}()
	}
	workers.Wait()
	stop.Store(true)
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(bound), "the highest MappedBytes seen")
	for _, b := range held {
		require.NoError(t, p.Put(b))
	}
}

// IdleBytes stays within MaxIdleBytes at every step, also when a P makes its magazines after
// the depot has filled (the fuzzer's input "1\"2000": Preallocate 2 x 1 MiB, then a Get and
// Put of another class; before, IdleBytes read 2,105,344 against a 2,097,152 bound).
func TestIdleBytesBoundHoldsWhenMagazinesAreMadeLate(t *testing.T) {
	for _, fill := range []string{"Preallocate", "Puts"} {
		t.Run(fill, func(t *testing.T) {
			oneP(t)
			p := newPool(t, Config{MaxBufferSize: mib, MaxIdleBytes: 2 * mib})
			check := func(step string) {
				t.Helper()
				assert.LessOrEqual(t, p.Stats().IdleBytes, int64(2*mib), "after %s", step)
			}
			if fill == "Preallocate" {
				_ = p.Preallocate(mib, 2)
			} else {
				a, b := p.Get(mib), p.Get(mib)
				require.NoError(t, p.Put(a))
				require.NoError(t, p.Put(b))
			}
			check("filling the depot")
			for _, size := range []int{4101, 100, 64 << 10} {
				b := p.Get(size)
				check("a Get")
				o, err := p.Owner(b[1:])
				require.NoError(t, err)
				require.NoError(t, p.Put(o))
				check("a Put through Owner")
			}
		})
	}
}
