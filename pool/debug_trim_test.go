package pool

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Trim gives back the pages of a Debug pool's free slots and leaves them inaccessible: a
// touch after Put still faults after the Trim (on Linux, MADV_DONTNEED keeps the protection;
// offheap's portable backend maps fresh pages and protects them again).
func TestDebugTrimKeepsFreeSlotsInaccessible(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{Debug: true})
	for _, n := range []int{4096, 64 << 10} {
		neighbour := p.Get(n) // keeps the slab mapped: Trim discards the free slot only
		b := p.Get(n)
		addr := addrOf(b)
		require.NoError(t, p.Put(b))
		assertFault(t, addr, true, "a touch after Put(%d)", n)
		require.Positive(t, p.Trim())
		require.Equal(t, int64(1), p.Stats().InUse, "the neighbour is out")
		assertFault(t, addr, false, "a read after Put(%d) and Trim", n)
		assertFault(t, addr+uintptr(n)-1, true, "a write after Put(%d) and Trim", n)
		c := p.Get(n)
		require.Equal(t, addr, addrOf(c), "the free slot is handed out again")
		c[0], c[n-1] = 1, 1
		require.NoError(t, p.Put(c))
		require.NoError(t, p.Put(neighbour))
	}
}
