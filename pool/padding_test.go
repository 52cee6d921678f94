package pool

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// Every padded type comes out at the size its padding is for (padding.go asserts the same at
// compile time; this names them for whoever changes a field).
func TestPaddedSizes(t *testing.T) {
	assert.Equal(t, uintptr(64), unsafe.Sizeof(pcache{}), "a P's cache of a class is one cache line")
	assert.Equal(t, uintptr(64), unsafe.Offsetof(local{}.c), "a P's pcaches start on a line of their own")
	assert.Equal(t, uintptr(128), unsafe.Sizeof(depotShard{}), "a depot shard is a line pair")
	assert.Zero(t, unsafe.Sizeof(local{})%64, "a P's cache is whole lines")
}
