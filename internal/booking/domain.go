package booking

import (
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Partner is the caller of a booking operation: a partner account, as authenticated by
// one of its tokens.
type Partner struct {
	ID      string
	TokenID string
	// AllVenues is true when the partner may sell every venue; otherwise only the venues
	// granted to it (partner_venues).
	AllVenues bool
}

// SlotType tells free slots from paid ones.
type SlotType string

// Slot types.
const (
	SlotStandard SlotType = "standard"
	SlotPrime    SlotType = "prime"
)

// PricePer says what a prime price is multiplied by.
type PricePer string

// Price units.
const (
	PerCover   PricePer = "cover"
	PerBooking PricePer = "booking"
)

// FeeType is the kind of late-cancellation fee.
type FeeType string

// Fee types.
const (
	FeeNone    FeeType = "none"
	FeePercent FeeType = "percent"
	FeeFixed   FeeType = "fixed"
)

// Address is a venue's postal address.
type Address struct {
	Line1      string
	City       string
	PostalCode string
	Country    string
}

// CancellationPolicy says until when cancelling is free and what it costs after that.
type CancellationPolicy struct {
	FreeUntilHoursBefore int
	FeeType              FeeType
	FeePercent           int   // with FeePercent: 0..100 of the prepaid amount
	FeeAmount            int64 // with FeeFixed: minor units of the venue's currency
}

// Venue is a restaurant.
type Venue struct {
	ID           string
	Name         string
	Description  string
	Address      Address
	City         string
	Cuisine      string
	TimeZone     string
	Currency     string
	SeatingAreas []string
	Policy       CancellationPolicy
	Modification ModificationPolicy
	// Charges are the service charge and tax on its prime prices.
	Charges Charges
	// Deposit is the deposit its standard slots ask (Per "": none), or with
	// CardGuarantee the fee its card guarantee charges.
	Deposit       Deposit
	CardGuarantee bool
	// Questions are the booking questions the venue asks.
	Questions []Question
	CreatedAt time.Time
}

// ModificationPolicy says until when a booking can be changed.
type ModificationPolicy struct {
	AllowedUntilHoursBefore int
}

// Cutoff is the last moment a booking starting at startsAt can be changed.
func (m ModificationPolicy) Cutoff(startsAt time.Time) time.Time {
	return startsAt.Add(-time.Duration(m.AllowedUntilHoursBefore) * time.Hour)
}

// VenueSummary is the part of a venue shown on slots and reservations.
type VenueSummary struct {
	ID       string
	Name     string
	City     string
	Cuisine  string
	TimeZone string
	Currency string
}

// Price is what a prime slot costs.
type Price struct {
	Amount   int64
	Currency string
	Per      PricePer
	// Charges are the venue's service charge and tax on the price (breakdown.go).
	Charges Charges
}

// Total is the amount charged for a party of partySize: the price per cover or per
// booking, with the venue's service charge and exclusive tax.
func (p Price) Total(partySize int) int64 {
	return p.Breakdown(partySize).Total
}

// Slot is a bookable time at a venue with a number of tables.
type Slot struct {
	ID              string
	Venue           VenueSummary
	StartsAt        time.Time // UTC
	LocalDate       string    // YYYY-MM-DD in the venue's time zone
	LocalTime       string    // HH:MM in the venue's time zone
	DurationMinutes int
	PartySizeMin    int
	PartySizeMax    int
	SeatingArea     string
	Type            SlotType
	Price           *Price // nil for standard slots
	// PaymentPolicy is what a hold of the slot asks of the guest's card.
	PaymentPolicy PaymentPolicy
	Tables        int
	TablesTaken   int // held (unexpired or not yet swept) plus confirmed
	// TablesReserved are allocated to partners and unsold, less the caller's own
	// allocation: tables the caller cannot hold.
	TablesReserved int
	Policy         CancellationPolicy
	// Questions are the venue's booking questions a hold of this slot answers.
	Questions []Question
}

// TablesLeft is how many tables can still be held (by the caller, when TablesReserved
// was counted for it).
func (s Slot) TablesLeft() int {
	if s.TablesTaken+s.TablesReserved >= s.Tables {
		return 0
	}
	return s.Tables - s.TablesTaken - s.TablesReserved
}

// Guest is the person a table is booked for. Everything after Phone is optional.
type Guest struct {
	FirstName string
	LastName  string
	Email     string
	Phone     string
	// Language is a BCP 47 tag in canonical form ("" when not given).
	Language         string
	LoyaltyNumber    string
	RoomNumber       string
	MarketingConsent bool
	// Reference is the partner's own reference of the guest.
	Reference string
}

// Payment is the payment of a prime reservation, as last seen at the gateway.
type Payment struct {
	Provider       string
	IntentID       string
	ClientSecret   string
	Amount         int64
	Currency       string
	Status         payments.IntentStatus
	AmountCaptured int64
	AmountRefunded int64
	// RefundPending is owed back to the guest and not yet confirmed by the provider.
	RefundPending int64
	DeclineCode   string
}

// Payment purposes.
const (
	PurposeHold   = "hold"   // the hold's payment
	PurposeChange = "change" // the difference a change of a confirmed booking costs
)

// PaymentRecord is one payment of a reservation.
type PaymentRecord struct {
	Purpose string
	Payment
}

// ChangeRequest is what a partner asks to change; nil fields stay as they are.
type ChangeRequest struct {
	SlotID           *string      `json:"slot_id,omitempty"`
	PartySize        *int         `json:"party_size,omitempty"`
	Guest            *GuestChange `json:"guest,omitempty"`
	Notes            *string      `json:"notes,omitempty"`
	PartnerReference *string      `json:"partner_reference,omitempty"`
	// Answers to change, by question id; a nil value removes one. Modify checks them
	// and replaces them with the booking's whole set of answers after the change.
	Answers map[string]any `json:"answers,omitempty"`
}

// GuestChange is the guest's details to change; nil fields stay as they are.
type GuestChange struct {
	FirstName *string `json:"first_name,omitempty"`
	LastName  *string `json:"last_name,omitempty"`
	Email     *string `json:"email,omitempty"`
	Phone     *string `json:"phone,omitempty"`
	// Optional details; "" (false for MarketingConsent) clears them.
	Language         *string `json:"language,omitempty"`
	LoyaltyNumber    *string `json:"loyalty_number,omitempty"`
	RoomNumber       *string `json:"room_number,omitempty"`
	MarketingConsent *bool   `json:"marketing_consent,omitempty"`
	Reference        *string `json:"reference,omitempty"`
}

// PendingChange is a change of a confirmed booking that waits for its payment.
type PendingChange struct {
	Requested ChangeRequest
	Payment   PaymentRecord
	ExpiresAt time.Time
}

// FieldChange is a field's value before and after, as text ("" when it had none).
type FieldChange struct {
	From, To string
}

// HistoryEvent is one entry of a reservation's history. TokenID is "" when PRIMA made
// the change.
type HistoryEvent struct {
	ID            string
	ReservationID string
	Type          string
	TokenID       string
	Changes       map[string]FieldChange
	CreatedAt     time.Time
}

// VenueSync is whether the venue's own platform has the booking.
type VenueSync struct {
	Status    string // SyncNotApplicable, SyncPending, SyncSynced or SyncFailed
	Reference string
	Attempts  int
	LastError string
	SyncedAt  *time.Time
}

// Reservation is a held or booked table. Slot details are copied onto it when it is
// held, so that it reads the same whatever later happens to the slot.
type Reservation struct {
	ID               string
	PartnerID        string
	TokenID          string
	SlotID           string
	Venue            VenueSummary
	StartsAt         time.Time
	LocalDate        string
	DurationMinutes  int
	SeatingArea      string
	Type             SlotType
	PartySize        int
	Guest            Guest
	Answers          Answers // to the venue's booking questions
	Notes            string
	PartnerReference string
	Status           Status
	ExpiresAt        time.Time // while held
	HoldMaxAt        time.Time // while held: the latest ExpiresAt extending can reach
	ConfirmationCode string
	Payment          *Payment // nil for standard reservations
	// Breakdown is the lines of a prime booking's price or of a deposit; nil otherwise.
	Breakdown *Breakdown
	// PaymentPolicy is the payment policy the booking was made with.
	PaymentPolicy PaymentPolicy
	// Guarantee is the card guarantee of a card-guaranteed booking; nil otherwise.
	Guarantee *CardGuarantee
	// Payments is every payment of the reservation, oldest first, Payment included.
	Payments      []PaymentRecord
	PendingChange *PendingChange // a dearer change of a confirmed booking awaiting payment
	VenueSync     VenueSync
	Policy        CancellationPolicy
	Modification  ModificationPolicy
	CancelReason  string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ConfirmedAt   *time.Time
	CancelledAt   *time.Time
}

// Query shapes shared with the store, so that callers above booking never import it.
type (
	// Page is a keyset page request: Limit items after the one whose id is StartingAfter.
	Page = store.Page
	// VenueFilter narrows ListVenues.
	VenueFilter = store.VenueFilter
	// SlotQuery narrows Search.
	SlotQuery = store.SlotQuery
	// ReservationFilter narrows List.
	ReservationFilter = store.ReservationFilter
)
