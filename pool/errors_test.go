package pool

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Put of a slice cut inside a pool buffer says so and names Owner, which is how to put it
// back; a heap slice gets the plain refusal. Both are ErrNotOwned.
func TestPutOfInteriorSliceNamesOwner(t *testing.T) {
	p := newPool(t, Config{MaxBufferSize: 4 * mib})
	for _, size := range []int{100, 4096, 64 << 10, mib} {
		b := p.Get(size)
		err := p.Put(b[16:])
		require.ErrorIs(t, err, ErrNotOwned, "Put(b[16:]) of a %d-byte buffer", size)
		assert.Contains(t, err.Error(), "inside a buffer", "Put(b[16:]) of a %d-byte buffer", size)
		assert.Contains(t, err.Error(), "Owner")
		require.NoError(t, p.Put(b))
	}
	err := p.Put(make([]byte, 64))
	require.ErrorIs(t, err, ErrNotOwned)
	assert.NotContains(t, err.Error(), "Owner", "heap memory is not inside any buffer")
}

// Every error the pool returns names the package once, however deeply it wraps.
// (Before: "zeropool: Get(4096): zeropool: MaxMappedBytes reached".)
func TestErrorsSayZeropoolOnce(t *testing.T) {
	full := newPool(t, Config{MaxMappedBytes: 2 * mib})
	held := full.Get(4096)
	errs := map[string]error{}
	_, errs["ErrExhausted, pooled"] = full.TryGet(mib)
	_, errs["ErrExhausted, oversize"] = full.TryGet(2 << 30)
	errs["Preallocate"] = full.Preallocate(mib, 1)
	refusing := newPool(t, Config{OnMap: func(Region) error { return ErrInvalidSize }})
	_, errs["OnMap"] = refusing.TryGet(4096)
	_, errs["negative"] = full.TryGet(-1)
	errs["interior"] = full.Put(held[8:])
	require.NoError(t, full.Put(held))
	errs["double"] = full.Put(held)
	_, errs["config"] = NewWithConfig(Config{MaxBufferSize: -1, MinBufferSize: -1})
	closed := newPool(t, Config{})
	b := closed.Get(64)
	_ = closed.Close()
	require.NoError(t, closed.Put(b))
	errs["closed"] = closed.Put(b)
	for name, err := range errs {
		require.Error(t, err, name)
		for _, line := range strings.Split(err.Error(), "\n") {
			assert.Equal(t, 1, strings.Count(line, "zeropool:"), "%s: %q", name, line)
		}
	}
}
