package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// Venue platform kinds (store.Venue.PlatformKind).
const (
	// KindLog keeps the notification in venue_notifications (prima venue inbox): demo
	// venues. A venue with no kind is treated as one.
	KindLog = "log"
	// KindWebhook POSTs it to the venue's PlatformURL, signed with its PlatformSecret.
	KindWebhook = "webhook"
	// KindEmail (email.go) mails it to the venue's PlatformEmail.
)

// Errors of DeliverNow.
var (
	// ErrNotClaimable: the message is not pending, waits for an older message of its
	// reservation, or another worker holds it.
	ErrNotClaimable = errors.New("webhooks: message not claimable now")
	// ErrLeaseLost: another worker took the message over (this one's lease ran out);
	// nothing was recorded.
	ErrLeaseLost = errors.New("webhooks: lease on the message lost")
)

// WorkerConfig tunes a Worker. Zero fields take their defaults.
type WorkerConfig struct {
	// ID names this worker in claims (default hostname-pid-random).
	ID string
	// Render builds a message's JSON payload (the event, for a reservation). It is called
	// once, on the first attempt; the payload is stored on the message and every retry
	// sends the same bytes. Nil renders a minimal {id, type, created_at, data} object.
	Render func(ctx context.Context, m store.OutboxMessage) ([]byte, error)
	// HTTPClient replaces the sender's client (see SenderConfig.HTTPClient).
	HTTPClient *http.Client
	// Timeout bounds one HTTP delivery (default 10 s).
	Timeout time.Duration
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (PRIMA_WEBHOOK_ALLOW_PRIVATE=1).
	AllowPrivate bool
	// MaxAge is how long a message is retried, from its creation (or an operator's
	// retry), before it is marked failed (PRIMA_OUTBOX_MAX_AGE, default 24 h).
	MaxAge time.Duration
	// BaseBackoff and MaxBackoff shape the retry delay: a random duration in
	// [0, min(MaxBackoff, BaseBackoff·2^attempts)) (defaults 2 s and 10 min).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Batch is how many messages one RunOnce claims (default 20).
	Batch int
	// Concurrency bounds the deliveries in flight within a RunOnce (default 4).
	Concurrency int
	// Lease is how long a claim lasts before another worker may take the message over
	// (default 1 min; at least twice Timeout).
	Lease time.Duration
	// SMTP is the mail server of the email connector (PRIMA_SMTP_URL); nil: emails wait
	// in the outbox, retried, until one is configured.
	SMTP *SMTPConfig
	// Logger receives delivery failures (never payloads).
	Logger *slog.Logger
	// SandboxScenarios makes the log connector play the sandbox's venue-platform outage:
	// the first delivery of a message about a reservation whose partner_reference is
	// SandboxVenuePlatformDown fails, as a platform that is down would; the retry
	// delivers. Set only with the sandbox payment gateway.
	SandboxScenarios bool
	// Now is the clock for scheduling (claims, backoff, maximum age); nil means
	// time.Now. The webhook-timestamp header always carries the wall clock, which
	// receivers compare with theirs.
	Now func() time.Time
}

// Worker delivers outbox messages: venue messages through the venue's connector,
// partner messages to their webhook endpoint. Any number of workers, in any number of
// processes on one database, deliver each message once (at least once if a worker dies
// after sending and before recording: the webhook-id lets receivers deduplicate).
type Worker struct {
	db     *store.DB
	cfg    WorkerConfig
	sender *Sender
	log    *slog.Logger
}

