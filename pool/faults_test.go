package pool

import (
	"runtime"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// faultOf runs touch with memory faults turned into panics (debug.SetPanicOnFault, restored
// afterwards) and returns the runtime error a fault raised, or nil if touch ran through. Any
// other panic goes on.
func faultOf(touch func()) (fault runtime.Error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(runtime.Error)
			if !ok {
				panic(r)
			}
			fault = e
		}
	}()
	touch()
	return nil
}

// sink keeps a load from being optimized away.
var sink byte

// assertFault checks that a one-byte load or store at addr faults, at addr.
func assertFault(t *testing.T, addr uintptr, write bool, msgAndArgs ...any) bool {
	t.Helper()
	touch := func() { sink = *(*byte)(ptr(addr)) }
	if write {
		touch = func() { *(*byte)(ptr(addr)) = 0x5a }
	}
	fault := faultOf(touch)
	if !assert.NotNil(t, fault, msgAndArgs...) {
		return false
	}
	if a, ok := fault.(interface{ Addr() uintptr }); assert.True(t, ok, "%v has no fault address", fault) {
		assert.Equal(t, addr, a.Addr(), "fault address (%v)", fault)
	}
	return true
}

// assertNoFault checks that a one-byte load and store at addr go through.
func assertNoFault(t *testing.T, addr uintptr, msgAndArgs ...any) {
	t.Helper()
	assert.Nil(t, faultOf(func() { sink = *(*byte)(ptr(addr)) }), msgAndArgs...)
	assert.Nil(t, faultOf(func() { *(*byte)(ptr(addr)) = 0x5a }), msgAndArgs...)
}

// memAt returns the n bytes at addr as a slice, for reading memory the test no longer holds
// a slice of (a buffer after its Put).
func memAt(addr uintptr, n int) []byte { return unsafe.Slice((*byte)(ptr(addr)), n) }
