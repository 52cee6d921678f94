//go:build linux

package keyrecipe

// roundKey2 writes AES-256's third round key (words 8 to 11 of FIPS-197's key expansion) of
// key into dst, one byte at a time, so that the only copy it makes is dst itself:
// w8 = w0 ^ SubWord(RotWord(w7)) ^ Rcon[1], then w[i] = w[i-8] ^ w[i-1].
func roundKey2(dst, key []byte) {
	dst[0] = key[0] ^ sbox[key[29]] ^ 0x01
	dst[1] = key[1] ^ sbox[key[30]]
	dst[2] = key[2] ^ sbox[key[31]]
	dst[3] = key[3] ^ sbox[key[28]]
	for i := 4; i < 16; i++ {
		dst[i] = key[i] ^ dst[i-4]
	}
}

// reverseWords writes src into dst with the bytes of each 4-byte word reversed: how a
// little-endian machine stores a big-endian word as a native integer.
func reverseWords(dst, src []byte) {
	for i := 0; i+4 <= len(src); i += 4 {
		dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+3], src[i+2], src[i+1], src[i]
	}
}

// sbox is AES's S-box (FIPS-197, 5.1.1), computed: p runs through every non-zero element of
// GF(2^8) by multiplication by 3, q through their inverses by division by 3, and the affine
// transformation of q is the S-box of p.
var sbox = func() (s [256]byte) {
	rotl := func(x byte, n uint) byte { return x<<n | x>>(8-n) }
	p, q := byte(1), byte(1)
	for {
		hi := p & 0x80
		p ^= p << 1
		if hi != 0 {
			p ^= 0x1b
		}
		q ^= q << 1
		q ^= q << 2
		q ^= q << 4
		if q&0x80 != 0 {
			q ^= 0x09
		}
		s[p] = q ^ rotl(q, 1) ^ rotl(q, 2) ^ rotl(q, 3) ^ rotl(q, 4) ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()
