package pool

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A BufferPool that was never passed to New is a pool with the defaults, set up by the
// first method called on it, whichever that is: as sync.Pool and bytes.Buffer, it can be a
// field of a struct. (Before, its first Get read its P caches while pinned and died with a
// fatal fault.)
func TestZeroValuePoolIsAPoolWithTheDefaults(t *testing.T) {
	want, err := NewWithConfig(Config{})
	require.NoError(t, err)
	defer want.Close()
	heap := make([]byte, 64)

	for _, tc := range []struct {
		name  string
		first func(t *testing.T, p *BufferPool)
	}{
		{"Get", func(t *testing.T, p *BufferPool) { require.NoError(t, p.Put(p.Get(4096))) }},
		{"TryGet", func(t *testing.T, p *BufferPool) {
			b, err := p.TryGet(1 << 20)
			require.NoError(t, err)
			require.NoError(t, p.Put(b))
		}},
		{"GetZeroed", func(t *testing.T, p *BufferPool) { require.NoError(t, p.Put(p.GetZeroed(100))) }},
		{"Put", func(t *testing.T, p *BufferPool) { assert.ErrorIs(t, p.Put(heap), ErrNotOwned) }},
		{"Put(nil)", func(t *testing.T, p *BufferPool) { assert.NoError(t, p.Put(nil)) }},
		{"Len", func(t *testing.T, p *BufferPool) { assert.Zero(t, p.Len()) }},
		{"Stats", func(t *testing.T, p *BufferPool) { assert.Zero(t, p.Stats().Gets) }},
		{"Trim", func(t *testing.T, p *BufferPool) { assert.Zero(t, p.Trim()) }},
		{"Config", func(t *testing.T, p *BufferPool) {
			assert.Equal(t, want.Config().MaxIdleBytes, p.Config().MaxIdleBytes)
		}},
		{"Regions", func(t *testing.T, p *BufferPool) { assert.Empty(t, p.Regions()) }},
		{"RegionOf", func(t *testing.T, p *BufferPool) {
			_, _, err := p.RegionOf(heap)
			assert.ErrorIs(t, err, ErrNotOwned)
		}},
		{"Owner", func(t *testing.T, p *BufferPool) {
			_, err := p.Owner(heap)
			assert.ErrorIs(t, err, ErrNotOwned)
		}},
		{"Preallocate", func(t *testing.T, p *BufferPool) { assert.NoError(t, p.Preallocate(4096, 2)) }},
		{"Freeze", func(t *testing.T, p *BufferPool) { assert.ErrorIs(t, p.Freeze(heap), ErrNotOwned) }},
		{"Melt", func(t *testing.T, p *BufferPool) { assert.ErrorIs(t, p.Melt(heap), ErrNotOwned) }},
		{"Purge", func(t *testing.T, p *BufferPool) { assert.Zero(t, p.Purge()) }},
		{"NewBuffer", func(t *testing.T, p *BufferPool) {
			b := p.NewBuffer(10)
			_, _ = b.WriteString("hello")
			require.NoError(t, b.Release())
		}},
		{"Sized", func(t *testing.T, p *BufferPool) {
			s := p.Sized(4096)
			s.Put(s.Get())
		}},
		{"Close", func(t *testing.T, p *BufferPool) { assert.NoError(t, p.Close()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s struct {
				name string
				bufs BufferPool
			}
			tc.first(t, &s.bufs)
			assert.Equal(t, want.Config(), configWithoutHooks(s.bufs.Config()), "the defaults")
			if tc.name == "Close" {
				_, err := s.bufs.TryGet(64)
				assert.ErrorIs(t, err, ErrClosed, "a zero pool closed first is closed")
				return
			}
			roundTrip(t, &s.bufs, 4096)
			roundTrip(t, &s.bufs, 3<<20)
			b := s.bufs.Get(64)
			require.NoError(t, s.bufs.Put(b))
			assert.ErrorIs(t, s.bufs.Put(b), ErrDoublePut)
			require.NoError(t, s.bufs.Close())
			assert.Zero(t, s.bufs.Stats().MappedBytes, "Close gave everything back")
		})
	}
}

// configWithoutHooks is c with its func fields cleared, so that two Configs compare.
func configWithoutHooks(c Config) Config {
	c.OnMap, c.OnUnmap = nil, nil
	return c
}

// Many goroutines may make a zero pool's first call at once: one sets it up, the others wait
// for it and then use it (the race detector checks the pool's own state).
func TestZeroValuePoolConcurrentFirstUse(t *testing.T) {
	var p BufferPool
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				b := p.Get(64 << (i % 4))
				b[0] = byte(j)
				assert.NoError(t, p.Put(b))
			}
			_ = p.Stats()
		}()
	}
	wg.Wait()
	s := p.Stats()
	assert.Equal(t, uint64(8*200), s.Gets)
	assert.Zero(t, s.InUse)
	require.NoError(t, p.Close())
}
