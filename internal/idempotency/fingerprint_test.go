package idempotency_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/internal/idempotency"
)

const holdBody = `{"slot_id":"slot_01j","party_size":4,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"]}`

func TestFingerprintIsAStableSHA256Hex(t *testing.T) {
	a := idempotency.Fingerprint("POST", "/v1/reservations", []byte(holdBody))
	b := idempotency.Fingerprint("POST", "/v1/reservations", []byte(holdBody))
	if a != b {
		t.Fatalf("same request, two fingerprints: %s %s", a, b)
	}
	if raw, err := hex.DecodeString(a); err != nil || len(raw) != 32 {
		t.Fatalf("fingerprint %q is not 32 bytes of hex", a)
	}
}

// A JSON body is compared by value: spacing and key order, at any depth, do not matter.
func TestFingerprintMatchesTheSameJSONReserialised(t *testing.T) {
	same := []string{
		`{"party_size":4,"slot_id":"slot_01j","notes":["window","quiet"],"guest":{"phone":"+447700900123","name":"Ada"}}`,
		"{\n  \"slot_id\": \"slot_01j\",\n  \"party_size\": 4,\n  \"guest\": {\"name\": \"Ada\", \"phone\": \"+447700900123\"},\n  \"notes\": [\"window\", \"quiet\"]\n}\n",
		"  " + holdBody + "\r\n",
		`{"slot_id":"slot_01j","party_size":4.0,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"]}`,
		`{"slot_id":"slot_\u00301j","party_size":4,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"]}`,
	}
	want := idempotency.Fingerprint("POST", "/v1/reservations", []byte(holdBody))
	for _, body := range same {
		if got := idempotency.Fingerprint("POST", "/v1/reservations", []byte(body)); got != want {
			t.Errorf("body %q fingerprints differently from %q", body, holdBody)
		}
	}
}

// Anything that makes it another request makes another fingerprint.
func TestFingerprintDiffersForAnyOtherRequest(t *testing.T) {
	base := idempotency.Fingerprint("POST", "/v1/reservations", []byte(holdBody))
	cases := []struct {
		name, method, path, body string
	}{
		{"method", "PUT", "/v1/reservations", holdBody},
		{"method case", "post", "/v1/reservations", holdBody},
		{"path", "POST", "/v1/reservations/res_1/finalize", holdBody},
		{"trailing slash", "POST", "/v1/reservations/", holdBody},
		{"a value", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":5,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"]}`},
		{"a nested value", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":4,"guest":{"name":"Bob","phone":"+447700900123"},"notes":["window","quiet"]}`},
		{"array order", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":4,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["quiet","window"]}`},
		{"a number as a string", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":"4","guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"]}`},
		{"a field more", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":4,"guest":{"name":"Ada","phone":"+447700900123"},"notes":["window","quiet"],"x":null}`},
		{"a field less", "POST", "/v1/reservations", `{"slot_id":"slot_01j","party_size":4,"guest":{"name":"Ada","phone":"+447700900123"}}`},
		{"no body", "POST", "/v1/reservations", ``},
		{"empty object", "POST", "/v1/reservations", `{}`},
	}
	seen := map[string]string{base: "base"}
	for _, tc := range cases {
		got := idempotency.Fingerprint(tc.method, tc.path, []byte(tc.body))
		if other, dup := seen[got]; dup {
			t.Errorf("%s: same fingerprint as %s", tc.name, other)
		}
		seen[got] = tc.name
	}
}

// A body that is not JSON is compared byte for byte.
func TestFingerprintComparesOtherBodiesByteForByte(t *testing.T) {
	fp := func(body string) string {
		return idempotency.Fingerprint("POST", "/v1/reservations/res_1/cancel", []byte(body))
	}
	if form := "reason=guest"; fp(form) != fp(strings.Clone(form)) {
		t.Error("the same form body fingerprints differently")
	}
	for _, pair := range [][2]string{
		{"reason=guest", "reason=venue"},
		{"reason=guest", "reason=guest "},
		{`{"reason":"guest"`, `{"reason": "guest"`}, // broken JSON is not normalised
		{"", "{}"},
	} {
		if fp(pair[0]) == fp(pair[1]) {
			t.Errorf("%q and %q share a fingerprint", pair[0], pair[1])
		}
	}
}

// Two JSON integers that differ are different requests, however large.
func TestFingerprintTellsLargeIntegersApart(t *testing.T) {
	a := idempotency.Fingerprint("POST", "/v1/reservations", []byte(`{"amount":9007199254740993}`))
	b := idempotency.Fingerprint("POST", "/v1/reservations", []byte(`{"amount":9007199254740992}`))
	if a == b {
		t.Fatal("two different amounts share a fingerprint")
	}
}
