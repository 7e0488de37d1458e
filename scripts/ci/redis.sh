#!/usr/bin/env bash
# Debian's redis-server, for the tests of the rate limits shared in Redis
# (PRIMA_REDIS_URL) and for running several `prima serve` by hand.
#
# Usage: scripts/ci/redis.sh install   install Debian's redis-server when it is missing
#                                      (apt-get, as root); print the binary's path
#        scripts/ci/redis.sh [start]   install if needed, start one on loopback, wait
#                                      until it answers PING; print its redis:// URL
#        scripts/ci/redis.sh stop      stop the one that `start` started
# Env:   REDIS_PORT (16379), REDIS_WAIT_SECONDS (30),
#        REDIS_PIDFILE (${TMPDIR:-/tmp}/prima-redis-PORT.pid)
#
# The Go tests do not need `start`: each one runs a redis-server of its own on a free
# loopback port (internal/ratelimit/redistest), so that it can stop and restart it and
# sees no other test's keys. CI only needs the binary:
#   export PRIMA_TEST_REDIS_SERVER="$(scripts/ci/redis.sh install)"
# By hand:
#   export PRIMA_REDIS_URL="$(scripts/ci/redis.sh start)"
# The server started keeps nothing on disk (no RDB, no AOF). When a Redis already
# answers on the port it is used as it is, and `stop` leaves it alone. Anything else on
# the port is an error.
set -euo pipefail

# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port="${REDIS_PORT:-16379}"
wait_seconds="${REDIS_WAIT_SECONDS:-30}"
pidfile="${REDIS_PIDFILE:-${TMPDIR:-/tmp}/prima-redis-$port.pid}"
url="redis://127.0.0.1:$port/0"

# listening: whether something accepts connections on 127.0.0.1:$port.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# is_redis: whether what listens on the port answers PING like Redis (plain bash, so
# that redis-cli need not be installed).
is_redis() {
	local reply
	reply="$(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
		printf 'PING\r\n' >&3
		timeout 2 head -c 7 <&3 || true
	)" 2>/dev/null || true
	[[ "$reply" == "+PONG"* ]]
}

# our_pid: the PID in the pidfile, if that process is still a redis-server.
our_pid() {
	local pid
	[[ -s "$pidfile" ]] || return 1
	pid="$(<"$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

install_redis() {
	local bin
	if bin="$(command -v redis-server)"; then
		log "redis: $("$bin" --version | head -n 1) at $bin"
	else
		log "redis: installing Debian's redis-server"
		# The package's own service is not needed: the tests start their own servers.
		# (In a container without an init system nothing starts it anyway.)
		apt-get update >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >&2
		bin="$(command -v redis-server)"
		log "redis: installed $("$bin" --version | head -n 1)"
	fi
	printf '%s\n' "$bin"
}

stop() {
	local pid i
	if ! pid="$(our_pid)"; then
		rm -f "$pidfile"
		return 0
	fi
	log "redis: stopping pid $pid"
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

start() {
	local bin logfile pid i
	if listening; then
		if is_redis; then
			log "redis: already answering on $url; using it"
			printf '%s\n' "$url"
			return 0
		fi
		log "redis: something that is not Redis listens on 127.0.0.1:$port (set REDIS_PORT)"
		return 1
	fi
	bin="$(install_redis)"
	logfile="${pidfile%.pid}.log"
	log "redis: starting on $url (log: $logfile)"
	# Detached from our stdout, so that a caller's $(…) does not wait for it.
	"$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "${TMPDIR:-/tmp}" --logfile "$logfile" </dev/null >/dev/null 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	for ((i = 0; i < wait_seconds * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "redis: exited during start-up:"
			cat "$logfile" >&2 || true
			rm -f "$pidfile"
			return 1
		fi
		if listening && is_redis; then
			log "redis: up (pid $pid)"
			printf '%s\n' "$url"
			return 0
		fi
		sleep 0.1
	done
	log "redis: no answer on $url after ${wait_seconds}s:"
	cat "$logfile" >&2 || true
	stop
	return 1
}

case "${1:-start}" in
install) install_redis ;;
start) start ;;
stop) stop ;;
*)
	log "usage: $0 [install|start|stop]"
	exit 2
	;;
esac
