package pool

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// Purge returns how many buffers it wiped, out and idle, not how many slots their slabs
// have (before: 15,904 for one 32-byte key out), and touches no slot never handed out.
func TestPurgeCountsBuffers(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{Secure: true})
	key := p.Get(32)
	copy(key, "0123456789abcdef0123456789abcdef")
	assert.Equal(t, 1, p.Purge(), "one key out")
	assert.True(t, allZero(key))
	idle := p.Get(32)
	big := p.Get(8192)
	require.NoError(t, p.Put(idle))
	assert.Equal(t, 3, p.Purge(), "two out, one idle")
	require.NoError(t, p.Put(key))
	require.NoError(t, p.Put(big))
	assert.Equal(t, 3, p.Purge(), "three idle")
}

// Purge of a Secure Debug pool leaves its idle buffers alone (they are inaccessible, and
// were wiped at their Put) and wipes those out. (Before, it wrote to their PROT_NONE pages:
// a fatal fault, hence the child.)
func TestPurgeOfSecureDebugPool(t *testing.T) {
	inChild(t, func(t *testing.T) {
		p := newPool(t, Config{Secure: true, Debug: true})
		a, b := p.Get(4096), p.Get(mib)
		require.NoError(t, p.Put(a))
		require.NoError(t, p.Put(b))
		out := p.Get(8192) // a class with no idle buffer: a third region
		copy(out, "secret")
		assert.Equal(t, 3, p.Purge())
		assert.True(t, allZero(out[:6]))
		require.NoError(t, p.Put(out))
	})
}

// Purge is safe against every other method on any goroutine: Freeze, Melt, Get, Put, Trim
// and Close, in Secure, Secure Debug and SecretMem pools. (Before, Purge racing Freeze wrote
// to a page Freeze had just made read-only: a fatal fault, hence the child; the race
// detector, in make test's -race run, checks the pool's own state.)
func TestPurgeIsSafeAgainstEveryMethod(t *testing.T) {
	inChild(t, func(t *testing.T) {
		for _, cfg := range []Config{
			{Secure: true},
			{Secure: true, Debug: true},
			{Secure: true, SecretMem: true},
		} {
			if refusedHere(cfg) {
				t.Skipf("Secure pools are Linux's")
			}
			p, err := NewWithConfig(cfg)
			if errors.Is(err, offheap.ErrSecretMem) {
				t.Logf("SecretMem: %v", err)
				continue
			}
			require.NoError(t, err)
			purgeRaces(t, p)
		}
	})
}

func purgeRaces(t *testing.T, p *BufferPool) {
	const rounds = 300
	var wg sync.WaitGroup
	worker := func(size int, freeze bool) {
		defer wg.Done()
		for i := range rounds {
			b, err := p.TryGet(size)
			if err != nil {
				assert.ErrorIs(t, err, ErrClosed)
				return
			}
			copy(b, "secret")
			if freeze {
				assert.NoError(t, p.Freeze(b))
				if i%2 == 0 {
					assert.NoError(t, p.Melt(b))
				}
			}
			assert.NoError(t, p.Put(b))
		}
	}
	for _, w := range []struct {
		size   int
		freeze bool
	}{{32, false}, {4096, true}, {mib, true}, {8192, false}} {
		wg.Add(1)
		go worker(w.size, w.freeze)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range rounds {
			p.Purge()
		}
	}()
	go func() {
		defer wg.Done()
		for range rounds / 10 {
			p.Trim()
		}
	}()
	wg.Wait()
	kept := p.Get(4096)
	require.NoError(t, p.Freeze(kept))
	wg.Add(2)
	go func() { defer wg.Done(); _ = p.Close() }()
	go func() { defer wg.Done(); p.Purge() }()
	wg.Wait()
	assert.Equal(t, 1, p.Purge(), "a closed pool's buffer still out")
	assert.True(t, allZero(kept[:6]))
	require.NoError(t, p.Put(kept))
	assert.Zero(t, p.Stats().MappedBytes)
}
