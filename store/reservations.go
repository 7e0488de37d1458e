package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Reservation and payment statuses the queries rely on. The state machine itself lives
// in booking/.
const (
	resHeld     = "held"
	resExpired  = "expired"
	resReleased = "released"
)

// openPaymentStatuses are the PaymentIntent statuses that can still end in a charge.
var openPaymentStatuses = []string{
	"requires_payment_method", "requires_confirmation", "requires_action",
	"requires_capture", "processing",
}

// defaultSweep bounds a sweep when the caller passes no limit.
const defaultSweep = 100

// reservationFixedCols are the columns UpdateReservation never writes.
var reservationFixedCols = []string{"id", "partner_id", "created_at", "refund_claimed_until",
	"payment_attempt", "payment_failures", "payment_retry_at"}

// normalizeReservation puts every time of r through dbTime before it is written.
func normalizeReservation(r *Reservation) {
	r.ExpiresAt = dbTimePtr(r.ExpiresAt)
	r.HoldMaxAt = dbTimePtr(r.HoldMaxAt)
	r.StartsAt = dbTime(r.StartsAt)
	r.CreatedAt = dbTime(r.CreatedAt)
	r.UpdatedAt = dbTime(r.UpdatedAt)
	r.ConfirmedAt = dbTimePtr(r.ConfirmedAt)
	r.CancelledAt = dbTimePtr(r.CancelledAt)
	r.VenueSyncedAt = dbTimePtr(r.VenueSyncedAt)
	r.FeeRetryAt = dbTimePtr(r.FeeRetryAt)
}

// ListReservations lists a partner's reservations (partnerID "" = every partner, for
// internal use) matching f, newest first (by id, which is time-ordered), each with its
// Venue. The bool reports whether more rows follow the page.
func (db *DB) ListReservations(ctx context.Context, partnerID string, f ReservationFilter, p Page) ([]Reservation, bool, error) {
	ofPartner := func(g *gorm.DB) *gorm.DB {
		if partnerID == "" {
			return g
		}
		return g.Where("reservations.partner_id = ?", partnerID)
	}
	g := db.q(ctx).Model(&Reservation{}).Joins("Venue").Scopes(ofPartner)
	if f.Status != "" {
		g = g.Where("reservations.status = ?", f.Status)
	}
	if f.VenueID != "" {
		g = g.Where("reservations.venue_id = ?", f.VenueID)
	}
	if f.DateFrom != "" {
		g = g.Where("reservations.local_date >= ?", f.DateFrom)
	}
	if f.DateTo != "" {
		g = g.Where("reservations.local_date <= ?", f.DateTo)
	}
	if f.PartnerReference != "" {
		g = g.Where("reservations.partner_reference = ?", f.PartnerReference)
	}
	if f.OperatorID != "" {
		g = g.Scopes(ofOperator(f.OperatorID, "reservations.venue_id"))
	}
	if p.StartingAfter != "" {
		var n int64
		err := db.q(ctx).Model(&Reservation{}).Scopes(ofPartner).
			Where("reservations.id = ?", p.StartingAfter).Count(&n).Error
		if err != nil {
			return nil, false, wrap("list reservations: starting_after", err)
		}
		if n == 0 {
			return nil, false, wrap("list reservations: starting_after", ErrNotFound)
		}
		g = g.Where("reservations.id < ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []Reservation
	if err := g.Order("reservations.id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list reservations", err)
	}
	if err := loadPayments(db.q(ctx), out); err != nil {
		return nil, false, err
	}
	return trimPage(out, limit)
}

// GetReservation returns a partner's reservation with its Venue (partnerID "" = any
// partner, for internal use); ErrNotFound if there is none, or it is another partner's.
func (db *DB) GetReservation(ctx context.Context, partnerID, id string) (Reservation, error) {
	return getReservation(db.q(ctx), partnerID, id, false)
}

// GetReservation is (*DB).GetReservation inside the transaction; on PostgreSQL it locks
// the reservation row (SELECT … FOR UPDATE OF reservations) until the transaction ends.
// SQLite needs no row lock: the transaction holds the database's write lock.
func (tx *Tx) GetReservation(partnerID, id string) (Reservation, error) {
	return getReservation(tx.g, partnerID, id, tx.dialect == DialectPostgres)
}

func getReservation(g *gorm.DB, partnerID, id string, lock bool) (Reservation, error) {
	// The statement GORM builds for this read (every column of the reservation and of
	// its venue, by name) is built once per shape and run as it is (readOne): building it
	// was most of the read's cost, and every reservation call reads one, three times a
	// finalize.
	shape, args := readShape{name: "reservation"}, []any{id}
	if partnerID != "" {
		shape.variant, args = 1, append(args, partnerID)
	}
	if lock {
		shape.variant += 2
	}
	var r Reservation
	err := readOne(g, shape, func(dry *gorm.DB) *gorm.DB {
		q := dry.Joins("Venue").Where("reservations.id = ?", "")
		if partnerID != "" {
			q = q.Where("reservations.partner_id = ?", "")
		}
		if lock {
			// OF reservations: lock only the reservation, not the joined venue (which
			// every reservation of the venue shares), and PostgreSQL refuses FOR UPDATE
			// on the nullable side of an outer join anyway.
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: clause.CurrentTable}})
		}
		return q.Take(&Reservation{})
	}, &r, args...)
	if err != nil {
		return Reservation{}, wrap("get reservation", err)
	}
	out := []Reservation{r}
	if err := loadPayments(g.Session(&gorm.Session{NewDB: true}), out); err != nil {
		return Reservation{}, err
	}
	return out[0], nil
}

