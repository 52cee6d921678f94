//go:build linux

package keyrecipe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// The needles a scan looks for, each kept only in a Secure pool buffer (so that the test
// holds no copy of its own for the scan to find), at these offsets.
//
// crypto/aes keeps the expanded key as 32-bit words: with AES-NI (amd64, arm64) the round
// keys are stored in the key's byte order, without it each word is stored as a native integer
// (byte-swapped on little-endian machines). The first two round keys of AES-256 are the key
// itself; the third (words 8 to 11 of FIPS-197's expansion) is the first that is derived.
// Each is looked for in both orders.
const (
	offKey        = 0  // the AES-256 key, 32 bytes
	offKeySwapped = 32 // the key, each 4-byte word reversed
	offRK2        = 64 // round key 2 (w[8..11]), 16 bytes
	offRK2Swapped = 80 // round key 2, each word reversed
	offControl    = 96 // 32 random bytes that the test itself copies to the heap
	needlesSize   = 128
)

var needleNames = []string{"key", "key (words reversed)", "round key 2", "round key 2 (words reversed)", "control"}

// keyNeedles are the indexes of the needles that are the key or derived from it.
var keyNeedles = []int{0, 1, 2, 3}

const controlNeedle = 4

func needleSlices(buf []byte) [][]byte {
	return [][]byte{
		buf[offKey : offKey+32],
		buf[offKeySwapped : offKeySwapped+32],
		buf[offRK2 : offRK2+16],
		buf[offRK2Swapped : offRK2Swapped+16],
		buf[offControl : offControl+32],
	}
}

// secretBuffer is a Secure pool's buffer for the needles; both are released at the end of
// the test (the Put wipes it).
func secretBuffer(t *testing.T) []byte {
	t.Helper()
	p, err := pool.NewWithConfig(pool.Config{Secure: true})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("the recipe keeps its key in a Secure pool: %v", err) // Linux built with zeropool_portable
	}
	require.NoError(t, err)
	buf, err := p.TryGet(needlesSize)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, p.Put(buf))
		assert.NoError(t, p.Close())
	})
	return buf
}

// makeNeedles fills buf: a fresh random key, read straight into the pool's memory, and what
// is derived from it, computed byte by byte into the pool's memory, plus a control value.
func makeNeedles(buf []byte) {
	rand.Read(buf[offKey : offKey+32])
	rand.Read(buf[offControl : offControl+32])
	key := buf[offKey : offKey+32]
	reverseWords(buf[offKeySwapped:offKeySwapped+32], key)
	roundKey2(buf[offRK2:offRK2+16], key)
	reverseWords(buf[offRK2Swapped:offRK2Swapped+16], buf[offRK2:offRK2+16])
}

// useCiphers is what a program does with a key: AES-256-GCM seals and opens a message,
// AES-256-CTR encrypts and decrypts one; the ciphers are dropped when it returns. It allocates
// no result that outlives it, and reports a failure as an error, so that it can run inside
// secret.Do (which must not be left by t.FailNow's Goexit).
func useCiphers(key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	msg := []byte("attack at dawn, bring the keys")
	nonce := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, nonce, msg, nil)
	opened, err := gcm.Open(nil, nonce, sealed, nil)
	if err != nil {
		return fmt.Errorf("GCM Open: %w", err)
	}
	if !bytes.Equal(opened, msg) {
		return errors.New("GCM round trip changed the message")
	}

	iv := make([]byte, aes.BlockSize)
	enc := make([]byte, len(msg))
	cipher.NewCTR(block, iv).XORKeyStream(enc, msg)
	dec := make([]byte, len(msg))
	cipher.NewCTR(block, iv).XORKeyStream(dec, enc)
	if !bytes.Equal(dec, msg) || bytes.Equal(enc, msg) {
		return errors.New("CTR round trip failed")
	}
	return nil
}

// collect runs the collector twice: the first cycle frees what was dropped, the second makes
// sure everything freed by the first is swept (runtime.GC returns with the heap swept).
func collect() {
	runtime.GC()
	runtime.GC()
}

