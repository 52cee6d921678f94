package pool

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
