//go:build !amd64

package pool

import "runtime"

// walkStack stores the return PCs of the stack in pcs, walkStack's caller first after
// skipping skip frames, and returns how many it stored (see stackwalk_fp.go for amd64).
//
//go:noinline
func walkStack(skip int, pcs []uintptr) int { return runtime.Callers(skip+2, pcs) }
