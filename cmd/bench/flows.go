package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// query is one search of the mix.
type query struct {
	City      string
	Date      string
	PartySize int
	Type      string
	TimeFrom  string
}

// searchMix is n distinct searches over the seeded days: combinations of city, date
// (from tomorrow), party size 1 to 8, an earliest time (none, 18:00 to 21:00) and a type
// (any or prime), in an order shuffled with a fixed seed, so that the API and the
// ceiling see the same mix in every run.
func searchMix(now time.Time, days, n int) []query {
	cities := []string{"new york", "london", "paris"}
	times := []string{"", "18:00", "19:00", "20:00", "21:00"}
	types := []string{"", "prime"}
	var all []query
	for d := range max(days-2, 1) {
		for _, city := range cities {
			for party := 1; party <= 8; party++ {
				for _, from := range times {
					for _, typ := range types {
						all = append(all, query{
							City: city, Date: now.UTC().AddDate(0, 0, 1+d).Format(time.DateOnly),
							PartySize: party, TimeFrom: from, Type: typ,
						})
					}
				}
			}
		}
	}
	r := rand.New(rand.NewSource(1)) //nolint:gosec // G404: a reproducible mix, not a secret
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))]
}

// popularity is count draws of indexes into a mix of n searches with a Zipf skew
// (s = 1.1): a few searches are asked very often and most rarely, as with real
// partners' traffic, so a cache keyed by the query cannot serve the whole run from
// memory. The seed is fixed: the API and the ceiling replay the same sequence.
func popularity(n, count int) []int {
	r := rand.New(rand.NewSource(2)) //nolint:gosec // G404: a reproducible sequence, not a secret
	z := rand.NewZipf(r, 1.1, 1, uint64(n-1))
	out := make([]int, count)
	for i := range out {
		out[i] = int(z.Uint64())
	}
	return out
}

// distinctDrawn is how many different searches the first k draws ask.
func distinctDrawn(draws []int, k int) int {
	seen := map[int]bool{}
	for _, d := range draws[:min(k, len(draws))] {
		seen[d] = true
	}
	return len(seen)
}

// writeEvery is how often the search runs interleave a write: every writeEvery-th
// operation holds a table and cancels the hold, so that a cache of availability or of
// the catalogue sees invalidations while it is measured.
const writeEvery = 10

// mixed sends every writeEvery-th operation to write (with its own sequence number)
// and the others to read.
func mixed(read, write func(context.Context, int, int) error) func(context.Context, int, int) error {
	return func(ctx context.Context, w, seq int) error {
		if seq%writeEvery == writeEvery-1 {
			markWrite(ctx)
			return write(ctx, w, seq/writeEvery)
		}
		return read(ctx, w, seq)
	}
}

func (q query) values() url.Values {
	v := url.Values{}
	v.Set("city", q.City)
	v.Set("date", q.Date)
	v.Set("party_size", strconv.Itoa(q.PartySize))
	v.Set("limit", "20")
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.TimeFrom != "" {
		v.Set("time_from", q.TimeFrom)
	}
	return v
}

// searchOp asks the searches of qs in the order draws gives.
func searchOp(hc *http.Client, base, secret string, qs []query, draws []int) func(context.Context, int, int) error {
	urls := make([]string, len(qs))
	for i, q := range qs {
		urls[i] = base + "/v1/availability?" + q.values().Encode()
	}
	return func(ctx context.Context, _, seq int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[draws[seq%len(draws)]], nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		_, err = doJSON(hc, req, http.StatusOK, nil)
		return err
	}
}

// calendarOp asks, for each search of qs in the order draws gives, the 31-day calendar
// of its city for its party size and type, from today.
func calendarOp(hc *http.Client, base, secret string, qs []query, draws []int) func(context.Context, int, int) error {
	from := time.Now().UTC().Format(time.DateOnly)
	to := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	urls := make([]string, len(qs))
	for i, q := range qs {
		v := url.Values{}
		v.Set("city", q.City)
		v.Set("party_size", strconv.Itoa(q.PartySize))
		v.Set("from", from)
		v.Set("to", to)
		if q.Type != "" {
			v.Set("type", q.Type)
		}
		if q.TimeFrom != "" {
			v.Set("time_from", q.TimeFrom)
		}
		urls[i] = base + "/v1/availability/calendar?" + v.Encode()
	}
	return func(ctx context.Context, _, seq int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[draws[seq%len(draws)]], nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		_, err = doJSON(hc, req, http.StatusOK, nil)
		return err
	}
}

