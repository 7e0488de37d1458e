package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/store"
)

// WatchCaches exports, on every scrape, the state of the process's cache invalidation
// feed (whether its caches are trusted, its reloads, notices and losses) and each
// cache's lookups.
func (m *Metrics) WatchCaches(feed func() store.InvalidationStats, caches func() []cache.Stats) {
	m.reg.MustRegister(&cacheCollector{feed: feed, caches: caches})
}

var (
	cacheTrusted = prometheus.NewDesc("prima_cache_listener_up",
		"1 while this process's caches are trusted: its invalidation listener is subscribed and caught up (LISTEN on PostgreSQL, the data_version watcher on SQLite); 0 while every lookup goes to the database.", nil, nil)
	cacheReloads = prometheus.NewDesc("prima_cache_reloads_total",
		"Times the caches started afresh: each (re)subscription of the listener, and on SQLite each commit by another process.", nil, nil)
	cacheNotices = prometheus.NewDesc("prima_cache_invalidations_received_total",
		"Invalidation notices received from PostgreSQL.", nil, nil)
	cacheLost = prometheus.NewDesc("prima_cache_listener_lost_total",
		"Times the invalidation listener was lost (connection dropped or failed a heartbeat); the caches are bypassed until it is back.", nil, nil)
	cacheLookups = prometheus.NewDesc("prima_cache_lookups_total",
		"Lookups by cache and result: hit (served from the cache), miss (read from the database, then cached), bypass (read from the database: the caches were not trusted).", []string{"cache", "result"}, nil)
	cacheEntries = prometheus.NewDesc("prima_cache_entries", "Entries held, by cache.", []string{"cache"}, nil)
)

type cacheCollector struct {
	feed   func() store.InvalidationStats
	caches func() []cache.Stats
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheTrusted, cacheReloads, cacheNotices, cacheLost, cacheLookups, cacheEntries} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.feed()
	up := 0.0
	if f.Trusted {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(cacheTrusted, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(cacheReloads, prometheus.CounterValue, float64(f.Reloads))
	ch <- prometheus.MustNewConstMetric(cacheNotices, prometheus.CounterValue, float64(f.Received))
	ch <- prometheus.MustNewConstMetric(cacheLost, prometheus.CounterValue, float64(f.Lost))
	for _, s := range c.caches() {
		ch <- prometheus.MustNewConstMetric(cacheLookups, prometheus.CounterValue, float64(s.Hits), s.Name, "hit")
		ch <- prometheus.MustNewConstMetric(cacheLookups, prometheus.CounterValue, float64(s.Misses), s.Name, "miss")
		ch <- prometheus.MustNewConstMetric(cacheLookups, prometheus.CounterValue, float64(s.Bypasses), s.Name, "bypass")
		ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(s.Entries), s.Name)
	}
}
