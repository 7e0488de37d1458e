package main

import (
	"strings"
	"testing"
	"time"
)

func TestCacheConfigFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		ttl, retry, search string
		want               cacheConfig
		err                string
	}{
		{want: cacheConfig{TTL: time.Minute, ListenRetry: 500 * time.Millisecond}},
		{ttl: "30s", retry: "2s", want: cacheConfig{TTL: 30 * time.Second, ListenRetry: 2 * time.Second}},
		{ttl: "0", want: cacheConfig{TTL: 0, ListenRetry: 500 * time.Millisecond}},
		{ttl: "off", want: cacheConfig{TTL: 0, ListenRetry: 500 * time.Millisecond}},
		{ttl: "soon", err: "PRIMA_CACHE_TTL"},
		{ttl: "-5s", err: "PRIMA_CACHE_TTL"},
		{retry: "0", err: "PRIMA_CACHE_LISTEN_RETRY"},
		{search: "500ms", want: cacheConfig{TTL: time.Minute, ListenRetry: 500 * time.Millisecond, SearchTTL: 500 * time.Millisecond}},
		{search: "0", want: cacheConfig{TTL: time.Minute, ListenRetry: 500 * time.Millisecond, SearchTTL: -1}},
		{search: "off", want: cacheConfig{TTL: time.Minute, ListenRetry: 500 * time.Millisecond, SearchTTL: -1}},
		{search: "-1s", err: "PRIMA_SEARCH_CACHE_TTL"},
		{search: "often", err: "PRIMA_SEARCH_CACHE_TTL"},
	} {
		t.Setenv("PRIMA_CACHE_TTL", tc.ttl)
		t.Setenv("PRIMA_CACHE_LISTEN_RETRY", tc.retry)
		t.Setenv("PRIMA_SEARCH_CACHE_TTL", tc.search)
		c, err := loadConfig()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("TTL %q retry %q: error %v, want one naming %s", tc.ttl, tc.retry, err, tc.err)
			}
		case err != nil:
			t.Errorf("TTL %q retry %q: %v", tc.ttl, tc.retry, err)
		case c.Caches != tc.want:
			t.Errorf("TTL %q retry %q: %+v, want %+v", tc.ttl, tc.retry, c.Caches, tc.want)
		}
	}
}
