package metrics

import "github.com/prometheus/client_golang/prometheus"

// SharedRateLimits is the state of the rate limits shared in Redis (PRIMA_REDIS_URL), as
// a scrape sees it.
type SharedRateLimits struct {
	// Up is false while Redis does not answer and this process limits on its own.
	Up bool
	// LocalDecisions counts the requests limited in-process because Redis did not answer.
	LocalDecisions uint64
}

var (
	rateLimitRedisUp = prometheus.NewDesc("prima_rate_limit_redis_up",
		"1 while the rate limits shared in Redis answer; 0 while this process limits requests on its own buckets because Redis does not.", nil, nil)
	rateLimitLocal = prometheus.NewDesc("prima_rate_limit_local_decisions_total",
		"Rate-limit decisions made on this process's own buckets because Redis did not answer.", nil, nil)
)

// WatchSharedRateLimits exports the shared rate limits' state, read by stats on every
// scrape. Only a server with PRIMA_REDIS_URL set registers it, once per Metrics.
func (m *Metrics) WatchSharedRateLimits(stats func() SharedRateLimits) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(&sharedRateLimitsCollector{stats: stats})
}

type sharedRateLimitsCollector struct {
	stats func() SharedRateLimits
}

func (c *sharedRateLimitsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rateLimitRedisUp
	ch <- rateLimitLocal
}

func (c *sharedRateLimitsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	up := 0.0
	if s.Up {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(rateLimitRedisUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(rateLimitLocal, prometheus.CounterValue, float64(s.LocalDecisions))
}
