package bench

import (
	"errors"
	"testing"

	"github.com/awnumar/memguard"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/offheap"
	"github.com/zeropool-go/zeropool/pool"
)

// Secrets: a 32-byte key gets a buffer, is copied in, and the buffer is given back (wiped).
// zeropool's side is a Secure pool (zeroed on Put, no core dump, wipe on fork, guarded,
// pinned); memguard's is a LockedBuffer created and destroyed per secret, the way memguard
// is used: NewBuffer + copy + Destroy, and NewBufferFromBytes (which wipes its source) +
// Destroy.

var secretImpls = []benchImpl{
	{"memguard-NewBuffer", secretMemguardNewBuffer},
	{"memguard-FromBytes", secretMemguardFromBytes},
	{implZeropool, secretOnPool(pool.Config{Secure: true})},
	{"zeropool-secretmem", secretOnPool(pool.Config{Secure: true, SecretMem: true})},
	{"secretmem-fresh", secretFreshRegion},
}

func BenchmarkSecret(b *testing.B) { runBySize(b, []int{wl.SecretSize}, secretImpls) }

func secretMemguardNewBuffer(b *testing.B, size int) {
	for b.Loop() {
		lb := memguard.NewBuffer(size)
		copy(lb.Bytes(), wl.SecretKey[:])
		lb.Destroy()
	}
}

func secretMemguardFromBytes(b *testing.B, size int) {
	var scratch [wl.SecretSize]byte
	for b.Loop() {
		copy(scratch[:], wl.SecretKey[:size])
		lb := memguard.NewBufferFromBytes(scratch[:size])
		lb.Destroy()
	}
}

// secretFreshRegion maps a fresh page of secret memory per secret and unmaps it, as memguard
// makes a fresh LockedBuffer per secret: what a pool saves by reusing its memory.
func secretFreshRegion(b *testing.B, size int) {
	probe, err := offheap.Alloc(offheap.PageSize(), offheap.SecretMem())
	if errors.Is(err, offheap.ErrSecretMem) {
		b.Skipf("no memfd_secret here: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := offheap.Free(probe); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := offheap.Alloc(size, offheap.SecretMem(), offheap.GuardPages())
		if err != nil {
			b.Fatal(err)
		}
		copy(m, wl.SecretKey[:])
		offheap.Wipe(m)
		if err := offheap.Free(m); err != nil {
			b.Fatal(err)
		}
	}
}

// secretOnPool runs the secret workload on a pool built with cfg: a Secure pool, or one whose
// memory memfd_secret backs (out of the kernel's direct map), skipped where the kernel has
// no memfd_secret.
func secretOnPool(cfg pool.Config) func(*testing.B, int) {
	return func(b *testing.B, _ int) {
		p, err := pool.NewWithConfig(cfg)
		if errors.Is(err, offheap.ErrSecretMem) {
			b.Skipf("no memfd_secret here: %v", err)
		}
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		wl.Secret(b, p)
	}
}
