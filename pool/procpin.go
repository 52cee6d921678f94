package pool

import _ "unsafe" // for go:linkname

// procPin disables preemption and returns the current P's id; procUnpin undoes it. Between
// the two the goroutine cannot move to another P and no other goroutine runs on this P, so
// the P's cache is ours alone: no lock, no atomic. The runtime keeps both symbols for
// linkname (go.dev/issue/67401). Keep the section between them tiny: no syscall, no
// allocation, no lock, nothing that can block.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
