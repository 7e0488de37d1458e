-- Per-process caches of tokens, partners, operators and venues (issue 16): every change
-- of a cached row notifies the channel prima_invalidate with '<kind>:<id>' from inside
-- its own transaction, so the notice is delivered when, and only if, the change commits,
-- whoever made it (a server, a `prima` command, psql). Every serving process LISTENs
-- (store/invalidate.go) and drops its copies. TRUNCATE notifies 'all:<table>'.
--
-- tokens: only the columns a cache holds; last_used_at, written once a minute per token
-- by every process, notifies nobody.
--
-- New triggers and a function: nothing is rewritten; CREATE TRIGGER takes a brief
-- SHARE ROW EXCLUSIVE lock on each table, bounded by lock_timeout.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- +goose StatementBegin
CREATE FUNCTION prima_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	old_id text;
	new_id text;
BEGIN
	-- TG_ARGV: the kind of change, then the column holding the id it names.
	IF TG_LEVEL = 'STATEMENT' THEN
		PERFORM pg_notify('prima_invalidate', 'all:' || TG_TABLE_NAME);
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		old_id := to_jsonb(OLD) ->> TG_ARGV[1];
		PERFORM pg_notify('prima_invalidate', TG_ARGV[0] || ':' || coalesce(old_id, ''));
	END IF;
	IF TG_OP <> 'DELETE' THEN
		new_id := to_jsonb(NEW) ->> TG_ARGV[1];
		IF TG_OP = 'INSERT' OR new_id IS DISTINCT FROM old_id THEN
			PERFORM pg_notify('prima_invalidate', TG_ARGV[0] || ':' || coalesce(new_id, ''));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tokens_invalidate
	AFTER UPDATE OF hash, scopes, expires_at, revoked_at, partner_id, operator_id OR DELETE ON tokens
	FOR EACH ROW EXECUTE FUNCTION prima_invalidate('token', 'id');
CREATE TRIGGER partners_invalidate
	AFTER UPDATE OR DELETE ON partners
	FOR EACH ROW EXECUTE FUNCTION prima_invalidate('partner', 'id');
CREATE TRIGGER partner_venues_invalidate
	AFTER INSERT OR UPDATE OR DELETE ON partner_venues
	FOR EACH ROW EXECUTE FUNCTION prima_invalidate('partner', 'partner_id');
CREATE TRIGGER operators_invalidate
	AFTER UPDATE OR DELETE ON operators
	FOR EACH ROW EXECUTE FUNCTION prima_invalidate('operator', 'id');
CREATE TRIGGER venues_invalidate
	AFTER UPDATE OR DELETE ON venues
	FOR EACH ROW EXECUTE FUNCTION prima_invalidate('venue', 'id');

CREATE TRIGGER tokens_invalidate_all AFTER TRUNCATE ON tokens
	FOR EACH STATEMENT EXECUTE FUNCTION prima_invalidate('all', '');
CREATE TRIGGER partners_invalidate_all AFTER TRUNCATE ON partners
	FOR EACH STATEMENT EXECUTE FUNCTION prima_invalidate('all', '');
CREATE TRIGGER partner_venues_invalidate_all AFTER TRUNCATE ON partner_venues
	FOR EACH STATEMENT EXECUTE FUNCTION prima_invalidate('all', '');
CREATE TRIGGER operators_invalidate_all AFTER TRUNCATE ON operators
	FOR EACH STATEMENT EXECUTE FUNCTION prima_invalidate('all', '');
CREATE TRIGGER venues_invalidate_all AFTER TRUNCATE ON venues
	FOR EACH STATEMENT EXECUTE FUNCTION prima_invalidate('all', '');

-- +goose Down
-- A binary that caches needs these triggers: roll it back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
DROP TRIGGER venues_invalidate_all ON venues;
DROP TRIGGER operators_invalidate_all ON operators;
DROP TRIGGER partner_venues_invalidate_all ON partner_venues;
DROP TRIGGER partners_invalidate_all ON partners;
DROP TRIGGER tokens_invalidate_all ON tokens;
DROP TRIGGER venues_invalidate ON venues;
DROP TRIGGER operators_invalidate ON operators;
DROP TRIGGER partner_venues_invalidate ON partner_venues;
DROP TRIGGER partners_invalidate ON partners;
DROP TRIGGER tokens_invalidate ON tokens;
DROP FUNCTION prima_invalidate();
