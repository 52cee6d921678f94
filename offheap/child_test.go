//go:build linux && !zeropool_portable

package offheap

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/internal/procfs"
)

// Tests that change process-wide state (resource limits, credentials, the environment a
// package reads once) run this test binary again as a child process: the parent runs the
// named test with childMode set, the test sees it and plays the child's part.
const (
	childMode     = "ZEROPOOL_OFFHEAP_TEST_CHILD"
	childBackends = "ZEROPOOL_OFFHEAP_TEST_BACKENDS"
)

// runChild runs test in a child process of this binary with mode and env added to the
// environment, and returns its combined output. With unprivileged and a root parent, the child
// runs as uid/gid 65534 from a copy of the binary (and of the purego library) in a directory
// that user can read.
func runChild(t *testing.T, test, mode string, env []string, unprivileged bool) (string, error) {
	t.Helper()
	env = append([]string{childMode + "=" + mode, childBackends + "=" + strings.Join(usableBackends(t), ",")}, env...)
	if lib := libInUse(); unprivileged && os.Getenv("ZEROPOOL_LIB") == "" && lib != "" {
		env = append(env, "ZEROPOOL_LIB="+lib)
	}
	return childtest.Run(t, test, childtest.Options{Env: env, Unprivileged: unprivileged, CopyFiles: []string{"ZEROPOOL_LIB"}})
}

// backendsOfParent returns the backends the parent could use; in the child each must open.
func backendsOfParent(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, be := range strings.Split(os.Getenv(childBackends), ",") {
		if be != "" {
			require.NoError(t, CheckBackend(be), "backend %s opened in the parent", be)
			names = append(names, be)
		}
	}
	require.NotEmpty(t, names)
	return names
}

// TestPinRequiredUnprivileged: as an unprivileged user under a 64 KiB RLIMIT_MEMLOCK, a
// required lock beyond the limit is an error, a best-effort one degrades to an unlocked mapping
// that says why, and a lock within the limit still works.
func TestPinRequiredUnprivileged(t *testing.T) {
	if os.Getenv(childMode) == "memlock" {
		memlockChild(t)
		return
	}
	runBackendChild(t, "TestPinRequiredUnprivileged", "memlock", true, "memlock checked: backend=%s ")
}

func memlockChild(t *testing.T) {
	const limit = 64 << 10
	lowerMemlock(t, limit)
	pg := PageSize()
	for _, be := range backendsOfParent(t) {
		_, refused := Alloc(1<<20, PinRequired(), WithBackend(be))
		require.Error(t, refused, "%s: PinRequired beyond RLIMIT_MEMLOCK", be)
		assert.ErrorIs(t, refused, ErrPinFailed, "%s", be)
		assert.True(t, errorsIsAny(refused, unix.ENOMEM, unix.EPERM, unix.EAGAIN), "%s: %v", be, refused)

		// The backend's own required lock fails the whole mapping and leaves nothing mapped.
		bk, err := openBackend(be)
		require.NoError(t, err)
		s := mapSpec{size: 1 << 20, align: uint64(pg), flags: specLock | specLockRequired | specGuard}
		err = bk.mapRegion(&s)
		assert.True(t, errorsIsAny(err, unix.ENOMEM, unix.EPERM, unix.EAGAIN), "%s: backend: %v", be, err)
		assert.Zero(t, s.addr, "%s: backend: no mapping on failure", be)

		if be == "syscall" {
			// When the cleanup cannot unmap, the outputs say what stays mapped (zp_map's side
			// of this is in csrc/zeropool_test.c).
			refusals := 1
			rb := syscallBackend{munmap: refusingMunmap(&refusals)}
			s := mapSpec{size: 1 << 20, align: uint64(pg), flags: specLock | specLockRequired | specGuard}
			err := rb.mapRegion(&s)
			assert.True(t, errorsIsAny(err, unix.ENOMEM, unix.EPERM, unix.EAGAIN), "%v", err)
			assert.Zero(t, s.addr)
			assert.Equal(t, uint64(1<<20+2*pg), s.total, "what stays mapped")
			assert.Equal(t, uintptr(s.total), covered(t, uintptr(s.base), uintptr(s.total)))
			require.NoError(t, rb.unmap(uintptr(s.base), uintptr(s.total)))
		}

		b, err := Alloc(1<<20, Pin(), WithBackend(be))
		require.NoError(t, err, "%s: best-effort Pin still maps", be)
		in, err := Stat(b)
		require.NoError(t, err)
		assert.False(t, in.Locked, "%s", be)
		assert.Error(t, in.LockErr, "%s: Stat says why", be)
		assert.False(t, vmFlagSet(t, addrOf(b))["lo"], "%s", be)
		fill(b, 1)
		require.NoError(t, Free(b))

		small, err := Alloc(pg, PinRequired(), WithBackend(be))
		require.NoError(t, err, "%s: a lock within the limit", be)
		in, err = Stat(small)
		require.NoError(t, err)
		assert.True(t, in.Locked, "%s", be)
		assert.True(t, vmFlagSet(t, addrOf(small))["lo"], "%s", be)
		require.NoError(t, Free(small))
		t.Logf("memlock checked: backend=%s (uid %d, refused with %v)", be, os.Geteuid(), refused)
	}
}

