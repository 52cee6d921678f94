//go:build amd64

package pool

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// learnPC knows a return address into Go code and nothing else.
func TestLearnPC(t *testing.T) {
	pc, _, _, ok := runtime.Caller(0)
	require.True(t, ok)
	known, last := learnPC(pc + 1)
	assert.True(t, known)
	assert.False(t, last)
	x := new([64]byte)
	for _, bad := range []uintptr{0, 1, uintptr(unsafe.Pointer(x))} {
		known, _ := learnPC(bad)
		assert.False(t, known, "%#x", bad)
	}
}
