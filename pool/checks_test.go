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
	t.Run("magazine bound", func(t *testing.T) {
		m := newMagazine(&sizeClass{mag: 1, size: 64})
		assert.PanicsWithValue(t, "zeropool: invariant broken: pop from an empty magazine: 0 of 1", func() { m.pop() })
		m.push(entry{64, 1})
		assert.PanicsWithValue(t, "zeropool: invariant broken: push onto a full magazine: 1 of 1", func() { m.push(entry{128, 1}) })
		assert.PanicsWithValue(t, "zeropool: invariant broken: magazine filled with 2 of 1", func() { m.fill(2) })
	})
	t.Run("state transition", func(t *testing.T) {
		st := uint8(stateFree)
		assert.PanicsWithValue(t, "zeropool: invariant broken: state 3 -> 3 is not in the transition table", func() { setState(&st, stateFree) })
		st = stateBroken
		assert.PanicsWithValue(t, "zeropool: invariant broken: state 4 -> 2 is not in the transition table", func() { markOut(addrOfState(&st)) })
	})
}
