package model

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"math/big"
	"strings"
)

// API key format: "rmy_" + 32 random base62 characters + a 6-character
// base62 CRC32 of the random part. The checksum lets secret scanners (and our
// own auth) recognise a real key offline, without a database lookup.
const (
	KeyPrefix       = "rmy_"
	keyRandomLen    = 32
	keyChecksumLen  = 6
	KeyLength       = len(KeyPrefix) + keyRandomLen + keyChecksumLen
	KeyDisplayChars = len(KeyPrefix) + 8
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewAPIKeySecret returns a fresh random key in the documented format.
func NewAPIKeySecret() string {
	var b strings.Builder
	b.Grow(KeyLength)
	b.WriteString(KeyPrefix)
	// rand.Text would be base32; base62 keeps keys copy-paste friendly
	// (no punctuation) and denser. Each char is drawn without modulo bias.
	max := big.NewInt(int64(len(base62)))
	random := make([]byte, keyRandomLen)
	for i := range random {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error()) // never happens on Linux
		}
		random[i] = base62[n.Int64()]
	}
	b.Write(random)
	b.WriteString(checksum(random))
	return b.String()
}

// WellFormedKey reports whether s has the key format and a valid checksum.
func WellFormedKey(s string) bool {
	if len(s) != KeyLength || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	body := s[len(KeyPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return checksum([]byte(body[:keyRandomLen])) == body[keyRandomLen:]
}

// HashKey is what is stored and looked up: SHA-256 of the whole key.
func HashKey(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func checksum(random []byte) string {
	n := uint64(crc32.ChecksumIEEE(random))
	out := make([]byte, keyChecksumLen)
	for i := keyChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}
