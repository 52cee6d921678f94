package pool

import (
	"fmt"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// writeFaults reports whether writing b[0] faults.
func writeFaults(b []byte) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { faulted = recover() != nil }()
	b[0] = 1
	return false
}

// Freeze makes a Secure buffer of a page or more read-only; Melt makes it writable again; Put
// of a frozen buffer melts it before the wipe.
func TestFreezeAndMelt(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{Secure: true})
	b := p.Get(4096)
	copy(b, "key")
	require.NoError(t, p.Freeze(b))
	assert.Equal(t, "key", string(b[:3]), "a frozen buffer reads")
	assert.True(t, writeFaults(b), "a write to a frozen buffer faults")
	require.NoError(t, p.Freeze(b), "Freeze twice does nothing")
	require.NoError(t, p.Melt(b))
	assert.False(t, writeFaults(b), "melted: writable again")
	require.NoError(t, p.Melt(b), "Melt of a buffer not frozen does nothing")

	require.NoError(t, p.Freeze(b))
	require.NoError(t, p.Put(b), "Put of a frozen buffer melts and wipes it")
	c := p.Get(4096)
	require.Equal(t, addrOf(b), addrOf(c))
	assert.True(t, allZero(c), "wiped")
	assert.False(t, writeFaults(c), "the next holder can write")
	require.NoError(t, p.Put(c))
}

// Bad input to Freeze and Melt gets its error and changes nothing.
func TestFreezeRefusals(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	small, neighbour := p.Get(32), p.Get(32)
	assert.ErrorIs(t, p.Freeze(small), ErrSharedPage, "a small secret shares its page")
	assert.False(t, writeFaults(small), "and stays writable")
	require.NoError(t, p.Put(neighbour), "its neighbour's Put (a wipe) still works")
	require.NoError(t, p.Put(small))

	assert.ErrorIs(t, p.Freeze(make([]byte, 4096)), ErrNotOwned, "heap memory")
	assert.ErrorIs(t, p.Freeze(nil), ErrNotOwned)
	q := newPool(t, Config{Secure: true})
	other := q.Get(4096)
	assert.ErrorIs(t, p.Freeze(other), ErrNotOwned, "another pool's buffer")
	require.NoError(t, q.Put(other))
	idle := p.Get(4096)
	require.NoError(t, p.Put(idle))
	assert.ErrorIs(t, p.Freeze(idle), ErrNotOwned, "a buffer that is not out")
	b := p.Get(4096)
	assert.ErrorIs(t, p.Freeze(b[64:]), ErrNotOwned, "an interior slice")
	require.NoError(t, p.Put(b))

	plain := newPool(t, Config{})
	c := plain.Get(4096)
	assert.ErrorIs(t, plain.Freeze(c), ErrNotSecure)
	assert.ErrorIs(t, plain.Melt(c), ErrNotSecure)
	require.NoError(t, plain.Put(c))
}

// Purge wipes every buffer of a Secure pool, out or idle, frozen or not; an ordinary pool is
// left alone; a closed pool's buffers still out are wiped too.
func TestPurge(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	out := []([]byte){p.Get(32), p.Get(4096), p.Get(1 << 20)}
	for _, b := range out {
		copy(b, "secret key bytes")
	}
	require.NoError(t, p.Freeze(out[1]))
	idle := p.Get(64)
	require.NoError(t, p.Put(idle))
	n := p.Purge()
	assert.GreaterOrEqual(t, n, len(out))
	for _, b := range out {
		assert.True(t, allZero(b[:16]), "a buffer that is out is wiped")
	}
	assert.False(t, writeFaults(out[1]), "Purge melted the frozen buffer to wipe it")
	for _, b := range out {
		require.NoError(t, p.Put(b))
	}

	plain := newPool(t, Config{})
	c := plain.Get(64)
	copy(c, "data")
	assert.Zero(t, plain.Purge())
	assert.Equal(t, "data", string(c[:4]))
	require.NoError(t, plain.Put(c))

	q := newPool(t, Config{Secure: true})
	d := q.Get(4096)
	copy(d, "secret")
	assert.Error(t, q.Close(), "one buffer is out")
	assert.Equal(t, 1, q.Purge(), "a closed pool's buffer still out is wiped")
	assert.True(t, allZero(d[:6]))
	require.NoError(t, q.Put(d))
}

// Freeze of a buffer that shares its page says how to get one that does not.
func TestFreezeOfSharedPageSaysHow(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	b := p.Get(32)
	err := p.Freeze(b)
	require.ErrorIs(t, err, ErrSharedPage)
	assert.Contains(t, err.Error(), fmt.Sprintf("Get(%d)", offheap.PageSize()))
	require.NoError(t, p.Put(b))
}
