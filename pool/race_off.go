//go:build !race

package pool

// Without the race detector a P's counters are plain words: only that P writes them (inside
// procPin), and Stats reads them with atomic loads, which on every supported platform see a
// whole word.

func raceAcquire(*local)      {}
func raceReleaseMerge(*local) {}

func bump(p *uint64, d uint64) { *p += d }

// raceEnabled tells tests that measure the whole process (its resident memory) that the
// race detector runs too.
const raceEnabled = false
