package server

import (
	"strings"
	"testing"
)

func TestBadJSONTextNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		body  string
		field string
		bad   bool
	}{
		{`{"a":"ok","b":{"c":"é 日本 😀 \ud83d\ude00 \n \" \\"}}`, "", false},
		{"{\"a\":\"x\xffy\"}", "a", true},
		{"{\"a\":{\"b\":[\"ok\",\"\xc3\x28\"]}}", "a.b.1", true},
		{"{\"a\":\"\xc0\xaf\"}", "a", true},            // overlong /
		{"{\"a\":\"\xed\xa0\x80\"}", "a", true},        // a surrogate encoded in UTF-8
		{`{"a":"\ud800"}`, "a", true},                  // lone high
		{`{"a":"\udc00"}`, "a", true},                  // lone low
		{`{"a":"\ud800x"}`, "a", true},                 // high, then not an escape
		{`{"a":"\ud800\ud800"}`, "a", true},            // high + high
		{`{"a":"\ude00\ud83d"}`, "a", true},            // low before high
		{"{\"a\":1,\"k\xff\":\"v\"}", "k\uFFFD", true}, // a key
		{`{"a":[{"n":"ok"},{"n":"\udfff"}]}`, "a.1.n", true},
		{`{"a":"\ud800`, "", false}, // malformed: left to the JSON checks
		{"not json \"\xff\"", "", false},
		{`{"a":"\u00e9\u0041"}`, "", false},
	} {
		field, bad := badJSONText([]byte(tc.body))
		if bad != tc.bad || field != tc.field {
			t.Errorf("%q: (%q, %v), want (%q, %v)", tc.body, field, bad, tc.field, tc.bad)
		}
	}
}

func TestBadJSONTextStopsAtTheDepthJSONRefuses(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + "\"\xff\"" + strings.Repeat("]", 1_000_000)
	if _, bad := badJSONText([]byte(deep)); bad {
		t.Error("a body nested beyond encoding/json's limit was followed")
	}
}
