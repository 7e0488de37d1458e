package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// cacheConfig is the per-process caches' configuration.
type cacheConfig struct {
	// TTL bounds how long a cached token or venue is served even if no change is
	// announced (PRIMA_CACHE_TTL, default 60s); 0 turns the caches off: every request
	// reads the database.
	TTL time.Duration
	// ListenRetry is the first wait before reconnecting a lost invalidation listener,
	// doubling up to 30 s (PRIMA_CACHE_LISTEN_RETRY, default 500ms).
	ListenRetry time.Duration
	// SearchTTL is the longest a search answer is served (PRIMA_SEARCH_CACHE_TTL,
	// default booking.DefaultSearchTTL); negative keeps no search answers.
	SearchTTL time.Duration
}

func loadCacheConfig() (cacheConfig, error) {
	c := cacheConfig{TTL: store.DefaultCacheTTL, ListenRetry: store.DefaultListenRetry}
	var err error
	if c.TTL, err = envTTL("PRIMA_CACHE_TTL", c.TTL, 0, "30s or 5m (or 0 to turn the caches off)"); err != nil {
		return c, err
	}
	if c.ListenRetry, err = envDuration("PRIMA_CACHE_LISTEN_RETRY", store.DefaultListenRetry); err != nil {
		return c, err
	}
	if c.SearchTTL, err = envTTL("PRIMA_SEARCH_CACHE_TTL", 0, -1, "30s or 2s (or 0 to keep no search answers)"); err != nil {
		return c, err
	}
	return c, nil
}

// envTTL reads a cache's lifetime from the environment variable name: fallback when it
// is unset, off when it is 0 or "off", else a positive duration (like says which).
func envTTL(name string, fallback, off time.Duration, like string) (time.Duration, error) {
	v := strings.TrimSpace(os.Getenv(name))
	switch v {
	case "":
		return fallback, nil
	case "0", "off":
		return off, nil
	}
	d, err := parseDuration(v)
	if err != nil || d <= 0 {
		return fallback, fmt.Errorf("%s: %q is not a positive duration like %s", name, v, like)
	}
	return d, nil
}

// listenInvalidations runs the database's invalidation listener until ctx ends, unless
// the caches are off (then they are never trusted and every lookup reads the database).
func listenInvalidations(ctx context.Context, db *store.DB, c cacheConfig, log *slog.Logger) {
	if c.TTL <= 0 {
		log.Info("caches off (PRIMA_CACHE_TTL=0): every request reads its token and venue from the database")
		return
	}
	if err := db.ListenInvalidations(ctx, store.ListenConfig{TTL: c.TTL, Retry: c.ListenRetry, Logger: log}); err != nil {
		log.Error("cache invalidation listener", "error", err)
	}
}
