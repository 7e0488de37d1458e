// Package access issues and checks partner access tokens: random secrets with a
// checksum, stored only as a SHA-256 hash, with scopes, an optional expiry and
// revocation that takes effect on the next request.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strings"
)

// TokenPrefix starts every partner access token, so leaked tokens are easy to spot
// (and to scan for) and are never confused with other secrets.
const TokenPrefix = "prima_pat_"

const (
	alphabet     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretLen    = 34
	checksumLen  = 6
	tokenLen     = len(TokenPrefix) + secretLen + checksumLen
	displayChars = len(TokenPrefix) + 6
)

// newTokenString returns a fresh token: the prefix, 34 random base62 characters (about
// 202 bits) and a 6-character base62 CRC-32 checksum of them.
func newTokenString() (string, error) {
	var b strings.Builder
	b.WriteString(TokenPrefix)
	base := big.NewInt(int64(len(alphabet)))
	secret := make([]byte, secretLen)
	for i := range secret {
		n, err := rand.Int(rand.Reader, base)
		if err != nil {
			return "", err
		}
		secret[i] = alphabet[n.Int64()]
	}
	b.Write(secret)
	b.WriteString(checksum(secret))
	return b.String(), nil
}

func checksum(secret []byte) string {
	n := crc32.ChecksumIEEE(secret)
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%uint32(len(alphabet))]
		n /= uint32(len(alphabet))
	}
	return string(out)
}

// wellFormed reports whether s looks like a token this server issued: prefix, length,
// alphabet and checksum. It rejects typos and foreign secrets without a database look-up.
func wellFormed(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	body := s[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(alphabet, body[i]) < 0 {
			return false
		}
	}
	return checksum([]byte(body[:secretLen])) == body[secretLen:]
}

// hashToken is what the database keeps of a token.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
