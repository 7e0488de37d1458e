package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The venue side: operators publish inventory through /v1/operator/… and partners see
// it in the five calls at once.

const venueBody = `{"name":"Trattoria Nuova","description":"Fresh pasta.","address":{"line1":"1 Bleecker Street","postal_code":"10012","country":"US"},
"city":"New York","cuisine":"italian","time_zone":"America/New_York","currency":"usd","seating_areas":["dining_room","bar"],
"cancellation_policy":{"free_until_hours_before":24,"fee_type":"percent","fee_percent":50},"modification_policy":{"allowed_until_hours_before":3}}`

// decode unmarshals an answer into out, failing the test on anything else than want.
func decode(t *testing.T, status, want int, body []byte, out any) {
	t.Helper()
	if status != want {
		t.Fatalf("status %d, want %d: %s", status, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	}
}

// createVenue creates a venue through the API as the operator.
func (e *env) createVenue(t *testing.T, token string) operatorapi.OperatorVenue {
	t.Helper()
	var v operatorapi.OperatorVenue
	status, _, body := e.do("POST", "/v1/operator/venues", token, venueBody, "Idempotency-Key", key())
	decode(t, status, http.StatusCreated, body, &v)
	return v
}

// localDate is the date days from today in New York.
func localDate(days int) string {
	loc, _ := time.LoadLocation("America/New_York")
	return time.Now().In(loc).AddDate(0, 0, days).Format(time.DateOnly)
}

// search answers the partner's availability for venueID on date.
func (e *env) search(t *testing.T, venueID, date string) []client.Slot {
	t.Helper()
	var out client.SlotList
	status, _, body := e.do("GET", "/v1/availability?party_size=2&limit=100&date="+date+"&venue_id="+venueID, e.token, "")
	decode(t, status, http.StatusOK, body, &out)
	return out.Data
}

func holdJSON(slotID string) string {
	return fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slotID)
}

// count runs a COUNT query with ? placeholders on either database.
func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	if e.db.Dialect() == store.DialectPostgres {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := e.db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOperatorScheduleSlotsAppearInSearchAndAClosureWithdrawsThem(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		op := e.newOperatorToken("lupa-group", nil)
		v := e.createVenue(t, op)
		if v.ModificationPolicy.AllowedUntilHoursBefore != 3 || v.Platform.Kind != "log" || v.CancellationPolicy.FeeType != "percent" {
			t.Fatalf("venue as created: %+v", v)
		}
		// Partners that sell every venue see it at once.
		if status, _, body := e.do("GET", "/v1/venues/"+v.Id, e.token, ""); status != http.StatusOK {
			t.Fatalf("partner reads the new venue: %d %s", status, body)
		}

		sched := `{"days":["mon","tue","wed","thu","fri","sat","sun"],"times":["19:00","20:30"],"duration_minutes":120,
			"party_size_min":2,"party_size_max":4,"seating_area":"dining_room","type":"prime","price":{"amount":2500,"per":"cover"},
			"tables":3,"horizon_days":4}`
		var sch operatorapi.Schedule
		status, _, body := e.do("POST", "/v1/operator/venues/"+v.Id+"/schedules", op, sched, "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &sch)
		if sch.SlotsGenerated < 6 || sch.SlotsGenerated > 8 {
			t.Fatalf("slots generated %d, want 6 to 8 (4 days of 2, less today's past ones)", sch.SlotsGenerated)
		}
		inDB := e.count(t, "SELECT count(*) FROM slots WHERE schedule_id = ?", sch.Id)
		if inDB != sch.SlotsGenerated {
			t.Fatalf("database has %d slots of the schedule, the answer says %d", inDB, sch.SlotsGenerated)
		}
		// Generating again adds nothing.
		if n, err := e.inventory.RollHorizon(context.Background()); err != nil || n != 0 {
			t.Fatalf("rolling the horizon again added %d (%v)", n, err)
		}
		if again := e.count(t, "SELECT count(*) FROM slots WHERE schedule_id = ?", sch.Id); again != inDB {
			t.Fatalf("slots after a second generation: %d, want %d", again, inDB)
		}

		tomorrow := localDate(1)
		found := e.search(t, v.Id, tomorrow)
		if len(found) != 2 || found[0].LocalTime != "19:00" || found[1].LocalTime != "20:30" || found[0].TablesLeft != 3 ||
			found[0].Price == nil || found[0].Price.Amount != 2500 || found[0].Price.Currency != "usd" {
			t.Fatalf("partner search for %s: %+v", tomorrow, found)
		}
		// A hold on one of them before the closure: it stands after it.
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(found[1].Id), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, nil)

		var clo operatorapi.Closure
		status, _, body = e.do("POST", "/v1/operator/venues/"+v.Id+"/closures", op,
			fmt.Sprintf(`{"date_from":%q,"date_to":%q,"reason":"Private event"}`, tomorrow, tomorrow), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &clo)
		if clo.SlotsWithdrawn != 2 || clo.ReservationsAffected != 1 {
			t.Fatalf("closure: %+v", clo)
		}
		if found := e.search(t, v.Id, tomorrow); len(found) != 0 {
			t.Fatalf("search after the closure: %+v", found)
		}
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(found[0].Id), "Idempotency-Key", key())
		if status != http.StatusConflict || apiError(t, body).Code != "slot_not_bookable" {
			t.Fatalf("hold on a withdrawn slot: %d %s", status, body)
		}
		if n := e.count(t, "SELECT count(*) FROM slots WHERE local_date = ? AND venue_id = ? AND status = 'withdrawn'", tomorrow, v.Id); n != 2 {
			t.Fatalf("withdrawn slots in the database: %d", n)
		}
		if taken, active, total := e.counts(found[0].Id); taken != 0 || active != 0 || total != 1 {
			t.Fatalf("database: tables_taken=%d active=%d reservations=%d, want 0, 0, 1", taken, active, total)
		}
		// The other days are untouched.
		if after := e.search(t, v.Id, localDate(2)); len(after) != 2 {
			t.Fatalf("the day after the closure: %+v", after)
		}
		// City searches read slots.city_key, which the database keeps (migration 00005)
		// for generated slots and when the venue's city changes.
		byCity := func(city string) int {
			var out client.SlotList
			status, _, body := e.do("GET", "/v1/availability?party_size=2&date="+localDate(2)+"&city="+url.QueryEscape(city), e.token, "")
			decode(t, status, http.StatusOK, body, &out)
			return len(out.Data)
		}
		if n := byCity("new york"); n != 2 {
			t.Fatalf("city search finds %d slots, want 2", n)
		}
		status, _, body = e.do("PATCH", "/v1/operator/venues/"+v.Id, op, `{"city":"Brooklyn"}`)
		decode(t, status, http.StatusOK, body, nil)
		if n, m := byCity("Brooklyn"), byCity("New York"); n != 2 || m != 0 {
			t.Fatalf("after the move to Brooklyn: %d there, %d in New York", n, m)
		}
	})
}

