package access

import (
	"strings"
	"testing"
)

func TestIssuedTokensAreWellFormedAndTyposAreNot(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok, err := newTokenString()
		if err != nil {
			t.Fatal(err)
		}
		if !wellFormed(tok) || len(tok) != len(TokenPrefix)+40 || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
		// Any one-character change must fail the checksum or the alphabet.
		b := []byte(tok)
		pos := len(TokenPrefix) + i%40
		b[pos] = map[bool]byte{true: 'a', false: 'b'}[b[pos] != 'a']
		if wellFormed(string(b)) {
			t.Fatalf("typo %q passes the checksum", b)
		}
	}
	for _, bad := range []string{"", "prima_pat_", "sk_live_" + strings.Repeat("a", 42), TokenPrefix + strings.Repeat("!", 40)} {
		if wellFormed(bad) {
			t.Errorf("%q is well-formed", bad)
		}
	}
}

func TestHashIsSHA256Hex(t *testing.T) {
	if got := hashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("hash %s", got)
	}
}