// statement is one SQL text with its arguments.
type statement struct {
	SQL  string
	Args []any
}

// searchStatements is the SQL the server issues for each query of the mix, built by the
// store's own code (a partner that may sell every venue, as the bench partners can).
func searchStatements(ctx context.Context, db *store.DB, qs []query) ([]statement, error) {
	out := make([]statement, 0, len(qs))
	for _, q := range qs {
		sq := store.SlotQuery{LocalDate: q.Date, PartySize: q.PartySize, City: q.City, Type: q.Type, TimeFrom: q.TimeFrom, Now: time.Now().UTC()}
		text, args, err := db.SearchSlotsStatement(ctx, store.Scope{AllVenues: true}, sq, store.Page{Limit: 20})
		if err != nil {
			return nil, err
		}
		out = append(out, statement{text, args})
	}
	return out, nil
}

// freeSlots returns up to n ids of distinct standard slots that take a party of 2, start
// after tomorrow and have every table free, in an order spread over venues and days.
func freeSlots(ctx context.Context, db *store.DB, n int) ([]string, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM slots
		WHERE type = 'standard' AND status = 'open' AND party_size_min <= 2 AND party_size_max >= 2
		  AND tables_taken = 0 AND starts_at > now() + interval '1 day'
		ORDER BY md5(id) LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func holdBody(slotID string, seq int) []byte {
	b, _ := json.Marshal(map[string]any{
		"slot_id":    slotID,
		"party_size": 2,
		"guest": map[string]any{
			"first_name": "Bench", "last_name": fmt.Sprintf("Guest %d", seq),
			"email": fmt.Sprintf("guest%d@example.com", seq), "phone": "+12125550143",
		},
		"partner_reference": fmt.Sprintf("bench-%d", seq),
	})
	return b
}

func post(ctx context.Context, hc *http.Client, u, secret string, body []byte, want int, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Idempotency-Key", randomHex(12))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(hc, req, want, out)
}

// bookingOp holds a distinct slot and finalizes the hold: one flow per call. Worker w
// books as partner w.
func bookingOp(hc *http.Client, base string, tokens []token, slots []string) func(context.Context, int, int) error {
	return func(ctx context.Context, w, seq int) error {
		secret := tokens[w%len(tokens)].secret
		var held struct {
			ID string `json:"id"`
		}
		if _, err := post(ctx, hc, base+"/v1/reservations", secret, holdBody(slots[seq], seq), http.StatusCreated, &held); err != nil {
			return err
		}
		var done struct {
			Status string `json:"status"`
		}
		if _, err := post(ctx, hc, base+"/v1/reservations/"+held.ID+"/finalize", secret, nil, http.StatusOK, &done); err != nil {
			return err
		}
		if done.Status != "confirmed" {
			return fmt.Errorf("finalize %s: status %q", held.ID, done.Status)
		}
		return nil
	}
}

// holdCancelOp holds the next slot of slots and cancels the hold (the table is free again):
// the write of the search runs' mix. Worker w books as partner w.
func holdCancelOp(hc *http.Client, base string, tokens []token, slots []string) func(context.Context, int, int) error {
	return func(ctx context.Context, w, seq int) error {
		secret := tokens[w%len(tokens)].secret
		var held struct {
			ID string `json:"id"`
		}
		if _, err := post(ctx, hc, base+"/v1/reservations", secret, holdBody(slots[seq%len(slots)], seq), http.StatusCreated, &held); err != nil {
			return err
		}
		_, err := post(ctx, hc, base+"/v1/reservations/"+held.ID+"/cancel", secret, nil, http.StatusOK, nil)
		return err
	}
}

// contention sends n concurrent holds on one slot of `tables` tables, spread over the
// servers, and checks that exactly `tables` succeed, every other answer is 409
// slot_unavailable, and the database agrees.
func contention(ctx context.Context, hc *http.Client, db *store.DB, servers []string, tokens []token, n, tables int) (Contention, error) {
	c := Contention{Processes: len(servers), Attempts: n, Tables: tables, Other: map[string]int{}}
	slots, err := freeSlots(ctx, db, 1)
	if err != nil {
		return c, fmt.Errorf("contention: %w", err)
	}
	if len(slots) == 0 {
		return c, errors.New("contention: no free slot")
	}
	slot := slots[0]
	if _, err := db.SQL().ExecContext(ctx, "UPDATE slots SET tables = $1 WHERE id = $2", tables, slot); err != nil {
		return c, err
	}
	type answer struct {
		status int
		code   string
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var body struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			st, err := post(ctx, hc, servers[i%len(servers)]+"/v1/reservations", tokens[i%len(tokens)].secret, holdBody(slot, 1_000_000+i), http.StatusConflict, &body)
			switch {
			case st == http.StatusCreated:
				answers[i] = answer{st, ""}
			case err != nil:
				answers[i] = answer{st, err.Error()}
			default:
				answers[i] = answer{st, body.Error.Code}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	c.Seconds = time.Since(t0).Seconds()
	for _, a := range answers {
		switch {
		case a.status == http.StatusCreated:
			c.Created++
		case a.status == http.StatusConflict && a.code == "slot_unavailable":
			c.Unavailable++
		default:
			c.Other[fmt.Sprintf("%d %.80s", a.status, a.code)]++
		}
	}
	if err := db.SQL().QueryRowContext(ctx, "SELECT tables_taken FROM slots WHERE id = $1", slot).Scan(&c.TablesTaken); err != nil {
		return c, err
	}
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM reservations WHERE slot_id = $1 AND status IN ('held', 'confirmed')", slot).Scan(&c.LiveRows); err != nil {
		return c, err
	}
	c.OK = c.Created == tables && c.Unavailable == n-tables && c.TablesTaken == tables && c.LiveRows == tables
	if len(c.Other) == 0 {
		c.Other = nil
	}
	return c, nil
}

// answerSlots returns the slots the first n writes of a search run hold, as a partner
// holds what it found: the j-th write replaces the search at draw j*writeEvery +
// writeEvery-1 and holds a slot of that search's answer (the answer's (j mod its
// size)-th slot that such a write can take: standard, for two, every table free, from
// the day after tomorrow; a search whose answer has none lends the write to the next
// draw). So the popular answers, the ones a cache keeps, are the ones the writes change,
// in proportion to how often they are asked.
func answerSlots(ctx context.Context, db *store.DB, qs []query, draws []int, n int) ([]string, error) {
	after := time.Now().UTC().Add(48 * time.Hour)
	answers := map[int][]string{}
	holdable := func(i int) ([]string, error) {
		if ids, ok := answers[i]; ok {
			return ids, nil
		}
		q := qs[i]
		sq := store.SlotQuery{LocalDate: q.Date, PartySize: q.PartySize, City: q.City, Type: q.Type, TimeFrom: q.TimeFrom, Now: time.Now().UTC()}
		found, _, err := db.SearchSlots(ctx, store.Scope{AllVenues: true}, sq, store.Page{Limit: 20})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, sl := range found {
			if sl.Type == "standard" && sl.PartySizeMin <= 2 && sl.PartySizeMax >= 2 && sl.TablesTaken == 0 && sl.StartsAt.After(after) {
				ids = append(ids, sl.ID)
			}
		}
		answers[i] = ids
		return ids, nil
	}
	out := make([]string, 0, n)
	for j := range n {
		for d := j*writeEvery + writeEvery - 1; ; d++ {
			if d-j*writeEvery > len(draws) {
				return nil, errors.New("no search of the mix finds a slot a write can hold")
			}
			ids, err := holdable(draws[d%len(draws)])
			if err != nil {
				return nil, err
			}
			if len(ids) > 0 {
				out = append(out, ids[j%len(ids)])
				break
			}
		}
	}
	return out, nil
}
