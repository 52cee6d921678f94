package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A magazine is a stack: pop gives back the last push, full and empty follow its bound.
func TestMagazinePushPopFullEmpty(t *testing.T) {
	m := newMagazine(&sizeClass{mag: 3, size: 4096})
	require.Len(t, m.items, 3)
	assert.True(t, m.empty())
	assert.False(t, m.full())
	for i := range 3 {
		m.push(entry{addr(4096 * (i + 1)), addr(i + 1)})
		assert.False(t, m.empty())
		assert.Equal(t, i+1, m.len())
	}
	assert.True(t, m.full())
	assert.Equal(t, []entry{{4096, 1}, {8192, 2}, {12288, 3}}, m.held())
	assert.Equal(t, entry{12288, 3}, m.pop(), "last in, first out")
	assert.False(t, m.full())
	out := m.drainInto([]entry{{1, 1}})
	assert.Equal(t, []entry{{1, 1}, {4096, 1}, {8192, 2}}, out)
	assert.True(t, m.empty())
	m.fill(2)
	assert.Equal(t, 2, m.len())
	m.check()
}

// noMag and outMag hold nothing and have room for nothing: the fast paths pass them by.
func TestNoMagAndOutMagAreEmptyAndFull(t *testing.T) {
	for _, m := range []*magazine{noMag, outMag} {
		assert.True(t, m.empty())
		assert.True(t, m.full())
	}
}