func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// TestAllocRefusedByOS: when the kernel refuses the address space (RLIMIT_AS), Alloc returns
// an error wrapping ENOMEM, never crashes, and keeps serving smaller requests.
func TestAllocRefusedByOS(t *testing.T) {
	if os.Getenv(childMode) == "as" {
		addressSpaceChild(t)
		return
	}
	runBackendChild(t, "TestAllocRefusedByOS", "as", false, "refusal checked: backend=%s ")
}

func addressSpaceChild(t *testing.T) {
	backends := backendsOfParent(t) // opened before the limit: loading a library maps memory too
	vm := vmSizeBytes(t)
	limit := vm + 512<<20
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: limit, Max: limit}))
	for _, be := range backends {
		for _, opts := range [][]Option{nil, {GuardPages(), Align(2 << 20)}, {Pin(), Populate()}} {
			b, err := Alloc(4<<30, append(opts, WithBackend(be))...)
			require.Error(t, err, "%s: 4 GiB under RLIMIT_AS", be)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, unix.ENOMEM, "%s", be)
		}
		b, err := Alloc(1<<20, WithBackend(be))
		require.NoError(t, err, "%s: still serving", be)
		fill(b, 1)
		require.NoError(t, Free(b))
		t.Logf("refusal checked: backend=%s (VmSize %d MiB, limit %d MiB)", be, vm>>20, limit>>20)
	}
}

func vmSizeBytes(t *testing.T) uint64 {
	t.Helper()
	n, err := procfs.StatusBytes("VmSize")
	require.NoError(t, err)
	return uint64(n)
}

// TestBackendFromEnvironment: ZEROPOOL_BACKEND chooses the default backend; a name not compiled
// in makes Alloc fail with ErrUnknownBackend instead of falling back; WithBackend still wins.
func TestBackendFromEnvironment(t *testing.T) {
	if os.Getenv(childMode) == "backend" {
		backendChild(t)
		return
	}
	for _, be := range append(usableBackends(t), "nope") {
		t.Run(be, func(t *testing.T) {
			out, err := runChild(t, "TestBackendFromEnvironment", "backend", []string{EnvBackend + "=" + be}, false)
			require.NoError(t, err, "child:\n%s", out)
			assert.Contains(t, out, "--- PASS: TestBackendFromEnvironment")
			assert.Contains(t, out, "selected: "+be+"\n", "child:\n%s", out)
		})
	}
}

func backendChild(t *testing.T) {
	name := os.Getenv(EnvBackend)
	require.NotEmpty(t, name)
	assert.Equal(t, name, DefaultBackend())
	pg := PageSize()

	explicit, err := Alloc(pg, WithBackend("syscall"))
	require.NoError(t, err, "WithBackend overrides the environment")
	in, err := Stat(explicit)
	require.NoError(t, err)
	assert.Equal(t, "syscall", in.Backend)
	require.NoError(t, Free(explicit))

	b, err := Alloc(pg)
	if name == "nope" {
		assert.ErrorIs(t, err, ErrUnknownBackend)
		assert.Nil(t, b)
		assert.ErrorIs(t, CheckBackend(""), ErrUnknownBackend)
		h := make([]byte, 10)
		fill(h, 1)
		Wipe(h) // needs no backend choice to work
		assert.True(t, isZero(h))
		t.Logf("selected: %s", name)
		return
	}
	require.NoError(t, err)
	in, err = Stat(b)
	require.NoError(t, err)
	assert.Equal(t, name, in.Backend)
	require.NoError(t, Free(b))
	t.Logf("selected: %s", name)
}
