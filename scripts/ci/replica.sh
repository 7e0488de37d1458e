#!/usr/bin/env bash
# Start or stop a real streaming replica of the CI PostgreSQL on loopback, for the tests
# of the read replica (PRIMA_DATABASE_READ_URL).
#
# Usage: scripts/ci/replica.sh start [DBNAME]   copy the primary with pg_basebackup -R,
#                                               start it as a hot standby, wait until it
#                                               streams; print the replica's URL for
#                                               DBNAME (default prima_ci) on stdout
#        scripts/ci/replica.sh stop             stop the standby that runs in the data
#                                               directory (whoever started it) and
#                                               delete the directory
# Env:   PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres): the primary;
#        PRIMA_REPLICA_PORT (15433), PRIMA_REPLICA_DIR (${TMPDIR:-/tmp}/prima-replica-PORT),
#        PRIMA_REPLICA_WAIT_SECONDS (60), PG_BINDIR (/usr/lib/postgresql/15/bin)
#
# So a caller can do:
#   export PRIMA_TEST_DATABASE_READ_URL="$(scripts/ci/replica.sh start prima_ci)"
#   trap 'scripts/ci/replica.sh stop' EXIT
#
# The replica copies the whole cluster (every database), so a database created on the
# primary before or after `start` (scripts/ci/postgres.sh) exists on it too. PostgreSQL
# refuses to run as root: when run as root, the server's commands run as the postgres OS
# user (runuser), with the data directory owned by it. The primary's pg_hba.conf gets a
# `host replication all 127.0.0.1/32 trust` line when it has no replication line for
# loopback (and is reloaded); nothing else of the primary changes, and no replication
# slot is left behind (pg_basebackup -X stream uses a temporary one).
set -euo pipefail

# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host="${PGHOST:-127.0.0.1}"
pport="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
port="${PRIMA_REPLICA_PORT:-15433}"
dir="${PRIMA_REPLICA_DIR:-${TMPDIR:-/tmp}/prima-replica-$port}"
wait_seconds="${PRIMA_REPLICA_WAIT_SECONDS:-60}"
bindir="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
logfile="$dir.log"

# as_pg COMMAND…: run a PostgreSQL server command as the postgres OS user when we are root.
as_pg() {
	if [[ "$(id -u)" -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

primary() {
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$pport" -U "$user" -d postgres "$@"
}

replica() {
	psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d postgres "$@"
}

listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ours: whether the server in $dir is running (its postmaster.pid names a live process).
ours() {
	[[ -s "$dir/postmaster.pid" ]] && as_pg "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

stop() {
	if ours; then
		log "replica: stopping the standby on 127.0.0.1:$port ($dir)"
		as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >&2
	fi
	if [[ -d "$dir" ]]; then
		rm -rf "$dir"
	fi
}

# allow_replication: a trust line for replication connections from loopback in the
# primary's pg_hba.conf, unless one is there already.
allow_replication() {
	local hba
	hba="$(primary -c 'SHOW hba_file')"
	if grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|'"$user"')[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
		return 0
	fi
	log "replica: allowing replication from 127.0.0.1 in $hba"
	printf '\n# Added by scripts/ci/replica.sh: the loopback streaming replica of the tests.\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
	primary -c 'SELECT pg_reload_conf()' >/dev/null
}

start() {
	local db="${1:-prima_ci}" i setting value
	if [[ ! "$db" =~ ^[a-z_][a-z0-9_]*$ ]]; then
		log "replica: invalid database name: $db"
		return 2
	fi
	local url
	url="$(printf 'postgres://%s@127.0.0.1:%s/%s?sslmode=disable' "$user" "$port" "$db")"
	if listening "$port"; then
		if [[ "$(replica -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == "t" ]]; then
			log "replica: a standby already listens on 127.0.0.1:$port; using it"
			printf '%s\n' "$url"
			return 0
		fi
		log "replica: something that is not a PostgreSQL standby listens on 127.0.0.1:$port (set PRIMA_REPLICA_PORT)"
		return 1
	fi
	[[ -x "$bindir/postgres" ]] || {
		log "replica: $bindir/postgres not found (set PG_BINDIR)"
		return 1
	}
	allow_replication
	stop # a data directory left by an earlier run
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if [[ "$(id -u)" -eq 0 ]]; then
		chown postgres:postgres "$dir"
	fi
	log "replica: pg_basebackup of $host:$pport into $dir"
	# -R writes standby.signal and primary_conninfo; -X stream copies the WAL written
	# during the copy; -c fast starts at once instead of waiting for a checkpoint.
	as_pg "$bindir/pg_basebackup" -R -D "$dir" -h "$host" -p "$pport" -U "$user" -X stream -c fast >&2

	# Debian keeps the configuration outside the data directory, so the copy has none of
	# its own: a minimal one, with the settings a standby must not have lower than its
	# primary taken from the primary.
	{
		echo "# Written by scripts/ci/replica.sh"
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		echo "hot_standby = on"
		echo "hba_file = '$dir/pg_hba.conf'"
		echo "ident_file = '$dir/pg_ident.conf'"
		for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
			value="$(primary -c "SHOW $setting")"
			echo "$setting = $value"
		done
	} >"$dir/postgresql.conf"
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$dir/pg_hba.conf"
	: >"$dir/pg_ident.conf"
	if [[ "$(id -u)" -eq 0 ]]; then
		chown postgres:postgres "$dir/postgresql.conf" "$dir/pg_hba.conf" "$dir/pg_ident.conf"
		touch "$logfile"
		chown postgres:postgres "$logfile"
	fi

	log "replica: starting the standby on 127.0.0.1:$port (log: $logfile)"
	if ! as_pg "$bindir/pg_ctl" -D "$dir" -l "$logfile" -w -t "$wait_seconds" start >&2; then
		log "replica: the standby did not start:"
		cat "$logfile" >&2 || true
		stop
		return 1
	fi
	for ((i = 0; i < wait_seconds * 10; i++)); do
		if [[ "$(replica -c "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" == "t" ]]; then
			log "replica: streaming from $host:$pport"
			printf '%s\n' "$url"
			return 0
		fi
		sleep 0.1
	done
	log "replica: not streaming after ${wait_seconds}s:"
	cat "$logfile" >&2 || true
	stop
	return 1
}

case "${1:-start}" in
start) start "${2:-prima_ci}" ;;
stop) stop ;;
*)
	log "usage: $0 start [DBNAME] | stop"
	exit 2
	;;
esac
