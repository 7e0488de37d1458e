-- Per city, local date, start time, type and party range: how many slots are open and how
-- many of those have a table left in the shared pool, kept by triggers on slots in the
-- transaction of every change. A city's availability calendar (store/calendar.go) sums
-- these rows instead of grouping every slot of the city over the range: at 2,000 venues a
-- 31-day city calendar read about 250,000 slots; it now reads a few rows per day.
--
-- Inserts and deletes are counted per statement (transition tables: a seed of a million
-- slots is one aggregate, not a million upserts). An update is counted per row, and only
-- when it changes what is counted: a hold that leaves a table free, like most writes to a
-- slot, does not touch this table.
--
-- The backfill reads every slot once, inside this migration's transaction, while CREATE
-- TRIGGER's SHARE ROW EXCLUSIVE lock holds writes to slots back (a few seconds per
-- million slots).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '60s';
CREATE TABLE slot_day_counts (
    city_key       text COLLATE "C" NOT NULL,
    local_date     text COLLATE "C" NOT NULL,
    local_time     text COLLATE "C" NOT NULL,
    type           text             NOT NULL,
    party_size_min integer          NOT NULL,
    party_size_max integer          NOT NULL,
    open_slots     integer          NOT NULL DEFAULT 0,
    bookable_slots integer          NOT NULL DEFAULT 0,
    PRIMARY KEY (city_key, local_date, local_time, type, party_size_min, party_size_max)
);

-- +goose StatementBegin
CREATE FUNCTION slot_day_counts_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO slot_day_counts AS c (city_key, local_date, local_time, type, party_size_min, party_size_max, open_slots, bookable_slots)
        SELECT n.city_key, n.local_date, n.local_time, n.type, n.party_size_min, n.party_size_max,
            count(*) FILTER (WHERE n.status = 'open'),
            count(*) FILTER (WHERE n.status = 'open' AND n.tables_taken + n.tables_reserved < n.tables)
        FROM new_rows n GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (city_key, local_date, local_time, type, party_size_min, party_size_max) DO UPDATE
            SET open_slots = c.open_slots + EXCLUDED.open_slots, bookable_slots = c.bookable_slots + EXCLUDED.bookable_slots;
    ELSE
        UPDATE slot_day_counts c SET open_slots = c.open_slots - d.open_slots, bookable_slots = c.bookable_slots - d.bookable_slots
        FROM (SELECT o.city_key, o.local_date, o.local_time, o.type, o.party_size_min, o.party_size_max,
                count(*) FILTER (WHERE o.status = 'open') AS open_slots,
                count(*) FILTER (WHERE o.status = 'open' AND o.tables_taken + o.tables_reserved < o.tables) AS bookable_slots
            FROM old_rows o GROUP BY 1, 2, 3, 4, 5, 6) d
        WHERE (c.city_key, c.local_date, c.local_time, c.type, c.party_size_min, c.party_size_max)
            = (d.city_key, d.local_date, d.local_time, d.type, d.party_size_min, d.party_size_max);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION slot_day_counts_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE slot_day_counts c
        SET open_slots = c.open_slots - (OLD.status = 'open')::int,
            bookable_slots = c.bookable_slots - (OLD.status = 'open' AND OLD.tables_taken + OLD.tables_reserved < OLD.tables)::int
        WHERE (c.city_key, c.local_date, c.local_time, c.type, c.party_size_min, c.party_size_max)
            = (OLD.city_key, OLD.local_date, OLD.local_time, OLD.type, OLD.party_size_min, OLD.party_size_max);
    INSERT INTO slot_day_counts AS c (city_key, local_date, local_time, type, party_size_min, party_size_max, open_slots, bookable_slots)
        VALUES (NEW.city_key, NEW.local_date, NEW.local_time, NEW.type, NEW.party_size_min, NEW.party_size_max,
            (NEW.status = 'open')::int,
            (NEW.status = 'open' AND NEW.tables_taken + NEW.tables_reserved < NEW.tables)::int)
        ON CONFLICT (city_key, local_date, local_time, type, party_size_min, party_size_max) DO UPDATE
            SET open_slots = c.open_slots + EXCLUDED.open_slots, bookable_slots = c.bookable_slots + EXCLUDED.bookable_slots;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER slot_day_counts_insert AFTER INSERT ON slots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION slot_day_counts_statement();
CREATE TRIGGER slot_day_counts_delete AFTER DELETE ON slots
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION slot_day_counts_statement();
CREATE TRIGGER slot_day_counts_update AFTER UPDATE ON slots FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR (OLD.tables_taken + OLD.tables_reserved < OLD.tables) IS DISTINCT FROM (NEW.tables_taken + NEW.tables_reserved < NEW.tables)
        OR OLD.city_key IS DISTINCT FROM NEW.city_key OR OLD.local_date IS DISTINCT FROM NEW.local_date
        OR OLD.local_time IS DISTINCT FROM NEW.local_time OR OLD.type IS DISTINCT FROM NEW.type
        OR OLD.party_size_min IS DISTINCT FROM NEW.party_size_min OR OLD.party_size_max IS DISTINCT FROM NEW.party_size_max)
    EXECUTE FUNCTION slot_day_counts_row();

INSERT INTO slot_day_counts (city_key, local_date, local_time, type, party_size_min, party_size_max, open_slots, bookable_slots)
    SELECT city_key, local_date, local_time, type, party_size_min, party_size_max,
        count(*) FILTER (WHERE status = 'open'),
        count(*) FILTER (WHERE status = 'open' AND tables_taken + tables_reserved < tables)
    FROM slots GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
SET LOCAL lock_timeout = '2s';
DROP TRIGGER slot_day_counts_update ON slots;
DROP TRIGGER slot_day_counts_delete ON slots;
DROP TRIGGER slot_day_counts_insert ON slots;
DROP FUNCTION slot_day_counts_row();
DROP FUNCTION slot_day_counts_statement();
-- squawk-ignore ban-drop-table
DROP TABLE slot_day_counts;