// copies are the hits of the key's needles outside the pool's buffers (own), and whether the
// pool's own copy of each needle was seen (it must be: it shows the scan reads off-heap
// memory).
func copies(rep Report, own []Range) (found []Hit, ownSeen map[int]bool) {
	ownSeen = map[int]bool{}
hits:
	for _, h := range rep.Hits {
		for _, r := range own {
			if r.contains(h.Addr) {
				ownSeen[h.Needle] = true
				continue hits
			}
		}
		for _, k := range keyNeedles {
			if h.Needle == k {
				found = append(found, h)
			}
		}
	}
	return found, ownSeen
}

func describe(found []Hit) string {
	if len(found) == 0 {
		return "none"
	}
	var b strings.Builder
	for _, h := range found {
		fmt.Fprintf(&b, "\n  %s at %#x in %s", needleNames[h.Needle], h.Addr, h.Mapping)
	}
	return b.String()
}

// planted is a heap copy of the control value while a scan runs: a package variable, so that
// it is on the heap and live.
var planted []byte

// scanWithControl scans for every needle with a copy of the control value planted on the
// heap, checks that the scan saw the pool's own copies and the planted one (so that a scan
// that finds no key is a scan that would have found one), and returns the copies of the key
// found outside the needles' buffer and the other pool buffers alsoOwn.
func scanWithControl(t *testing.T, buf []byte, alsoOwn ...Range) []Hit {
	t.Helper()
	planted = make([]byte, 32)
	copy(planted, buf[offControl:offControl+32])
	rep, err := Scan(needleSlices(buf))
	plantedAt := RangeOf(planted).Start
	clear(planted)
	planted = nil
	require.NoError(t, err)

	found, ownSeen := copies(rep, append([]Range{RangeOf(buf)}, alsoOwn...))
	t.Logf("scanned %d MiB in %d mappings (%d KiB refused)", rep.Scanned>>20, rep.Mappings, rep.Unreadable>>10)
	for i, name := range needleNames {
		assert.True(t, ownSeen[i], "the scan did not see the pool's own copy of the %s", name)
	}
	var plantedSeen bool
	for _, h := range rep.Hits {
		plantedSeen = plantedSeen || (h.Needle == controlNeedle && h.Addr == plantedAt)
	}
	assert.True(t, plantedSeen, "the scan did not find the control value planted on the heap at %#x", plantedAt)
	return found
}

// TestCopiesWithoutSecretDo documents what remains of a key when a program uses it the
// ordinary way: the key itself is in a Secure pool buffer, but crypto/aes expands it into
// round keys on the Go heap, GCM and CTR copy that schedule into their own state, and
// dropping the ciphers does not erase any of it; the collector frees the memory and leaves
// its contents until the memory is reused. How many copies remain depends on what the heap
// does next, so the test only logs it (docs/secrets.md quotes it); what it asserts is that the
// scan could see them: the pool's own copies and a planted control value are found.
func TestCopiesWithoutSecretDo(t *testing.T) {
	buf := secretBuffer(t)
	makeNeedles(buf)
	require.NoError(t, useCiphers(buf[offKey:offKey+32]))
	collect()

	found := scanWithControl(t, buf)
	t.Logf("without secret.Do, after two collections: %d copies of the key or its round keys outside the pool: %s", len(found), describe(found))
}

// The expansion of roundKey2 against FIPS-197, appendix A.3 (the AES-256 example key).
func TestRoundKey2(t *testing.T) {
	key, err := hex.DecodeString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	require.NoError(t, err)
	rk := make([]byte, 16)
	roundKey2(rk, key)
	assert.Equal(t, "9ba354118e6925afa51a8b5f2067fcde", hex.EncodeToString(rk))
	swapped := make([]byte, 16)
	reverseWords(swapped, rk)
	assert.Equal(t, "1154a39baf25698e5f8b1aa5defc6720", hex.EncodeToString(swapped))
}

// docs/secrets.md (the README's page on secrets) shows recipe_test.go word for word (but for
// the package name).
func TestReadmeRecipeIsThisOne(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "secrets.md"))
	require.NoError(t, err)
	const start = "```go\n//go:build goexperiment.runtimesecret\n"
	i := strings.Index(string(doc), start)
	require.GreaterOrEqual(t, i, 0, "docs/secrets.md has the recipe")
	block, _, ok := strings.Cut(string(doc[i+len("```go\n"):]), "```\n")
	require.True(t, ok)
	mine, err := os.ReadFile("recipe_test.go")
	require.NoError(t, err)
	assert.Equal(t, string(mine), strings.Replace(block, "\npackage keys\n", "\npackage keyrecipe\n", 1))
}
