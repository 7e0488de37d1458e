#!/usr/bin/env bash
# Start or stop stripe-mock (Stripe's API answered from its OpenAPI spec, stateless)
# on loopback, for the payments tests that check request shapes against it.
#
# Usage: scripts/ci/stripe-mock.sh [start]   install if needed, start, wait until it
#                                            answers; print its URL on stdout
#        scripts/ci/stripe-mock.sh stop      stop the one that `start` started
# Env:   STRIPE_MOCK_PORT (12111; HTTPS on the next port), STRIPE_MOCK_WAIT_SECONDS (30),
#        STRIPE_MOCK_PIDFILE (${TMPDIR:-/tmp}/prima-stripe-mock-PORT.pid)
#
# So a caller can do:
#   export PRIMA_TEST_STRIPE_MOCK_URL="$(scripts/ci/stripe-mock.sh start)"
#   trap 'scripts/ci/stripe-mock.sh stop' EXIT
# When a stripe-mock already listens on the port it is used as it is, and `stop`
# leaves it alone. Anything else on the port is an error.
set -euo pipefail

# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="v0.203.0"
module="github.com/stripe/stripe-mock"
port="${STRIPE_MOCK_PORT:-12111}"
https_port=$((port + 1))
wait_seconds="${STRIPE_MOCK_WAIT_SECONDS:-30}"
pidfile="${STRIPE_MOCK_PIDFILE:-${TMPDIR:-/tmp}/prima-stripe-mock-$port.pid}"
url="http://127.0.0.1:$port"

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# is_stripe_mock: whether what listens on the HTTP port answers like stripe-mock
# (plain bash, so that curl need not be installed).
is_stripe_mock() {
	local reply
	reply="$(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
		printf 'GET /v1/payment_intents/pi_probe HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_probe\r\n\r\n' >&3
		timeout 5 cat <&3 || true
	)" 2>/dev/null || true
	grep -qi '^Stripe-Mock-Version:' <<<"$reply"
}

# our_pid: the PID in the pidfile, if that process is still a stripe-mock.
our_pid() {
	local pid
	[[ -s "$pidfile" ]] || return 1
	pid="$(<"$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	grep -q stripe-mock "/proc/$pid/cmdline" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

stop() {
	local pid i
	if ! pid="$(our_pid)"; then
		rm -f "$pidfile"
		return 0
	fi
	log "stripe-mock: stopping pid $pid"
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

install_stripe_mock() {
	local gobin bin
	gobin="$(go env GOBIN)"
	[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
	bin="$gobin/stripe-mock"
	# A go-installed stripe-mock reports "master" for -version; the module version
	# recorded in the binary is the reliable one.
	if [[ -x "$bin" ]] && go version -m "$bin" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version([[:space:]]|$)"; then
		log "stripe-mock: $version already installed at $bin"
	else
		log "stripe-mock: go install $module@$version"
		# Outside the module, so its go.mod and GOFLAGS=-mod=… have no say.
		(cd / && GOFLAGS= go install "$module@$version") >&2
	fi
	printf '%s\n' "$bin"
}

start() {
	local bin logfile pid i
	if listening "$port"; then
		if is_stripe_mock; then
			log "stripe-mock: already listening on $url; using it"
			printf '%s\n' "$url"
			return 0
		fi
		log "stripe-mock: something that is not stripe-mock listens on 127.0.0.1:$port (set STRIPE_MOCK_PORT)"
		return 1
	fi
	if listening "$https_port"; then
		log "stripe-mock: 127.0.0.1:$https_port (its HTTPS port) is taken (set STRIPE_MOCK_PORT)"
		return 1
	fi
	bin="$(install_stripe_mock)"
	logfile="${pidfile%.pid}.log"
	log "stripe-mock: starting on $url (log: $logfile)"
	# Detached from our stdout, so that a caller's $(…) does not wait for it.
	"$bin" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:$https_port" </dev/null >"$logfile" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	for ((i = 0; i < wait_seconds * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "stripe-mock: exited during start-up:"
			cat "$logfile" >&2
			rm -f "$pidfile"
			return 1
		fi
		if listening "$port" && is_stripe_mock; then
			log "stripe-mock: up (pid $pid)"
			printf '%s\n' "$url"
			return 0
		fi
		sleep 0.1
	done
	log "stripe-mock: no answer on $url after ${wait_seconds}s:"
	cat "$logfile" >&2
	stop
	return 1
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
	log "usage: $0 [start|stop]"
	exit 2
	;;
esac
