package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every size maps to the smallest class that holds it, and the classes' sizes grow: classOf
// and classSize are each other's inverse on class sizes.
func TestClassOfIsTheSmallestClassThatHolds(t *testing.T) {
	for ci := 0; classSize(ci) <= 1<<30; ci++ {
		size := classSize(ci)
		require.Equal(t, ci, classOf(size), "class %d's own size", ci)
		if ci > 0 {
			prev := classSize(ci - 1)
			require.Greater(t, size, prev, "class %d grows", ci)
			assert.Equal(t, ci, classOf(prev+1), "one byte above class %d", ci-1)
		}
	}
}

func TestClassSizes(t *testing.T) {
	for _, tc := range []struct {
		size, classSize int
	}{
		{1, 64},
		{64, 64},
		{65, 128},
		{4096, 4096},
		{4097, 8192},
		{maxSlabClassSize, maxSlabClassSize},
		{maxSlabClassSize + 1, maxSlabClassSize + maxSlabClassSize/4},
		{64<<20 + 5, 80 << 20}, // a 64 MiB message and its header: 1.25x, not 2x
		{7 << 20, 7 << 20},
	} {
		ci := classOf(tc.size)
		assert.Equal(t, tc.classSize, classSize(ci), "size %d", tc.size)
		if tc.size > maxSlabClassSize {
			assert.LessOrEqual(t, float64(classSize(ci)), 1.25*float64(tc.size), "at most 1.25x above the slab classes")
		}
	}
}

func TestLayoutIsSlab(t *testing.T) {
	assert.True(t, layoutSlab.isSlab())
	assert.True(t, layoutCanarySlab.isSlab())
	assert.False(t, layoutMapping.isSlab())
	assert.False(t, layoutOversize.isSlab())
}
