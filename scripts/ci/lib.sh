# shellcheck shell=bash
# Helpers shared by .ci/run and the scripts in scripts/ci/. Source it; do not run it.

# log MESSAGE…: a timestamped line on stderr.
log() {
	printf '[ci %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

# Phases. The caller runs with `set -euo pipefail`; a failing command ends the run,
# and the EXIT trap installed by phases_init reports the phase it failed in.
#
#   phase NAME COMMAND [ARG…]          a one-command phase (a shell function is fine:
#                                      it runs in this shell, so its exports stay)
#   phase_begin NAME … phase_end       a phase made of several commands
CI_PHASES=()
CI_PHASE=""
CI_PHASE_START=""
CI_RUN_START=""

_now() { date +%s.%N; }
_secs_since() { awk -v s="$1" -v e="$(_now)" 'BEGIN { printf "%.1f", e - s }'; }

phases_init() {
	CI_RUN_START=$(_now)
	trap '_ci_on_exit $?' EXIT
}

phase_begin() {
	CI_PHASE="$1"
	CI_PHASE_START=$(_now)
	log "==> $CI_PHASE"
}

phase_end() {
	local secs
	secs=$(_secs_since "$CI_PHASE_START")
	log "<== $CI_PHASE: ok (${secs}s)"
	CI_PHASES+=("$(printf '%-20s ok    %8ss' "$CI_PHASE" "$secs")")
	CI_PHASE=""
}

phase() {
	phase_begin "$1"
	shift
	"$@"
	phase_end
}

phase_summary() {
	local line
	log "phases:"
	for line in "${CI_PHASES[@]}"; do
		printf '    %s\n' "$line" >&2
	done
}

_ci_on_exit() {
	local rc="$1"
	trap - EXIT
	if [[ -n "$CI_PHASE" ]]; then
		local secs
		secs=$(_secs_since "$CI_PHASE_START")
		log "<== $CI_PHASE: FAILED, exit status $rc (${secs}s)"
		CI_PHASES+=("$(printf '%-20s FAIL  %8ss' "$CI_PHASE" "$secs")")
	fi
	phase_summary
	if [[ "$rc" -eq 0 ]]; then
		log "CI passed in $(_secs_since "$CI_RUN_START")s"
	else
		log "CI FAILED (exit status $rc) after $(_secs_since "$CI_RUN_START")s"
	fi
	exit "$rc"
}

# wait_for_tcp HOST PORT SECONDS: wait until something listens on HOST:PORT.
wait_for_tcp() {
	local host="$1" port="$2" timeout="$3" i
	for ((i = 0; i < timeout * 10; i++)); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "nothing listens on $host:$port after ${timeout}s"
	return 1
}
