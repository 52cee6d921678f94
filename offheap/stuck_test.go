//go:build linux && !zeropool_portable

package offheap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStuckUnmaps: a Mapping whose unmap the kernel refuses is kept, still mapped and usable,
// and unmapped by a later Retry; what the kernel refuses again stays kept; what unmaps at
// once, and what is no Mapping to unmap, is never kept.
func TestStuckUnmaps(t *testing.T) {
	pg := PageSize()
	inner, err := openBackend("syscall")
	require.NoError(t, err)
	rb := &refusingBackend{backend: inner}
	backends = append(backends, &backendSlot{name: rb.name(), open: func() (backend, error) { return rb, nil }})
	t.Cleanup(func() { backends = backends[:len(backends)-1] })
	newMap := func(pages int) *Mapping {
		t.Helper()
		m, err := Map(pages*pg, GuardPages(), WithBackend(rb.name()))
		require.NoError(t, err)
		return m
	}

	var s StuckUnmaps
	assert.Zero(t, s.Len())
	assert.Zero(t, s.Retry(), "an empty list unmaps nothing")

	// Unmapped at once: not kept.
	m := newMap(1)
	require.NoError(t, s.Unmap(m))
	assert.Nil(t, m.Bytes())
	assert.Zero(t, s.Len())

	// Refused: kept, still mapped and usable.
	a, b := newMap(2), newMap(3)
	rb.refusals = 2
	err = s.Unmap(a)
	assert.ErrorIs(t, err, unix.ENOMEM)
	assert.ErrorIs(t, s.Unmap(b), unix.ENOMEM)
	assert.Equal(t, 2, s.Len())
	wantBytes := int64(a.Info().Mapped + b.Info().Mapped)
	assert.Equal(t, wantBytes, s.Bytes())
	for _, k := range []*Mapping{a, b} {
		buf := k.Bytes()
		require.NotNil(t, buf, "a kept Mapping stays live")
		buf[0], buf[len(buf)-1] = 1, 2
		assert.Equal(t, uintptr(k.Info().Mapped), covered(t, k.rec.base, k.rec.total), "still mapped")
	}

	// Refused again for one of them: that one stays kept.
	rb.refusals = 1
	got := s.Retry()
	assert.Equal(t, 1, s.Len())
	assert.Contains(t, []int64{int64(a.Info().Mapped), int64(b.Info().Mapped)}, got, "one unmapped")
	assert.Equal(t, wantBytes-got, s.Bytes())

	// Then both are gone, and their memory with them.
	assert.Equal(t, wantBytes-got, s.Retry())
	assert.Zero(t, s.Len())
	assert.Zero(t, s.Bytes())
	assert.Nil(t, a.Bytes())
	assert.Nil(t, b.Bytes())

	// Not a Mapping to unmap: the error is Unmap's, and nothing is kept.
	assert.ErrorIs(t, s.Unmap(nil), ErrInvalid)
	assert.ErrorIs(t, s.Unmap(m), ErrNotMapped, "already unmapped")
	assert.Zero(t, s.Len())
}
