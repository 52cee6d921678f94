package workloads

import (
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// Secrets: a 32-byte key gets a buffer, is copied in, and the buffer is given back (wiped, on
// a Secure pool).

// SecretSize is the size of the secrets workload's key.
const SecretSize = 32

// SecretKey is the key the secrets workload copies.
var SecretKey = [SecretSize]byte{
	0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
	0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
}

// Secret is one op per Get of SecretSize bytes, copy of SecretKey, Put on p, which should be
// a Secure pool.
func Secret(b *testing.B, p *pool.BufferPool) {
	must(b, p.Put(p.Get(SecretSize)))
	for b.Loop() {
		buf := p.Get(SecretSize)
		copy(buf, SecretKey[:])
		must(b, p.Put(buf))
	}
}
