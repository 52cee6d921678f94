//go:build zeropool_checks

package pool

// With the zeropool_checks build tag the layers assert their invariants (a magazine's
// bounds, the idle budget's bounds, the state transitions of region.go's table) where they
// change them, and throw on a broken one: a test run with the tag stops at the first step
// that breaks an invariant instead of at the symptom, maybe much later. Without the tag the
// checks are compiled out (checks_off.go), so the paths they guard pay nothing.

const invariantChecks = true

// throw reports a broken invariant. It is called only under `if invariantChecks`.
func throw(what string) { panic("zeropool: invariant broken: " + what) }
