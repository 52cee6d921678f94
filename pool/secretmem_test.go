//go:build linux

package pool

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/offheap"
)

// readProcMem reads n bytes at b's address through /proc/self/mem, as root, a debugger or a
// kernel bug would.
func readProcMem(t *testing.T, b []byte) ([]byte, error) {
	t.Helper()
	f, err := os.Open("/proc/self/mem")
	require.NoError(t, err)
	defer f.Close()
	out := make([]byte, len(b))
	_, err = f.ReadAt(out, int64(addrOf(b)))
	return out, err
}

func requireSecretMem(t *testing.T) {
	t.Helper()
	p, err := NewWithConfig(Config{Secure: true, SecretMem: true})
	if errors.Is(err, offheap.ErrSecretMem) {
		t.Skipf("this kernel cannot back memory with memfd_secret: %v", err)
	}
	require.NoError(t, err)
	require.NoError(t, p.Close())
}

// A SecretMem pool's buffers are out of the kernel's direct map: /proc/self/mem cannot read
// them (EIO), where it reads a Secure pool's and an ordinary pool's buffers. They are still
// locked, out of core dumps and out of forked children.
func TestSecretMemHidesFromProcMem(t *testing.T) {
	needsLinux(t, "Secure pools with SecretMem (memfd_secret)")
	requireSecretMem(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name     string
		cfg      Config
		readable bool
	}{
		{"ordinary", Config{}, true},
		{"Secure", Config{Secure: true}, true},
		{"SecretMem", Config{Secure: true, SecretMem: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.cfg)
			for _, n := range []int{32, 4096, 1 << 20} {
				b := p.Get(n)
				copy(b, key)
				got, err := readProcMem(t, b[:len(key)])
				if tc.readable {
					require.NoError(t, err, "Get(%d)", n)
					assert.Equal(t, key, got, "Get(%d): /proc/self/mem reads the key", n)
				} else {
					assert.ErrorIs(t, err, syscall.EIO, "Get(%d): /proc/self/mem cannot read secret memory", n)
					assert.NotEqual(t, key, got)
					flags, err := offheap.VmFlags(b)
					require.NoError(t, err)
					assert.Subset(t, flags, []string{"lo", "dd"}, "locked and out of core dumps")
					assert.Equal(t, string(key), string(b[:len(key)]), "the process itself reads it")
				}
				require.NoError(t, p.Put(b))
			}
		})
	}
}

// Bad input: SecretMem without Secure is an invalid Config; under a tiny RLIMIT_MEMLOCK (an
// unprivileged child) a Get that needs more secret memory than the limit fails with a clear
// error, and the pool keeps serving what fits.
func TestSecretMemRefusals(t *testing.T) {
	needsLinux(t, "Secure pools with SecretMem (memfd_secret)")
	if childtest.Is(t.Name()) {
		secretMemChild(t)
		return
	}
	_, err := NewWithConfig(Config{SecretMem: true})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	requireSecretMem(t)
	childtest.SkipUnlessRoot(t)
	out, err := childtest.Run(t, t.Name(), childtest.Options{Unprivileged: true})
	require.NoError(t, err, "child:\n%s", out)
	v := childtest.Values(t, out)
	assert.Equal(t, int64(1), v["refused"], "the Get beyond RLIMIT_MEMLOCK failed with an error:\n%s", out)
	assert.Equal(t, int64(1), v["served"], "a Get within it was served")
}

func secretMemChild(t *testing.T) {
	lim := unix.Rlimit{Cur: 256 << 10, Max: 256 << 10}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim))
	p, err := NewWithConfig(Config{Secure: true, SecretMem: true})
	require.NoError(t, err, "a page of secret memory fits in 256 KiB")
	defer p.Close()
	_, err = p.TryGet(1 << 20)
	require.Error(t, err, "1 MiB of secret memory does not fit in RLIMIT_MEMLOCK 256 KiB")
	t.Logf("refusal: %v", err)
	b, err := p.TryGet(4096)
	require.NoError(t, err, "4 KiB does")
	copy(b, "key")
	require.NoError(t, p.Put(b))
	fmt.Printf("child: refused=1 served=1\n")
}

// offheap's range operations and Free refuse memory that belongs to a pool: changing a
// pool's pages behind its back crashed the process (a read-only slab page, then a Put of a
// neighbour wiping it). Every refusal leaves the pool serving.
func TestOffheapRefusesPoolMemory(t *testing.T) {
	for _, cfg := range []Config{{}, {Secure: true}} {
		p := newPool(t, cfg)
		for _, n := range []int{32, 4096, 1 << 20} {
			b, neighbour := p.Get(n), p.Get(n)
			// The page that holds b's first byte: for a small buffer, a page it shares with
			// other buffers of its slab.
			size := offheap.PageSize()
			pg := unsafe.Slice((*byte)(ptr(addrOf(b)&^uintptr(size-1))), size)
			ops := map[string]error{
				"Protect": offheap.Protect(pg, offheap.ProtRead),
				"Discard": offheap.Discard(pg),
				"Lock":    offheap.Lock(pg),
				"Unlock":  offheap.Unlock(pg),
				"Free":    offheap.Free(b),
			}
			_, ops["Guard"] = offheap.Guard(pg)
			for name, err := range ops {
				if !assert.Error(t, err, "offheap.%s of a pool buffer (%d B)", name, n) {
					continue
				}
				assert.True(t, errors.Is(err, offheap.ErrNotOwned) || errors.Is(err, offheap.ErrInvalid),
					"offheap.%s: %v", name, err)
			}
			require.NoError(t, p.Put(neighbour), "the neighbour's Put works")
			b[0] = 1 // still writable
			require.NoError(t, p.Put(b))
		}
	}
}