// errUnscannable: a column's field is of a kind nullable does not scan (GORM does).
var errUnscannable = errors.New("a field nullable does not scan")

// scannable are the field types nullable scans.
var scannable = map[reflect.Type]bool{
	reflect.TypeFor[string](): true, reflect.TypeFor[*string](): true,
	reflect.TypeFor[int](): true, reflect.TypeFor[int64](): true, reflect.TypeFor[bool](): true,
	reflect.TypeFor[time.Time](): true, reflect.TypeFor[*time.Time](): true,
	reflect.TypeFor[[]byte](): true,
}

// modelColumns maps a model's column lists (of getReservation's and readBuilt's
// statements) to the index paths of their fields in the model (a joined relation's
// column, Venue__name, in its field), or to errUnscannable.
var modelColumns sync.Map // columnList → [][]int or error

type columnList struct {
	model reflect.Type
	cols  string
}

// columnsOf returns the index paths in model (a pointer to a model's struct) of cols's
// fields; errUnscannable if one is of a type nullable does not scan.
func columnsOf(g *gorm.DB, model any, cols []string) ([][]int, error) {
	key := columnList{model: reflect.TypeOf(model), cols: strings.Join(cols, ",")}
	if v, ok := modelColumns.Load(key); ok {
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.([][]int), nil
	}
	paths, err := mapColumns(g, model, cols)
	if err != nil && !errors.Is(err, errUnscannable) {
		return nil, err
	}
	if err != nil {
		modelColumns.Store(key, err)
		return nil, err
	}
	modelColumns.Store(key, paths)
	return paths, nil
}

func mapColumns(g *gorm.DB, model any, cols []string) ([][]int, error) {
	stmt := &gorm.Statement{DB: g}
	if err := stmt.Parse(model); err != nil {
		return nil, err
	}
	paths := make([][]int, len(cols))
	for i, c := range cols {
		if rel, name, ok := strings.Cut(c, "__"); ok {
			r, ok := stmt.Schema.Relationships.Relations[rel]
			if !ok {
				return nil, fmt.Errorf("no %s relation for column %s", rel, c)
			}
			if r.Field.StructField.Type.Kind() != reflect.Struct {
				return nil, errUnscannable // a pointer GORM allocates
			}
			f := r.FieldSchema.LookUpField(name)
			if f == nil {
				return nil, fmt.Errorf("no %s field for column %s", rel, c)
			}
			if !scannable[f.StructField.Type] {
				return nil, errUnscannable
			}
			paths[i] = append(slices.Clone(r.Field.StructField.Index), f.StructField.Index...)
			continue
		}
		f := stmt.Schema.LookUpField(c)
		if f == nil {
			return nil, fmt.Errorf("no field for column %s", c)
		}
		if !scannable[f.StructField.Type] {
			return nil, errUnscannable
		}
		paths[i] = f.StructField.Index
	}
	return paths, nil
}