// NewWorker returns a Worker.
func NewWorker(db *store.DB, cfg WorkerConfig) *Worker {
	if cfg.ID == "" {
		cfg.ID = defaultWorkerID()
	}
	if cfg.Render == nil {
		cfg.Render = minimalPayload
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.BaseBackoff)
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	cfg.Lease = max(cfg.Lease, 2*cfg.Timeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker{
		db:     db,
		cfg:    cfg,
		sender: NewSender(SenderConfig{Timeout: cfg.Timeout, AllowPrivate: cfg.AllowPrivate, HTTPClient: cfg.HTTPClient}),
		log:    cfg.Logger.With("worker", cfg.ID),
	}
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "prima"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// minimalPayload is the payload when no Render is configured.
func minimalPayload(_ context.Context, m store.OutboxMessage) ([]byte, error) {
	return json.Marshal(map[string]any{
		"id":         m.ID,
		"type":       m.Type,
		"created_at": m.CreatedAt.UTC().Format(time.RFC3339),
		"data":       map[string]string{"reservation_id": m.ReservationID, "venue_id": m.VenueID},
	})
}

// ID is the worker's name in claims.
func (w *Worker) ID() string { return w.cfg.ID }

func (w *Worker) now() time.Time { return w.cfg.Now().UTC() }

// RunOnce claims one batch of due messages and delivers them, a few at a time, recording
// each outcome. It returns how many were delivered; the error is the first database
// failure (a delivery failure is an outcome, not an error).
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	delivered, _, err := w.runOnce(ctx)
	return delivered, err
}

func (w *Worker) runOnce(ctx context.Context) (delivered, claimed int, err error) {
	now := w.now()
	msgs, err := w.db.ClaimOutbox(ctx, w.cfg.ID, now, now.Add(w.cfg.Lease), w.cfg.Batch)
	if err != nil {
		return 0, 0, err
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, w.cfg.Concurrency)
	)
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := w.process(ctx, ctx, m)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				delivered++
			}
			if err != nil && !errors.Is(err, ErrLeaseLost) && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return delivered, len(msgs), firstErr
}

// Run delivers due messages until ctx ends: a batch every interval, or at once again
// after a full batch. It is safe to run in every server process.
func (w *Worker) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		_, claimed, err := w.runOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.ErrorContext(ctx, "outbox delivery", "error", err)
		}
		if claimed >= w.cfg.Batch && err == nil {
			timer.Reset(0)
		} else {
			timer.Reset(every)
		}
	}
}

// DeliverNow claims one message, if it is pending and free, and delivers it within
// deadline (the inline venue sync of finalize and cancel passes at most 2 s). It returns
// nil once the message is delivered and recorded (the reservation shows synced);
// otherwise the failure is recorded as any attempt's (the message stays pending with its
// next attempt scheduled, for the worker) and returned. ErrNotClaimable: it was not
// pending, waits for an older message of its reservation, or another worker holds it.
func (w *Worker) DeliverNow(ctx context.Context, messageID string, deadline time.Duration) error {
	if deadline <= 0 || deadline > w.cfg.Timeout {
		deadline = w.cfg.Timeout
	}
	now := w.now()
	m, ok, err := w.db.ClaimOutboxMessage(ctx, messageID, w.cfg.ID, now, now.Add(w.cfg.Lease))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotClaimable, messageID)
	}
	attemptCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var failure error
	delivered, err := w.processReporting(ctx, attemptCtx, m, &failure)
	switch {
	case err != nil:
		return err
	case delivered:
		return nil
	case failure != nil:
		return failure
	default:
		return fmt.Errorf("webhooks: message %s not delivered", messageID)
	}
}

// outcome is what one attempt came to.
type outcome struct {
	err       error // nil: delivered
	permanent bool  // no retry: fail now
	public    string
	reference string
	// inTx runs in the outcome's transaction (the log connector's notification).
	inTx func(tx *store.Tx) error
	// disable names an endpoint to disable with the outcome (a 410), and why.
	disable, disableReason string
	// attempt is the HTTP attempt at a partner's endpoint, kept with the outcome
	// (GET /v1/events/{id}/attempts); nil when no request was made.
	attempt *store.WebhookAttempt
}

// process makes one attempt at a message this worker holds and records its outcome.
// ctx bounds the bookkeeping; attemptCtx bounds rendering and sending.
func (w *Worker) process(ctx, attemptCtx context.Context, m store.OutboxMessage) (bool, error) {
	return w.processReporting(ctx, attemptCtx, m, nil)
}

func (w *Worker) processReporting(ctx, attemptCtx context.Context, m store.OutboxMessage, failure *error) (bool, error) {
	log := w.log.With("message_id", m.ID, "kind", m.Kind, "type", m.Type, "reservation_id", m.ReservationID)
	o := w.attempt(attemptCtx, &m)
	if o.err != nil && ctx.Err() != nil {
		// Shutting down: the attempt did not really happen; give the message back.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return false, w.db.ReleaseOutbox(rctx, m.ID, w.cfg.ID)
	}
	// Record even if attemptCtx ran out (DeliverNow's deadline): the lease must not be
	// left to expire.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	status, err := w.record(rctx, m, o)
	if errors.Is(err, ErrLeaseLost) {
		log.WarnContext(ctx, "another worker took the message over; outcome not recorded", "error", o.err)
		return false, err
	}
	if err != nil {
		log.ErrorContext(ctx, "record delivery outcome", "error", err)
		return false, err
	}
	attempts := m.Attempts + 1
	switch status {
	case store.OutboxDelivered:
		log.DebugContext(ctx, "delivered", "attempts", attempts, "reference", o.reference)
		return true, nil
	case store.OutboxFailed:
		log.ErrorContext(ctx, "delivery failed for good", "attempts", attempts, "error", o.err)
	default:
		log.WarnContext(ctx, "delivery failed, will retry", "attempts", attempts, "error", o.err)
	}
	if failure != nil {
		*failure = o.err
	}
	return false, nil
}

