package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// payPrime holds a prime slot, authorises its payment in the sandbox and, if finalize,
// books it (capturing the payment).
func (e *env) payPrime(t *testing.T, slotID string, finalize bool) string {
	t.Helper()
	h := e.hold(slotID, 2)
	ok := client.ConfirmPaymentIntentRequestOutcomeSucceeded
	conf, err := e.client.ConfirmSandboxPaymentIntentWithResponse(context.Background(), h.Payment.PaymentIntentId,
		&client.ConfirmSandboxPaymentIntentParams{}, client.ConfirmPaymentIntentRequest{Outcome: &ok})
	if err != nil || conf.JSON200 == nil {
		t.Fatalf("confirm: %v %s", err, conf.Body)
	}
	if finalize {
		if fin := e.finalize(h.Id); fin.JSON200 == nil {
			t.Fatalf("finalize: %s", fin.Body)
		}
	}
	return h.Id
}

func (e *env) cancel(t *testing.T, id string) {
	t.Helper()
	c, err := e.client.CancelReservationWithResponse(context.Background(), id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
	if err != nil || c.JSON200 == nil {
		t.Fatalf("cancel: %v %s", err, c.Body)
	}
}

// A month of bookings with money: captured (confirmed), partly refunded (cancelled
// inside the fee window), fully refunded (cancelled early), authorised but never
// captured, and a standard booking. The settlement report lists the ones with money,
// and its totals, the same on every page of the JSON and in the CSV, equal the sums of
// the payments the reservations show.
func TestSettlementReportTotalsEqualTheReservationsPayments(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(
			slotSpec{tables: 5, prime: true},                    // 48 h ahead: free cancellation
			slotSpec{tables: 5, prime: true, in: 5 * time.Hour}, // inside the 24 h fee window
			slotSpec{tables: 5},
		)
		confirmed := e.payPrime(t, slots[0].ID, true)
		late := e.payPrime(t, slots[1].ID, true)
		e.cancel(t, late) // 50% kept: a partial refund
		early := e.payPrime(t, slots[0].ID, true)
		e.cancel(t, early)                // all refunded
		e.payPrime(t, slots[0].ID, false) // authorised, never captured
		e.book(slots[2].ID, 2)            // no money
		// Another partner's booking is not in this partner's report.
		other := e.newToken("other-partner")
		func() {
			saved := e.client
			defer func() { e.client = saved }()
			e.client = e.clientFor(other)
			e.payPrime(t, slots[0].ID, true)
		}()

		// What the reservations show.
		type sums struct{ captured, refunded int64 }
		want := map[string]sums{}
		var wantTotal sums
		for _, id := range []string{confirmed, late, early} {
			r := e.get(id)
			var s sums
			for _, p := range r.Payments {
				if p.Currency != "usd" {
					t.Fatalf("payment in %s", p.Currency)
				}
				s.captured += p.AmountCaptured
				s.refunded += p.AmountRefunded
			}
			want[id] = s
			wantTotal.captured += s.captured
			wantTotal.refunded += s.refunded
		}
		if want[late].refunded == 0 || want[late].refunded >= want[late].captured || want[early].refunded != want[early].captured {
			t.Fatalf("the bookings' payments are not what the test needs: %+v", want)
		}

		today := time.Now().UTC()
		q := url.Values{"from": {today.AddDate(0, 0, -2).Format(time.DateOnly)}, "to": {today.AddDate(0, 0, 5).Format(time.DateOnly)}, "limit": {"1"}}
		got := map[string]client.SettlementLine{}
		var totals []client.SettlementTotal
		for page := 0; ; page++ {
			status, _, body := e.do(http.MethodGet, "/v1/reports/settlement?"+q.Encode(), e.token, "")
			var rep client.SettlementReport
			if err := json.Unmarshal(body, &rep); status != http.StatusOK || err != nil {
				t.Fatalf("report page %d: %d %s", page, status, body)
			}
			if page == 0 {
				totals = rep.Totals
			} else if fmt.Sprint(rep.Totals) != fmt.Sprint(totals) {
				t.Fatalf("page %d totals %v, page 0 %v", page, rep.Totals, totals)
			}
			for _, l := range rep.Data {
				if _, dup := got[l.ReservationId]; dup {
					t.Fatalf("%s listed twice", l.ReservationId)
				}
				got[l.ReservationId] = l
				q.Set("starting_after", l.ReservationId)
			}
			if !rep.HasMore {
				break
			}
			if page > 10 {
				t.Fatal("the report does not end")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("report lines %v, want the reservations %v", got, want)
		}
		for id, w := range want {
			l := got[id]
			if l.Captured != w.captured || l.Refunded != w.refunded || l.Fees != 0 || l.Net != w.captured-w.refunded || l.Currency != "usd" {
				t.Fatalf("line of %s: %+v, its payments %+v", id, l, w)
			}
		}
		if len(totals) != 1 || totals[0].Currency != "usd" || totals[0].Reservations != 3 || totals[0].Captured != wantTotal.captured ||
			totals[0].Refunded != wantTotal.refunded || totals[0].Fees != 0 || totals[0].Net != wantTotal.captured-wantTotal.refunded {
			t.Fatalf("totals %+v, the reservations' payments sum to %+v", totals, wantTotal)
		}

		// The same as CSV, the whole range at once.
		q.Del("starting_after")
		q.Del("limit")
		status, hdr, body := e.do(http.MethodGet, "/v1/reports/settlement?"+q.Encode(), e.token, "", "Accept", "text/csv")
		if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV: %d %s %s", status, hdr.Get("Content-Type"), body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(rows) != 1+len(want)+1 || strings.Join(rows[0], ",") != "reservation_id,date,venue_id,status,partner_reference,currency,captured,refunded,fees,net" {
			t.Fatalf("CSV rows: %v %q", err, body)
		}
		num := func(s string) int64 {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("CSV number %q", s)
			}
			return n
		}
		var csvTotal sums
		for _, row := range rows[1 : len(rows)-1] {
			w, ok := want[row[0]]
			if !ok || num(row[6]) != w.captured || num(row[7]) != w.refunded || num(row[8]) != 0 || num(row[9]) != w.captured-w.refunded {
				t.Fatalf("CSV row %v, its payments %+v", row, w)
			}
			csvTotal.captured += num(row[6])
			csvTotal.refunded += num(row[7])
		}
		last := rows[len(rows)-1]
		if last[0] != "total" || last[5] != "usd" || num(last[6]) != wantTotal.captured || num(last[7]) != wantTotal.refunded || csvTotal != wantTotal {
			t.Fatalf("CSV total %v, rows sum to %+v, payments to %+v", last, csvTotal, wantTotal)
		}

		// Refused ranges and cursors.
		for _, bad := range []string{"from=2026-12-10&to=2026-12-01", "from=2026-01-01&to=2027-01-02"} {
			status, _, body = e.do(http.MethodGet, "/v1/reports/settlement?"+bad, e.token, "")
			if status != http.StatusBadRequest || apiError(t, body).Code != "parameter_invalid" {
				t.Fatalf("%s: %d %s", bad, status, body)
			}
		}
		status, _, body = e.do(http.MethodGet, "/v1/reports/settlement?"+q.Encode()+"&starting_after=res_nope", e.token, "")
		if status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
			t.Fatalf("unknown starting_after: %d %s", status, body)
		}
	})
}
