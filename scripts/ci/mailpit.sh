#!/usr/bin/env bash
# Mailpit (github.com/axllent/mailpit), a real SMTP server with an HTTP API to read what
# it received, for the tests of the venues' email connector (internal/webhooks, email.go).
#
# Usage: scripts/ci/mailpit.sh install   go install the pinned version into
#                                        ${MAILPIT_GOBIN:-$(go env GOPATH)/bin} when it
#                                        is not there yet; print the binary's path
#
# The Go tests start their own Mailpit on free loopback ports
# (internal/webhooks/mailpittest), stopping and starting it at will, so CI only needs
# the binary:
#   export PRIMA_TEST_MAILPIT="$(scripts/ci/mailpit.sh install)"
# go install builds it from the Go module proxy at the exact version (a few minutes the
# first time on a machine, then the module and build caches make it a second).
set -euo pipefail

# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="v1.33.1"
gobin="${MAILPIT_GOBIN:-$(go env GOPATH)/bin}"
bin="$gobin/mailpit"

install_mailpit() {
	# go version -m reads the module version built into the binary (`mailpit version`
	# says "dev" for a go install build, and looks for updates on the network).
	if [[ -x "$bin" ]] && go version -m "$bin" 2>/dev/null | grep -qE "^\s+mod\s+github.com/axllent/mailpit\s+${version}(\s|$)"; then
		log "mailpit: $version at $bin"
	else
		log "mailpit: go install github.com/axllent/mailpit@$version"
		mkdir -p "$gobin"
		GOBIN="$gobin" go install "github.com/axllent/mailpit@$version" >&2
		log "mailpit: installed $version at $bin"
	fi
	printf '%s\n' "$bin"
}

case "${1:-install}" in
install) install_mailpit ;;
*)
	log "usage: $0 install"
	exit 2
	;;
esac