// attempt renders the payload if needed and delivers it.
func (w *Worker) attempt(ctx context.Context, m *store.OutboxMessage) outcome {
	if len(m.Payload) == 0 {
		payload, err := w.render(ctx, *m)
		if err != nil {
			return outcome{err: fmt.Errorf("render payload: %w", err), public: "The notification could not be prepared."}
		}
		ok, err := w.db.SetOutboxPayload(ctx, m.ID, w.cfg.ID, payload)
		if err != nil {
			return outcome{err: fmt.Errorf("store payload: %w", err), public: "The notification could not be prepared."}
		}
		if !ok {
			return outcome{err: ErrLeaseLost}
		}
		m.Payload = payload
	}
	switch m.Kind {
	case store.OutboxVenue:
		return w.deliverVenue(ctx, *m)
	case store.OutboxPartner:
		return w.deliverPartner(ctx, *m)
	default:
		return outcome{err: fmt.Errorf("unknown message kind %q", m.Kind), permanent: true}
	}
}

// SandboxVenuePlatformDown is the sandbox's magic partner_reference for a venue platform
// that is down when the booking is finalized (WorkerConfig.SandboxScenarios).
const SandboxVenuePlatformDown = "sandbox_venue_platform_down"

// playsPlatformDown reports whether an event payload is about a reservation whose
// partner_reference is SandboxVenuePlatformDown.
func playsPlatformDown(payload []byte) bool {
	var ev struct {
		Data struct {
			Object struct {
				PartnerReference string `json:"partner_reference"`
			} `json:"object"`
		} `json:"data"`
	}
	return json.Unmarshal(payload, &ev) == nil && ev.Data.Object.PartnerReference == SandboxVenuePlatformDown
}

// render builds a message's payload. A partner message delivers its event: the event's
// payload, rendered once (under the event's id) by whichever of its deliveries or reads
// comes first, so every endpoint and GET /v1/events see the same bytes.
func (w *Worker) render(ctx context.Context, m store.OutboxMessage) ([]byte, error) {
	if m.EventID == "" {
		return w.cfg.Render(ctx, m)
	}
	return EventPayload(ctx, w.db, w.cfg.Render, m.EventID)
}

// EventPayload returns the payload of the event id, rendering it with render (as a
// message whose ID is the event's) and storing it if this is the first time.
func EventPayload(ctx context.Context, db *store.DB, render func(context.Context, store.OutboxMessage) ([]byte, error), id string) ([]byte, error) {
	ev, err := db.GetPartnerEvent(ctx, "", id)
	if err != nil {
		return nil, err
	}
	if len(ev.Payload) > 0 {
		return ev.Payload, nil
	}
	payload, err := render(ctx, store.OutboxMessage{
		ID: ev.ID, Kind: store.OutboxPartner, Type: ev.Type, ReservationID: ev.ReservationID,
		PartnerID: ev.PartnerID, VenueID: ev.VenueID, EventID: ev.ID, CreatedAt: ev.CreatedAt,
	})
	if err != nil {
		return nil, err
	}
	return db.SetPartnerEventPayload(ctx, ev.ID, payload)
}

