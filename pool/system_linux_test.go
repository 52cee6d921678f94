//go:build linux && !zeropool_portable

package pool

import "testing"

// On Linux every feature is there: the helpers of system_other_test.go skip nothing here.

// linuxKernel tells tests that the kernel's own reports (/proc/self/smaps, VmLck, mincore of
// pool memory) describe the pool's memory.
const linuxKernel = true

func needsLinux(testing.TB, string) {}

func skipWhereRefused(testing.TB, Config) {}

func refusedHere(Config) bool { return false }

func needsMappedMemory(testing.TB, string) {}
