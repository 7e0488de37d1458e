package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	mail "github.com/wneessen/go-mail"
	"golang.org/x/text/message"

	"github.com/prima-dining/partner-api/internal/locale"
	"github.com/prima-dining/partner-api/store"
)

// KindEmail mails each notification to the venue's reservations address
// (store.Venue.PlatformEmail), with an iCalendar attachment, through the SMTP server of
// PRIMA_SMTP_URL.
const KindEmail = "email"

// SMTPConfig is where the email connector sends from: PRIMA_SMTP_URL, parsed by
// ParseSMTPURL.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS: "starttls" (required), "opportunistic" (STARTTLS when offered; the default
	// of smtp://), "none", or "tls" (implicit TLS: smtps://).
	TLS  string
	From string
}

// ParseSMTPURL reads smtp://[user:password@]host[:port][?tls=…&from=…] or
// smtps://… (implicit TLS, port 465 by default). tls is starttls, opportunistic
// (default) or none; from is the sender address (default prima@<host>).
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return SMTPConfig{}, errors.New("PRIMA_SMTP_URL must look like smtp://user:password@host:587?tls=starttls&from=reservations@example.com")
	}
	c := SMTPConfig{Host: u.Hostname(), Port: 25, TLS: "opportunistic"}
	if u.Scheme == "smtps" {
		c.Port, c.TLS = 465, "tls"
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port <= 0 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("PRIMA_SMTP_URL: bad port %q", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	if t := q.Get("tls"); t != "" {
		if u.Scheme == "smtps" || !slices.Contains([]string{"starttls", "opportunistic", "none"}, t) {
			return SMTPConfig{}, fmt.Errorf("PRIMA_SMTP_URL: tls=%q: use starttls, opportunistic or none with smtp://, or smtps:// for implicit TLS", t)
		}
		c.TLS = t
	}
	c.From = q.Get("from")
	if c.From == "" {
		c.From = "prima@" + c.Host
	}
	return c, nil
}

// client makes a go-mail client for one delivery.
func (c SMTPConfig) client(timeout time.Duration) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(c.Port), mail.WithTimeout(timeout)}
	switch c.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	return mail.NewClient(c.Host, opts...)
}

// emailEvent is the part of a rendered payload (the Event around the reservation, as
// partners see it) that the email shows.
type emailEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object emailReservation `json:"object"`
	} `json:"data"`
}

type emailReservation struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	StartsAt         time.Time `json:"starts_at"`
	DurationMinutes  int       `json:"duration_minutes"`
	SeatingArea      string    `json:"seating_area"`
	PartySize        int       `json:"party_size"`
	ConfirmationCode *string   `json:"confirmation_code"`
	Notes            *string   `json:"notes"`
	Venue            struct {
		Name string `json:"name"`
	} `json:"venue"`
	Guest struct {
		FirstName        string  `json:"first_name"`
		LastName         string  `json:"last_name"`
		Email            string  `json:"email"`
		Phone            string  `json:"phone"`
		Language         *string `json:"language"`
		LoyaltyNumber    *string `json:"loyalty_number"`
		RoomNumber       *string `json:"room_number"`
		MarketingConsent bool    `json:"marketing_consent"`
	} `json:"guest"`
	Answers map[string]json.RawMessage `json:"answers"`
}

// deliverEmail mails the message to the venue's reservations address. Its iCalendar
// event has the reservation's UID; its SEQUENCE is the number of the reservation's venue
// messages before this one (they are delivered in order), so each email updates the
// event the previous one made; a cancellation is METHOD:CANCEL.
func (w *Worker) deliverEmail(ctx context.Context, m store.OutboxMessage, v store.Venue) outcome {
	if w.cfg.SMTP == nil {
		return outcome{err: errors.New("PRIMA_SMTP_URL is not set"), public: "The venue's email could not be sent: no mail server is configured."}
	}
	if v.PlatformEmail == "" {
		return outcome{err: errors.New("venue reservations address not configured"), public: "The venue's platform is not configured."}
	}
	var ev emailEvent
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return outcome{err: fmt.Errorf("email payload: %w", err), permanent: true, public: "The notification could not be prepared."}
	}
	if ev.Data.Object.ID == "" {
		return outcome{err: errors.New("email payload: no reservation"), permanent: true, public: "The notification could not be prepared."}
	}
	seq, err := w.sequence(ctx, m)
	if err != nil {
		return outcome{err: err, public: "The venue's email could not be prepared."}
	}
	msg, err := w.emailMessage(m, ev, v, seq)
	if err != nil {
		return outcome{err: err, permanent: true, public: "The notification could not be prepared."}
	}
	client, err := w.cfg.SMTP.client(w.cfg.Timeout)
	if err != nil {
		return outcome{err: err, public: "The venue's mail server is not configured correctly."}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return outcome{err: err, public: mailReason(err)}
	}
	return outcome{reference: "email_" + m.ID}
}

// sequence is the iCalendar SEQUENCE of m: how many venue messages of its reservation
// came before it.
func (w *Worker) sequence(ctx context.Context, m store.OutboxMessage) (int, error) {
	msgs, err := w.db.ListOutboxForReservation(ctx, m.ReservationID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range msgs {
		if o.ID == m.ID {
			return n, nil
		}
		if o.Kind == store.OutboxVenue {
			n++
		}
	}
	return n, nil
}

func mailReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "The venue's mail server did not answer in time."
	default:
		return "The venue's mail server could not be reached or refused the email."
	}
}

