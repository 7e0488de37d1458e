#!/usr/bin/env bash
# Fails when git tracks build output: a file over 1 MB that scripts/large-files.allow
# does not name, or an executable binary (ELF, Mach-O, PE) anywhere in the tree.
# Run by `make lint` (and so by CI).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
limit=$((1024 * 1024))
allow="scripts/large-files.allow"
bad=0

while IFS= read -r -d '' f; do
	[[ -f "$f" ]] || continue # deleted in the work tree, not yet committed
	size=$(stat -c %s "$f")
	if ((size > limit)) && ! grep -qxF "$f" <(grep -v '^#' "$allow"); then
		echo "check-files: $f is $size bytes, over 1 MB; build output belongs in .gitignore (or, if it must be committed, in $allow)" >&2
		bad=1
	fi
	magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | 4d5a*)
		echo "check-files: $f is an executable binary; build output is never committed" >&2
		bad=1
		;;
	esac
done < <(git ls-files -z)

if ((bad)); then
	exit 1
fi
echo "check-files: no tracked file over 1 MB outside $allow, no binaries"
