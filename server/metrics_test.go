package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsCountRequestsByRouteAndTheHoldLifecycle(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		m := metrics.New()
		m.WatchDB(db.SQL(), db.Dialect())
		m.WatchOutbox(func(ctx context.Context) (metrics.OutboxStats, error) {
			p, f, oldest, err := db.OutboxStats(ctx)
			st := metrics.OutboxStats{Pending: p, Failed: f}
			if !oldest.IsZero() {
				st.OldestPendingAge = time.Since(oldest)
			}
			return st, err
		})
		e := newEnv(t, db, withMetrics(m))
		_, slots := e.addVenue(slotSpec{tables: 2})
		status, _, body := e.do("POST", "/v1/reservations", e.token,
			fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID),
			"Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("hold: %d %s", status, body)
		}
		id := string(regexp.MustCompile(`"id":"(res_[^"]+)"`).FindSubmatch(body)[1])
		if status, _, body := e.do("POST", "/v1/reservations/"+id+"/finalize", e.token, "", "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("finalize: %d %s", status, body)
		}
		e.do("GET", "/v1/reservations/"+id, e.token, "")
		e.do("GET", "/v1/reservations/res_unknown", e.token, "")
		e.do("GET", "/v1/nowhere/res_secret_path", e.token, "")

		out := scrape(t, m)
		for _, want := range []string{
			`prima_http_request_duration_seconds_count{method="POST",route="/v1/reservations",status="201"} 1`,
			`prima_http_request_duration_seconds_count{method="POST",route="/v1/reservations/:reservation_id/finalize",status="200"} 1`,
			`prima_http_request_duration_seconds_count{method="GET",route="/v1/reservations/:reservation_id",status="404"} 1`,
			`prima_holds_total{event="created"} 1`,
			`prima_holds_total{event="finalized"} 1`,
			`prima_holds_total{event="expired"} 0`,
			`prima_outbox_stats_up 1`,
			`prima_outbox_pending `,
			`prima_outbox_lag_seconds `,
			`go_sql_max_open_connections{db_name="` + db.Dialect() + `"}`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the scrape lacks %s", want)
			}
		}
		// Ids and raw paths never become label values.
		if strings.Contains(out, "res_") || strings.Contains(out, "nowhere") {
			t.Errorf("a raw path leaked into the labels:\n%s", grepLines(out, "prima_http"))
		}
	})
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
