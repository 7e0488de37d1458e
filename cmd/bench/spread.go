package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store"
)

// Propagation is how long a change made through one process took to show on another,
// over Tries changes.
type Propagation struct {
	Tries int     `json:"tries"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Missed counts changes that had not shown after the deadline (10 s).
	Missed int `json:"missed"`
}

func propagation(times []time.Duration, missed int) Propagation {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	p := Propagation{Tries: len(times) + missed, Missed: missed, P50ms: quantile(times, 0.5), P99ms: quantile(times, 0.99)}
	if len(times) > 0 {
		p.MaxMs = float64(times[len(times)-1].Microseconds()) / 1000
	}
	return p
}

// until polls check every 2 ms until it is true or 10 s have passed, and says how long
// that took.
func until(ctx context.Context, check func(context.Context) (bool, error)) (time.Duration, bool, error) {
	t0 := time.Now()
	for time.Since(t0) < 10*time.Second {
		ok, err := check(ctx)
		if err != nil {
			return 0, false, err
		}
		if ok {
			return time.Since(t0), true, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return 0, false, nil
}

func status(ctx context.Context, hc *http.Client, u, secret string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// revocation issues a token, uses it on process b (so that any cache of b holds it),
// revokes it the way `prima token revoke` does (access.Service on the database both
// processes share; a process that caches tokens hears of it from the database), and
// times how long b keeps accepting it. tries times.
func revocation(ctx context.Context, hc *http.Client, db *store.DB, b, venueURL string, tries int) (Propagation, error) {
	svc := access.NewService(db)
	var times []time.Duration
	missed := 0
	for i := range tries {
		secret, t, err := svc.Create(ctx, access.CreateParams{Partner: fmt.Sprintf("bench-revoke-%d", i), Name: "revoke"})
		if err != nil {
			return Propagation{}, err
		}
		for range 3 { // warm: b has looked the token up
			if st, err := status(ctx, hc, b+venueURL, secret); err != nil {
				return Propagation{}, fmt.Errorf("revocation: %w", err)
			} else if st != http.StatusOK {
				return Propagation{}, fmt.Errorf("revocation: the new token answered %d on the other process", st)
			}
		}
		if err := svc.Revoke(ctx, t.ID); err != nil {
			return Propagation{}, err
		}
		took, ok, err := until(ctx, func(ctx context.Context) (bool, error) {
			st, err := status(ctx, hc, b+venueURL, secret)
			return st == http.StatusUnauthorized, err
		})
		if err != nil {
			return Propagation{}, err
		}
		if !ok {
			missed++
			continue
		}
		times = append(times, took)
	}
	return propagation(times, missed), nil
}

// freshness makes slots of one table, searches for each on process b (warming any cache
// of b), holds it through process a, and times how long b's search still offers it.
func freshness(ctx context.Context, hc *http.Client, db *store.DB, a, b string, tokens []token, slots []string, tries int) (Propagation, error) {
	var times []time.Duration
	missed := 0
	for i := range min(tries, len(slots)) {
		slot := slots[i]
		var venueID, date string
		if err := db.SQL().QueryRowContext(ctx, "UPDATE slots SET tables = 1 WHERE id = $1 RETURNING venue_id, local_date", slot).Scan(&venueID, &date); err != nil {
			return Propagation{}, err
		}
		q := url.Values{"venue_id": {venueID}, "date": {date}, "party_size": {"2"}, "limit": {"100"}}
		search := b + "/v1/availability?" + q.Encode()
		offered := func(ctx context.Context) (bool, error) {
			var page struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, search, nil)
			if err != nil {
				return false, err
			}
			req.Header.Set("Authorization", "Bearer "+tokens[0].secret)
			if _, err := doJSON(hc, req, http.StatusOK, &page); err != nil {
				return false, err
			}
			for _, s := range page.Data {
				if s.ID == slot {
					return true, nil
				}
			}
			return false, nil
		}
		if ok, err := offered(ctx); err != nil {
			return Propagation{}, fmt.Errorf("freshness: search before the hold: %w", err)
		} else if !ok {
			return Propagation{}, fmt.Errorf("freshness: slot %s is not offered before the hold", slot)
		}
		var held struct {
			ID string `json:"id"`
		}
		if _, err := post(ctx, hc, a+"/v1/reservations", tokens[0].secret, holdBody(slot, 2_000_000+i), http.StatusCreated, &held); err != nil {
			return Propagation{}, err
		}
		took, ok, err := until(ctx, func(ctx context.Context) (bool, error) {
			on, err := offered(ctx)
			return !on, err
		})
		if err != nil {
			return Propagation{}, err
		}
		// Cancelled, so that the tries stay under the partner's active-hold cap.
		if _, err := post(ctx, hc, a+"/v1/reservations/"+held.ID+"/cancel", tokens[0].secret, nil, http.StatusOK, nil); err != nil {
			return Propagation{}, err
		}
		if !ok {
			missed++
			continue
		}
		times = append(times, took)
	}
	return propagation(times, missed), nil
}

// Limit is what one partner's rate limit let through over several processes.
type Limit struct {
	Processes int     `json:"processes"`
	PerSecond float64 `json:"limit_per_second"`
	Shared    string  `json:"shared_through"` // "redis" or "" (each process its own)
	Accepted  int     `json:"accepted"`
	Refused   int     `json:"refused_429"`
	Other     int     `json:"other"`
	Seconds   float64 `json:"seconds"`
	// Ratio is the accepted rate, less the bucket's burst, over the limit: 1.0 when the
	// processes share one limit, the number of processes when each has its own.
	Ratio float64 `json:"ratio"`
}

// limitAcross sets a partner's limit to perSecond (burst 1) and sends requests round
// robin over the servers from 4 workers for d; it counts what was let through. shared
// says whether the servers share one bucket (then its burst is let through once, else
// once per server).
func limitAcross(ctx context.Context, hc *http.Client, db *store.DB, servers []string, tk token, venueURL string, perSecond float64, d time.Duration, shared bool) (Limit, error) {
	l := Limit{Processes: len(servers), PerSecond: perSecond}
	if _, err := db.SQL().ExecContext(ctx, "UPDATE partners SET rate_limit_per_second = $1, rate_limit_burst = 1 WHERE id = $2", perSecond, tk.partnerID); err != nil {
		return l, err
	}
	defer func() {
		_, _ = db.SQL().ExecContext(context.WithoutCancel(ctx), "UPDATE partners SET rate_limit_per_second = 1000000, rate_limit_burst = 1000000 WHERE id = $1", tk.partnerID)
	}()
	var accepted, refused, other, next atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := next.Add(1)
				st, err := status(ctx, hc, servers[int(i)%len(servers)]+venueURL, tk.secret)
				switch {
				case err == nil && st == http.StatusOK:
					accepted.Add(1)
				case st == http.StatusTooManyRequests:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	l.Seconds = time.Since(start).Seconds()
	l.Accepted, l.Refused, l.Other = int(accepted.Load()), int(refused.Load()), int(other.Load())
	if l.Accepted == 0 {
		return l, errors.New("limit: nothing was let through")
	}
	burst := float64(len(servers))
	if shared {
		burst = 1
	}
	l.Ratio = (float64(l.Accepted) - burst) / l.Seconds / perSecond
	return l, nil
}

// venuePath is the GET the spread measures use: one venue, a light authenticated read.
func venuePath(id string) string { return "/v1/venues/" + strings.TrimSpace(id) }
