// Package workloads defines, once, the headline workloads of the performance targets in the
// README: the hot path Get+Put (one goroutine and every P at once), zipf-mixed sizes, bursts
// held at once, 512 MiB get → touch every 4 KiB page → put, survival of idle buffers across
// collections and secure 32-byte secrets. For each it gives the sizes, the loop on a zeropool
// pool and the loops of the references the standard library offers: make([]byte), sync.Pool
// (one per power-of-two size class, holding *[]byte) and, for 512 MiB, a buffer that is
// already resident.
//
// `zeropool bench` runs them on this machine; the peer comparison in bench/ runs them beside
// the adapters of other libraries, which keep the same shape. A loop is a benchmark body: it
// runs b.Loop and fails b when the pool refuses a Put, so that a broken pool never measures
// as a fast one. It leaves ReportAllocs, timers and extra metrics to the caller, except where
// a metric is the workload's result (survived-%). Every loop writes into each buffer it gets,
// as a program would, and gets the pool or the reference warm before the timed loop where a
// first Get would map or allocate what later ones reuse.
package workloads

import (
	"fmt"
	"testing"
)

// Sizes in bytes.
const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// SizeName renders a size the way sub-benchmark names spell it: 32B, 4KiB, 1MiB.
func SizeName(n int) string {
	switch {
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%dMiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%dKiB", n/KiB)
	}
	return fmt.Sprintf("%dB", n)
}

// sink keeps make's buffers on the heap: a buffer that escapes nowhere could be optimized
// away or put on the stack, which is not what a program that hands buffers around gets. It
// is only ever stored to: the store is what makes the buffer escape.
//
//lint:ignore U1000 written and never read on purpose (see above)
var sink []byte

// parSink is sink for RunParallel loops: one padded slot per goroutine, so that the stores
// neither race nor share a cache line.
var parSink [64]struct {
	b []byte
	_ [40]byte
}

// must fails the benchmark on a Put error; the branch costs nothing measurable.
func must(b testing.TB, err error) {
	if err != nil {
		b.Fatal(err)
	}
}
