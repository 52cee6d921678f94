//go:build !linux || zeropool_portable

package pool

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// On other systems (and on Linux with the zeropool_portable tag) NewWithConfig refuses every
// feature that needs Linux, with an error that names it and the system, and wraps
// ErrInvalidConfig, offheap.ErrUnsupported and errors.ErrUnsupported.
func TestSystemRefusesLinuxFeatures(t *testing.T) {
	onMap := func(Region) error { return nil }
	cases := []struct {
		name     string
		cfg      Config
		features []string
	}{
		{"Secure", Config{Secure: true}, []string{"Secure"}},
		{"SecretMem", Config{Secure: true, SecretMem: true}, []string{"Secure", "SecretMem (memfd_secret)"}},
		{"RequirePinned", Config{Pinned: true, RequirePinned: true}, []string{"RequirePinned"}},
		{"Secure RequirePinned", Config{Secure: true, RequirePinned: true}, []string{"Secure", "RequirePinned"}},
		{"OnMap", Config{OnMap: onMap}, []string{"OnMap and OnUnmap"}},
		{"OnUnmap", Config{OnUnmap: func(Region) {}}, []string{"OnMap and OnUnmap"}},
		{"DontFork", Config{DontFork: true}, []string{"DontFork (MADV_DONTFORK)"}},
		{"all of them", Config{Secure: true, SecretMem: true, RequirePinned: true, OnMap: onMap, DontFork: true},
			[]string{"Secure", "SecretMem", "RequirePinned", "OnMap", "DontFork"}},
	}
	if backendIsGoMemory(t) {
		cases = append(cases, struct {
			name     string
			cfg      Config
			features []string
		}{"Debug", Config{Debug: true}, []string{"Debug needs page protection", "Protect (mprotect)"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewWithConfig(c.cfg)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.ErrorIs(t, err, offheap.ErrUnsupported)
			assert.ErrorIs(t, err, errors.ErrUnsupported)
			for _, f := range c.features {
				assert.Contains(t, err.Error(), f)
			}
			assert.Contains(t, err.Error(), systemName(), "the error names the system")
		})
	}
	// What is left works: the pool serves after every refusal.
	p := newPool(t, Config{})
	b := p.Get(100)
	require.NoError(t, p.Put(b))
}

// What does not need Linux works: RequirePinned without Pinned asks for nothing, and Debug
// works where the portable backend maps with mmap (its protection is mprotect's).
func TestSystemAcceptsTheRest(t *testing.T) {
	for _, cfg := range []Config{
		{RequirePinned: true},
		{Populate: true},
		{MaxMappedBytes: 8 << 20, MaxIdleBytes: 4 << 20, MinBufferSize: 1 << 10},
		{Debug: !backendIsGoMemory(t)},
	} {
		p, err := NewWithConfig(cfg)
		require.NoError(t, err, "%+v", cfg)
		for _, n := range []int{0, 100, 4096, 1 << 20} {
			b, err := p.TryGet(n)
			require.NoError(t, err)
			require.Len(t, b, n)
			if n > 0 {
				b[0], b[n-1] = 1, 2
			}
			require.NoError(t, p.Put(b))
		}
		require.NoError(t, p.Close())
	}
}

// Pinned stays best effort: the portable backend pins nothing, so every mapping counts once in
// Stats.PinFailures, none in PinnedBytes, and the pool serves as an unpinned one.
func TestPinnedIsBestEffortHere(t *testing.T) {
	p := newPool(t, Config{Pinned: true, MaxBufferSize: 4 << 20})
	sizes := []int{100, 4096, 64 << 10, 1 << 20, 8 << 20 /* oversize */}
	for round := range 3 {
		var bufs [][]byte
		for _, n := range sizes {
			b, err := p.TryGet(n)
			require.NoError(t, err, "round %d: TryGet(%d)", round, n)
			b[0], b[n-1] = byte(round), byte(round)
			bufs = append(bufs, b)
		}
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
	}
	s := p.Stats()
	assert.Positive(t, s.Maps)
	assert.Equal(t, s.Maps, s.PinFailures, "once per mapping, not per Get")
	assert.Zero(t, s.PinnedBytes)
	assert.Zero(t, s.InUse)
	assert.Contains(t, s.String(), "pin-failures=")
}

// Trim discards the free slots of a slab with buffers still out where the memory is mmap's,
// and counts them as unreleased where it is Go memory (which nothing can discard).
func TestTrimOfFreeSlotsHere(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	held := p.Get(64 << 10) // keeps the slab mapped
	var bufs [][]byte
	for range 8 {
		bufs = append(bufs, p.Get(64<<10))
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	released := p.Trim()
	s := p.Stats()
	if backendIsGoMemory(t) {
		assert.GreaterOrEqual(t, s.UnreleasedBytes, int64(8<<16), "Go memory cannot be discarded: Stats says so")
		assert.Zero(t, released)
	} else {
		assert.Zero(t, s.UnreleasedBytes, "every free slot was discarded")
		assert.GreaterOrEqual(t, released, int64(8<<16))
	}
	require.NoError(t, p.Put(held))
}
