#!/usr/bin/env bash
# Wait for the CI PostgreSQL and (re)create an empty test database.
#
# Usage: scripts/ci/postgres.sh [DBNAME]            (default: prima_ci)
# Env:   PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), PG_WAIT_SECONDS (60)
# Prints the database URL on stdout, so a caller can do:
#   export PRIMA_TEST_DATABASE_URL="$(scripts/ci/postgres.sh prima_ci)"
set -euo pipefail

# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

db="${1:-prima_ci}"
if [[ ! "$db" =~ ^[a-z_][a-z0-9_]*$ ]]; then
	log "postgres: invalid database name: $db"
	exit 2
fi
host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
wait_seconds="${PG_WAIT_SECONDS:-60}"

command -v psql >/dev/null || {
	log "postgres: psql not found (apt-get install -y postgresql-client)"
	exit 1
}

psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d postgres "$@"
}

log "postgres: waiting for $user@$host:$port (up to ${wait_seconds}s)"
ready=""
for ((i = 0; i < wait_seconds * 2; i++)); do
	if psql_admin -c 'SELECT 1' >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.5
done
if [[ -z "$ready" ]]; then
	log "postgres: not ready after ${wait_seconds}s:"
	psql_admin -c 'SELECT 1' >&2 || true
	exit 1
fi
log "postgres: $(psql_admin -At -c 'SHOW server_version') is up"

log "postgres: recreating database $db"
psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null ||
	psql_admin -c "DROP DATABASE IF EXISTS $db"
psql_admin -c "CREATE DATABASE $db"

printf 'postgres://%s@%s:%s/%s?sslmode=disable\n' "$user" "$host" "$port" "$db"
