-- Per-process caches of search answers (issue 16): every change of a slot notifies
-- prima_invalidate with 'slots:<city_key>/<local_date>' from inside its own transaction,
-- as migration 00013's triggers do for tokens and venues, so that each serving process
-- drops the answers of that city and day when, and only if, the change commits, whoever
-- made it. Inserts and deletes (a schedule's days, a venue's slots removed) notify once
-- per city and day of the statement; an update (a table taken or given back, a slot
-- closed or edited) notifies for its row, before and after if it moved. PostgreSQL sends
-- a transaction's identical notices once. TRUNCATE is already announced as 'all'
-- (00013 covers venues; slots gets its own statement trigger here).
--
-- A process of an earlier release reads 'slots:' as a notice it does not know and drops
-- all its caches; it keeps serving, from the database, until it is replaced.
--
-- New triggers and a function: nothing is rewritten; CREATE TRIGGER takes a brief
-- SHARE ROW EXCLUSIVE lock on slots, bounded by lock_timeout.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- +goose StatementBegin
CREATE FUNCTION prima_slots_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'ROW' THEN
		-- An update: the row's city and day, and its old ones if they changed.
		PERFORM pg_notify('prima_invalidate', 'slots:' || coalesce(NEW.city_key, '') || '/' || NEW.local_date);
		IF OLD.city_key IS DISTINCT FROM NEW.city_key OR OLD.local_date IS DISTINCT FROM NEW.local_date THEN
			PERFORM pg_notify('prima_invalidate', 'slots:' || coalesce(OLD.city_key, '') || '/' || OLD.local_date);
		END IF;
	ELSIF TG_OP = 'INSERT' THEN
		PERFORM pg_notify('prima_invalidate', 'slots:' || coalesce(d.city_key, '') || '/' || d.local_date)
		FROM (SELECT DISTINCT city_key, local_date FROM new_rows) d;
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('prima_invalidate', 'slots:' || coalesce(d.city_key, '') || '/' || d.local_date)
		FROM (SELECT DISTINCT city_key, local_date FROM old_rows) d;
	ELSE
		PERFORM pg_notify('prima_invalidate', 'all:' || TG_TABLE_NAME);
	END IF;
	RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER slots_invalidate_insert AFTER INSERT ON slots
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION prima_slots_invalidate();
CREATE TRIGGER slots_invalidate_update AFTER UPDATE ON slots
	FOR EACH ROW EXECUTE FUNCTION prima_slots_invalidate();
CREATE TRIGGER slots_invalidate_delete AFTER DELETE ON slots
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION prima_slots_invalidate();
CREATE TRIGGER slots_invalidate_all AFTER TRUNCATE ON slots
	FOR EACH STATEMENT EXECUTE FUNCTION prima_slots_invalidate();

-- +goose Down
-- A binary that caches search answers needs these triggers: roll it back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
DROP TRIGGER slots_invalidate_all ON slots;
DROP TRIGGER slots_invalidate_delete ON slots;
DROP TRIGGER slots_invalidate_update ON slots;
DROP TRIGGER slots_invalidate_insert ON slots;
DROP FUNCTION prima_slots_invalidate();
