#!/usr/bin/env bash
# End-to-end checks of what partners use, against a real server: builds bin/prima,
# starts `prima serve --seed-demo-if-empty` on a free loopback port with a throwaway
# SQLite database and the sandbox payment gateway, then runs
#   1. the TypeScript SDK example, the five calls (make sdk-example), and the Go SDK's
#      (make sdk-go-example), and clients made by generators the project does not use
#      (ogen, @hey-api/openapi-ts), which also decode answers a later v1 may send
#      (make clients),
#   2. the same through Prism, a validating proxy, with an error walk; any response
#      the spec does not allow fails it (make contract-proxy), and
#   3. the Swagger UI test in headless Chromium (make e2e-docs),
# and stops the server however the run ends.
#
# Usage: scripts/ci/sdk-e2e.sh        (from anywhere; needs Go, Node, npm deps
#                                      installed by `make node-deps`, and Chromium)
# Env:   PRIMA_E2E_ADDR      listen address (default 127.0.0.1:0, a port the kernel
#                            picks; the server prints the one it got)
#        PRIMA_E2E_WAIT_SECONDS  how long to wait for the server (default 60)
#        PRIMA_E2E_SCREENSHOT    where the browser test saves its screenshot
#                                (default test/e2e/out/docs.png)
#        PRIMA_E2E_KEEP      1 keeps the temp dir (database, server output)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/ci/lib.sh
source "$repo_root/scripts/ci/lib.sh"

addr="${PRIMA_E2E_ADDR:-127.0.0.1:0}"
wait_seconds="${PRIMA_E2E_WAIT_SECONDS:-60}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/prima-e2e.XXXXXX")"
server_pid=""

cleanup() {
	local rc=$?
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$server_pid" 2>/dev/null; then
			log "server $server_pid still running after 5s; killing it"
			kill -KILL "$server_pid" 2>/dev/null || true
		fi
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 && -s "$tmp/server.log" ]]; then
		log "server log (last 40 lines):"
		tail -n 40 "$tmp/server.log" >&2 || true
	fi
	if [[ "${PRIMA_E2E_KEEP:-}" == 1 ]]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	return "$rc"
}
trap cleanup EXIT

make --no-print-directory build

# The server's stdout carries the banner (URL and demo token); its log goes to stderr.
# Stripe settings are dropped so that the sandbox gateway (and its confirm route) is
# active, and PRIMA_PUBLIC_URL so that the banner shows the address really bound.
env -u STRIPE_SECRET_KEY -u STRIPE_API_BASE -u STRIPE_WEBHOOK_SECRET -u PRIMA_PUBLIC_URL \
	PRIMA_DATABASE_URL="sqlite:$tmp/prima.db" \
	PRIMA_ADDR="$addr" \
	PRIMA_LOG_FORMAT=text \
	"$repo_root/bin/prima" serve --seed-demo-if-empty >"$tmp/stdout" 2>"$tmp/server.log" &
server_pid=$!
log "prima serve started (pid $server_pid, database $tmp/prima.db)"

# Wait for the banner: "PRIMA Partner API on http://HOST:PORT (…)" and
# "  Demo token:    prima_pat_…".
url="" token=""
for ((i = 0; i < wait_seconds * 10; i++)); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		wait "$server_pid" && rc=0 || rc=$?
		server_pid=""
		log "prima serve exited with status $rc before it was ready"
		cat "$tmp/stdout" >&2 || true
		exit 1
	fi
	url="$(sed -n 's/^PRIMA Partner API on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/stdout" | head -n 1)"
	token="$(sed -n 's/^ *Demo token: *\(prima_pat_[A-Za-z0-9_]*\).*/\1/p' "$tmp/stdout" | head -n 1)"
	[[ -n "$url" && -n "$token" ]] && break
	sleep 0.1
done
if [[ -z "$url" || -z "$token" ]]; then
	log "no URL and demo token on prima serve's stdout after ${wait_seconds}s:"
	cat "$tmp/stdout" >&2 || true
	exit 1
fi
log "server at $url, demo token ${token:0:14}…"

# ready PATH: whether GET PATH answers 200 (plain bash, so that curl need not be installed).
hostport="${url#http://}"
host="${hostport%:*}" port="${hostport##*:}"
ready() {
	local status
	status="$(
		exec 3<>"/dev/tcp/$host/$port" || exit 0
		printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$hostport" >&3
		timeout 5 head -n 1 <&3 || true
	)" 2>/dev/null || true
	[[ "$status" == "HTTP/1."?" 200"* ]]
}
for ((i = 0; i < wait_seconds * 10; i++)); do
	ready /readyz && break
	sleep 0.1
done
if ! ready /readyz; then
	log "$url/readyz did not answer 200 within ${wait_seconds}s"
	exit 1
fi
log "$url/readyz is 200"

export PRIMA_URL="$url" PRIMA_TOKEN="$token"

log "TypeScript SDK: the five calls"
make --no-print-directory sdk-example

log "Go SDK (sdk/go, its own module): the five calls"
make --no-print-directory sdk-go-example

log "clients from other generators (ogen, @hey-api/openapi-ts) and the Go SDK: the five calls, and answers a later v1 may send"
make --no-print-directory clients

log "the same five calls and an error walk through Prism, a validating proxy"
make --no-print-directory contract-proxy

log "Swagger UI in headless Chromium"
make --no-print-directory e2e-docs

log "sdk-e2e: ok"
