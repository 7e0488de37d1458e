package server_test

import (
	"testing"

	"github.com/prima-dining/partner-api/server"
)

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]server.RateLimit{
		"100/s":            {PerSecond: 100, Burst: 100},
		"100/s burst 200":  {PerSecond: 100, Burst: 200},
		"600/m":            {PerSecond: 10, Burst: 10},
		" 3600/h burst 5 ": {PerSecond: 1, Burst: 5},
		"10/m":             {PerSecond: 10.0 / 60, Burst: 1},
	} {
		got, err := server.ParseRateLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "100", "100/d", "0/s", "-1/s", "x/s", "100/s burst", "100/s burst 0", "100/s bursts 5", "NaN/s", "Inf/s"} {
		if got, err := server.ParseRateLimit(in); err == nil {
			t.Errorf("ParseRateLimit(%q) = %+v, want an error", in, got)
		}
	}
}
