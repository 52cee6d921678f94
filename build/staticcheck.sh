#!/usr/bin/env bash
# Runs staticcheck over the packages of the module in the current directory, in every build
# configuration that make test builds: build/staticcheck.sh [PACKAGES...] (default ./...).
#
# staticcheck is run at a pinned version through `go run`, so that nothing needs installing:
# the module proxy serves it, and the build cache keeps it after the first run. One -matrix
# run checks every configuration at once and merges the results, so that code used in only
# some builds (a file behind a build tag) is reported unused only when no build uses it.
# GO overrides the go command, STATICCHECK_VERSION the version.
set -euo pipefail
GO="${GO:-go}"
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"
if [ "$#" -eq 0 ]; then
	set -- ./...
fi

# name: environment and flags of one build, as make test builds the code: cgo, no cgo,
# purego with and without cgo, the race detector's files (with the pool's invariant checks,
# as the race run builds them), the pool's line check, the portable backend over mmap and
# over Go memory, and the other systems make cross builds for.
matrix='default:
nocgo: CGO_ENABLED=0
purego: -tags=zeropool_purego
puregonocgo: CGO_ENABLED=0 -tags=zeropool_purego
race: -tags=race
checks: -tags=race,zeropool_checks
linecheck: -tags=zeropool_linecheck
portable: -tags=zeropool_portable
gomem: -tags=zeropool_portable,zeropool_gomem
darwin: GOOS=darwin CGO_ENABLED=0
windows: GOOS=windows CGO_ENABLED=0
freebsd: GOOS=freebsd CGO_ENABLED=0'

printf '%s\n' "$matrix" | "$GO" run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" -matrix "$@"
