package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigReproducesSeedTable(t *testing.T) {
	rows := []struct{ cpus, local, shards, perShard int }{
		{4, 4, 4, 16},
		{8, 6, 8, 16},
		{16, 6, 8, 32},
		{32, 8, 16, 64},
		{64, 8, 32, 64},
		{128, 8, 64, 64},
	}
	for _, r := range rows {
		c := DefaultConfig(r.cpus)
		assert.Equal(t, r.local, c.LocalCacheSize, "cpus=%d LocalCacheSize", r.cpus)
		assert.Equal(t, r.shards, c.NumShards, "cpus=%d NumShards", r.cpus)
		assert.Equal(t, r.perShard, c.MaxBuffersPerShard, "cpus=%d MaxBuffersPerShard", r.cpus)
	}
}

func TestDefaultConfigIsMonotoneAndSane(t *testing.T) {
	prev := DefaultConfig(0)
	for cpus := 1; cpus <= 1024; cpus++ {
		c := DefaultConfig(cpus)
		assert.GreaterOrEqual(t, c.LocalCacheSize, prev.LocalCacheSize, "cpus=%d", cpus)
		assert.GreaterOrEqual(t, c.NumShards, prev.NumShards, "cpus=%d", cpus)
		assert.GreaterOrEqual(t, c.MaxBuffersPerShard, prev.MaxBuffersPerShard, "cpus=%d", cpus)
		assert.Positive(t, c.LocalCacheSize)
		assert.Equal(t, 0, c.NumShards&(c.NumShards-1), "cpus=%d: NumShards %d is a power of two", cpus, c.NumShards)
		assert.LessOrEqual(t, c.NumShards, 128)
		assert.GreaterOrEqual(t, c.MaxBufferSize, 1<<30)
		assert.GreaterOrEqual(t, c.MaxIdleBytes, int64(512<<20))
		prev = c
	}
}

func TestNewWithConfigFillsDefaults(t *testing.T) {
	p, err := NewWithConfig(Config{NumShards: 3, MaxBufferSize: 3 << 20})
	require.NoError(t, err)
	defer p.Close()
	c := p.Config()
	assert.Equal(t, 4, c.NumShards, "rounded up to a power of two")
	assert.Equal(t, 4<<20, c.MaxBufferSize, "rounded up to a power of two")
	assert.Positive(t, c.LocalCacheSize)
	assert.Positive(t, c.MaxBuffersPerShard)
	assert.Equal(t, int64(DefaultMaxIdleBytes), c.MaxIdleBytes)
}

// NewWithConfig refuses configurations that contradict themselves, naming the fields.
// (Before, MaxBufferSize below MinBufferSize was accepted, and a MaxMappedBytes smaller than
// any region a small Get maps made every such Get fail.)
func TestNewWithConfigRefusesContradictions(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		names []string
	}{
		{Config{MinBufferSize: 1 << 20, MaxBufferSize: 64 << 10}, []string{"MaxBufferSize", "MinBufferSize"}},
		{Config{MaxMappedBytes: 1 << 20}, []string{"MaxMappedBytes", "2 MiB"}},
		{Config{MaxMappedBytes: 4096, Secure: true}, []string{"MaxMappedBytes"}},
	} {
		if refusedHere(tc.cfg) {
			continue // refused for what this system lacks before its contradictions are looked at
		}
		_, err := NewWithConfig(tc.cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", tc.cfg)
		for _, n := range tc.names {
			assert.Contains(t, err.Error(), n)
		}
	}
	for _, ok := range []Config{
		{MinBufferSize: 64 << 10, MaxBufferSize: 64 << 10},
		{MaxMappedBytes: 2 << 20},
	} {
		p, err := NewWithConfig(ok)
		require.NoError(t, err, "%+v", ok)
		roundTrip(t, p, 100)
		require.NoError(t, p.Close())
	}
}
