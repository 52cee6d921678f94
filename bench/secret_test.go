package bench

import (
	"errors"
	"testing"

	"github.com/awnumar/memguard"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
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
	{implZeropool, secretZeropool},
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

// secretZeropool skips, with the pool's own reason, for as long as NewWithConfig refuses
// Secure pools; it runs by itself once they exist.
func secretZeropool(b *testing.B, _ int) {
	p, err := pool.NewWithConfig(pool.Config{Secure: true})
	if errors.Is(err, errors.ErrUnsupported) {
		b.Skipf("Secure pools are not available yet: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	wl.Secret(b, p)
}
