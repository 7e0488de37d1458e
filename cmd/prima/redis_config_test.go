package main

import (
	"strings"
	"testing"
)

func TestBadRedisURLIsAClearErrorAtStartUp(t *testing.T) {
	for _, bad := range []string{"localhost:6379", "http://127.0.0.1:6379", "redis://:s3cret@127.0.0.1:6379/db", "redis://127.0.0.1:6379?colour=red"} {
		t.Setenv("PRIMA_REDIS_URL", bad)
		_, err := loadConfig()
		if err == nil || !strings.Contains(err.Error(), "PRIMA_REDIS_URL") {
			t.Errorf("PRIMA_REDIS_URL=%q: %v, want an error naming the variable", bad, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("PRIMA_REDIS_URL=%q: the error shows the password: %v", bad, err)
		}
	}
	t.Setenv("PRIMA_REDIS_URL", "redis://:s3cret@127.0.0.1:16379/0")
	if c, err := loadConfig(); err != nil || c.RedisURL == "" {
		t.Fatalf("a good URL: %+v %v", c.RedisURL, err)
	}
}