func TestSlotTablesNeverGoBelowTakenAndRaisedTablesAreBookable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		op := e.newOperatorToken("lupa-group", nil)
		v := e.createVenue(t, op)
		var sl operatorapi.OperatorSlot
		status, _, body := e.do("POST", "/v1/operator/venues/"+v.Id+"/slots", op,
			fmt.Sprintf(`{"local_date":%q,"local_time":"19:00","duration_minutes":120,"party_size_min":1,"party_size_max":4,
			"seating_area":"bar","type":"standard","tables":2}`, localDate(2)), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &sl)
		for range 2 {
			status, _, body := e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
			decode(t, status, http.StatusCreated, body, nil)
		}
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
		if status != http.StatusConflict || apiError(t, body).Code != "slot_unavailable" {
			t.Fatalf("third hold on 2 tables: %d %s", status, body)
		}

		status, _, body = e.do("PATCH", "/v1/operator/slots/"+sl.Id, op, `{"tables":1}`)
		d := apiError(t, body)
		if status != http.StatusConflict || d.Code != "tables_below_taken" || !strings.Contains(d.Message, "2 tables held or booked") {
			t.Fatalf("lowering below taken: %d %s", status, body)
		}
		if n := e.count(t, "SELECT tables FROM slots WHERE id = ?", sl.Id); n != 2 {
			t.Fatalf("tables after the refusal: %d", n)
		}
		// Down to exactly what is taken is allowed; then up again.
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+sl.Id, op, `{"tables":2}`)
		decode(t, status, http.StatusOK, body, nil)
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+sl.Id, op, `{"tables":3}`)
		decode(t, status, http.StatusOK, body, &sl)
		if sl.Tables != 3 || sl.TablesTaken != 2 {
			t.Fatalf("slot after raising: %+v", sl)
		}
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, nil)
		if taken, active, _ := e.counts(sl.Id); taken != 3 || active != 3 {
			t.Fatalf("database: tables_taken=%d active=%d, want 3 and 3", taken, active)
		}
		// Withdrawing one slot refuses holds; reopening offers it again.
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+sl.Id, op, `{"status":"withdrawn","tables":4}`)
		decode(t, status, http.StatusOK, body, &sl)
		if sl.Status != "withdrawn" || sl.Tables != 4 {
			t.Fatalf("withdrawn: %+v", sl)
		}
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
		if status != http.StatusConflict || apiError(t, body).Code != "slot_not_bookable" {
			t.Fatalf("hold on a withdrawn slot: %d %s", status, body)
		}
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+sl.Id, op, `{"status":"open"}`)
		decode(t, status, http.StatusOK, body, nil)
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, nil)
	})
}

