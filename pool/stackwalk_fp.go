//go:build amd64

package pool

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// The pool's own record of a tracked Get's stack is a walk of the frame pointers: Go on
// amd64 keeps one in every frame that calls, the word it points to is the caller's, and
// the word above it the return address into the caller. That costs a few instructions a
// frame, where runtime.Callers decodes each frame's tables (about a thousand). Its PCs are
// the physical frames' return addresses, which runtime.CallersFrames expands into inlined
// frames as it does runtime.Callers' own (see callersForm). This file is the only one that
// reads the stack with unsafe; stackwalk_other.go is runtime.Callers for other systems.

// callerFP is the frame pointer of its caller (stackwalk_amd64.s). It is a pointer into this
// goroutine's stack, not a uintptr: were the stack copied while walkStack holds it (a call
// to learnPC may grow it), the runtime adjusts pointers into the stack, and the frame
// pointers saved in it, but not integers.
func callerFP() unsafe.Pointer

// maxFrameBytes bounds the distance from one frame pointer to the next: a larger step is
// taken for one that does not belong to this goroutine's stack, and the walk stops there.
const maxFrameBytes = 16 << 20

// walkStack stores the return PCs of the stack in pcs, walkStack's caller first after
// skipping skip physical frames (a frame with functions inlined into it is one), and
// returns how many it stored. It stops at the top of the goroutine, at a return PC that is
// not in a Go function, at a step that leaves the goroutine's stack (a frame pointer not
// above the last one, or more than maxFrameBytes above it), and after a cgo callback
// (runtime.cgocallback, which saved C's frame pointer): the runtime's own frame-pointer
// unwinders (the execution tracer's, the block profile's) check none of this, as they know
// when there is C on the stack. A stack cut short is the worst it can return.
//
//go:noinline
func walkStack(skip int, pcs []uintptr) int {
	fp := callerFP() // walkStack's own frame: its return PC is into the caller
	n := 0
	for n < len(pcs) {
		pc := *(*uintptr)(unsafe.Add(fp, wordBytes))
		last := false
		if knownPCs[(pc/wordBytes)%uintptr(len(knownPCs))].Load() != ^pc {
			known, cgocallback := learnPC(pc)
			if !known {
				break
			}
			last = cgocallback
		}
		if skip > 0 {
			skip--
		} else {
			pcs[n] = pc
			n++
		}
		next := *(*unsafe.Pointer)(fp)
		if d := uintptr(next) - uintptr(fp); last || d-1 >= maxFrameBytes {
			break // d == 0 or next below fp wraps around to more than the bound too
		}
		fp = next
	}
	return n
}

const wordBytes = 8

// knownPCs caches return PCs already found in Go functions other than runtime.cgocallback,
// so that a walk of a stack seen before asks the runtime about none of its frames. A slot
// holds one PC, complemented (^pc) so that an empty slot matches none; two PCs that share a
// slot take turns, each costing a FuncForPC when the other held it.
var knownPCs [512]atomic.Uintptr

// learnPC reports whether pc is a return address into a Go function, and whether that is
// runtime.cgocallback (the walk stops there). It remembers the other Go ones.
//
//go:noinline
func learnPC(pc uintptr) (known, cgocallback bool) {
	if pc == 0 {
		return false, false
	}
	f := runtime.FuncForPC(pc - 1) // pc - 1: inside the call, as runtime.CallersFrames reads it
	if f == nil {
		return false, false
	}
	if f.Name() == "runtime.cgocallback" {
		return true, true
	}
	knownPCs[(pc/wordBytes)%uintptr(len(knownPCs))].Store(^pc)
	return true, false
}
