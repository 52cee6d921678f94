//go:build !linux || zeropool_portable

package main

import (
	"fmt"
	"io"
	"runtime"
)

// runURing refuses: io_uring is Linux's (package iouring refuses its tables elsewhere).
func runURing(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "zeropool uring: io_uring needs Linux; this is %s\n", thisSystem())
	return exitFail
}

// thisSystem names this system in refusals: its GOOS, or the Linux build that tests the other
// systems' code.
func thisSystem() string {
	if runtime.GOOS == "linux" {
		return "linux built with the zeropool_portable tag"
	}
	return runtime.GOOS
}
