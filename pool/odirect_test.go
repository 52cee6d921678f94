//go:build linux

package pool

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Pooled buffers of 4 KiB or more are page-aligned, so they can be handed straight to
// O_DIRECT reads and writes, which the kernel refuses (EINVAL) for misaligned memory.
func TestODirectRoundTrip(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	dirs := map[string]string{"TempDir": os.TempDir(), "PackageDir": wd}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			oneP(t)
			p := newPool(t, Config{})
			tmp, err := os.CreateTemp(dir, ".zeropool-odirect-*")
			require.NoError(t, err)
			path := tmp.Name()
			require.NoError(t, tmp.Close())
			t.Cleanup(func() { _ = os.Remove(path) })
			f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0)
			if errors.Is(err, unix.EINVAL) {
				t.Skipf("the filesystem of %s refuses O_DIRECT: %v", dir, err)
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = f.Close() })

			var off int64
			for _, n := range []int{64 << 10, 1 << 20} {
				w := p.Get(n)
				for i := range w {
					w[i] = byte(i*7 + n>>10)
				}
				k, err := f.WriteAt(w, off)
				if errors.Is(err, unix.EINVAL) && off == 0 {
					t.Skipf("the filesystem of %s refuses O_DIRECT writes: %v", dir, err)
				}
				require.NoError(t, err, "O_DIRECT write of a pooled %d-byte buffer", n)
				require.Equal(t, n, k)

				r := p.GetZeroed(n)
				require.NotEqual(t, addrOf(w), addrOf(r))
				k, err = f.ReadAt(r, off)
				require.NoError(t, err, "O_DIRECT read into a pooled %d-byte buffer", n)
				require.Equal(t, n, k)
				assert.True(t, bytes.Equal(w, r), "%d bytes read back as written", n)

				require.NoError(t, p.Put(w))
				require.NoError(t, p.Put(r))
				off += int64(n)
			}

			// A reused buffer works as well as a fresh one.
			r := p.Get(64 << 10)
			clear(r)
			k, err := f.ReadAt(r, 0)
			require.NoError(t, err)
			require.Equal(t, len(r), k)
			assert.Equal(t, byte(64), r[0])
			assert.Equal(t, byte(7+64), r[1])
			require.NoError(t, p.Put(r))

			// The filesystem checks alignment: a buffer that starts one byte into a pooled one
			// is refused. (Some filesystems fall back to buffered I/O instead; then this only
			// shows that the aligned transfers above did not depend on it.)
			b := p.Get(128 << 10)
			if _, err := f.WriteAt(b[1:1+64<<10], 0); err != nil {
				assert.True(t, errors.Is(err, unix.EINVAL), "a misaligned O_DIRECT write: %v", err)
			} else {
				t.Logf("the filesystem of %s accepts misaligned O_DIRECT writes", dir)
			}
			require.NoError(t, p.Put(b))
		})
	}
}
