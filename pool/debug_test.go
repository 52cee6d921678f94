package pool

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// A Debug pool makes every idle buffer inaccessible: a read or a write after Put faults at
// once, anywhere in the buffer's pages, whatever its size (a sub-page buffer, a page, a
// mapping of several MiB). The next Get hands the same memory out again, accessible.
func TestDebugUseAfterPutFaults(t *testing.T) {
	pg := offheap.PageSize()
	for _, cfg := range []Config{{Debug: true}, {Debug: true, Secure: true}} {
		p := newPool(t, cfg)
		for _, n := range []int{100, 4096, 3 << 20} {
			t.Run(fmt.Sprintf("secure=%v/%d", cfg.Secure, n), func(t *testing.T) {
				b := p.Get(n)
				require.Len(t, b, n)
				addr, size := addrOf(b), cap(b)
				assert.Zero(t, addr%uintptr(pg), "a Debug buffer starts a page")
				assert.GreaterOrEqual(t, size, pg, "a Debug buffer has a page or more to itself")
				for i := range b {
					b[i] = 0x33
				}
				if linuxKernel {
					flags, err := offheap.VmFlags(b)
					require.NoError(t, err)
					assert.Subset(t, flags, []string{"rd", "wr"}, "a buffer out is accessible")
				}
				require.NoError(t, p.Put(b))

				for _, off := range []int{0, n / 2, n - 1, size - 1} {
					assertFault(t, addr+uintptr(off), false, "a read at +%d after Put(%d)", off, n)
					assertFault(t, addr+uintptr(off), true, "a write at +%d after Put(%d)", off, n)
				}
				if linuxKernel {
					flags, err := offheap.VmFlags(memAt(addr, 1))
					require.NoError(t, err)
					assert.NotContains(t, flags, "rd", "VmFlags of an idle buffer: %v", flags)
					assert.NotContains(t, flags, "wr", "VmFlags of an idle buffer: %v", flags)
				}

				c := p.Get(n)
				require.Equal(t, addr, addrOf(c), "the idle buffer is handed out again")
				if cfg.Secure {
					assert.True(t, allZero(c), "a Secure Debug buffer was wiped before it was locked away")
				} else {
					assert.True(t, bytes.Equal(bytes.Repeat([]byte{0x33}, n), c), "reuse keeps the contents")
				}
				for i := range c {
					c[i] = 0x44
				}
				assert.Equal(t, byte(0x44), c[n-1])
				require.NoError(t, p.Put(c))
			})
		}
		s := p.Stats()
		assert.Zero(t, s.InUse)
		assert.Zero(t, s.Rejected)
		require.NoError(t, p.Close(), "Close unmaps inaccessible idle buffers as any other")
		assert.Zero(t, p.Stats().MappedBytes)
	}
}

// An ordinary pool does not protect idle buffers: the same touch after Put goes through. The
// faults above come from Debug.
func TestNonDebugUseAfterPutDoesNotFault(t *testing.T) {
	oneP(t)
	p := newPool(t, Config{})
	b := p.Get(4096)
	addr := addrOf(b)
	require.NoError(t, p.Put(b))
	assertNoFault(t, addr)
	if linuxKernel {
		flags, err := offheap.VmFlags(memAt(addr, 1))
		require.NoError(t, err)
		assert.Subset(t, flags, []string{"rd", "wr"})
	}
}