// deliverVenue is the venue connectors: chosen by the venue's PlatformKind.
func (w *Worker) deliverVenue(ctx context.Context, m store.OutboxMessage) outcome {
	v, err := w.db.GetVenue(ctx, store.Scope{AllVenues: true}, m.VenueID)
	if errors.Is(err, store.ErrNotFound) {
		return outcome{err: fmt.Errorf("venue %q not found", m.VenueID), permanent: true, public: "The venue has no reservation platform."}
	}
	if err != nil {
		return outcome{err: err, public: "The venue's platform could not be reached."}
	}
	switch v.PlatformKind {
	case KindLog, "":
		if w.cfg.SandboxScenarios && m.Attempts == 0 && playsPlatformDown(m.Payload) {
			return outcome{err: errors.New("sandbox: venue platform down"), public: "The venue's platform did not answer (sandbox_venue_platform_down)."}
		}
		now := w.now()
		n := store.VenueNotification{
			ID: m.ID, VenueID: m.VenueID, ReservationID: m.ReservationID, Type: m.Type,
			Payload: m.Payload, CreatedAt: now,
		}
		return outcome{
			reference: "log_" + m.ID,
			inTx:      func(tx *store.Tx) error { return tx.InsertVenueNotification(n) },
		}
	case KindWebhook:
		if v.PlatformURL == "" || v.PlatformSecret == "" {
			return outcome{err: errors.New("venue platform URL or secret not configured"), public: "The venue's platform is not configured."}
		}
		resp, err := w.sender.Send(ctx, Delivery{
			URL: v.PlatformURL, Secret: v.PlatformSecret, MessageID: m.ID, Timestamp: time.Now(), Body: m.Payload,
		})
		if err != nil {
			return outcome{err: err, public: publicReason("The venue's platform", err)}
		}
		return outcome{reference: platformReference(resp.Body)}
	case KindEmail:
		return w.deliverEmail(ctx, m, v)
	default:
		return outcome{err: fmt.Errorf("unknown venue platform kind %q", v.PlatformKind), public: "The venue's platform is not configured."}
	}
}

// deliverPartner POSTs a partner message to its endpoint; a 410 disables the endpoint.
func (w *Worker) deliverPartner(ctx context.Context, m store.OutboxMessage) outcome {
	e, err := w.db.GetWebhookEndpoint(ctx, m.EndpointID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcome{err: fmt.Errorf("webhook endpoint %q was deleted", m.EndpointID), permanent: true}
	case err != nil:
		return outcome{err: err}
	case e.PartnerID != m.PartnerID:
		return outcome{err: fmt.Errorf("webhook endpoint %q is not partner %q's", e.ID, m.PartnerID), permanent: true}
	case e.Status != store.EndpointEnabled:
		return outcome{err: fmt.Errorf("webhook endpoint %q is disabled", e.ID), permanent: true}
	}
	d := Delivery{URL: e.URL, Secret: e.Secret, MessageID: m.ID, Timestamp: time.Now(), Body: m.Payload}
	if m.EventID != "" {
		// The event's id, which its body carries too: the same on every endpoint and
		// every redelivery, so receivers deduplicate by it.
		d.MessageID = m.EventID
	}
	d.AlsoSecrets = activePrevious(e, w.now())
	started := time.Now()
	resp, err := w.sender.Send(ctx, d)
	a := &store.WebhookAttempt{
		MessageID: m.ID, EventID: m.EventID, EndpointID: e.ID, PartnerID: m.PartnerID,
		Outcome: "succeeded", StatusCode: resp.StatusCode, AttemptedAt: w.now(),
		DurationMS: int(time.Since(started).Milliseconds()),
	}
	if err == nil {
		return outcome{attempt: a}
	}
	a.Outcome, a.Error = "failed", publicReason("The endpoint", err)
	var se *StatusError
	if errors.As(err, &se) {
		a.StatusCode = se.StatusCode
	}
	if se != nil && se.StatusCode == http.StatusGone {
		return outcome{
			err: err, permanent: true, attempt: a,
			disable: e.ID, disableReason: "The endpoint answered 410 Gone on " + w.now().Format(time.RFC3339) + ".",
		}
	}
	return outcome{err: err, attempt: a}
}

// platformReference reads a platform's reservation reference from its 2xx reply: a JSON
// object's "reference", "platform_reference" or "id" (a string or a number).
func platformReference(body []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	for _, key := range []string{"reference", "platform_reference", "id"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return truncate(s, 200)
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil && n != "" {
			return n.String()
		}
	}
	return ""
}

// publicReason says why a delivery failed in words fit for the reservation (which
// partners see): never an address or an internal message.
func publicReason(who string, err error) string {
	var se *StatusError
	switch {
	case errors.As(err, &se) && se.StatusCode >= 300 && se.StatusCode < 400:
		return fmt.Sprintf("%s answered with a redirect (HTTP %d), which is not followed.", who, se.StatusCode)
	case errors.As(err, &se):
		return fmt.Sprintf("%s answered HTTP %d.", who, se.StatusCode)
	case errors.Is(err, ErrAddressNotAllowed):
		return who + "'s address is not allowed."
	case errors.Is(err, context.DeadlineExceeded):
		return who + " did not answer in time."
	default:
		return who + " could not be reached."
	}
}

