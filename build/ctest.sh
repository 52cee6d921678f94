#!/usr/bin/env bash
# Builds the C library's own test under AddressSanitizer and UndefinedBehaviorSanitizer:
# build/ctest.sh [OUTPUT] (default build/ctest). CC overrides the compiler. The flags are
# fixed: the sanitizers need -g and the frame pointer to name the line of a fault.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/ctest}"
CC="${CC:-gcc}"
mkdir -p "$(dirname "$out")"
"$CC" -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-o "$out" "$root/csrc/zeropool_test.c" "$root/csrc/zeropool.c"
