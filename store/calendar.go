package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// CalendarDay is one local date of AvailabilityCalendar: Slots open slots match the
// query (taking the party, not yet started), Bookable of them have a table left for the
// partner, starting between FirstTime and LastTime (HH:MM, empty when none is bookable).
type CalendarDay struct {
	LocalDate string
	Slots     int
	Bookable  int
	FirstTime string
	LastTime  string
}

// AvailabilityCalendar counts, per local date from through to (inclusive, YYYY-MM-DD),
// the slots that match q (q.LocalDate is ignored) and those bookable, with the same
// predicates as SearchSlots (tableLeft, slotFilters). Dates without a matching slot are
// left out. It is one GROUP BY over the same index range a day's search reads.
func (db *DB) AvailabilityCalendar(ctx context.Context, s Scope, q SlotQuery, from, to string) ([]CalendarDay, error) {
	cut, ok, err := db.dayCountsServe(ctx, s, q, from, to)
	if err != nil {
		return nil, wrap("availability calendar", err)
	}
	if ok {
		return db.calendarFromCounts(ctx, q, from, to, cut)
	}
	text, args := calendarSQL(db.dialect, s, q, from, to)
	rows, err := db.sql.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, wrap("availability calendar", err)
	}
	defer rows.Close()
	var out []CalendarDay
	for rows.Next() {
		var (
			d           CalendarDay
			first, last sql.NullString
		)
		if err := rows.Scan(&d.LocalDate, &d.Slots, &d.Bookable, &first, &last); err != nil {
			return nil, wrap("availability calendar", err)
		}
		d.FirstTime, d.LastTime = first.String, last.String
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("availability calendar", err)
	}
	return out, nil
}

// AvailabilityCalendarStatement returns the SQL text and arguments of AvailabilityCalendar,
// not run, for EXPLAIN and the benchmark.
func (db *DB) AvailabilityCalendarStatement(s Scope, q SlotQuery, from, to string) (string, []any) {
	return calendarSQL(db.dialect, s, q, from, to)
}

func calendarSQL(dialect string, s Scope, q SlotQuery, from, to string) (string, []any) {
	q.LocalDate = ""
	w := sqlText{dialect: dialect}
	bookable := func() {
		w.b.WriteString("CASE WHEN ")
		w.tableLeft(s.PartnerID, q.Now)
	}
	w.b.WriteString("SELECT slots.local_date, COUNT(*), SUM(")
	bookable()
	w.b.WriteString(" THEN 1 ELSE 0 END), MIN(")
	bookable()
	w.b.WriteString(" THEN slots.local_time END), MAX(")
	bookable()
	w.b.WriteString(" THEN slots.local_time END) FROM slots JOIN venues v ON v.id = slots.venue_id WHERE slots.status = ")
	w.arg(slotOpen)
	w.slotFilters(s, q)
	w.and("slots.local_date >= ", from)
	w.and("slots.local_date <= ", to)
	if day, err := time.Parse(time.DateOnly, to); err == nil && q.VenueID != "" {
		// A start on local date `to` is before the UTC midnight two days later in every
		// time zone: a bound the (venue_id, starts_at) index can range over.
		w.and("slots.starts_at < ", day.AddDate(0, 0, 2))
	}
	w.b.WriteString(" GROUP BY slots.local_date ORDER BY slots.local_date")
	return w.b.String(), w.args
}

// NextBookableDate returns the first local date after `after`, up to `until` inclusive,
// with a slot matching q (q.LocalDate is ignored) that has a table left for the partner;
// "" if there is none.
func (db *DB) NextBookableDate(ctx context.Context, s Scope, q SlotQuery, after, until string) (string, error) {
	q.LocalDate = ""
	cut, ok, err := db.dayCountsServe(ctx, s, q, after, until)
	if err != nil {
		return "", wrap("next bookable date", err)
	}
	if ok {
		w := sqlText{dialect: db.dialect}
		w.b.WriteString("SELECT min(c.local_date) FROM slot_day_counts c WHERE c.bookable_slots > 0")
		w.dayCounts(q, after, until, cut)
		w.b.WriteString(" AND c.local_date > ")
		w.arg(after)
		var d sql.NullString
		if err := db.sql.QueryRowContext(ctx, w.b.String(), w.args...).Scan(&d); err != nil {
			return "", wrap("next bookable date", err)
		}
		return d.String, nil
	}
	w := sqlText{dialect: db.dialect}
	w.b.WriteString("SELECT slots.local_date FROM slots JOIN venues v ON v.id = slots.venue_id WHERE slots.status = ")
	w.arg(slotOpen)
	w.b.WriteString(" AND ")
	w.tableLeft(s.PartnerID, q.Now)
	w.slotFilters(s, q)
	w.and("slots.local_date > ", after)
	w.and("slots.local_date <= ", until)
	w.b.WriteString(" ORDER BY slots.local_date LIMIT 1")
	var d string
	err = db.sql.QueryRowContext(ctx, w.b.String(), w.args...).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", wrap("next bookable date", err)
	}
	return d, nil
}

// SlotStanding is a slot of LookupSlots with whether it is bookable for the party now.
type SlotStanding struct {
	Slot
	Bookable bool
}

