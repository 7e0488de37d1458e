#!/usr/bin/env bash
# Re-vendor the Swagger UI assets served at /docs/ (docs/swaggerui, go:embed).
#
# Usage: scripts/update-swagger-ui.sh VERSION      e.g. scripts/update-swagger-ui.sh 5.35.0
#
# Installs npm swagger-ui-dist@VERSION (exact) into a temporary directory and copies
# only the files the Go handler serves into docs/swaggerui/dist/, then records the
# version in docs/swaggerui/dist/VERSION (used in ETags). Needs node/npm.
set -euo pipefail

if [[ $# -ne 1 || ! "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	echo "usage: $0 VERSION   (an exact swagger-ui-dist version, e.g. 5.35.0)" >&2
	exit 2
fi
version="$1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/docs/swaggerui/dist"
# The bundle, its stylesheet and icon are served; LICENSE, NOTICE and the bundle's
# third-party license list are kept for Apache-2.0 compliance (not served).
files=(swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "installing swagger-ui-dist@$version into $tmp"
(
	cd "$tmp"
	npm init -y >/dev/null
	npm install --no-audit --no-fund --ignore-scripts --save-exact "swagger-ui-dist@$version" >/dev/null
)
pkg="$tmp/node_modules/swagger-ui-dist"
installed="$(node -p "require('$pkg/package.json').version")"
if [[ "$installed" != "$version" ]]; then
	echo "expected swagger-ui-dist $version, npm installed $installed" >&2
	exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
for f in "${files[@]}"; do
	cp "$pkg/$f" "$dest/$f"
done
printf '%s\n' "$version" >"$dest/VERSION"

echo "docs/swaggerui/dist now holds swagger-ui-dist $version:"
ls -l "$dest"