// nullable scans one column into a field of the kinds rows hold (strings, integers,
// booleans, times, and pointers to strings and times), NULL as the zero value.
type nullable struct{ field reflect.Value }

func (n *nullable) Scan(src any) error {
	f := n.field
	if src == nil {
		f.SetZero()
		return nil
	}
	if f.Kind() == reflect.Pointer {
		f.Set(reflect.New(f.Type().Elem()))
		f = f.Elem()
	}
	switch v := src.(type) {
	case string:
		if f.Kind() == reflect.String {
			f.SetString(v)
			return nil
		}
	case []byte:
		switch {
		case f.Kind() == reflect.String:
			f.SetString(string(v))
			return nil
		case f.Type() == reflect.TypeFor[[]byte]():
			f.SetBytes(slices.Clone(v)) // the driver reuses its buffer
			return nil
		}
	case int64:
		switch f.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(v)
			return nil
		}
	case bool:
		if f.Kind() == reflect.Bool {
			f.SetBool(v)
			return nil
		}
	case time.Time:
		if f.Type() == reflect.TypeOf(time.Time{}) {
			f.Set(reflect.ValueOf(v))
			return nil
		}
	}
	return fmt.Errorf("cannot scan %T into %s", src, f.Type())
}

// builtStatement is a statement GORM built: its text and its arguments (the caller's
// first, then GORM's own, such as the limit).
type builtStatement struct {
	text string
	vars []any
}

// GetReservationByIntent returns the reservation paid by a PaymentIntent, with its Venue;
// ErrNotFound if none.
func (db *DB) GetReservationByIntent(ctx context.Context, intentID string) (Reservation, error) {
	var r Reservation
	err := db.q(ctx).Joins("Venue").Where("reservations.payment_intent_id = ?", intentID).Take(&r).Error
	if err != nil {
		return Reservation{}, wrap("get reservation by intent", err)
	}
	return r, nil
}

// EndedHoldsWithOpenSetups returns up to limit card-guarantee reservations whose hold
// ended (expired or released) while their SetupIntent may still save a card, and whose
// last cancel's backoff (payment_retry_at) has passed, so a sweeper cancels them.
func (db *DB) EndedHoldsWithOpenSetups(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Reservation
	// The predicate of reservations_setup_open_idx (migration 00029), as literals; after
	// "succeeded" or "canceled" nothing is left to cancel.
	err := db.q(ctx).Joins("Venue").
		Where("reservations.status IN ('expired', 'released') AND reservations.setup_intent_id IS NOT NULL "+
			"AND reservations.setup_status NOT IN ('succeeded', 'canceled')").
		Where("(reservations.payment_retry_at IS NULL OR reservations.payment_retry_at <= ?)", dbTime(now)).
		Order("reservations.id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("ended holds with open setup intents", err)
	}
	return out, nil
}

// FeesDue returns up to limit reservations whose card-guarantee fee is pending and
// whose fee_retry_at has passed, oldest first, so a sweeper charges them.
func (db *DB) FeesDue(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Reservation
	// The predicate of reservations_fee_due_idx (migration 00029), as a literal.
	err := db.q(ctx).Joins("Venue").
		Where("reservations.fee_status = 'pending'").
		Where("reservations.fee_retry_at <= ?", dbTime(now)).
		Order("reservations.fee_retry_at, reservations.id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("fees due", err)
	}
	return out, nil
}

