#!/usr/bin/env bash
# Instructions per round of an icount workload, as the docs quote them:
#   bench/cmd/icount/measure.sh BIN [impl] [work] [size] [n] [rounds]   (EXTRA="-track N" adds flags)
# BIN is built with `cd bench && CGO_ENABLED=0 go build -o BIN ./cmd/icount`. The count is
# (I(2R) - I(R)) / R from two cachegrind runs, so the program's start and end cancel out; a
# burst's count is per round of n buffers (divide by n). valgrind 3.19 now and then stops a Go
# program at an RDTSCP instruction the runtime executes (rc != 0): such runs are repeated.
set -euo pipefail
b=$1; impl=${2:-zeropool}; work=${3:-hot}; size=${4:-4096}; n=${5:-1000}; R=${6:-200000}
run() {
	for _ in $(seq 20); do
		# shellcheck disable=SC2086 # EXTRA is a list of flags
		if out=$(GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
			"$b" -impl "$impl" -work "$work" -size "$size" -n "$n" -rounds "$1" ${EXTRA:-} 2>&1); then
			echo "$out" | grep "I *refs" | awk '{print $NF}' | tr -d ,
			return
		fi
	done
	echo "measure.sh: every run of $b stopped early" >&2
	exit 1
}
a=$(run "$R"); c=$(run $((2 * R)))
echo "scale=1; ($c - $a) / $R" | bc
