//go:build !linux || zeropool_portable

package iouring

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// Elsewhere than on Linux the package refuses, clearly: NewTable returns an error wrapping
// errors.ErrUnsupported that names the system, and a Table's zero value is a closed one.
func TestRefusedOnOtherSystems(t *testing.T) {
	tab, err := NewTable(3, 16)
	require.Error(t, err)
	assert.Nil(t, tab)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Contains(t, err.Error(), "io_uring needs Linux")
	assert.Contains(t, err.Error(), systemName())

	_, err = NewTable(3, 0)
	assert.ErrorIs(t, err, ErrInvalidSlots, "the arguments are checked first, as on Linux")
	_, err = NewTable(3, MaxSlots+1)
	assert.ErrorIs(t, err, ErrInvalidSlots)

	var zero Table
	r := pool.Region{ID: 7, Mem: make([]byte, 4096)}
	err = zero.OnMap(r)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	zero.OnUnmap(r)
	assert.NoError(t, zero.Err())
	_, ok := zero.Index(r.Mem)
	assert.False(t, ok)
	assert.ErrorIs(t, zero.Close(), ErrClosed)

	// The pool refuses the hooks anyway: a Table could not be used with one here.
	p, err := pool.NewWithConfig(pool.Config{OnMap: zero.OnMap, OnUnmap: zero.OnUnmap})
	assert.ErrorIs(t, err, pool.ErrInvalidConfig)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Nil(t, p)
}