// ClaimFee moves the pending fee of the reservation id from fee_retry_at seen to until,
// only if it is still pending at seen: it reports whether this caller claimed it.
func (db *DB) ClaimFee(ctx context.Context, id string, seen, until time.Time) (bool, error) {
	res := db.q(ctx).Model(&Reservation{}).
		Where("id = ? AND fee_status = ? AND fee_retry_at = ?", id, "pending", dbTime(seen)).
		UpdateColumn("fee_retry_at", dbTime(until))
	if res.Error != nil {
		return false, wrap("claim fee", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// GetReservationBySetupIntent returns the reservation whose card guarantee is the
// SetupIntent setupIntentID, with its Venue.
func (db *DB) GetReservationBySetupIntent(ctx context.Context, setupIntentID string) (Reservation, error) {
	var r Reservation
	err := db.q(ctx).Joins("Venue").Where("reservations.setup_intent_id = ?", setupIntentID).Take(&r).Error
	if err != nil {
		return Reservation{}, wrap("get reservation by setup intent", err)
	}
	return r, nil
}

// EndedHoldsWithOpenPayments returns up to limit reservations whose hold ended (expired or
// released) while their PaymentIntent can still be charged, so a sweeper cancels those
// intents. Oldest first, each with its Venue.
func (db *DB) EndedHoldsWithOpenPayments(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Reservation
	err := db.q(ctx).Joins("Venue").
		Where("reservations.status IN ?", []string{resExpired, resReleased}).
		Where("reservations.payment_intent_id IS NOT NULL").
		Where("reservations.payment_status IN ?", openPaymentStatuses).
		Where("(reservations.payment_retry_at IS NULL OR reservations.payment_retry_at <= ?)", dbTime(now)).
		Order("reservations.id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("ended holds with open payments", err)
	}
	return out, nil
}

// ExpireDueHolds expires up to limit held reservations whose expires_at <= now (of one
// slot, or of every slot when slotID is ""), oldest expiry first, and gives each one's
// table back to its slot. Every step is a conditional update, so two transactions racing
// over the same holds expire each one once and release its table once. It returns the
// reservations it expired, with Status "expired", UpdatedAt now, and their Venue.
func (tx *Tx) ExpireDueHolds(slotID string, now time.Time, limit int) ([]Reservation, error) {
	now = dbTime(now)
	if limit <= 0 {
		limit = defaultSweep
	}
	// GORM's statement, built once per shape (readBuilt): every hold looks for its
	// slot's due holds first.
	shape, args := readShape{name: "due holds", limit: limit}, []any{resHeld, now}
	if slotID != "" {
		shape.variant, args = 1, append(args, slotID)
	}
	var due []Reservation
	_, err := readBuilt(tx.g, shape, func(dry *gorm.DB) *gorm.DB {
		q := dry.Joins("Venue").Where("reservations.status = ? AND reservations.expires_at <= ?", "", "")
		if slotID != "" {
			q = q.Where("reservations.slot_id = ?", "")
		}
		return q.Order("reservations.expires_at, reservations.id").Limit(limit).Find(&[]Reservation{})
	}, &due, args...)
	if err != nil {
		return nil, wrap("expire due holds", err)
	}
	expired := make([]Reservation, 0, len(due))
	for _, r := range due {
		n, err := expireHold.exec(tx.g, resExpired, now, r.ID, resHeld, now)
		if err != nil {
			return nil, wrap("expire hold", err)
		}
		if n != 1 {
			continue // another transaction expired, extended or finalized it first
		}
		if err := tx.ReleaseTableOf(&r, now); err != nil {
			return nil, err
		}
		r.Status = resExpired
		r.UpdatedAt = now
		expired = append(expired, r)
	}
	return expired, nil
}

// ReleaseTable gives one table back to a slot's shared pool (never below zero). Releasing
// when none is taken changes nothing and is not an error. A reservation whose table may
// have come from a partner allocation is released with ReleaseTableOf.
func (tx *Tx) ReleaseTable(slotID string, now time.Time) error {
	var (
		day, city string
		hadRoom   bool
	)
	err := releaseSharedTable.queryRow(tx.g, dbTime(now), slotID).Scan(&day, &city, &hadRoom)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // nothing taken
	case err != nil:
		return wrap("release table", err)
	case hadRoom:
		tx.invalidate(ChangeSlot, SlotChangeID(day, slotID, city))
	default:
		// The slot was full: it may now be in answers that did not list it.
		tx.invalidate(ChangeSlots, city+"/"+day)
	}
	return nil
}

// releaseSharedTable is ReleaseTable's update, written here as the take is (every
// cancelled or expired hold runs it). It returns the slot's day and city and whether the
// shared pool had a table left before, for the search answers it changes.
var releaseSharedTable = newStmt(`UPDATE slots SET tables_taken = tables_taken - 1, updated_at = ? ` +
	`WHERE id = ? AND tables_taken > 0 ` +
	`RETURNING local_date, coalesce(city_key, ''), tables_taken + 1 + tables_reserved < tables`)

// InsertReservation inserts r (its Venue is ignored); ErrConflict if its id, confirmation
// code or payment intent id is taken. Times in r are normalised (UTC, microseconds) in
// place.
func (tx *Tx) InsertReservation(r *Reservation) error {
	normalizeReservation(r)
	// GORM's own INSERT, built once (insertRow): every hold runs it.
	_, err := insertRow(tx.g, r, false)
	return wrap("insert reservation", err)
}

// UpdateReservation writes every column of r except id, partner_id and created_at (zero
// values included) if the row is still in status from, and reports whether it was. The
// caller sets r.UpdatedAt; times in r are normalised in place.
func (tx *Tx) UpdateReservation(r *Reservation, from string) (bool, error) {
	normalizeReservation(r)
	if st, ok := reservationUpdate(tx.g, r, from); ok {
		// GORM's statement, built once: its arguments are r's fields in its order.
		args := make([]any, 0, len(st.fields)+2)
		rv := reflect.ValueOf(r).Elem()
		for _, f := range st.fields {
			v, _ := f.ValueOf(tx.g.Statement.Context, rv)
			args = append(args, v)
		}
		args = append(args, r.ID, from)
		res, err := tx.g.Statement.ConnPool.ExecContext(tx.g.Statement.Context, st.text, args...)
		if err != nil {
			return false, wrap("update reservation", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, wrap("update reservation", err)
		}
		return n == 1, nil
	}
	res := reservationUpdateQuery(tx.g, r, from).Updates(r)
	if res.Error != nil {
		return false, wrap("update reservation", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// reservationUpdateQuery is UpdateReservation's statement as GORM builds it: every
// column but the fixed ones, where the row is still in status from.
func reservationUpdateQuery(g *gorm.DB, r *Reservation, from string) *gorm.DB {
	// SkipHooks: otherwise GORM overwrites UpdatedAt with its own clock.
	return g.Session(&gorm.Session{SkipHooks: true}).Model(&Reservation{}).
		Where("id = ? AND status = ?", r.ID, from).
		Select("*").Omit(append([]string{clause.Associations}, reservationFixedCols...)...)
}

// updateStatement is UpdateReservation's statement per dialect: GORM's text, and the
// fields whose values are its arguments, in order (then the id and the status).
type updateStatement struct {
	text   string
	fields []*schema.Field
}

var reservationUpdates sync.Map // dialect → updateStatement, or false when GORM's must build it

// setColumn is one "col"=? of an UPDATE's SET list, in either dialect's quoting.
var setColumn = regexp.MustCompile("[`\"]([a-z0-9_]+)[`\"]=(\\$[0-9]+|\\?)")

// reservationUpdate returns UpdateReservation's statement, building it on the first call
// from GORM's own (a dry run with r): the SET list's columns are mapped to the schema's
// fields, and the statement is used only if those fields' values of r are exactly the
// arguments GORM gave (else, ok false, GORM builds every update).
func reservationUpdate(g *gorm.DB, r *Reservation, from string) (updateStatement, bool) {
	dialect := g.Name()
	if v, ok := reservationUpdates.Load(dialect); ok {
		st, ok := v.(updateStatement)
		return st, ok
	}
	dry := reservationUpdateQuery(g.Session(&gorm.Session{DryRun: true, NewDB: true}), r, from).Updates(r)
	st, ok := mapUpdate(dry.Statement, r)
	if ok {
		reservationUpdates.Store(dialect, st)
		return st, true
	}
	reservationUpdates.Store(dialect, false)
	return updateStatement{}, false
}

// mapUpdate maps a dry-run UPDATE of r to r's fields; ok only if they give its
// arguments back, in order.
func mapUpdate(stmt *gorm.Statement, r *Reservation) (updateStatement, bool) {
	if stmt.Error != nil || stmt.Schema == nil {
		return updateStatement{}, false
	}
	text := stmt.SQL.String()
	set, _, found := strings.Cut(text, " WHERE ")
	if !found {
		return updateStatement{}, false
	}
	cols := setColumn.FindAllStringSubmatch(set, -1)
	if len(cols)+2 != len(stmt.Vars) {
		return updateStatement{}, false
	}
	st := updateStatement{text: text, fields: make([]*schema.Field, len(cols))}
	rv := reflect.ValueOf(r).Elem()
	for i, c := range cols {
		f := stmt.Schema.LookUpField(c[1])
		if f == nil {
			return updateStatement{}, false
		}
		v, _ := f.ValueOf(stmt.Context, rv)
		if !reflect.DeepEqual(v, stmt.Vars[i]) {
			return updateStatement{}, false
		}
		st.fields[i] = f
	}
	if !reflect.DeepEqual(stmt.Vars[len(cols)], r.ID) {
		return updateStatement{}, false
	}
	return st, true
}

// RecordEvent records that a provider event is being handled, in the same transaction
// as what handling it changes; false means it was handled before.
func (tx *Tx) RecordEvent(id, typ string, at time.Time) (bool, error) {
	row := ProcessedEvent{ID: id, Type: typ, ReceivedAt: dbTime(at)}
	res := tx.g.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, wrap("record event", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// HeldWithPayments lists held reservations with a payment intent that have not changed
// since before `before`, for the reconciler to compare with the provider.
func (db *DB) HeldWithPayments(ctx context.Context, before time.Time, limit int) ([]Reservation, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Reservation
	err := db.q(ctx).Joins("Venue").
		Where("reservations.status = ?", resHeld).
		Where("reservations.payment_intent_id IS NOT NULL").
		Where("reservations.updated_at <= ?", dbTime(before)).
		Order("reservations.updated_at").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("held with payments", err)
	}
	return out, nil
}

// RefundsDue lists reservations that owe the guest a refund not yet made.
func (db *DB) RefundsDue(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Reservation
	err := db.q(ctx).Joins("Venue").
		Where("reservations.payment_refund_due > 0").
		Where("(reservations.payment_retry_at IS NULL OR reservations.payment_retry_at <= ?)", dbTime(now)).
		Order("reservations.id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("refunds due", err)
	}
	return out, nil
}

// LockPartner serialises the partner's hold transactions, so that a count of its holds
// taken after it stays true until commit. On PostgreSQL it locks the partner's row
// (SELECT … FOR UPDATE); SQLite transactions already run one at a time (BEGIN IMMEDIATE).
// ErrNotFound if there is no such partner.
func (tx *Tx) LockPartner(partnerID string) error {
	q := lockPartner
	if tx.dialect == DialectPostgres {
		q = lockPartnerForUpdate
	}
	var id string
	err := tx.g.Statement.ConnPool.QueryRowContext(tx.g.Statement.Context, q.text(tx.dialect), partnerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return wrap("lock partner", err)
}

// Every hold runs these: written here, as GORM's building of them cost more than
// running them.
var (
	lockPartner          = newStmt(`SELECT id FROM partners WHERE id = ? LIMIT 1`)
	lockPartnerForUpdate = newStmt(`SELECT id FROM partners WHERE id = ? LIMIT 1 FOR UPDATE`)
	expireHold           = newStmt(`UPDATE reservations SET status = ?, updated_at = ? ` +
		`WHERE id = ? AND status = ? AND expires_at <= ?`)
)

// CountActiveHolds counts the partner's held reservations that have not expired at now.
func (tx *Tx) CountActiveHolds(partnerID string, now time.Time) (int64, error) {
	var n int64
	err := tx.g.Model(&Reservation{}).
		Where("partner_id = ? AND status = ? AND expires_at > ?", partnerID, resHeld, dbTime(now)).
		Count(&n).Error
	return n, wrap("count active holds", err)
}

// RecordPaymentFailure records a failed provider mutation of the reservation: the next
// background try waits until retryAt, and when the provider stored the failure under the
// key of attempt (spent), the attempt moves on so that the next try sends a new key. The
// attempt moves from attempt only, so two processes that failed the same attempt move it
// once. It returns the failures in a row, this one included.
func (db *DB) RecordPaymentFailure(ctx context.Context, id string, attempt int, spent bool, retryAt func(failures int) time.Time) (int, error) {
	failures, err := db.recordPaymentFailure(ctx, &Reservation{}, id, attempt, spent, retryAt)
	return failures, wrap("record payment failure", err)
}

// RecordChangePaymentFailure is RecordPaymentFailure for a change payment (pay_…).
func (db *DB) RecordChangePaymentFailure(ctx context.Context, id string, attempt int, spent bool, retryAt func(failures int) time.Time) (int, error) {
	failures, err := db.recordPaymentFailure(ctx, &ReservationPayment{}, id, attempt, spent, retryAt)
	return failures, wrap("record change payment failure", err)
}

// recordPaymentFailure moves the payment_attempt, payment_failures and payment_retry_at
// of the row id of model's table.
func (db *DB) recordPaymentFailure(ctx context.Context, model any, id string, attempt int, spent bool, retryAt func(failures int) time.Time) (int, error) {
	var failures int
	err := db.Transact(ctx, func(tx *Tx) error {
		var cur struct{ PaymentAttempt, PaymentFailures int }
		if err := tx.g.Model(model).Select("payment_attempt", "payment_failures").Where("id = ?", id).Take(&cur).Error; err != nil {
			return err
		}
		failures = cur.PaymentFailures + 1
		next := cur.PaymentAttempt
		if spent && cur.PaymentAttempt == attempt {
			next = attempt + 1
		}
		return tx.g.Model(model).Where("id = ?", id).UpdateColumns(map[string]any{
			"payment_attempt":  next,
			"payment_failures": failures,
			"payment_retry_at": dbTime(retryAt(failures)),
		}).Error
	})
	return failures, err
}

// RecordPaymentSuccess clears the reservation's failures and retry time after a provider
// mutation succeeded; the attempt stays, so no key is ever sent twice for two requests.
func (db *DB) RecordPaymentSuccess(ctx context.Context, id string) error {
	return wrap("record payment success", db.recordPaymentSuccess(ctx, &Reservation{}, id))
}

// RecordChangePaymentSuccess is RecordPaymentSuccess for a change payment (pay_…).
func (db *DB) RecordChangePaymentSuccess(ctx context.Context, id string) error {
	return wrap("record change payment success", db.recordPaymentSuccess(ctx, &ReservationPayment{}, id))
}

func (db *DB) recordPaymentSuccess(ctx context.Context, model any, id string) error {
	return db.q(ctx).Model(model).
		Where("id = ? AND (payment_failures > 0 OR payment_retry_at IS NOT NULL)", id).
		UpdateColumns(map[string]any{"payment_failures": 0, "payment_retry_at": nil}).Error
}
