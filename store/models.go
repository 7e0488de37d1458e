package store

import "time"

// Rows of the database. They are GORM models and nothing else: the domain types live in
// booking/ and access/, the API types in gen/. Column names are spelled out so the SQL in
// the migrations and in queries reads the same.

// Partner is a partner account.
type Partner struct {
	ID        string `gorm:"column:id;primaryKey"`
	Name      string `gorm:"column:name"`
	AllVenues bool   `gorm:"column:all_venues"`
	// RateLimitPerSecond and RateLimitBurst override the server's default token bucket
	// for this partner's tokens; 0 means the default.
	RateLimitPerSecond float64   `gorm:"column:rate_limit_per_second"`
	RateLimitBurst     int       `gorm:"column:rate_limit_burst"`
	CreatedAt          time.Time `gorm:"column:created_at"`
}

// PartnerVenue grants one venue to a partner whose AllVenues is false.
type PartnerVenue struct {
	PartnerID string `gorm:"column:partner_id;primaryKey"`
	VenueID   string `gorm:"column:venue_id;primaryKey"`
}

// Token is an access token of a partner or of an operator (exactly one of PartnerID and
// OperatorID is set; the other column is NULL); only the SHA-256 of the secret is stored.
type Token struct {
	ID         string     `gorm:"column:id;primaryKey"`
	PartnerID  string     `gorm:"column:partner_id"`  // "" (NULL) for an operator token
	OperatorID *string    `gorm:"column:operator_id"` // nil for a partner token
	Name       string     `gorm:"column:name"`
	Hash       string     `gorm:"column:hash"`   // hex SHA-256 of the full token
	Prefix     string     `gorm:"column:prefix"` // the first characters, to recognise it in lists
	Scopes     string     `gorm:"column:scopes"` // space-separated
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	Partner    Partner    `gorm:"foreignKey:PartnerID"`
	Operator   Operator   `gorm:"foreignKey:OperatorID"`
}

// Operator is a venue operator's account: a restaurant group managing its venues.
type Operator struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// OperatorVenue grants one venue to an operator.
type OperatorVenue struct {
	OperatorID string `gorm:"column:operator_id;primaryKey"`
	VenueID    string `gorm:"column:venue_id;primaryKey"`
}

// Schedule is a weekly pattern of slots at a venue. Days and Times are comma-separated
// (mon,tue,… and HH:MM local times); ValidFrom, ValidUntil and GeneratedThrough are local
// dates (YYYY-MM-DD; ValidUntil "" is open-ended, GeneratedThrough "" is nothing yet).
type Schedule struct {
	ID               string    `gorm:"column:id;primaryKey"`
	VenueID          string    `gorm:"column:venue_id"`
	Days             string    `gorm:"column:days"`
	Times            string    `gorm:"column:times"`
	DurationMinutes  int       `gorm:"column:duration_minutes"`
	PartySizeMin     int       `gorm:"column:party_size_min"`
	PartySizeMax     int       `gorm:"column:party_size_max"`
	SeatingArea      string    `gorm:"column:seating_area"`
	Type             string    `gorm:"column:type"`
	PriceAmount      int64     `gorm:"column:price_amount"`
	PricePer         string    `gorm:"column:price_per"`
	Tables           int       `gorm:"column:tables"`
	ValidFrom        string    `gorm:"column:valid_from"`
	ValidUntil       string    `gorm:"column:valid_until"`
	HorizonDays      int       `gorm:"column:horizon_days"`
	GeneratedThrough string    `gorm:"column:generated_through"`
	CreatedAt        time.Time `gorm:"column:created_at"`
	UpdatedAt        time.Time `gorm:"column:updated_at"`
}