// EmailUID is the iCalendar UID of a reservation's event: the same in every email about it.
func EmailUID(reservationID string) string { return reservationID + "@prima" }

func (w *Worker) emailMessage(m store.OutboxMessage, ev emailEvent, v store.Venue, seq int) (*mail.Msg, error) {
	r := ev.Data.Object
	pr := locale.Printer(locale.Pick(deref(r.Guest.Language), ""))
	guestName := strings.TrimSpace(r.Guest.FirstName + " " + r.Guest.LastName)
	when := r.StartsAt.Format("2006-01-02 15:04 (-07:00)")
	var subject string
	method, status := ics.MethodRequest, ics.ObjectStatusConfirmed
	switch m.Type {
	case EventReservationCancelled:
		subject = pr.Sprintf("Reservation cancelled: %s, party of %d, %s", guestName, r.PartySize, when)
		method, status = ics.MethodCancel, ics.ObjectStatusCancelled
	case EventReservationUpdated:
		subject = pr.Sprintf("Reservation changed: %s, party of %d, %s", guestName, r.PartySize, when)
	default:
		subject = pr.Sprintf("New reservation: %s, party of %d, %s", guestName, r.PartySize, when)
	}
	body := emailBody(pr, r, v, when)

	cal := ics.NewCalendarFor("PRIMA")
	cal.SetMethod(method)
	e := cal.AddEvent(EmailUID(r.ID))
	e.SetSequence(seq)
	e.SetDtStampTime(m.CreatedAt.UTC())
	e.SetStartAt(r.StartsAt.UTC())
	e.SetEndAt(r.StartsAt.Add(time.Duration(r.DurationMinutes) * time.Minute).UTC())
	e.SetSummary(pr.Sprintf("%s, party of %d", guestName, r.PartySize))
	e.SetDescription(body)
	e.SetLocation(v.Name)
	e.SetStatus(status)
	e.SetOrganizer("mailto:" + w.cfg.SMTP.From)
	e.AddAttendee("mailto:"+v.PlatformEmail, ics.WithRSVP(false))
	invite := cal.Serialize()

	msg := mail.NewMsg()
	if err := msg.From(w.cfg.SMTP.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", w.cfg.SMTP.From, err)
	}
	if err := msg.To(v.PlatformEmail); err != nil {
		return nil, fmt.Errorf("venue address: %w", err)
	}
	// The message id is the outbox message's, so that a resend after a crash between
	// sending and recording is recognisably the same email.
	msg.SetMessageIDWithValue(m.ID + "@prima")
	msg.SetDate()
	msg.Subject(subject)
	msg.SetBodyString(mail.TypeTextPlain, body)
	calType := mail.ContentType("text/calendar; method=" + string(method))
	msg.AddAlternativeString(calType, invite)
	if err := msg.AttachReader("reservation.ics", bytes.NewReader([]byte(invite)),
		mail.WithFileContentType(mail.ContentType("text/calendar"))); err != nil {
		return nil, err
	}
	return msg, nil
}

// emailBody is the email's text: the booking's details and the guest's answers, with
// PRIMA's fixed text in pr's language.
func emailBody(pr *message.Printer, r emailReservation, v store.Venue, when string) string {
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", pr.Sprintf(label), value)
		}
	}
	line("Venue", v.Name)
	line("Reservation", r.ID)
	line("Status", r.Status)
	line("Date and time", when)
	line("Duration (minutes)", strconv.Itoa(r.DurationMinutes))
	line("Party size", strconv.Itoa(r.PartySize))
	line("Seating area", r.SeatingArea)
	line("Confirmation code", deref(r.ConfirmationCode))
	line("Guest", strings.TrimSpace(r.Guest.FirstName+" "+r.Guest.LastName))
	line("Phone", r.Guest.Phone)
	line("Email", r.Guest.Email)
	line("Language", deref(r.Guest.Language))
	line("Loyalty number", deref(r.Guest.LoyaltyNumber))
	line("Room number", deref(r.Guest.RoomNumber))
	consent := pr.Sprintf("No")
	if r.Guest.MarketingConsent {
		consent = pr.Sprintf("Yes")
	}
	line("Marketing consent", consent)
	line("Notes", deref(r.Notes))
	if len(r.Answers) > 0 {
		fmt.Fprintf(&b, "\n%s:\n", pr.Sprintf("Answers"))
		keys := make([]string, 0, len(r.Answers))
		for k := range r.Answers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		// Each answer under the question the venue asked (its label), when it still asks it.
		var questions []struct{ ID, Label string }
		_ = json.Unmarshal([]byte(v.Questions), &questions)
		for _, k := range keys {
			label := k
			if i := slices.IndexFunc(questions, func(q struct{ ID, Label string }) bool { return q.ID == k }); i >= 0 && questions[i].Label != "" {
				label = questions[i].Label
			}
			fmt.Fprintf(&b, "- %s: %s\n", label, answerText(pr, r.Answers[k]))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", pr.Sprintf("This booking was made through PRIMA. The attached calendar event adds it to your calendar, or updates or cancels it there."))
	return b.String()
}

// answerText writes an answer as the venue reads it: text as is, yes or no, a number,
// a list joined with commas, an object as its values.
func answerText(pr *message.Printer, raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return valueText(pr, v)
}

func valueText(pr *message.Printer, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return pr.Sprintf("Yes")
		}
		return pr.Sprintf("No")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, valueText(pr, e))
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(x))
		for _, k := range keys {
			if s := valueText(pr, x[k]); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
