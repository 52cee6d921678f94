package bench

import (
	"errors"
	"testing"

	"github.com/awnumar/memguard"

	"github.com/zeropool-go/zeropool/pool"
)

// Secrets: a 32-byte key gets a buffer, is copied in, and the buffer is given back (wiped).
// zeropool's side is a Secure pool (zeroed on Put, no core dump, wipe on fork, guarded,
// pinned); memguard's is a LockedBuffer created and destroyed per secret, the way memguard
// is used: NewBuffer + copy + Destroy, and NewBufferFromBytes (which wipes its source) +
// Destroy.

const secretSize = 32

var secretKey = [secretSize]byte{
	0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
	0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
}

var secretImpls = []benchImpl{
	{"memguard-NewBuffer", secretMemguardNewBuffer},
	{"memguard-FromBytes", secretMemguardFromBytes},
	{implZeropool, secretZeropool},
}

func BenchmarkSecret(b *testing.B) {
	for _, im := range secretImpls {
		b.Run("size="+sizeName(secretSize)+"/impl="+im.name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			im.run(b, secretSize)
		})
	}
}

func secretMemguardNewBuffer(b *testing.B, size int) {
	for b.Loop() {
		lb := memguard.NewBuffer(size)
		copy(lb.Bytes(), secretKey[:])
		lb.Destroy()
	}
}

func secretMemguardFromBytes(b *testing.B, size int) {
	var scratch [secretSize]byte
	for b.Loop() {
		copy(scratch[:], secretKey[:size])
		lb := memguard.NewBufferFromBytes(scratch[:size])
		lb.Destroy()
	}
}

// secretZeropool skips, with the pool's own reason, for as long as NewWithConfig refuses
// Secure pools; it runs by itself once they exist.
func secretZeropool(b *testing.B, size int) {
	p, err := pool.NewWithConfig(pool.Config{Secure: true})
	if errors.Is(err, errors.ErrUnsupported) {
		b.Skipf("Secure pools are not available yet: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	must(b, p.Put(p.Get(size)))
	for b.Loop() {
		buf := p.Get(size)
		copy(buf, secretKey[:])
		must(b, p.Put(buf))
	}
}
