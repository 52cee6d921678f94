//go:build zeropool_checks

package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Under zeropool_checks a broken invariant throws at the step that breaks it.
func TestChecksThrowOnBrokenInvariant(t *testing.T) {
	t.Run("budget released below zero", func(t *testing.T) {
		var b idleBudget
		b.init(slabSize)
		assert.PanicsWithValue(t, "zeropool: invariant broken: idle budget part negative: -64", func() { b.releaseDepot(64) })
	})
	t.Run("budget above MaxIdleBytes", func(t *testing.T) {
		var b idleBudget
		b.init(slabSize)
		b.depot.Store(2 * slabSize) // admitted behind the budget's back
		assert.PanicsWithValue(t, "zeropool: invariant broken: idle budget: depot 4194304 + empty slabs 0 + P caches 0 against MaxIdleBytes 2097152 (P caches' share 419430)", b.check)
	})
}