func TestOperatorSeesItsVenuesBookingsAcrossPartnersAndRecordsOutcomes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := time.Now()
		e := newEnv(t, db, withClock(func() time.Time { return clock }))
		_, slots := e.addVenue(slotSpec{tables: 5, in: 2 * time.Hour})
		other, _ := e.addVenue(slotSpec{tables: 5})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		rival := e.newToken("rival-concierge")

		var mine, theirs client.Reservation
		status, _, body := e.do("POST", "/v1/reservations", e.token, holdJSON(slots[0].ID), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &mine)
		status, _, body = e.do("POST", "/v1/reservations/"+mine.Id+"/finalize", e.token, "", "Idempotency-Key", key())
		decode(t, status, http.StatusOK, body, &mine)
		status, _, body = e.do("POST", "/v1/reservations", rival, holdJSON(slots[0].ID), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &theirs)

		var list operatorapi.OperatorReservationList
		status, _, body = e.do("GET", "/v1/operator/reservations?limit=1", op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 1 || !list.HasMore || list.Data[0].Id != theirs.Id || list.Data[0].Partner.Name != "rival-concierge" {
			t.Fatalf("first page: %s", body)
		}
		status, _, body = e.do("GET", "/v1/operator/reservations?limit=1&starting_after="+theirs.Id, op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 1 || list.HasMore || list.Data[0].Id != mine.Id || list.Data[0].Partner.Name != "acme-rewards" ||
			list.Data[0].Guest.Email != "ada@example.com" || list.Data[0].VenueSync.Status == "" {
			t.Fatalf("second page: %s", body)
		}
		status, _, body = e.do("GET", "/v1/operator/reservations?status=confirmed&date_from="+slots[0].LocalDate, op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 1 || list.Data[0].Id != mine.Id {
			t.Fatalf("confirmed filter: %s", body)
		}
		status, _, body = e.do("GET", "/v1/operator/reservations?venue_id="+other.ID, op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 0 {
			t.Fatalf("another venue's filter shows %s", body)
		}

		if s, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["reservation.completed","reservation.no_show"]}`, "Idempotency-Key", key()); s != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", s, b)
		}
		outcome := func(id, status string) (int, []byte) {
			s, _, b := e.do("POST", "/v1/operator/reservations/"+id+"/outcome", op, `{"status":"`+status+`"}`, "Idempotency-Key", key())
			return s, b
		}
		if s, b := outcome(mine.Id, "no_show"); s != http.StatusConflict || apiError(t, b).Code != "reservation_state_invalid" {
			t.Fatalf("no_show before the start: %d %s", s, b)
		}
		clock = clock.Add(3 * time.Hour)
		if s, b := outcome(theirs.Id, "completed"); s != http.StatusConflict || apiError(t, b).Code != "reservation_state_invalid" {
			t.Fatalf("completing a hold: %d %s", s, b)
		}
		var done operatorapi.OperatorReservation
		s, b := outcome(mine.Id, "completed")
		decode(t, s, http.StatusOK, b, &done)
		if done.Status != "completed" {
			t.Fatalf("after completed: %s", b)
		}
		s, b = outcome(mine.Id, "completed")
		decode(t, s, http.StatusOK, b, nil)
		if s, b := outcome(mine.Id, "no_show"); s != http.StatusConflict {
			t.Fatalf("no_show after completed: %d %s", s, b)
		}
		if n := e.count(t, "SELECT count(*) FROM reservations WHERE id = ? AND status = 'completed'", mine.Id); n != 1 {
			t.Fatalf("database status of the completed booking")
		}
		// The partner sees the outcome too: on the reservation, one event, and its history.
		status, _, body = e.do("GET", "/v1/reservations/"+mine.Id, e.token, "")
		decode(t, status, http.StatusOK, body, &mine)
		if mine.Status != "completed" {
			t.Fatalf("partner's view: %s", body)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.completed' AND reservation_id = ?", mine.Id); n != 1 {
			t.Fatalf("reservation.completed partner messages: %d, want 1", n)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.no_show'"); n != 0 {
			t.Fatalf("reservation.no_show partner messages: %d, want 0", n)
		}
		var history client.ReservationEventList
		status, _, body = e.do("GET", "/v1/reservations/"+mine.Id+"/events", e.token, "")
		decode(t, status, http.StatusOK, body, &history)
		last := history.Data[len(history.Data)-1]
		if last.Type != "reservation.completed" || last.TokenId == nil {
			t.Fatalf("history: %s", body)
		}
	})
}

func TestOperatorTokensAndScopes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		if _, _, err := e.tokens.Create(ctx, access.CreateParams{Operator: "x", Venues: []string{"ven_nope"}}); err == nil {
			t.Fatal("an operator token for a venue that does not exist was issued")
		}
		if _, _, err := e.tokens.Create(ctx, access.CreateParams{Operator: "x", Scopes: []string{access.ScopeReservationsWrite}}); err == nil {
			t.Fatal("an operator token with a partner scope was issued")
		}
		if _, _, err := e.tokens.Create(ctx, access.CreateParams{Partner: "p", Scopes: []string{access.ScopeInventoryWrite}}); err == nil {
			t.Fatal("a partner token with an operator scope was issued")
		}
		readOnly := e.newOperatorToken("lupa-group", nil, access.ScopeInventoryRead)
		status, _, body := e.do("POST", "/v1/operator/venues", readOnly, venueBody, "Idempotency-Key", key())
		if status != http.StatusForbidden || apiError(t, body).Code != "insufficient_scope" {
			t.Fatalf("create with inventory:read only: %d %s", status, body)
		}
		status, _, body = e.do("GET", "/v1/operator/venues", readOnly, "")
		decode(t, status, http.StatusOK, body, nil)
		// Idempotency keys are the operator's own.
		op := e.newOperatorToken("lupa-group", nil)
		k := key()
		s1, _, b1 := e.do("POST", "/v1/operator/venues", op, venueBody, "Idempotency-Key", k)
		s2, h2, b2 := e.do("POST", "/v1/operator/venues", op, venueBody, "Idempotency-Key", k)
		if s1 != http.StatusCreated || s2 != s1 || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s / %d %s", s1, b1, s2, b2)
		}
		if n := e.count(t, "SELECT count(*) FROM venues"); n != 1 {
			t.Fatalf("venues after a replayed create: %d", n)
		}
		// The token shows its operator in the token list.
		list, err := e.tokens.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[access.Kind]int{}
		for _, tk := range list {
			kinds[tk.Kind]++
			if tk.Kind == access.KindOperator && (tk.OperatorName != "lupa-group" || tk.PartnerID != "") {
				t.Fatalf("operator token listed as %+v", tk)
			}
		}
		if kinds[access.KindOperator] != 2 || kinds[access.KindPartner] != 1 {
			t.Fatalf("token kinds %v", kinds)
		}
		// Switching to the webhook connector shows its signing secret once.
		var created operatorapi.OperatorVenue
		decode(t, s1, http.StatusCreated, b1, &created)
		var v operatorapi.OperatorVenue
		status, _, body = e.do("PATCH", "/v1/operator/venues/"+created.Id, op, `{"platform":{"kind":"webhook","url":"https://platform.example/prima"}}`)
		decode(t, status, http.StatusOK, body, &v)
		if v.PlatformSigningSecret == nil || !strings.HasPrefix(*v.PlatformSigningSecret, "whsec_") || v.Platform.Kind != "webhook" {
			t.Fatalf("webhook connector: %s", body)
		}
		status, _, body = e.do("GET", "/v1/operator/venues/"+created.Id, op, "")
		decode(t, status, http.StatusOK, body, &v)
		if v.PlatformSigningSecret != nil || v.Platform.Url == nil || *v.Platform.Url != "https://platform.example/prima" {
			t.Fatalf("the secret is shown again, or the URL is lost: %s", body)
		}
		if n := e.count(t, "SELECT count(*) FROM venues WHERE platform_kind = 'webhook' AND platform_secret LIKE 'whsec_%'"); n != 1 {
			t.Fatalf("venues with the webhook connector: %d", n)
		}

		// Bad input answers in the error format.
		status, _, body = e.do("POST", "/v1/operator/venues", op, strings.Replace(venueBody, "America/New_York", "Mars/Olympus", 1), "Idempotency-Key", key())
		if status != http.StatusBadRequest || apiError(t, body).Code != "parameter_invalid" {
			t.Fatalf("bad time zone: %d %s", status, body)
		}
	})
}
