package pool

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
