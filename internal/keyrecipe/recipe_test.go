//go:build goexperiment.runtimesecret

package keyrecipe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"runtime/secret"

	"github.com/zeropool-go/zeropool/pool"
)

// NewKey returns an AES-256 key in a buffer of a Secure pool, read from crypto/rand inside
// secret.Do straight into the pool's memory. Put it back to wipe it.
func NewKey(secrets *pool.BufferPool) ([]byte, error) {
	key, err := secrets.TryGet(32)
	if err != nil {
		return nil, err
	}
	secret.Do(func() { rand.Read(key) })
	return key, nil
}

// Seal runs everything that touches the key inside secret.Do. Its result outlives Do, so it
// goes into memory allocated outside it.
func Seal(key, nonce, msg []byte) (sealed []byte, err error) {
	sealed = make([]byte, 0, len(msg)+16)
	secret.Do(func() {
		var block cipher.Block
		if block, err = aes.NewCipher(key); err != nil { // round keys, on the Go heap
			return
		}
		var gcm cipher.AEAD
		if gcm, err = cipher.NewGCM(block); err != nil { // GCM's copy of them
			return
		}
		sealed = gcm.Seal(sealed, nonce, msg, nil)
	}) // registers and stack erased here; the ciphers' memory when the collector frees it
	return sealed, err
}
