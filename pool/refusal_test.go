//go:build linux

package pool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
)

// When the system refuses memory, TryGet returns an error and the pool carries on. The test
// runs in a child process whose address space is capped (RLIMIT_AS) at what it already uses
// plus 4 GiB, so that an 8 GiB mapping fails: once for a size above MaxBufferSize, once for a
// pooled size class with a mapping of its own.
func TestTryGetSystemRefusal(t *testing.T) {
	needsMappedMemory(t, "the system refusing memory with an error")
	if childtest.Is(t.Name()) {
		refusalChild(t)
		return
	}
	out, err := childtest.Run(t, t.Name(), childtest.Options{})
	t.Logf("child output:\n%s", out)
	require.NoError(t, err, "the child failed")
	assert.Contains(t, out, "--- PASS: "+t.Name())
	v := childtest.Values(t, out)
	require.Contains(t, v, "refused", "child output:\n%s", out)
	assert.Equal(t, int64(2), v["refused"], "both 8 GiB requests were refused")
	assert.Equal(t, int64(0), v["in-use"])
}

func refusalChild(t *testing.T) {
	const GiB = 1 << 30
	// The cap is relative to the address space in use, which differs a lot between builds
	// (the race detector reserves terabytes of shadow memory up front).
	limit := uint64(procStatus(t, "VmSize")) + 4*GiB
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: limit, Max: limit}))

	refused := 0
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"oversize", Config{}},                            // 8 GiB > MaxBufferSize (1 GiB)
		{"pooled class", Config{MaxBufferSize: 16 * GiB}}, // class 8 GiB, a mapping of its own
	} {
		p, err := NewWithConfig(tc.cfg)
		require.NoError(t, err)
		small := p.Get(4096)

		b, err := p.TryGet(8 * GiB)
		assert.Nil(t, b, "%s", tc.name)
		if assert.Error(t, err, "%s: TryGet(8 GiB) under a 4 GiB headroom", tc.name) {
			refused++
			t.Logf("%s: %v", tc.name, err)
			assert.True(t, errors.Is(err, unix.ENOMEM), "%s: the system's reason is kept: %v", tc.name, err)
		}
		assert.Panics(t, func() { p.Get(8 * GiB) }, "%s: Get panics where TryGet errs", tc.name)

		s := p.Stats()
		assert.Equal(t, uint64(1), s.Gets, "%s: refused Gets are not counted", tc.name)
		assert.Equal(t, int64(1), s.InUse, "%s", tc.name)
		assert.Less(t, s.MappedBytes, int64(GiB), "%s: nothing of the refused request stays mapped", tc.name)

		// The pool still serves, small and large.
		roundTrip(t, p, 100)
		roundTrip(t, p, 64<<20)
		require.NoError(t, p.Put(small))
		assert.Zero(t, p.Stats().InUse)
		require.NoError(t, p.Close())
	}
	fmt.Printf("child: refused=%d in-use=0\n", refused)
}
