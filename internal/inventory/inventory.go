// Package inventory is the venue side of PRIMA: venue operators create and change their
// venues, publish slots through weekly schedules and one-off slots, close for dates or a
// service, and change a slot's tables. It knows nothing of HTTP or SQL text; every read
// and write is restricted to the operator's own venues, so another operator's venue is a
// booking.NotFoundError exactly like one that does not exist.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
)

// Operator is the caller: a venue operator, as authenticated by one of its tokens.
type Operator struct {
	ID      string
	TokenID string
}

// Config tunes the service.
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives what the caller cannot be told (a schedule that failed to roll).
	Logger *slog.Logger
	// AllowPrivatePlatforms lets venue platform URLs reach loopback and private addresses
	// (PRIMA_WEBHOOK_ALLOW_PRIVATE=1; development and tests), as for partner webhooks.
	AllowPrivatePlatforms bool
}

// Service manages operators' inventory on a store.
type Service struct {
	db           *store.DB
	now          func() time.Time
	log          *slog.Logger
	allowPrivate bool
}

// New returns a Service on db.
func New(db *store.DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{db: db, now: func() time.Time { return cfg.Now().UTC() }, log: cfg.Logger, allowPrivate: cfg.AllowPrivatePlatforms}
}

// DefaultHorizonDays is how far ahead a schedule's slots exist when it does not say.
const DefaultHorizonDays = 60

// Platform is how a venue's own reservation platform hears of bookings.
type Platform struct {
	Kind  string // log | webhook | email
	URL   string // with webhook
	Email string // with email: the venue's reservations address
}

// Venue is a venue as its operator manages it.
type Venue struct {
	booking.Venue
	Platform Platform
	// NewSigningSecret is the webhook connector's secret, set only in the answer of the
	// call that made it (the secret is never shown again).
	NewSigningSecret string
}

// AddressChange is a venue's street address; its city is the venue's City.
type AddressChange struct {
	Line1, PostalCode, Country string
}

// VenueChange is a venue to create, or the fields of one to change (nil: unchanged).
// Creating needs every field but Description, ModifyUntilHours and Platform.
type VenueChange struct {
	Name, Description                 *string
	Address                           *AddressChange
	City, Cuisine, TimeZone, Currency *string
	SeatingAreas                      []string // nil: unchanged
	Cancellation                      *booking.CancellationPolicy
	ModifyUntilHours                  *int
	Charges                           *booking.Charges
	Deposit                           *booking.Deposit // Per "": none
	CardGuarantee                     bool             // with Deposit: it prices a card guarantee's fee
	Platform                          *Platform
	Questions                         *[]booking.Question // nil: unchanged
}

// defaultModifyUntilHours is migration 00007's default for venues.
const defaultModifyUntilHours = 2

