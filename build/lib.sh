#!/usr/bin/env bash
# Builds the shared library that the purego backend loads, from the same C source the cgo
# backend compiles: build/lib.sh [OUTPUT] (default build/libzeropool.so). CC and CFLAGS
# override the compiler and its flags, as in the Makefile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/libzeropool.so}"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--Wall -Wextra -Werror -O2 -fPIC}"
mkdir -p "$(dirname "$out")"
# CFLAGS is a list of flags: split it on purpose.
# shellcheck disable=SC2086
"$CC" $CFLAGS -shared -o "$out" "$root/csrc/zeropool.c"