// LookupSlots returns the slots among ids that s may see, each with its venue and whether
// it is bookable for a party of partySize at now by the predicates of SearchSlots. Unknown
// ids and those of venues s may not see are left out; the order is not the order asked.
func (db *DB) LookupSlots(ctx context.Context, s Scope, ids []string, partySize int, now time.Time) ([]SlotStanding, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	w := sqlText{dialect: db.dialect}
	w.b.WriteString("SELECT slots.id, CASE WHEN slots.status = ")
	w.arg(slotOpen)
	w.b.WriteString(" AND ")
	w.tableLeft(s.PartnerID, now)
	w.and("slots.party_size_min <= ", partySize)
	w.and("slots.party_size_max >= ", partySize)
	w.and("slots.starts_at > ", dbTime(now))
	w.b.WriteString(" THEN 1 ELSE 0 END FROM slots WHERE ")
	w.idIn("slots.id", ids)
	w.scope(s)
	rows, err := db.sql.QueryContext(ctx, w.b.String(), w.args...)
	if err != nil {
		return nil, wrap("lookup slots", err)
	}
	bookable := map[string]bool{}
	for rows.Next() {
		var (
			id string
			b  int
		)
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return nil, wrap("lookup slots", err)
		}
		bookable[id] = b == 1
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("lookup slots", err)
	}
	if len(bookable) == 0 {
		return nil, nil
	}
	found := make([]string, 0, len(bookable))
	for id := range bookable {
		found = append(found, id)
	}
	var slots []Slot
	if err := db.q(ctx).InnerJoins("Venue").Where(idIn(db.dialect, "slots.id", found)).Order("slots.id").Find(&slots).Error; err != nil {
		return nil, wrap("lookup slots", err)
	}
	out := make([]SlotStanding, 0, len(slots))
	for _, sl := range slots {
		out = append(out, SlotStanding{Slot: sl, Bookable: bookable[sl.ID]})
	}
	return out, nil
}

// dayCut is the local date and time at q.Now in a city's one time zone: slots of earlier
// dates, and of that date at or before that time, have started.
type dayCut struct {
	date, time string
}

// dayCountsServe reports whether a calendar (or next-date) query can be answered from
// slot_day_counts (migration 00025, PostgreSQL): a city's calendar, unfiltered by venue,
// cuisine or seating area (the counts are not kept per venue), for a partner that may sell
// every venue and holds no live allocation there (the counts are of the shared pool), in a
// city whose venues share one time zone (so "not started yet" is a local date and time).
// Anything else is counted from the slots themselves.
func (db *DB) dayCountsServe(ctx context.Context, s Scope, q SlotQuery, from, to string) (dayCut, bool, error) {
	if db.dialect != DialectPostgres || q.City == "" || q.VenueID != "" || q.Cuisine != "" || q.SeatingArea != "" || !s.AllVenues {
		return dayCut{}, false, nil
	}
	city := strings.ToLower(q.City)
	// One round trip: the city's zones (two are enough to know it has more than one) and
	// whether the partner holds a live allocation there in the range.
	var (
		zones int
		zone  sql.NullString
		held  bool
	)
	err := db.sql.QueryRowContext(ctx, "SELECT count(*), min(z.time_zone), EXISTS (SELECT 1 FROM slot_allocations sa "+
		"JOIN slots ON slots.id = sa.slot_id WHERE sa.partner_id = $1 AND sa.released = false AND sa.release_at > $2 "+
		"AND slots.city_key = $3 AND slots.local_date >= $4 AND slots.local_date <= $5) "+
		"FROM (SELECT time_zone FROM city_zones WHERE city_key = $3 LIMIT 2) z",
		s.PartnerID, dbTime(q.Now), city, from, to).Scan(&zones, &zone, &held)
	if err != nil || zones != 1 || held {
		return dayCut{}, false, err
	}
	loc, err := time.LoadLocation(zone.String)
	if err != nil {
		return dayCut{}, false, nil //nolint:nilerr // a zone Go does not know: count the slots instead
	}
	var cut dayCut
	if !q.Now.IsZero() {
		local := q.Now.In(loc)
		cut = dayCut{date: local.Format(time.DateOnly), time: local.Format("15:04")}
	}
	return cut, true, nil
}

// calendarFromCounts is AvailabilityCalendar from slot_day_counts: a few rows per day of
// the range (one per start time, type and party range) instead of every slot.
func (db *DB) calendarFromCounts(ctx context.Context, q SlotQuery, from, to string, cut dayCut) ([]CalendarDay, error) {
	w := sqlText{dialect: db.dialect}
	w.b.WriteString("SELECT c.local_date, sum(c.open_slots), sum(c.bookable_slots), " +
		"min(c.local_time) FILTER (WHERE c.bookable_slots > 0), max(c.local_time) FILTER (WHERE c.bookable_slots > 0) " +
		"FROM slot_day_counts c WHERE true")
	w.dayCounts(q, from, to, cut)
	w.b.WriteString(" GROUP BY c.local_date HAVING sum(c.open_slots) > 0 ORDER BY c.local_date")
	rows, err := db.sql.QueryContext(ctx, w.b.String(), w.args...)
	if err != nil {
		return nil, wrap("availability calendar", err)
	}
	defer rows.Close()
	var out []CalendarDay
	for rows.Next() {
		var (
			d           CalendarDay
			first, last sql.NullString
		)
		if err := rows.Scan(&d.LocalDate, &d.Slots, &d.Bookable, &first, &last); err != nil {
			return nil, wrap("availability calendar", err)
		}
		d.FirstTime, d.LastTime = first.String, last.String
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("availability calendar", err)
	}
	return out, nil
}

// dayCounts writes the conditions on slot_day_counts c of a city query q over local dates
// from through to, of slots that have not started at cut.
func (w *sqlText) dayCounts(q SlotQuery, from, to string, cut dayCut) {
	w.and("c.city_key = ", strings.ToLower(q.City))
	w.and("c.local_date >= ", max(from, cut.date))
	w.and("c.local_date <= ", to)
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
	if cut.date != "" {
		w.b.WriteString(" AND (c.local_date > ")
		w.arg(cut.date)
		w.b.WriteString(" OR c.local_time > ")
		w.arg(cut.time)
		w.b.WriteString(")")
	}
}
