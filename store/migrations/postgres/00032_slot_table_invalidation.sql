-- Search answers dropped by the slot, not by the day (issue 16): a table taken, or given
-- back to a slot that had one left, changes only the answers that list that slot (or
-- whose next page starts with it). Until now every such update notified its whole city
-- and day ('slots:<city_key>/<local_date>'), and each hold and cancel dropped every
-- cached answer of the day in every process.
--
-- An update that changes tables_taken (and updated_at) and nothing else, and either takes
-- a table or gives one back to a shared pool that still had one, now notifies
-- 'slot:<local_date>/<slot_id>/<city_key>' (store.ChangeSlot). Every other update
-- notifies as before: a full slot's table given back (it joins answers that did not list
-- it), an allocation's tables, any edit. Inserts, deletes and TRUNCATE are unchanged.
--
-- A process of an earlier release reads 'slot:' as a notice it does not know and drops
-- all its caches (as 00031's did with 'slots:'); it keeps serving, from the database,
-- until it is replaced.
--
-- The function is replaced in place: the triggers of 00031 call it by name; nothing is
-- rewritten and no lock is taken on slots.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION prima_slots_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	was slots;
BEGIN
	IF TG_LEVEL = 'ROW' THEN
		-- The old row with the new count and stamp: equal to the new row when nothing
		-- else changed.
		was := OLD;
		was.tables_taken := NEW.tables_taken;
		was.updated_at := NEW.updated_at;
		IF was IS NOT DISTINCT FROM NEW AND (NEW.tables_taken >= OLD.tables_taken
				OR OLD.tables_taken + OLD.tables_reserved < OLD.tables) THEN
			PERFORM pg_notify('prima_invalidate', 'slot:' || NEW.local_date || '/' || NEW.id || '/' || coalesce(NEW.city_key, ''));
			RETURN NULL;
		END IF;
		-- Any other update: the row's city and day, and its old ones if they changed.
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

-- +goose Down
-- Back to notifying every update by its city and day (00031), which a binary of this
-- release also understands.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION prima_slots_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'ROW' THEN
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