// CreateVenue creates a venue that op manages. The venue and the request's
// Idempotency-Key recovery point commit together: a retry of a request that died after
// it answers the venue (with the webhook connector's secret) instead of creating another.
func (s *Service) CreateVenue(ctx context.Context, op Operator, c VenueChange) (Venue, error) {
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		row, err := s.venue(ctx, op, id)
		if err != nil {
			return Venue{}, err
		}
		v := venueFromRow(row)
		if c.Platform != nil && row.PlatformKind == "webhook" {
			v.NewSigningSecret = row.PlatformSecret
		}
		return v, nil
	}
	row := store.Venue{
		ID: ids.New("ven"), CreatedAt: s.now(), PolicyModifyUntilHours: defaultModifyUntilHours,
		PlatformKind: "log",
	}
	secret, err := applyVenueChange(&row, c, s.allowPrivate)
	if err != nil {
		return Venue{}, err
	}
	if err := s.db.CreateOperatorVenue(ctx, op.ID, &row, key.Applies(row.ID)); err != nil {
		return Venue{}, fmt.Errorf("inventory: create venue: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	v := venueFromRow(row)
	v.NewSigningSecret = secret
	return v, nil
}

// GetVenue returns one of op's venues.
func (s *Service) GetVenue(ctx context.Context, op Operator, id string) (Venue, error) {
	row, err := s.venue(ctx, op, id)
	if err != nil {
		return Venue{}, err
	}
	return venueFromRow(row), nil
}

func (s *Service) venue(ctx context.Context, op Operator, id string) (store.Venue, error) {
	row, err := s.db.GetOperatorVenue(ctx, op.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Venue{}, &booking.NotFoundError{Kind: "venue", ID: id, Param: "venue_id"}
	}
	return row, err
}

// ListVenues lists op's venues by id.
func (s *Service) ListVenues(ctx context.Context, op Operator, page store.Page) ([]Venue, bool, error) {
	rows, more, err := s.db.ListOperatorVenues(ctx, op.ID, page)
	if err != nil {
		return nil, false, booking.PageError(err, page)
	}
	out := make([]Venue, 0, len(rows))
	for _, r := range rows {
		out = append(out, venueFromRow(r))
	}
	return out, more, nil
}

// UpdateVenue changes the fields of one of op's venues that c sets.
func (s *Service) UpdateVenue(ctx context.Context, op Operator, id string, c VenueChange) (Venue, error) {
	row, err := s.venue(ctx, op, id)
	if err != nil {
		return Venue{}, err
	}
	secret, err := applyVenueChange(&row, c, s.allowPrivate)
	if err != nil {
		return Venue{}, err
	}
	if err := s.db.UpdateOperatorVenue(ctx, op.ID, &row); errors.Is(err, store.ErrNotFound) {
		return Venue{}, &booking.NotFoundError{Kind: "venue", ID: id, Param: "venue_id"}
	} else if err != nil {
		return Venue{}, fmt.Errorf("inventory: update venue: %w", err)
	}
	v := venueFromRow(row)
	v.NewSigningSecret = secret
	return v, nil
}

// applyVenueChange writes c onto row after checking it; it returns the webhook
// connector's new signing secret when c switches the venue to it.
// allowPrivate lets the platform URL reach private and loopback addresses.
func applyVenueChange(row *store.Venue, c VenueChange, allowPrivate bool) (string, error) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&row.Name, c.Name)
	set(&row.Description, c.Description)
	set(&row.City, c.City)
	set(&row.Cuisine, c.Cuisine)
	set(&row.Currency, c.Currency)
	row.NameKey, row.CityKey, row.CuisineKey = strings.ToLower(row.Name), strings.ToLower(row.City), strings.ToLower(row.Cuisine)
	// In a fixed order, so that a request with several blank fields always names the same one.
	for _, f := range []struct{ param, value string }{{"name", row.Name}, {"city", row.City}, {"cuisine", row.Cuisine}} {
		if f.value == "" {
			return "", &booking.ParamError{Param: f.param, Message: f.param + " must not be blank."}
		}
	}
	if c.TimeZone != nil {
		tz := strings.TrimSpace(*c.TimeZone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || strings.EqualFold(tz, "local") {
			return "", &booking.ParamError{Param: "time_zone", Message: fmt.Sprintf("%q is not an IANA time zone such as Europe/London.", tz)}
		}
		row.TimeZone = tz
	}
	if c.Address != nil {
		row.AddressLine1, row.PostalCode, row.Country = c.Address.Line1, c.Address.PostalCode, c.Address.Country
	}
	if c.SeatingAreas != nil {
		row.SeatingAreas = strings.Join(slices.Compact(slices.Sorted(slices.Values(c.SeatingAreas))), ",")
	}
	if p := c.Cancellation; p != nil {
		switch p.FeeType {
		case booking.FeePercent:
			p.FeeAmount = 0
		case booking.FeeFixed:
			p.FeePercent = 0
		default:
			p.FeeType, p.FeePercent, p.FeeAmount = booking.FeeNone, 0, 0
		}
		row.PolicyFreeHours, row.PolicyFeeType, row.PolicyFeePercent, row.PolicyFeeAmount =
			p.FreeUntilHoursBefore, string(p.FeeType), p.FeePercent, p.FeeAmount
	}
	if c.ModifyUntilHours != nil {
		row.PolicyModifyUntilHours = *c.ModifyUntilHours
	}
	if ch := c.Charges; ch != nil {
		for _, f := range []struct {
			param string
			bps   int
		}{{"charges.service_charge_bps", ch.ServiceChargeBps}, {"charges.tax_bps", ch.TaxBps}} {
			if f.bps < 0 || f.bps > booking.MaxChargeBps {
				return "", &booking.ParamError{Param: f.param, Message: f.param + " must be between 0 and 10000 basis points."}
			}
		}
		row.ServiceChargeBps, row.TaxBps, row.TaxInclusive = ch.ServiceChargeBps, ch.TaxBps, ch.TaxInclusive
	}
	if d := c.Deposit; d != nil {
		switch {
		case d.Per == "":
			row.DepositAmount, row.DepositPer, row.PaymentPolicy = 0, "", ""
		case d.Per != booking.PerCover && d.Per != booking.PerBooking:
			return "", &booking.ParamError{Param: "payment_policy.per", Message: "payment_policy.per must be cover or booking."}
		case d.Amount <= 0:
			return "", &booking.ParamError{Param: "payment_policy.amount", Message: "A deposit needs an amount above 0, in minor units."}
		default:
			row.DepositAmount, row.DepositPer, row.PaymentPolicy = d.Amount, string(d.Per), string(booking.PolicyDeposit)
			if c.CardGuarantee {
				row.PaymentPolicy = string(booking.PolicyCardGuarantee)
			}
		}
	}
	if c.Questions != nil {
		qs, err := booking.NormalizeQuestions(*c.Questions)
		if err != nil {
			return "", err
		}
		if row.Questions, err = booking.QuestionsJSON(qs); err != nil {
			return "", err
		}
	}
	secret := ""
	if p := c.Platform; p != nil {
		switch p.Kind {
		case "log":
			row.PlatformKind, row.PlatformURL, row.PlatformSecret, row.PlatformEmail = "log", "", "", ""
		case "email":
			addr, err := mail.ParseAddress(p.Email)
			if err != nil || p.Email == "" || addr.Name != "" {
				return "", &booking.ParamError{Param: "platform.email", Message: "platform.email must be the venue's reservations address, such as reservations@venue.example."}
			}
			row.PlatformKind, row.PlatformURL, row.PlatformSecret, row.PlatformEmail = "email", "", "", addr.Address
		case "webhook":
			// The outbox POSTs to it: refused here for every spelling of a private,
			// loopback, link-local or metadata host, as partner webhook URLs are (and
			// checked again at every dial).
			if err := webhooks.ValidateURL(p.URL, allowPrivate); err != nil {
				return "", &booking.ParamError{Param: "platform.url", Message: err.Error()}
			}
			if row.PlatformKind != "webhook" || row.PlatformSecret == "" {
				var err error
				if secret, err = webhooks.NewSecret(); err != nil {
					return "", fmt.Errorf("inventory: signing secret: %w", err)
				}
				row.PlatformSecret = secret
			}
			row.PlatformKind, row.PlatformURL, row.PlatformEmail = "webhook", p.URL, ""
		default:
			return "", &booking.ParamError{Param: "platform.kind", Message: "platform.kind must be log, webhook or email."}
		}
	}
	return secret, nil
}

func venueFromRow(r store.Venue) Venue {
	if r.PlatformKind == "" {
		r.PlatformKind = "log" // as the outbox worker reads it
	}
	return Venue{Venue: booking.VenueFromRow(r), Platform: Platform{Kind: r.PlatformKind, URL: r.PlatformURL, Email: r.PlatformEmail}}
}
