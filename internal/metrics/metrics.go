// Package metrics holds the server's Prometheus metrics (client_golang): request
// durations by route and status, the reservation lifecycle, payment outcomes, the
// outbox and the database pool. A nil *Metrics records nothing, so every layer can
// report without caring whether metrics are on.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry and the collectors in it.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	holds    *prometheus.CounterVec
	payments *prometheus.CounterVec
	// auditDropped and auditWriteFailures are the audit log's losses and failed writes.
	auditDropped       prometheus.Counter
	auditWriteFailures prometheus.Counter
}

// New returns a registry with the Go runtime and process collectors and PRIMA's own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prima_http_request_duration_seconds",
			Help:    "Time to answer an API request, by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prima_holds_total",
			Help: "Reservation holds by what happened to them: created, finalized, expired.",
		}, []string{"event"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prima_payment_outcomes_total",
			Help: "Payment outcomes at finalize: captured, declined, not_authorised, provider_error, refunded_unbooked.",
		}, []string{"outcome"}),
		auditDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prima_audit_events_dropped_total",
			Help: "Audit events lost: the audit buffer was full (the database was slow or down), or events were still unwritten when the process stopped.",
		}),
		auditWriteFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prima_audit_write_errors_total",
			Help: "Failed attempts to write a batch of audit events; the batch is kept and retried with backoff.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.holds, m.payments, m.auditDropped, m.auditWriteFailures,
	)
	for _, e := range []string{"created", "finalized", "expired"} {
		m.holds.WithLabelValues(e) // present from the start, at 0
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one answered request. route is the route template
// (/v1/reservations/:reservation_id), never the raw path, so ids do not become labels.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// Hold counts n holds that were created, finalized or expired.
func (m *Metrics) Hold(event string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.holds.WithLabelValues(event).Add(float64(n))
}

// Payment counts one payment outcome.
func (m *Metrics) Payment(outcome string) {
	if m == nil {
		return
	}
	m.payments.WithLabelValues(outcome).Inc()
}

// AuditDropped counts n audit events that were lost.
func (m *Metrics) AuditDropped(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.auditDropped.Add(float64(n))
}

// AuditWriteFailed counts one failed attempt to write a batch of audit events.
func (m *Metrics) AuditWriteFailed() {
	if m == nil {
		return
	}
	m.auditWriteFailures.Inc()
}

// WatchDB exports the pool's statistics (open, in use, idle, waits) on every scrape.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// OutboxStats is the outbox as a scrape sees it.
type OutboxStats struct {
	Pending          int64
	Failed           int64
	OldestPendingAge time.Duration
}

// WatchOutbox exports the outbox's backlog, its lag (the age of the oldest pending
// message) and its failures, read by stats on every scrape.
func (m *Metrics) WatchOutbox(stats func(context.Context) (OutboxStats, error)) {
	m.reg.MustRegister(&outboxCollector{stats: stats})
}

var (
	outboxPending = prometheus.NewDesc("prima_outbox_pending", "Outbox messages waiting to be delivered.", nil, nil)
	outboxFailed  = prometheus.NewDesc("prima_outbox_failed", "Outbox messages marked failed after retrying for PRIMA_OUTBOX_MAX_AGE.", nil, nil)
	outboxLag     = prometheus.NewDesc("prima_outbox_lag_seconds", "Age of the oldest pending outbox message.", nil, nil)
	outboxUp      = prometheus.NewDesc("prima_outbox_stats_up", "1 if the outbox could be read at this scrape.", nil, nil)
)

type outboxCollector struct {
	stats func(context.Context) (OutboxStats, error)
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPending
	ch <- outboxFailed
	ch <- outboxLag
	ch <- outboxUp
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(outboxUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(outboxPending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(outboxFailed, prometheus.GaugeValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(outboxLag, prometheus.GaugeValue, s.OldestPendingAge.Seconds())
}
