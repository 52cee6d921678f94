package pool

import (
	"bytes"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdBuffers gets n buffers and keeps them: the call site the profile must name.
func holdBuffers(p *BufferPool, n int) [][]byte {
	var out [][]byte
	for range n {
		out = append(out, p.Get(4096))
	}
	return out
}

// profileText is the zeropool.inuse profile in its text form.
func profileText(t *testing.T) (count int, text string) {
	t.Helper()
	prof := pprof.Lookup(InUseProfile)
	require.NotNil(t, prof, "the profile is registered once a Get was tracked")
	var buf bytes.Buffer
	require.NoError(t, prof.WriteTo(&buf, 1))
	return prof.Count(), buf.String()
}

// Buffers out are attributed to the code that got them: the zeropool.inuse profile names
// the function that holds them, and forgets them at their Puts, whatever the path.
func TestInUseProfileNamesHolders(t *testing.T) {
	p := newPool(t, Config{TrackRate: 1})
	base, _ := profileTextIfAny(t)
	bufs := holdBuffers(p, 3)
	n, text := profileText(t)
	assert.Equal(t, base+3, n)
	assert.Contains(t, text, "holdBuffers")
	tracked := p.Tracked()
	require.Len(t, tracked, 3)
	assert.Contains(t, tracked[0].Caller(), "holdBuffers")
	assert.Equal(t, 4096, tracked[0].Size)
	assert.Equal(t, int64(3), p.Stats().TrackedBuffers)

	// Every way back forgets the record: Put, Put through Owner, a SizedPool, a Buffer.
	require.NoError(t, p.Put(bufs[0]))
	o, err := p.Owner(bufs[1][10:])
	require.NoError(t, err)
	require.NoError(t, p.Put(o))
	s := p.Sized(4096)
	s.Put(bufs[2])
	sb := s.Get()
	bb := p.NewBuffer(100)
	_, _ = bb.WriteString("x")
	assert.Len(t, p.Tracked(), 2, "the SizedPool's and the Buffer's Gets are tracked")
	s.Put(sb)
	require.NoError(t, bb.Release())
	n, text = profileText(t)
	assert.Equal(t, base, n)
	assert.NotContains(t, text, "holdBuffers")
	assert.Empty(t, p.Tracked())

	// Gets above MaxBufferSize and from a Debug pool (which tracks every Get) too.
	q := newPool(t, Config{MaxBufferSize: 1 << 20, Debug: true})
	big := q.Get(3 << 20)
	small := q.Get(64)
	assert.Len(t, q.Tracked(), 2)
	require.NoError(t, q.Put(big))
	require.NoError(t, q.Put(small))
	assert.Empty(t, q.Tracked())
}

// profileTextIfAny is profileText for a profile that may not exist yet.
func profileTextIfAny(t *testing.T) (int, string) {
	if pprof.Lookup(InUseProfile) == nil {
		return 0, ""
	}
	return profileText(t)
}

// TrackRate N tracks about one Get in N: within a factor of 2 over many Gets.
func TestTrackRateSamples(t *testing.T) {
	for _, rate := range []int{16, 256} {
		p := newPool(t, Config{TrackRate: rate})
		const gets = 64 * 256
		bufs := make([][]byte, 0, gets)
		for range gets {
			bufs = append(bufs, p.Get(64))
		}
		n := len(p.Tracked())
		want := gets / rate
		assert.GreaterOrEqual(t, n, want/2, "rate %d", rate)
		assert.LessOrEqual(t, n, want*2, "rate %d", rate)
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
		assert.Empty(t, p.Tracked())
	}
	p := newPool(t, Config{})
	for range 1000 {
		require.NoError(t, p.Put(p.Get(64)))
	}
	b := p.Get(64)
	assert.Empty(t, p.Tracked(), "TrackRate 0 tracks nothing")
	require.NoError(t, p.Put(b))
	_, err := NewWithConfig(Config{TrackRate: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// Close with buffers out names the call sites that hold them when tracking is on.
func TestCloseNamesHolders(t *testing.T) {
	p, err := NewWithConfig(Config{TrackRate: 1})
	require.NoError(t, err)
	bufs := holdBuffers(p, 2)
	err = p.Close()
	require.ErrorIs(t, err, ErrBuffersOut)
	assert.Contains(t, err.Error(), "2 x github.com/zeropool-go/zeropool/pool.holdBuffers")
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
}
