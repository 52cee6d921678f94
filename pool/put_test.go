package pool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPutAcceptsResliced(t *testing.T) {
	p := newPool(t, Config{})
	for _, n := range []int{1, 100, 4096, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for name, reslice := range map[string]func([]byte) []byte{
				"b[:0]":         func(b []byte) []byte { return b[:0] },
				"b[:0:0]":       func(b []byte) []byte { return b[:0:0] },
				"b[:1]":         func(b []byte) []byte { return b[:1] },
				"b[:cap(b)]":    func(b []byte) []byte { return b[:cap(b)] },
				"append(b[:0])": func(b []byte) []byte { return append(b[:0], 'x') },
			} {
				b := p.Get(n)
				before := p.Stats()
				assert.NoError(t, p.Put(reslice(b)), "Put(%s)", name)
				after := p.Stats()
				assert.Equal(t, before.Puts+1, after.Puts, "Put(%s)", name)
				assert.Equal(t, before.Rejected, after.Rejected, "Put(%s)", name)
				assert.Equal(t, before.InUse-1, after.InUse, "Put(%s)", name)
			}
		})
	}
}

func TestPutNil(t *testing.T) {
	p := newPool(t, Config{})
	assert.NoError(t, p.Put(nil))
	assert.NoError(t, p.Put([]byte(nil)[:0]))
	s := p.Stats()
	assert.Zero(t, s.Rejected)
	assert.Zero(t, s.Puts)
	roundTrip(t, p, 4096)
}

// Buffers above MaxBufferSize are served from a mapping of their own, which their Put unmaps.
func TestOversizeBuffers(t *testing.T) {
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBufferSize: 1 * MiB})
	small := p.Get(4096)
	base := p.Stats()

	b := p.Get(3 * MiB)
	require.Len(t, b, 3*MiB)
	b[0], b[len(b)-1] = 1, 2
	s := p.Stats()
	assert.Equal(t, base.Gets+1, s.Gets)
	assert.Equal(t, base.Misses+1, s.Misses)
	assert.Equal(t, base.InUse+1, s.InUse)
	assert.Equal(t, base.InUseBytes+3*MiB, s.InUseBytes)
	assert.Equal(t, base.MappedBytes+3*MiB, s.MappedBytes)

	require.NoError(t, p.Put(b))
	s = p.Stats()
	assert.Equal(t, base.Unmaps+1, s.Unmaps, "Put unmaps an oversize buffer")
	assert.Equal(t, base.MappedBytes, s.MappedBytes)
	assert.Equal(t, base.InUse, s.InUse)
	assert.Equal(t, base.InUseBytes, s.InUseBytes)
	assert.Equal(t, base.Idle, s.Idle, "an oversize buffer is never kept")

	before := p.Stats()
	err := p.Put(b)
	assert.Error(t, err, "a second Put of an unmapped oversize buffer is refused")
	assert.True(t, errors.Is(err, ErrDoublePut) || errors.Is(err, ErrNotOwned), "%v", err)
	assert.Equal(t, before.Rejected+1, p.Stats().Rejected)
	assert.Equal(t, before.Unmaps, p.Stats().Unmaps, "nothing is unmapped twice")

	// Many in a row: the address space is given back, and reused.
	for range 20 {
		c := p.Get(2*MiB + 1)
		c[len(c)-1] = 1
		require.NoError(t, p.Put(c))
	}
	assert.Equal(t, base.MappedBytes, p.Stats().MappedBytes)
	require.NoError(t, p.Put(small))
	roundTrip(t, p, 5*MiB)
}
