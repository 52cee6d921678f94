//go:build !linux

package main

import (
	"fmt"
	"math"
	"runtime"
)

// The facts only Linux has the calls for: elsewhere they are unknown, and say why.

// rlimInfinity is RLIMIT_MEMLOCK's "unlimited".
const rlimInfinity = math.MaxUint64

// memlockLimit is Linux's: pinning is (offheap pins nothing on other systems).
func memlockLimit() (soft, hard uint64, err error) {
	return 0, 0, fmt.Errorf("not read on %s: pinning is Linux's", runtime.GOOS)
}

// kernel returns the system's name: uname is read on Linux only.
func kernel() (string, error) { return runtime.GOOS + " " + runtime.GOARCH, nil }

// lockErrnoHint adds nothing: offheap pins nothing here, and says so itself.
func lockErrnoHint(error) string { return "" }
