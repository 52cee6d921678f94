//go:build !linux || zeropool_portable

package main

import (
	"fmt"
	"io"
)

// runNet refuses: its echo runs on io_uring, which is Linux's.
func runNet(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "zeropool net: io_uring needs Linux; this is %s\n", thisSystem())
	return exitFail
}