// record writes an attempt's outcome, and what goes with it, in one transaction, and
// returns the message's new status.
func (w *Worker) record(ctx context.Context, m store.OutboxMessage, o outcome) (string, error) {
	if errors.Is(o.err, ErrLeaseLost) {
		return "", ErrLeaseLost
	}
	now := w.now()
	attempts := m.Attempts + 1
	var status string
	err := w.db.Transact(ctx, func(tx *store.Tx) error {
		if o.attempt != nil {
			if err := tx.RecordWebhookAttempt(*o.attempt); err != nil {
				return err
			}
		}
		if o.err == nil {
			status = store.OutboxDelivered
			return w.recordDelivered(tx, m, o, attempts, now)
		}
		detail := truncate(o.err.Error(), 1000)
		public := o.public
		if public == "" {
			public = "The venue's platform could not be reached."
		}
		if o.permanent || w.expired(m, now) {
			status = store.OutboxFailed
			return w.recordFailed(tx, m, o, attempts, detail, public, now)
		}
		status = store.OutboxPending
		ok, err := tx.RescheduleOutbox(m.ID, w.cfg.ID, attempts, detail, w.nextAttempt(m, attempts, now))
		if err != nil {
			return err
		}
		if !ok {
			return ErrLeaseLost
		}
		if m.Kind == store.OutboxVenue {
			return tx.SetVenueSyncAttempt(m.ReservationID, attempts, public, now)
		}
		return nil
	})
	return status, err
}

func (w *Worker) recordDelivered(tx *store.Tx, m store.OutboxMessage, o outcome, attempts int, now time.Time) error {
	ok, err := tx.MarkOutboxDelivered(m.ID, w.cfg.ID, attempts, o.reference, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseLost
	}
	if o.inTx != nil {
		if err := o.inTx(tx); err != nil {
			return err
		}
	}
	if m.Kind == store.OutboxVenue {
		return tx.SetVenueSynced(m.ReservationID, o.reference, attempts, now)
	}
	return nil
}

func (w *Worker) recordFailed(tx *store.Tx, m store.OutboxMessage, o outcome, attempts int, detail, public string, now time.Time) error {
	ok, err := tx.MarkOutboxFailed(m.ID, w.cfg.ID, attempts, detail)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseLost
	}
	if o.disable != "" {
		if _, err := tx.DisableWebhookEndpoint(o.disable, o.disableReason); err != nil {
			return err
		}
	}
	if m.Kind != store.OutboxVenue {
		return nil
	}
	if err := tx.SetVenueSyncFailed(m.ReservationID, attempts, public, now); err != nil {
		return err
	}
	_, err = tx.EmitPartnerEvents(m.PartnerID, m.ReservationID, m.VenueID, []string{EventVenueSyncFailed}, now)
	return err
}

// maxAgeStart is when a message's maximum age starts: its creation, or an operator's
// retry.
func maxAgeStart(m store.OutboxMessage) time.Time {
	if m.RetriedAt != nil {
		return *m.RetriedAt
	}
	return m.CreatedAt
}

func (w *Worker) expired(m store.OutboxMessage, now time.Time) bool {
	return now.Sub(maxAgeStart(m)) >= w.cfg.MaxAge
}

// nextAttempt is now plus a backoff with full jitter: uniform in
// [0, min(MaxBackoff, BaseBackoff·2^attempts)), at least 1 ms; and never after the end
// of the message's maximum age, so its last attempt comes when that age is reached.
func (w *Worker) nextAttempt(m store.OutboxMessage, attempts int, now time.Time) time.Time {
	ceiling := w.cfg.MaxBackoff
	if shift := min(attempts, 30); w.cfg.BaseBackoff <= w.cfg.MaxBackoff>>shift {
		ceiling = w.cfg.BaseBackoff << shift
	}
	delay := max(time.Duration(mrand.Int64N(int64(ceiling))), time.Millisecond) //nolint:gosec // G404: retry jitter, not security
	next := now.Add(delay)
	if end := maxAgeStart(m).Add(w.cfg.MaxAge); next.After(end) {
		next = end
		if next.Before(now) {
			next = now
		}
	}
	return next
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
