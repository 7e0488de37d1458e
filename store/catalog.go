package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// insertBatch rows per INSERT when seeding: about 20 columns × 500 rows stays far below
// SQLite's 32766 bound variables per statement (and PostgreSQL's 65535).
const insertBatch = 500

// Slot statuses the queries rely on.
const (
	slotOpen      = "open"
	slotWithdrawn = "withdrawn"
)

// inScope restricts a query to the venues s may see; col is the venue id column of the
// query's table ("venues.id", "slots.venue_id").
func inScope(s Scope, col string) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		if s.AllVenues {
			return g
		}
		return g.Where(col+inPartnerVenues, s.PartnerID)
	}
}

// inPartnerVenues follows a venue id column to keep the venues a partner may sell.
const inPartnerVenues = " IN (SELECT pv.venue_id FROM partner_venues pv WHERE pv.partner_id = ?)"

// ListVenues lists the venues s may see, filtered by f, ordered by name_key then id. The
// bool reports whether more rows follow the page.
func (db *DB) ListVenues(ctx context.Context, s Scope, f VenueFilter, p Page) ([]Venue, bool, error) {
	q := db.q(ctx).Model(&Venue{}).Scopes(inScope(s, "venues.id"))
	if f.City != "" {
		q = q.Where("venues.city_key = ?", strings.ToLower(f.City))
	}
	if f.Cuisine != "" {
		q = q.Where("venues.cuisine_key = ?", strings.ToLower(f.Cuisine))
	}
	if f.Query != "" {
		q = q.Where(`venues.name_key LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(f.Query))+"%")
	}
	if p.StartingAfter != "" {
		var after Venue
		err := db.q(ctx).Scopes(inScope(s, "venues.id")).Select("id", "name_key").
			Where("venues.id = ?", p.StartingAfter).Take(&after).Error
		if err != nil {
			return nil, false, wrap("list venues: starting_after", err)
		}
		q = q.Where("(venues.name_key, venues.id) > (?, ?)", after.NameKey, after.ID)
	}
	limit := pageLimit(p)
	var out []Venue
	if err := q.Order("venues.name_key, venues.id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list venues", err)
	}
	return trimPage(out, limit)
}

// trimPage cuts a result fetched with limit+1 rows to limit, reporting whether more follow.
func trimPage[T any](rows []T, limit int) ([]T, bool, error) {
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// GetVenue returns one venue; ErrNotFound if it does not exist or s may not see it.
func (db *DB) GetVenue(ctx context.Context, s Scope, id string) (Venue, error) {
	// GORM's statement, built once per shape (readBuilt): a hold reads its venue.
	var v Venue
	shape, args := readShape{name: "venue"}, []any{id}
	if !s.AllVenues {
		shape.variant, args = 1, append(args, s.PartnerID)
	}
	err := readOne(db.q(ctx), shape, func(dry *gorm.DB) *gorm.DB {
		q := dry.Where("venues.id = ?", "")
		if !s.AllVenues {
			q = q.Where("venues.id"+inPartnerVenues, "")
		}
		return q.Take(&Venue{})
	}, &v, args...)
	if err != nil {
		return Venue{}, wrap("get venue", err)
	}
	return v, nil
}

// GetSlot returns one slot with its Venue; ErrNotFound if it does not exist or s may not
// see its venue.
func (db *DB) GetSlot(ctx context.Context, s Scope, id string) (Slot, error) {
	return getSlot(db.q(ctx), s, id)
}

// GetSlot is (*DB).GetSlot inside the transaction. It takes no lock: TakeTable,
// TakeTableFor and the releases are the conditional updates that decide.
func (tx *Tx) GetSlot(s Scope, id string) (Slot, error) {
	return getSlot(tx.g, s, id)
}

func getSlot(g *gorm.DB, s Scope, id string) (Slot, error) {
	// GORM's statement, built once per shape (readBuilt): every hold reads its slot.
	var sl Slot
	shape, args := readShape{name: "slot"}, []any{id}
	if !s.AllVenues {
		shape.variant, args = 1, append(args, s.PartnerID)
	}
	err := readOne(g, shape, func(dry *gorm.DB) *gorm.DB {
		q := dry.InnerJoins("Venue").Where("slots.id = ?", "")
		if !s.AllVenues {
			q = q.Where("slots.venue_id"+inPartnerVenues, "")
		}
		return q.Take(&Slot{})
	}, &sl, args...)
	if err != nil {
		return Slot{}, wrap("get slot", err)
	}
	return sl, nil
}

// bookable restricts slots to those open, starting after now (when set), with a table
// left for the partner and taking a party of partySize (when > 0). A table is left in
// the shared pool (tables_taken + tables_reserved < tables), or in the partner's own
// allocation of the slot while it is not released and its release time is ahead.
func bookable(partnerID string, partySize int, now time.Time) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		g = g.Where("slots.status = ?", slotOpen)
		if partnerID == "" {
			g = g.Where("slots.tables_taken + slots.tables_reserved < slots.tables")
		} else {
			// tables_reserved > 0 first: slots without allocations never reach the subquery.
			g = g.Where("(slots.tables_taken + slots.tables_reserved < slots.tables OR (slots.tables_reserved > 0 AND EXISTS ("+
				"SELECT 1 FROM slot_allocations sa WHERE sa.slot_id = slots.id AND sa.partner_id = ? AND sa.released = ? "+
				"AND sa.release_at > ? AND sa.tables_taken < sa.tables)))", partnerID, false, dbTime(now))
		}
		if partySize > 0 {
			g = g.Where("slots.party_size_min <= ? AND slots.party_size_max >= ?", partySize, partySize)
		}
		if !now.IsZero() {
			g = g.Where("slots.starts_at > ?", dbTime(now))
		}
		return g
	}
}

// SearchSlots returns bookable slots matching q that s may see, each with its venue's
// summary, cancellation policy and booking questions in Venue (ID, Name, City, Cuisine,
// TimeZone, Currency, the Policy* fields, Questions and the Deposit* fields; the venue's other fields are left
// empty), ordered by starts_at, venue_id, id. The bool reports whether more rows follow the page.
//
// It is the API's hottest read, so it is one hand-built statement (searchSlotsSQL, which
// SearchSlotsStatement hands to the benchmark) scanned with database/sql into the rows,
// without GORM's reflection.
func (db *DB) SearchSlots(ctx context.Context, s Scope, q SlotQuery, p Page) ([]Slot, bool, error) {
	page, err := db.SearchSlotsPage(ctx, s, q, p)
	return page.Slots, page.More, err
}

// SlotPage is a page of SearchSlots, and the id of the slot that follows it.
type SlotPage struct {
	Slots []Slot
	More  bool
	// Next is the id of the first slot after the page ("" when More is false): a cache
	// of the page must drop it when that slot is taken, as the page's More may change.
	Next string
}

// SearchSlotsPage is SearchSlots with the id of the slot that follows the page.
func (db *DB) SearchSlotsPage(ctx context.Context, s Scope, q SlotQuery, p Page) (SlotPage, error) {
	var after *slotKey
	if p.StartingAfter != "" {
		k, err := db.slotKey(ctx, s, p.StartingAfter)
		if err != nil {
			return SlotPage{}, wrap("search slots: starting_after", err)
		}
		after = &k
	}
	limit := pageLimit(p)
	text, args := searchSlotsSQL(db.dialect, s, q, after, limit+1)
	var out []Slot
	var err error
	if db.dialect == DialectPostgres {
		err = db.withPgx(ctx, func(c *pgx.Conn) error {
			rows, err := c.Query(ctx, text, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			out, err = scanSlots(rows, limit+1)
			return err
		})
	} else {
		var rows *sql.Rows
		if rows, err = db.sql.QueryContext(ctx, text, args...); err == nil {
			defer rows.Close()
			out, err = scanSlots(rows, limit+1)
		}
	}
	if err != nil {
		return SlotPage{}, wrap("search slots", err)
	}
	if len(out) > limit {
		return SlotPage{Slots: out[:limit], More: true, Next: out[limit].ID}, nil
	}
	return SlotPage{Slots: out}, nil
}

// rowScanner is database/sql's rows or pgx's.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanSlots reads a search's rows (searchSlotsSQL's columns); n is how many it expects
// at most.
func scanSlots(rows rowScanner, n int) ([]Slot, error) {
	out := make([]Slot, 0, n)
	for rows.Next() {
		// Scanned in place: a row variable would escape to the heap, once per row.
		out = append(out, Slot{})
		sl := &out[len(out)-1]
		v := &sl.Venue
		if err := rows.Scan(&sl.ID, &sl.VenueID, &sl.StartsAt, &sl.LocalDate, &sl.LocalTime,
			&sl.DurationMinutes, &sl.PartySizeMin, &sl.PartySizeMax, &sl.SeatingArea, &sl.Type,
			&sl.PriceAmount, &sl.PriceCurrency, &sl.PricePer, &sl.Tables, &sl.TablesTaken, &sl.TablesReserved,
			&sl.Status, &sl.CreatedAt, &sl.UpdatedAt, &sl.PaymentPolicy, &sl.PaymentPolicyAmount, &sl.PaymentPolicyPer,
			&v.ID, &v.Name, &v.City, &v.Cuisine, &v.TimeZone, &v.Currency,
			&v.PolicyFreeHours, &v.PolicyFeeType, &v.PolicyFeePercent, &v.PolicyFeeAmount, &v.Questions,
			&v.DepositAmount, &v.DepositPer, &v.PaymentPolicy); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// slotKey is a slot's position in the order of SearchSlots.
type slotKey struct {
	StartsAt time.Time
	VenueID  string
	ID       string
}

// slotKey returns the position of the slot id, which s must be allowed to see;
// ErrNotFound if it is not.
func (db *DB) slotKey(ctx context.Context, s Scope, id string) (slotKey, error) {
	w := sqlText{dialect: db.dialect}
	w.b.WriteString("SELECT slots.starts_at, slots.venue_id, slots.id FROM slots WHERE slots.id = ")
	w.arg(id)
	w.scope(s)
	var k slotKey
	err := db.sql.QueryRowContext(ctx, w.b.String(), w.args...).Scan(&k.StartsAt, &k.VenueID, &k.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return slotKey{}, ErrNotFound
	}
	return k, err
}

// searchSlotsSQL is the statement of SearchSlots: bookable slots matching q that s may
// see, after the slot at after (nil: from the first), at most limit rows.
//
// On PostgreSQL it is planned once per connection. PostgreSQL plans a prepared
// statement's first five executions for their values, then keeps its generic plan
// unless those custom plans looked cheaper. Seeing the values, they did (LIMIT 21 of a
// city's day of 80,000 slots at 20,000 venues, against the generic plan's tenth of the
// day; a party no table seats), so every search was planned anew, which took longer than
// running it. So the status is a literal and q's values, the cursor's and the limit are
// scalar subqueries (value) the planner cannot see into: a custom plan is then the
// generic plan, which reads the city's day in starts_at order and stops at the limit.
// The partner and now in tableLeft stay plain: they only reach the allocation check,
// one probe of a unique index whatever they are.
func searchSlotsSQL(dialect string, s Scope, q SlotQuery, after *slotKey, limit int) (string, []any) {
	w := sqlText{dialect: dialect, onePlan: true}
	w.b.WriteString(`SELECT slots.id, slots.venue_id, slots.starts_at, slots.local_date, slots.local_time, ` +
		`slots.duration_minutes, slots.party_size_min, slots.party_size_max, slots.seating_area, slots.type, ` +
		`slots.price_amount, slots.price_currency, slots.price_per, slots.tables, slots.tables_taken, slots.tables_reserved, ` +
		`slots.status, slots.created_at, slots.updated_at, slots.payment_policy, slots.payment_policy_amount, slots.payment_policy_per, ` +
		`v.id, v.name, v.city, v.cuisine, v.time_zone, v.currency, ` +
		`v.policy_free_hours, v.policy_fee_type, v.policy_fee_percent, v.policy_fee_amount, v.questions, v.deposit_amount, v.deposit_per, v.payment_policy ` +
		`FROM slots JOIN venues v ON v.id = slots.venue_id WHERE slots.status = '` + slotOpen + `' AND `)
	w.tableLeft(s.PartnerID, q.Now)
	w.slotFilters(s, q)
	if after != nil {
		w.b.WriteString(" AND (slots.starts_at, slots.venue_id, slots.id) > (")
		w.value(dbTime(after.StartsAt), "timestamptz")
		w.b.WriteString(", ")
		w.value(after.VenueID, "text")
		w.b.WriteString(", ")
		w.value(after.ID, "text")
		w.b.WriteString(")")
	}
	w.b.WriteString(" ORDER BY slots.starts_at, slots.venue_id, slots.id LIMIT ")
	w.value(limit, "bigint")
	return w.b.String(), w.args
}

// tableLeft writes the condition that a slot has a table left for the partner: in the
// shared pool, or in the partner's own allocation of the slot while it is not released
// and its release time is ahead (as bookable does). Search, the calendar and the batch
// lookup all write it here, so they agree on what is bookable.
func (w *sqlText) tableLeft(partnerID string, now time.Time) {
	if partnerID == "" {
		w.b.WriteString("slots.tables_taken + slots.tables_reserved < slots.tables")
		return
	}
	w.b.WriteString("(slots.tables_taken + slots.tables_reserved < slots.tables OR (slots.tables_reserved > 0 AND EXISTS (" +
		"SELECT 1 FROM slot_allocations sa WHERE sa.slot_id = slots.id AND sa.partner_id = ")
	w.arg(partnerID)
	w.b.WriteString(" AND sa.released = ")
	w.arg(false)
	w.b.WriteString(" AND sa.release_at > ")
	w.arg(dbTime(now))
	w.b.WriteString(" AND sa.tables_taken < sa.tables)))")
}

// slotFilters writes the conditions of q other than the slot's status and a table left:
// the party size, a start after q.Now, the scope s, and q's filters. It expects the
// statement to join venues as v.
func (w *sqlText) slotFilters(s Scope, q SlotQuery) {
	if q.PartySize > 0 {
		w.andValue("slots.party_size_min <= ", q.PartySize, "integer")
		w.andValue("slots.party_size_max >= ", q.PartySize, "integer")
	}
	if !q.Now.IsZero() {
		w.andValue("slots.starts_at > ", dbTime(q.Now), "timestamptz")
	}
	w.scope(s)
	if q.LocalDate != "" {
		w.andValue("slots.local_date = ", q.LocalDate, "text")
	}
	if q.VenueID != "" {
		w.andValue("slots.venue_id = ", q.VenueID, "text")
	}
	if q.City != "" {
		city := strings.ToLower(q.City)
		// slots.city_key is the venue's, kept by the database (migration 00005); on it
		// the search is one range of an index on (city_key, local_date, …) instead of a
		// scan of the date.
		w.andValue("slots.city_key = ", city, "text")
		w.andValue("v.city_key = ", city, "text")
	}
	if q.Cuisine != "" {
		w.andValue("v.cuisine_key = ", strings.ToLower(q.Cuisine), "text")
	}
	if q.TimeFrom != "" {
		w.andValue("slots.local_time >= ", q.TimeFrom, "text")
	}
	if q.TimeTo != "" {
		w.andValue("slots.local_time <= ", q.TimeTo, "text")
	}
	w.dayBounds(q)
	if q.SeatingArea != "" {
		w.andValue("slots.seating_area = ", q.SeatingArea, "text")
	}
	if q.Type != "" {
		w.andValue("slots.type = ", q.Type, "text")
	}
}

// dayBounds writes conditions that follow from q's other filters and let one city's day be
// searched as a range of the ordered city indexes rather than walked from midnight:
//
//   - PostgreSQL: the first and the last wall time of the day at which the city has an
//     open slot of q's type, party and window (slot_day_counts, migration 00025: a few
//     rows a day, whatever the venues), in each zone the city's venues use (city_zones,
//     migration 00024), bound starts_at. A wall time L on date d is the instant
//     midnight + L, less the day's clock change when L is after it; so
//     min(midnight, next midnight - 24 h) + first is at or before every slot from
//     `first` on, and max(…) + last + 1 minute after every slot up to `last` (local_time
//     is the minute a slot starts in), across DST days too. Without such a slot the
//     bounds are NULL and the search ends before it reads a row; without the counts, a
//     party no table of the type seats read every slot of the type that day (20,000 at
//     20,000 venues), and a search whose first match starts at 22:00 every slot before
//     it. The counts are of open slots, pool or allocation, so they only narrow the range
//     read; the conditions on the slots themselves stay.
//   - SQLite: when no slot of the city that day seats the party, one probe of the index
//     on (city_key, local_date, party_size_max), evaluated once, ends the search.
func (w *sqlText) dayBounds(q SlotQuery) {
	if q.City == "" || q.LocalDate == "" {
		return
	}
	city := strings.ToLower(q.City)
	if w.dialect != DialectPostgres {
		if q.PartySize > 0 {
			w.b.WriteString(" AND ")
			w.arg(q.PartySize)
			w.b.WriteString(" <= (SELECT max(p.party_size_max) FROM slots p WHERE p.city_key = ")
			w.arg(city)
			w.b.WriteString(" AND p.local_date = ")
			w.arg(q.LocalDate)
			w.b.WriteString(")")
		}
		return
	}
	w.b.WriteString(" AND slots.starts_at >= (SELECT min(LEAST(")
	w.zoneMidnights(q.LocalDate)
	w.b.WriteString(") + (")
	w.countedTime("min", q, city)
	w.b.WriteString("::time - time '00:00')) FROM city_zones z WHERE z.city_key = ")
	w.arg(city)
	w.b.WriteString(") AND slots.starts_at < (SELECT max(GREATEST(")
	w.zoneMidnights(q.LocalDate)
	w.b.WriteString(") + (")
	w.countedTime("max", q, city)
	w.b.WriteString("::time - time '00:00') + interval '1 minute') FROM city_zones z WHERE z.city_key = ")
	w.arg(city)
	w.b.WriteString(")")
}

// countedTime writes a subquery for the first (agg "min") or last ("max") wall time of q's
// date at which slot_day_counts has open slots in city matching q's party, type and
// window; NULL if it has none.
func (w *sqlText) countedTime(agg string, q SlotQuery, city string) {
	w.b.WriteString("(SELECT " + agg + "(c.local_time) FROM slot_day_counts c WHERE c.city_key = ")
	w.arg(city)
	w.and("c.local_date = ", q.LocalDate)
	w.b.WriteString(" AND c.open_slots > 0")
	if q.PartySize > 0 {
		w.and("c.party_size_min <= ", q.PartySize)
		w.and("c.party_size_max >= ", q.PartySize)
	}
	if q.Type != "" {
		w.and("c.type = ", q.Type)
	}
	if q.TimeFrom != "" {
		w.and("c.local_time >= ", q.TimeFrom)
	}
	if q.TimeTo != "" {
		w.and("c.local_time <= ", q.TimeTo)
	}
	w.b.WriteString(")")
}

// zoneMidnights writes the two instants a day's wall times are counted from in zone
// z.time_zone: its midnight, and its next midnight less 24 hours.
func (w *sqlText) zoneMidnights(date string) {
	w.b.WriteString("(")
	w.arg(date)
	w.b.WriteString("::date)::timestamp AT TIME ZONE z.time_zone, ((")
	w.arg(date)
	w.b.WriteString("::date + 1)::timestamp AT TIME ZONE z.time_zone) - interval '24 hours'")
}

// sqlText builds a statement with its arguments, in the placeholders of the dialect.
type sqlText struct {
	dialect string
	// onePlan makes value write its placeholder as a scalar subquery on PostgreSQL: see
	// searchSlotsSQL.
	onePlan bool
	b       strings.Builder
	args    []any
}

// arg appends v as the next argument and writes its placeholder.
func (w *sqlText) arg(v any) {
	w.args = append(w.args, v)
	if w.dialect == DialectPostgres {
		w.b.WriteString("$" + strconv.Itoa(len(w.args)))
		return
	}
	w.b.WriteString("?")
}

// idIn writes that column is one of ids: on PostgreSQL "column = ANY($n)" with the ids as
// one text[] argument, so the statement's text is the same for any number of ids (each
// text is prepared and planned anew on every connection); on SQLite "column IN (?, …)".
func (w *sqlText) idIn(column string, ids []string) {
	w.b.WriteString(column)
	if w.dialect == DialectPostgres {
		w.b.WriteString(" = ANY(")
		w.arg(textArray(ids))
		w.b.WriteString(")")
		return
	}
	w.b.WriteString(" IN (")
	for i, id := range ids {
		if i > 0 {
			w.b.WriteString(", ")
		}
		w.arg(id)
	}
	w.b.WriteString(")")
}

// and writes " AND " cond followed by v's placeholder.
func (w *sqlText) and(cond string, v any) {
	w.b.WriteString(" AND ")
	w.b.WriteString(cond)
	w.arg(v)
}

// andValue writes " AND " cond followed by v as value writes it.
func (w *sqlText) andValue(cond string, v any, typ string) {
	w.b.WriteString(" AND ")
	w.b.WriteString(cond)
	w.value(v, typ)
}

// value appends v as the next argument. With onePlan on PostgreSQL it writes the
// placeholder as (SELECT $n::typ), evaluated once before the scan (an InitPlan) and still
// usable as an index bound, whose value the planner does not see, so that a custom plan
// costs what the generic plan does (see searchSlotsSQL); otherwise it writes arg's.
func (w *sqlText) value(v any, typ string) {
	if !w.onePlan || w.dialect != DialectPostgres {
		w.arg(v)
		return
	}
	w.b.WriteString("(SELECT ")
	w.arg(v)
	w.b.WriteString("::" + typ + ")")
}

// scope restricts slots to the venues s may see, as inScope does for GORM.
func (w *sqlText) scope(s Scope) {
	if s.AllVenues {
		return
	}
	w.b.WriteString(" AND slots.venue_id IN (SELECT pv.venue_id FROM partner_venues pv WHERE pv.partner_id = ")
	w.arg(s.PartnerID)
	w.b.WriteString(")")
}

// NearbySlots returns up to n bookable slots of the venue (open, a table left, taking
// partySize, starting after now), other than excludeID, whose start is nearest to around,
// each with its Venue, ordered by starts_at. It is for offering alternatives when a slot
// is gone.
func (db *DB) NearbySlots(ctx context.Context, s Scope, venueID string, around time.Time, partySize, n int, excludeID string, now time.Time) ([]Slot, error) {
	if n <= 0 {
		return nil, nil
	}
	around = dbTime(around)
	base := func() *gorm.DB {
		g := db.q(ctx).Model(&Slot{}).InnerJoins("Venue").
			Scopes(inScope(s, "slots.venue_id"), bookable(s.PartnerID, partySize, now)).
			Where("slots.venue_id = ?", venueID)
		if excludeID != "" {
			g = g.Where("slots.id <> ?", excludeID)
		}
		return g
	}
	// The n nearest are among the n first at or after `around` and the n last before it;
	// two indexed range scans instead of a dialect-specific ORDER BY abs(…).
	var after, before []Slot
	if err := base().Where("slots.starts_at >= ?", around).
		Order("slots.starts_at, slots.id").Limit(n).Find(&after).Error; err != nil {
		return nil, wrap("nearby slots", err)
	}
	if err := base().Where("slots.starts_at < ?", around).
		Order("slots.starts_at DESC, slots.id DESC").Limit(n).Find(&before).Error; err != nil {
		return nil, wrap("nearby slots", err)
	}
	all := append(after, before...)
	dist := func(t time.Time) time.Duration {
		if d := t.Sub(around); d >= 0 {
			return d
		}
		return around.Sub(t)
	}
	// Nearest first; on a tie the earlier slot wins.
	sort.SliceStable(all, func(i, j int) bool {
		di, dj := dist(all[i].StartsAt), dist(all[j].StartsAt)
		if di != dj {
			return di < dj
		}
		return all[i].StartsAt.Before(all[j].StartsAt)
	})
	if len(all) > n {
		all = all[:n]
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].StartsAt.Equal(all[j].StartsAt) {
			return all[i].StartsAt.Before(all[j].StartsAt)
		}
		return all[i].ID < all[j].ID
	})
	return all, nil
}

// InsertVenues inserts venues in batches, in one transaction.
func (db *DB) InsertVenues(ctx context.Context, vs []Venue) error {
	if len(vs) == 0 {
		return nil
	}
	rows := make([]Venue, len(vs))
	for i, v := range vs {
		v.CreatedAt = dbTime(v.CreatedAt)
		rows[i] = v
	}
	err := db.q(ctx).Transaction(func(g *gorm.DB) error {
		return g.CreateInBatches(rows, insertBatch).Error
	})
	return wrap("insert venues", err)
}

// InsertSlots inserts slots in batches, in one transaction. The Venue field is ignored.
func (db *DB) InsertSlots(ctx context.Context, ss []Slot) error {
	if len(ss) == 0 {
		return nil
	}
	rows := make([]Slot, len(ss))
	for i, s := range ss {
		s.StartsAt = dbTime(s.StartsAt)
		s.CreatedAt = dbTime(s.CreatedAt)
		s.UpdatedAt = dbTime(s.UpdatedAt)
		s.Venue = Venue{}
		rows[i] = s
	}
	err := db.q(ctx).Transaction(func(g *gorm.DB) error {
		return g.Omit(clause.Associations).CreateInBatches(rows, insertBatch).Error
	})
	return wrap("insert slots", err)
}

// CountVenues counts every venue (to tell whether the catalog was seeded).
func (db *DB) CountVenues(ctx context.Context) (int64, error) {
	var n int64
	if err := db.q(ctx).Model(&Venue{}).Count(&n).Error; err != nil {
		return 0, wrap("count venues", err)
	}
	return n, nil
}
