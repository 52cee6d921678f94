//go:build linux && !zeropool_portable

package offheap

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Helpers of the Linux tests: what the kernel reports (mincore, /proc/self/smaps, sysfs) and
// child processes with lower limits.

// residentPages counts the pages of b[:cap(b)] that are in RAM (mincore).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	n := (cap(b) + PageSize() - 1) / PageSize()
	vec := make([]byte, n)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, addrOf(b), uintptr(cap(b)), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, e, "mincore")
	count := 0
	for _, v := range vec {
		count += int(v & 1)
	}
	return count
}

// vmFlagSet is VmFlags at addr as a set.
func vmFlagSet(t *testing.T, addr uintptr) map[string]bool {
	t.Helper()
	flags, err := vmFlagsAt(addr)
	require.NoError(t, err)
	set := make(map[string]bool, len(flags))
	for _, f := range flags {
		set[f] = true
	}
	return set
}

// thpAvailable reports whether the kernel has transparent huge pages at all (MADV_HUGEPAGE
// is EINVAL without them, and accepted whatever the sysfs policy says with them).
func thpAvailable() bool {
	_, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil
}

// guardInstallSupported probes for MADV_GUARD_INSTALL (Linux 6.13+) on a scratch page.
func guardInstallSupported(t *testing.T) bool {
	t.Helper()
	m, err := unix.Mmap(-1, 0, PageSize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	defer unix.Munmap(m)
	return unix.Madvise(m, unix.MADV_GUARD_INSTALL) == nil
}

// runBackendChild runs test again in a child process in mode (unprivileged when asked) and
// checks that it passed and that it checked every usable backend: each writes line, with %s
// for the backend's name.
func runBackendChild(t *testing.T, test, mode string, unprivileged bool, line string) {
	t.Helper()
	out, err := runChild(t, test, mode, nil, unprivileged)
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, out, "--- PASS: "+test)
	for _, be := range usableBackends(t) {
		assert.Contains(t, out, fmt.Sprintf(line, be), "child:\n%s", out)
	}
}

// lowerMemlock sets the child's RLIMIT_MEMLOCK to limit bytes and skips where the child is
// still root (whom the limit does not bind).
func lowerMemlock(t *testing.T, limit uint64) {
	t.Helper()
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}))
	if os.Geteuid() == 0 {
		t.Skip("still root: the parent could not drop privileges")
	}
}
