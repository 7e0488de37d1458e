package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReplicaStats is the read replica as a scrape sees it (store.ReplicaStats).
type ReplicaStats struct {
	Up      bool
	Lagging bool
	Lag     time.Duration
	// Reads routed to the replica: served by it, and served by the primary instead
	// because the replica was behind or could not be reached.
	Replica, BehindReads, UnavailableReads uint64
}

// WatchReplica exports the read replica's state, lag and the reads routed to it, read by
// stats on every scrape.
func (m *Metrics) WatchReplica(stats func() ReplicaStats) {
	m.reg.MustRegister(&replicaCollector{stats: stats})
}

var (
	replicaUp = prometheus.NewDesc("prima_db_replica_up",
		"1 if the read replica (PRIMA_DATABASE_READ_URL) answers and lags less than PRIMA_DATABASE_READ_MAX_LAG, so reads may go to it.", nil, nil)
	replicaLag = prometheus.NewDesc("prima_db_replica_lag_seconds",
		"How long the oldest write the read replica has not replayed has waited (to about a second).", nil, nil)
	replicaReads = prometheus.NewDesc("prima_db_replica_reads_total",
		"Reads that may go to the read replica, by outcome: replica (served by it), lagging (served by the primary: the replica had not replayed what the read must see in time, or lagged too much), unavailable (served by the primary: the replica could not be reached).",
		[]string{"outcome"}, nil)
)

type replicaCollector struct {
	stats func() ReplicaStats
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaUp
	ch <- replicaLag
	ch <- replicaReads
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	up := 0.0
	if s.Up && !s.Lagging {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(replicaUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, s.Lag.Seconds())
	ch <- prometheus.MustNewConstMetric(replicaReads, prometheus.CounterValue, float64(s.Replica), "replica")
	ch <- prometheus.MustNewConstMetric(replicaReads, prometheus.CounterValue, float64(s.BehindReads), "lagging")
	ch <- prometheus.MustNewConstMetric(replicaReads, prometheus.CounterValue, float64(s.UnavailableReads), "unavailable")
}
