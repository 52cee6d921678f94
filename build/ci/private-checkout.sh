#!/usr/bin/env bash
# Runs the suite from a copy of the checkout in a directory only its owner may enter (mode
# 0700, as a clone under /root or in a `mktemp -d` directory is, which is what many CI systems
# and home directories give). Tests that start a child as an unprivileged user must not depend
# on being able to read the checkout: this is where they would fail.
#
# The copy holds the working tree's files (tracked and untracked, not ignored ones; the whole
# tree where there is no git repository, as in the container image). The suite runs there in
# the two modes that differ in what such a child needs: the default build, and the purego
# backend without cgo, whose child must load build/libzeropool.so. Variables given to make
# (GO, CC, TESTFLAGS) reach the make that runs in the copy.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
MAKE="${MAKE:-make}"

if [ "$(id -u)" -ne 0 ]; then
	echo "private-checkout: not root, so no test starts an unprivileged child; running anyway" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 0700 "$tmp"
copy="$tmp/checkout"
mkdir "$copy"
cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard \
		| while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
		| tar --null -T - -cf - | tar -xf - -C "$copy"
else
	tar --exclude=./build/libzeropool.so --exclude=./build/ctest -cf - . | tar -xf - -C "$copy"
fi

cd "$copy"
echo "private-checkout: suite from $copy (mode $(stat -c %a "$tmp") above it)"
"$MAKE" --no-print-directory test-default test-purego-nocgo
