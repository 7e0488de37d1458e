#!/usr/bin/env bash
# The contract as a strict client sees it: Prism (tools/prism, pinned) runs as a
# validating proxy in front of a running server, the TypeScript SDK's five calls and an
# error walk (tools/prism/error-walk.mjs: 401, 403, 404, 400, 402, 422, 409 with
# alternatives) go through it, and any response that openapi/prima.yaml does not allow
# (a status, a header or a body) fails the run. Requests the walk sends on purpose that
# the spec refuses (an unknown query parameter, a party of 0) are forwarded and only
# logged; Prism's response checks are what count.
#
# Usage: PRIMA_URL=http://127.0.0.1:PORT PRIMA_TOKEN=prima_pat_… scripts/ci/contract-proxy.sh
#        (scripts/ci/sdk-e2e.sh runs it against the server it starts)
# Env:   PRIMA_PRISM_WAIT_SECONDS  how long to wait for Prism (default 60)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/ci/lib.sh
source "$repo_root/scripts/ci/lib.sh"

: "${PRIMA_URL:?set PRIMA_URL to a running server}"
: "${PRIMA_TOKEN:?set PRIMA_TOKEN to a partner token of it}"
wait_seconds="${PRIMA_PRISM_WAIT_SECONDS:-60}"
prism="$repo_root/tools/prism/node_modules/.bin/prism"
[[ -x "$prism" ]] || {
	log "contract-proxy: Prism is not installed (make node-deps)"
	exit 1
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/prima-prism.XXXXXX")"
prism_pid=""
cleanup() {
	local rc=$?
	if [[ -n "$prism_pid" ]] && kill -0 "$prism_pid" 2>/dev/null; then
		kill -TERM "$prism_pid" 2>/dev/null || true
		wait "$prism_pid" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 && -s "$tmp/prism.log" ]]; then
		log "Prism log (last 60 lines):"
		tail -n 60 "$tmp/prism.log" >&2 || true
	fi
	rm -rf "$tmp"
	return "$rc"
}
trap cleanup EXIT

# A free loopback port, from the kernel.
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
"$prism" proxy --host 127.0.0.1 --port "$port" "$repo_root/openapi/prima.yaml" "$PRIMA_URL" >"$tmp/prism.log" 2>&1 &
prism_pid=$!
proxy="http://127.0.0.1:$port"
for ((i = 0; i < wait_seconds * 10; i++)); do
	if ! kill -0 "$prism_pid" 2>/dev/null; then
		log "contract-proxy: Prism exited before it listened"
		cat "$tmp/prism.log" >&2
		exit 1
	fi
	grep -q "Prism is listening" "$tmp/prism.log" && break
	sleep 0.1
done
grep -q "Prism is listening" "$tmp/prism.log" || {
	log "contract-proxy: Prism did not listen within ${wait_seconds}s"
	exit 1
}
log "contract-proxy: Prism at $proxy in front of $PRIMA_URL"

PRIMA_URL="$proxy" make --no-print-directory sdk-example
PRIMA_URL="$proxy" node tools/prism/error-walk.mjs

kill -TERM "$prism_pid" 2>/dev/null || true
wait "$prism_pid" 2>/dev/null || true
prism_pid=""
# Prism logs each response that breaks the document as a violation of "response…".
calls="$(grep -c "Request received" "$tmp/prism.log" || true)"
if grep -E "Violation: response" "$tmp/prism.log" >"$tmp/violations"; then
	log "contract-proxy: $(wc -l <"$tmp/violations") response violation(s) in $calls calls:"
	cat "$tmp/violations" >&2
	exit 1
fi
log "contract-proxy: $calls calls through Prism, no response violation"
