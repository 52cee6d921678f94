//go:build !zeropool_portable

package iouring_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

// registeredPool is docs/io_uring.md's, word for word (TestReadmeSampleIsThisOne checks).

// registeredPool returns a pool whose every region is registered with the io_uring instance
// ringFD, mapping at most budget bytes, and the table that gives each buffer's buf_index.
func registeredPool(ringFD int, budget int64) (*pool.BufferPool, *iouring.Table, error) {
	// The most regions budget can hold: one per 512 KiB buffer (the smallest class with a
	// mapping of its own; smaller classes share 2 MiB slabs).
	slots := min(int(budget/(512<<10))+1, iouring.MaxSlots)
	t, err := iouring.NewTable(ringFD, slots)
	if err != nil {
		return nil, nil, err
	}
	p, err := pool.NewWithConfig(pool.Config{
		OnMap:          t.OnMap,
		OnUnmap:        t.OnUnmap,
		MaxMappedBytes: budget, // every mapped byte is registered: pinned and charged
		DontFork:       true,   // a fork copies no registered page
	})
	if err != nil {
		return nil, nil, errors.Join(err, t.Close())
	}
	return p, t, nil
}

// docs/io_uring.md's function, run against a real ring: buffers move data through READ_FIXED,
// the budget holds (a Get beyond it fails with pool.ErrExhausted, before the kernel is
// asked), and the kernel's pinned count stays within it.
func TestReadmeSample(t *testing.T) {
	if err := uring.Unavailable(); err != nil {
		t.Skip(err)
	}
	ring, err := uring.New(8)
	require.NoError(t, err)
	defer ring.Close()
	pin0 := vmPinBytes(t)
	const budget = 6 << 20
	p, tbl, err := registeredPool(ring.FD(), budget)
	require.NoError(t, err)

	f, err := os.CreateTemp(t.TempDir(), "data")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString(strings.Repeat("registered ", 10000))
	require.NoError(t, err)

	var bufs [][]byte
	for {
		b, err := p.TryGet(1 << 20)
		if err != nil {
			require.ErrorIs(t, err, pool.ErrExhausted, "the budget, not the kernel, says no")
			break
		}
		bufs = append(bufs, b)
	}
	assert.Len(t, bufs, budget>>20)
	assert.LessOrEqual(t, vmPinBytes(t)-pin0, int64(budget), "the kernel pins no more than the budget")
	for _, b := range bufs {
		index, ok := tbl.Index(b)
		require.True(t, ok)
		cqes, err := ring.Run(uring.SQE{Op: uring.OpReadFixed, FD: int(f.Fd()), Buf: b[:110], BufIndex: index})
		require.NoError(t, err)
		require.Equal(t, int32(110), cqes[0].Res)
		assert.Equal(t, strings.Repeat("registered ", 10), string(b[:110]))
		require.NoError(t, p.Put(b))
	}
	require.NoError(t, errors.Join(p.Close(), tbl.Close()))
	assert.Equal(t, pin0, vmPinBytes(t))
}

// docs/io_uring.md (the README's page on handing memory to the kernel) shows registeredPool
// exactly as this file has it.
func TestReadmeSampleIsThisOne(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "io_uring.md"))
	require.NoError(t, err)
	self, err := os.ReadFile("readme_linux_test.go")
	require.NoError(t, err)
	fn := regexp.MustCompile(`(?ms)^// registeredPool returns.*?^}\n`)
	want := fn.Find(self)
	require.NotNil(t, want)
	section := regexp.MustCompile(`(?ms)^## io_uring fixed buffers\n.*?(^## |\z)`).Find(doc)
	require.NotNil(t, section, "docs/io_uring.md has the section")
	assert.Contains(t, string(section), string(want), "docs/io_uring.md's registeredPool is the tested one")
}

func vmPinBytes(t *testing.T) int64 {
	t.Helper()
	n, err := procfs.StatusBytes("VmPin")
	require.NoError(t, err)
	return n
}
