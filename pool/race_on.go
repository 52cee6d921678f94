//go:build race

package pool

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Under the race detector the hand-off of a P's cache from one pinned goroutine to the next
// is announced (procPin is the real synchronization, and the detector cannot see it), and the
// counters that Stats reads concurrently are written atomically.

func raceAcquire(l *local)      { runtime.RaceAcquire(unsafe.Pointer(l)) }
func raceReleaseMerge(l *local) { runtime.RaceReleaseMerge(unsafe.Pointer(l)) }

func bump(p *uint64, d uint64) { atomic.AddUint64(p, d) }

// raceEnabled tells tests that measure the whole process (its resident memory) that the
// race detector runs too.
const raceEnabled = true
