//go:build !linux || zeropool_portable

package main

import (
	"fmt"
	"io"
	"runtime"
)

// runURing refuses: io_uring is Linux's (package iouring refuses its tables elsewhere).
func runURing(args []string, stdout, stderr io.Writer) int {
	system := runtime.GOOS
	if system == "linux" {
		system = "linux built with the zeropool_portable tag"
	}
	fmt.Fprintf(stderr, "zeropool uring: io_uring needs Linux; this is %s\n", system)
	return exitFail
}
