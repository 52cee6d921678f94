//go:build linux && goexperiment.runtimesecret

package keyrecipe

import (
	"crypto/rand"
	"runtime"
	"runtime/secret"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// TestNoCopyAfterSecretDo is the recipe for the copies no pool can protect. The key lives in
// a Secure pool buffer; everything that touches it runs inside secret.Do: the key is read
// from crypto/rand straight into the buffer, the AES-256-GCM and AES-256-CTR ciphers are
// created from it, used and dropped. When Do returns it has erased the registers and the
// stack f used; the ciphers' heap memory (round keys, GCM's and CTR's copies of them) is
// erased when the collector frees it. After two collections a scan of the whole process's
// readable memory finds the key and its round keys only in the pool's buffer.
func TestNoCopyAfterSecretDo(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("secret.Do erases only on linux/amd64 and linux/arm64; elsewhere it just calls f")
	}
	buf := secretBuffer(t)
	var err error
	secret.Do(func() {
		makeNeedles(buf)
		err = useCiphers(buf[offKey : offKey+32])
	})
	require.NoError(t, err)
	collect()

	found := scanWithControl(t, buf)
	t.Logf("with secret.Do, after two collections: %d copies of the key or its round keys outside the pool: %s", len(found), describe(found))
	assert.Empty(t, found, "copies of the key outside the pool's buffer")
}

// The recipe of docs/secrets.md (recipe_test.go, its block word for word) leaves no copy
// either: a key from NewKey, two messages sealed with Seal.
func TestReadmeRecipeLeavesNoCopy(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("secret.Do erases only on linux/amd64 and linux/arm64; elsewhere it just calls f")
	}
	buf := secretBuffer(t)
	keys, err := pool.NewWithConfig(pool.Config{Secure: true})
	require.NoError(t, err)
	defer func() { assert.NoError(t, keys.Close()) }()
	key, err := NewKey(keys)
	require.NoError(t, err)
	defer func() { assert.NoError(t, keys.Put(key)) }()
	secret.Do(func() {
		// The needles: the key and what is derived from it, in the needles' buffer.
		rand.Read(buf[offControl : offControl+32])
		copy(buf[offKey:offKey+32], key)
		reverseWords(buf[offKeySwapped:offKeySwapped+32], key)
		roundKey2(buf[offRK2:offRK2+16], key)
		reverseWords(buf[offRK2Swapped:offRK2Swapped+16], buf[offRK2:offRK2+16])
	})

	nonce := make([]byte, 12)
	for _, msg := range []string{"attack at dawn", "bring the keys"} {
		sealed, err := Seal(key, nonce, []byte(msg))
		require.NoError(t, err)
		assert.Len(t, sealed, len(msg)+16)
	}
	collect()

	found := scanWithControl(t, buf, RangeOf(key))
	t.Logf("the recipe of docs/secrets.md, after two collections: %d copies of the key or its round keys outside the pool: %s", len(found), describe(found))
	assert.Empty(t, found, "copies of the key outside the pool's buffers")
}
