//go:build !linux || zeropool_portable

package pool

import (
	"errors"
	"testing"
)

// Tests run on other systems too (and on Linux with the zeropool_portable tag): what needs
// Linux is skipped with the reason, never deleted.

// linuxKernel tells tests that the kernel's own reports (/proc/self/smaps, VmLck, mincore of
// pool memory) describe the pool's memory: not here.
const linuxKernel = false

// needsLinux skips the rest of a test that checks what only Linux has.
func needsLinux(t testing.TB, what string) {
	t.Helper()
	t.Skipf("%s: Linux's; this is %s, where the pool runs on offheap's portable backend", what, systemName())
}

// needsMappedMemory skips the rest of a test that checks what memory from mmap does (given
// back at once, never on the Go heap, refused by the system with an error rather than the
// end of the process) where offheap's portable backend backs mappings with Go memory.
func needsMappedMemory(t testing.TB, what string) {
	t.Helper()
	if backendIsGoMemory(t) {
		t.Skipf("%s: needs memory from mmap; the portable backend's memory on %s is Go memory", what, systemName())
	}
}

// refusedHere reports whether this system refuses cfg.
func refusedHere(cfg Config) bool { return len(cfg.systemRefusals()) > 0 }

// skipWhereRefused skips a test whose pool this system refuses (Secure, SecretMem,
// RequirePinned, hooks, DontFork; Debug where memory cannot be protected), with the refusal
// as the reason. The refusals themselves are tested in portable_test.go.
func skipWhereRefused(t testing.TB, cfg Config) {
	t.Helper()
	if errs := cfg.systemRefusals(); len(errs) > 0 {
		t.Skipf("this pool needs Linux: %v", errors.Join(errs...))
	}
}