// SlotAllocation keeps Tables of a slot for one partner until ReleaseAt; then
// (Released) its unsold tables return to the shared pool.
type SlotAllocation struct {
	ID          string    `gorm:"column:id;primaryKey"` // alc_…
	SlotID      string    `gorm:"column:slot_id"`
	PartnerID   string    `gorm:"column:partner_id"`
	Tables      int       `gorm:"column:tables"`
	TablesTaken int       `gorm:"column:tables_taken"`
	ReleaseAt   time.Time `gorm:"column:release_at"`
	Released    bool      `gorm:"column:released"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

// Closure withdraws a venue's slots between two local dates, all day or between two
// local times (TimeFrom and TimeTo "" mean all day).
type Closure struct {
	ID        string    `gorm:"column:id;primaryKey"`
	VenueID   string    `gorm:"column:venue_id"`
	DateFrom  string    `gorm:"column:date_from"`
	DateTo    string    `gorm:"column:date_to"`
	TimeFrom  string    `gorm:"column:time_from"`
	TimeTo    string    `gorm:"column:time_to"`
	Reason    string    `gorm:"column:reason"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// Venue is a restaurant.
type Venue struct {
	ID               string `gorm:"column:id;primaryKey"`
	Name             string `gorm:"column:name"`
	NameKey          string `gorm:"column:name_key"` // lower(name), for ordering and search
	Description      string `gorm:"column:description"`
	AddressLine1     string `gorm:"column:address_line1"`
	City             string `gorm:"column:city"`
	CityKey          string `gorm:"column:city_key"` // lower(city)
	PostalCode       string `gorm:"column:postal_code"`
	Country          string `gorm:"column:country"`
	Cuisine          string `gorm:"column:cuisine"`
	CuisineKey       string `gorm:"column:cuisine_key"` // lower(cuisine)
	TimeZone         string `gorm:"column:time_zone"`
	Currency         string `gorm:"column:currency"`
	SeatingAreas     string `gorm:"column:seating_areas"` // comma-separated
	PolicyFreeHours  int    `gorm:"column:policy_free_hours"`
	PolicyFeeType    string `gorm:"column:policy_fee_type"`
	PolicyFeePercent int    `gorm:"column:policy_fee_percent"`
	PolicyFeeAmount  int64  `gorm:"column:policy_fee_amount"`
	// PolicyModifyUntilHours: bookings can be changed until this many hours before
	// their start.
	PolicyModifyUntilHours int `gorm:"column:policy_modify_until_hours"`
	// ServiceChargeBps and TaxBps are the venue's service charge and tax rates in basis
	// points (migration 00019); TaxInclusive says the tax is already in its prices.
	ServiceChargeBps int  `gorm:"column:service_charge_bps"`
	TaxBps           int  `gorm:"column:tax_bps"`
	TaxInclusive     bool `gorm:"column:tax_inclusive"`
	// DepositAmount and DepositPer are the deposit the venue asks on its standard slots
	// (migration 00026), per "cover" or per "booking"; DepositPer "" is none.
	DepositAmount int64  `gorm:"column:deposit_amount"`
	DepositPer    string `gorm:"column:deposit_per"`
	// PaymentPolicy says what DepositAmount/DepositPer price (migration 00027): "" or
	// "deposit" a deposit, "card_guarantee" the fee of a no-show or late cancellation.
	PaymentPolicy string `gorm:"column:payment_policy"`
	// PlatformKind is the venue's reservation-platform connector: "log" (notifications
	// kept in venue_notifications, for demo venues) or "webhook" (signed HTTP POSTs to
	// PlatformURL with PlatformSecret, a whsec_ secret).
	PlatformKind   string `gorm:"column:platform_kind"`
	PlatformURL    string `gorm:"column:platform_url"`
	PlatformSecret string `gorm:"column:platform_secret"`
	// PlatformEmail is the reservations address of the "email" connector.
	PlatformEmail string `gorm:"column:platform_email"`
	// Questions are the venue's booking questions, a JSON array ("" for none).
	Questions string    `gorm:"column:questions"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// Slot is a bookable time at a venue. TablesTaken counts held and confirmed reservations;
// the database refuses TablesTaken > Tables (a CHECK constraint) as a second guard.
type Slot struct {
	ID              string    `gorm:"column:id;primaryKey"`
	VenueID         string    `gorm:"column:venue_id"`
	StartsAt        time.Time `gorm:"column:starts_at"`
	LocalDate       string    `gorm:"column:local_date"` // YYYY-MM-DD, venue time
	LocalTime       string    `gorm:"column:local_time"` // HH:MM, venue time
	DurationMinutes int       `gorm:"column:duration_minutes"`
	PartySizeMin    int       `gorm:"column:party_size_min"`
	PartySizeMax    int       `gorm:"column:party_size_max"`
	SeatingArea     string    `gorm:"column:seating_area"`
	Type            string    `gorm:"column:type"` // standard | prime
	PriceAmount     int64     `gorm:"column:price_amount"`
	PriceCurrency   string    `gorm:"column:price_currency"`
	PricePer        string    `gorm:"column:price_per"` // cover | booking | ''
	Tables          int       `gorm:"column:tables"`
	TablesTaken     int       `gorm:"column:tables_taken"`
	Status          string    `gorm:"column:status"` // open | withdrawn
	// ScheduleID is the schedule that generated the slot; nil for a one-off slot.
	ScheduleID *string `gorm:"column:schedule_id"`
	// TablesReserved is the unsold tables of the slot's unreleased partner allocations:
	// the shared pool has a table when TablesTaken+TablesReserved < Tables.
	TablesReserved int `gorm:"column:tables_reserved"`
	// PaymentPolicy is the slot's own payment policy (migration 00028): "" follows the
	// venue's; "none", "deposit" or "card_guarantee", with PaymentPolicyAmount per
	// PaymentPolicyPer ("cover" or "booking") pricing the deposit or the fee.
	PaymentPolicy       string    `gorm:"column:payment_policy"`
	PaymentPolicyAmount int64     `gorm:"column:payment_policy_amount"`
	PaymentPolicyPer    string    `gorm:"column:payment_policy_per"`
	CreatedAt           time.Time `gorm:"column:created_at"`
	UpdatedAt           time.Time `gorm:"column:updated_at"`
	Venue               Venue     `gorm:"foreignKey:VenueID"`
}

// Reservation is a held or booked table, with the slot's details and the venue's
// cancellation policy copied onto it when it was held.
type Reservation struct {
	ID             string `gorm:"column:id;primaryKey"`
	PartnerID      string `gorm:"column:partner_id"`
	TokenID        string `gorm:"column:token_id"`
	SlotID         string `gorm:"column:slot_id"`
	VenueID        string `gorm:"column:venue_id"`
	Status         string `gorm:"column:status"`
	PartySize      int    `gorm:"column:party_size"`
	GuestFirstName string `gorm:"column:guest_first_name"`
	GuestLastName  string `gorm:"column:guest_last_name"`
	GuestEmail     string `gorm:"column:guest_email"`
	GuestPhone     string `gorm:"column:guest_phone"`
	// The optional guest details a partner may give: preferred language (BCP 47),
	// loyalty or member number, hotel room number, marketing consent for the venue, and
	// the partner's own reference of the guest.
	GuestLanguage         string `gorm:"column:guest_language"`
	GuestLoyaltyNumber    string `gorm:"column:guest_loyalty_number"`
	GuestRoomNumber       string `gorm:"column:guest_room_number"`
	GuestMarketingConsent bool   `gorm:"column:guest_marketing_consent"`
	GuestReference        string `gorm:"column:guest_reference"`
	// Answers to the venue's booking questions: a JSON object, question id to answer
	// ("" for none).
	Answers                string     `gorm:"column:answers"`
	Notes                  string     `gorm:"column:notes"`
	PartnerReference       string     `gorm:"column:partner_reference"`
	ExpiresAt              *time.Time `gorm:"column:expires_at"`
	HoldMaxAt              *time.Time `gorm:"column:hold_max_at"`
	ConfirmationCode       *string    `gorm:"column:confirmation_code"` // unique when set
	StartsAt               time.Time  `gorm:"column:starts_at"`
	LocalDate              string     `gorm:"column:local_date"`
	DurationMinutes        int        `gorm:"column:duration_minutes"`
	SeatingArea            string     `gorm:"column:seating_area"`
	SlotType               string     `gorm:"column:slot_type"`
	PolicyFreeHours        int        `gorm:"column:policy_free_hours"`
	PolicyFeeType          string     `gorm:"column:policy_fee_type"`
	PolicyFeePercent       int        `gorm:"column:policy_fee_percent"`
	PolicyFeeAmount        int64      `gorm:"column:policy_fee_amount"`
	PolicyModifyUntilHours int        `gorm:"column:policy_modify_until_hours"`
	// PriceAmount and PricePer are the slot's price as booked, and ServiceChargeBps,
	// TaxBps and TaxInclusive the venue's charges then (migration 00019): the price
	// breakdown. PricePer "" is a booking made before them.
	PriceAmount      int64  `gorm:"column:price_amount"`
	PricePer         string `gorm:"column:price_per"`
	ServiceChargeBps int    `gorm:"column:service_charge_bps"`
	TaxBps           int    `gorm:"column:tax_bps"`
	TaxInclusive     bool   `gorm:"column:tax_inclusive"`
	// DepositAmount and DepositPer are the deposit the booking was made with (migration
	// 00026): captured at finalize, refunded per the cancellation policy. "" is none.
	DepositAmount int64  `gorm:"column:deposit_amount"`
	DepositPer    string `gorm:"column:deposit_per"`
	// PaymentPolicy is the booking's policy (migration 00027): "" (none, or a deposit
	// when DepositPer is set), "card_guarantee" (DepositAmount/DepositPer price its fee).
	PaymentPolicy string `gorm:"column:payment_policy"`
	// The card guarantee: the SetupIntent that saved the guest's card, the customer and
	// payment method it saved (provider ids only), and the fee charged off-session on a
	// no-show or late cancellation: FeeStatus "" (none due), "pending", "paid", "unpaid".
	SetupIntentID     *string `gorm:"column:setup_intent_id"`
	SetupClientSecret string  `gorm:"column:setup_client_secret"`
	SetupStatus       string  `gorm:"column:setup_status"`
	CardCustomer      string  `gorm:"column:card_customer"`
	CardPaymentMethod string  `gorm:"column:card_payment_method"`
	FeeStatus         string  `gorm:"column:fee_status"`
	FeeReason         string  `gorm:"column:fee_reason"`
	FeeAmount         int64   `gorm:"column:fee_amount"`
	FeeIntentID       *string `gorm:"column:fee_intent_id"`
	FeeDeclineCode    string  `gorm:"column:fee_decline_code"`
	// FeeFailures counts the tries of a pending fee the provider failed (an outage, not
	// a decline); the sweeper tries again once FeeRetryAt has passed (migration 00028).
	FeeFailures int        `gorm:"column:fee_failures"`
	FeeRetryAt  *time.Time `gorm:"column:fee_retry_at"`
	// AllocationID is the partner allocation the table came from; nil for the shared pool.
	AllocationID *string `gorm:"column:allocation_id"`
	// PendingPaymentID is the ReservationPayment of a change that waits for its payment.
	PendingPaymentID *string `gorm:"column:pending_payment_id"`
	// ExtraPayments counts its ReservationPayments; Payments holds them when it is > 0.
	ExtraPayments         int                  `gorm:"column:extra_payments"`
	Payments              []ReservationPayment `gorm:"-"`
	PaymentProvider       string               `gorm:"column:payment_provider"`
	PaymentIntentID       *string              `gorm:"column:payment_intent_id"` // unique when set
	PaymentClientSecret   string               `gorm:"column:payment_client_secret"`
	PaymentAmount         int64                `gorm:"column:payment_amount"`
	PaymentCurrency       string               `gorm:"column:payment_currency"`
	PaymentStatus         string               `gorm:"column:payment_status"`
	PaymentAmountCaptured int64                `gorm:"column:payment_amount_captured"`
	PaymentAmountRefunded int64                `gorm:"column:payment_amount_refunded"`
	PaymentRefundDue      int64                `gorm:"column:payment_refund_due"` // owed back, not yet confirmed by the provider
	PaymentDeclineCode    string               `gorm:"column:payment_decline_code"`
	// PaymentAttempt numbers the attempt of the reservation's provider mutations, in
	// their idempotency keys; it moves on only after a failure the provider stored under
	// the key. PaymentFailures counts background tries that failed in a row, and
	// PaymentRetryAt is when the sweeper may try again. Written only by
	// RecordPaymentFailure and RecordPaymentSuccess (never by UpdateReservation).
	PaymentAttempt  int        `gorm:"column:payment_attempt"`
	PaymentFailures int        `gorm:"column:payment_failures"`
	PaymentRetryAt  *time.Time `gorm:"column:payment_retry_at"`
	// VenueSync* say whether the venue's platform has the booking: "" (never sent: a
	// hold), pending, synced or failed.
	VenueSyncStatus    string     `gorm:"column:venue_sync_status"`
	VenueSyncReference string     `gorm:"column:venue_sync_reference"`
	VenueSyncAttempts  int        `gorm:"column:venue_sync_attempts"`
	VenueSyncError     string     `gorm:"column:venue_sync_error"`
	VenueSyncedAt      *time.Time `gorm:"column:venue_synced_at"`
	CancelReason       string     `gorm:"column:cancel_reason"`
	CreatedAt          time.Time  `gorm:"column:created_at"`
	UpdatedAt          time.Time  `gorm:"column:updated_at"`
	ConfirmedAt        *time.Time `gorm:"column:confirmed_at"`
	CancelledAt        *time.Time `gorm:"column:cancelled_at"`
	Venue              Venue      `gorm:"foreignKey:VenueID"`
}

// IdempotencyKey is a stored request under an Idempotency-Key, and its response once
// there is one.
type IdempotencyKey struct {
	PartnerID      string    `gorm:"column:partner_id;primaryKey"`
	Key            string    `gorm:"column:key;primaryKey"`
	Fingerprint    string    `gorm:"column:fingerprint"` // SHA-256 of method, route and canonical body
	State          string    `gorm:"column:state"`       // in_flight | done
	ResponseStatus int       `gorm:"column:response_status"`
	ResponseBody   []byte    `gorm:"column:response_body"`
	LockedUntil    time.Time `gorm:"column:locked_until"` // an in_flight claim older than this was abandoned
	CreatedAt      time.Time `gorm:"column:created_at"`
	// RecoveryPoint is the last phase of the key's request whose effect committed (nil:
	// none yet), written in the same transaction as that effect; ResourceID names what
	// it made or changed (a reservation id). A retry resumes from here.
	RecoveryPoint *string `gorm:"column:recovery_point"`
	ResourceID    *string `gorm:"column:resource_id"`
}

// SandboxIntent is a payment intent of the sandbox gateway, stored as the gateway's own
// JSON so the gateway owns its shape.
type SandboxIntent struct {
	ID             string    `gorm:"column:id;primaryKey"`
	IdempotencyKey string    `gorm:"column:idempotency_key"`
	Data           []byte    `gorm:"column:data"`
	Version        int       `gorm:"column:version"`
	UpdatedAt      time.Time `gorm:"column:updated_at"`
}

// ProcessedEvent is a provider event already handled.
type ProcessedEvent struct {
	ID         string    `gorm:"column:id;primaryKey"`
	Type       string    `gorm:"column:type"`
	ReceivedAt time.Time `gorm:"column:received_at"`
}

// OutboxMessage is one delivery to make: a notification to a venue's platform
// (Kind "venue") or an event to a partner's webhook endpoint (Kind "partner"). It is
// written in the transaction of the change it reports and delivered by a worker; its ID
// is the webhook-id, the same on every attempt.
type OutboxMessage struct {
	ID                string     `gorm:"column:id;primaryKey"` // msg_…
	Kind              string     `gorm:"column:kind"`          // venue | partner
	Type              string     `gorm:"column:type"`          // reservation.confirmed, …
	ReservationID     string     `gorm:"column:reservation_id"`
	PartnerID         string     `gorm:"column:partner_id"`
	VenueID           string     `gorm:"column:venue_id"`
	EndpointID        string     `gorm:"column:endpoint_id"` // partner messages
	EventID           string     `gorm:"column:event_id"`    // partner messages: the PartnerEvent delivered
	Payload           []byte     `gorm:"column:payload"`     // rendered on the first attempt, then fixed
	Status            string     `gorm:"column:status"`      // pending | delivered | failed
	Attempts          int        `gorm:"column:attempts"`
	NextAttemptAt     time.Time  `gorm:"column:next_attempt_at"`
	LastError         string     `gorm:"column:last_error"`
	ClaimedBy         string     `gorm:"column:claimed_by"`
	ClaimedUntil      *time.Time `gorm:"column:claimed_until"`
	PlatformReference string     `gorm:"column:platform_reference"`
	CreatedAt         time.Time  `gorm:"column:created_at"`
	// RetriedAt is when an operator last sent it back to pending (prima outbox retry);
	// the maximum age of its retries counts from then, or else from CreatedAt.
	RetriedAt   *time.Time `gorm:"column:retried_at"`
	DeliveredAt *time.Time `gorm:"column:delivered_at"`
}

// WebhookEndpoint is a partner's URL for events, with its signing secret.
type WebhookEndpoint struct {
	ID             string    `gorm:"column:id;primaryKey"` // we_…
	PartnerID      string    `gorm:"column:partner_id"`
	URL            string    `gorm:"column:url"`
	Events         string    `gorm:"column:events"` // space-separated event types
	Secret         string    `gorm:"column:secret"` // whsec_…, needed to sign
	Status         string    `gorm:"column:status"` // enabled | disabled
	DisabledReason string    `gorm:"column:disabled_reason"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	// PreviousSecret still signs deliveries, beside Secret, until
	// PreviousSecretExpiresAt: the overlap of a rotation.
	PreviousSecret          string     `gorm:"column:previous_secret"`
	PreviousSecretExpiresAt *time.Time `gorm:"column:previous_secret_expires_at"`
}

// PartnerEvent is one event of a partner's (GET /v1/events): written with the change
// it reports, whether or not an endpoint subscribes to it. Its payload is rendered once,
// on its first delivery or read, and every delivery and read shows the same bytes.
type PartnerEvent struct {
	ID            string    `gorm:"column:id;primaryKey"` // evt_…
	PartnerID     string    `gorm:"column:partner_id"`
	Type          string    `gorm:"column:type"`
	ReservationID string    `gorm:"column:reservation_id"`
	VenueID       string    `gorm:"column:venue_id"`
	Payload       []byte    `gorm:"column:payload"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

// TableName is the table of PartnerEvent.
func (PartnerEvent) TableName() string { return "partner_events" }

// WebhookAttempt is one attempt to deliver a partner outbox message to its endpoint.
type WebhookAttempt struct {
	ID          string    `gorm:"column:id;primaryKey"` // wha_…
	MessageID   string    `gorm:"column:message_id"`
	EventID     string    `gorm:"column:event_id"`
	EndpointID  string    `gorm:"column:endpoint_id"`
	PartnerID   string    `gorm:"column:partner_id"`
	Outcome     string    `gorm:"column:outcome"` // succeeded | failed
	StatusCode  int       `gorm:"column:status_code"`
	Error       string    `gorm:"column:error"`
	DurationMS  int       `gorm:"column:duration_ms"`
	AttemptedAt time.Time `gorm:"column:attempted_at"`
}

// TableName is the table of WebhookAttempt.
func (WebhookAttempt) TableName() string { return "webhook_attempts" }

// VenueNotification is what the "log" connector keeps instead of calling a platform.
type VenueNotification struct {
	ID            string    `gorm:"column:id;primaryKey"` // the outbox message id
	VenueID       string    `gorm:"column:venue_id"`
	ReservationID string    `gorm:"column:reservation_id"`
	Type          string    `gorm:"column:type"`
	Payload       []byte    `gorm:"column:payload"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

// ReservationPayment is a payment a change of a confirmed booking adds (the difference
// of a dearer change), with the change it pays for. The reservation's first payment
// stays in its Payment* columns.
type ReservationPayment struct {
	ID             string `gorm:"column:id;primaryKey"` // pay_…
	ReservationID  string `gorm:"column:reservation_id"`
	Provider       string `gorm:"column:provider"`
	IntentID       string `gorm:"column:intent_id"`
	ClientSecret   string `gorm:"column:client_secret"`
	Amount         int64  `gorm:"column:amount"`
	Currency       string `gorm:"column:currency"`
	Status         string `gorm:"column:status"`
	AmountCaptured int64  `gorm:"column:amount_captured"`
	AmountRefunded int64  `gorm:"column:amount_refunded"`
	RefundDue      int64  `gorm:"column:refund_due"`
	DeclineCode    string `gorm:"column:decline_code"`
	// RefundClaimedUntil: a refund payer is paying what is owed until then.
	RefundClaimedUntil *time.Time `gorm:"column:refund_claimed_until"`
	ChangeRequest      string     `gorm:"column:change_request"` // JSON
	ChangeStatus       string     `gorm:"column:change_status"`  // pending | applied | expired | unavailable
	ChangeExpiresAt    *time.Time `gorm:"column:change_expires_at"`
	// PaymentAttempt, PaymentFailures and PaymentRetryAt are the change payment's as
	// Reservation's are the reservation's (migration 00012). Written only by
	// RecordChangePaymentFailure and RecordChangePaymentSuccess.
	PaymentAttempt  int        `gorm:"column:payment_attempt"`
	PaymentFailures int        `gorm:"column:payment_failures"`
	PaymentRetryAt  *time.Time `gorm:"column:payment_retry_at"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	UpdatedAt       time.Time  `gorm:"column:updated_at"`
}

// ReservationEvent is one entry of a reservation's history: what changed, when, and
// by which token ("" for PRIMA itself, e.g. an expiry).
type ReservationEvent struct {
	ID            string    `gorm:"column:id;primaryKey"` // rev_…, time-ordered
	ReservationID string    `gorm:"column:reservation_id"`
	Type          string    `gorm:"column:type"`
	TokenID       string    `gorm:"column:token_id"`
	Changes       string    `gorm:"column:changes"` // JSON: field → {from, to}
	CreatedAt     time.Time `gorm:"column:created_at"`
}

// TableName values, fixed so GORM's pluralisation never surprises a migration.
func (Partner) TableName() string            { return "partners" }
func (PartnerVenue) TableName() string       { return "partner_venues" }
func (Token) TableName() string              { return "tokens" }
func (Venue) TableName() string              { return "venues" }
func (Slot) TableName() string               { return "slots" }
func (Reservation) TableName() string        { return "reservations" }
func (IdempotencyKey) TableName() string     { return "idempotency_keys" }
func (SandboxIntent) TableName() string      { return "sandbox_payment_intents" }
func (ProcessedEvent) TableName() string     { return "processed_events" }
func (OutboxMessage) TableName() string      { return "outbox" }
func (WebhookEndpoint) TableName() string    { return "webhook_endpoints" }
func (VenueNotification) TableName() string  { return "venue_notifications" }
func (ReservationPayment) TableName() string { return "reservation_payments" }
func (ReservationEvent) TableName() string   { return "reservation_events" }
func (Operator) TableName() string           { return "operators" }
func (OperatorVenue) TableName() string      { return "operator_venues" }
func (Schedule) TableName() string           { return "schedules" }
func (Closure) TableName() string            { return "closures" }
func (SlotAllocation) TableName() string     { return "slot_allocations" }
