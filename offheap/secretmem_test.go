//go:build linux && !zeropool_portable

package offheap

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zeropool-go/zeropool/internal/procfs"
	"golang.org/x/sys/unix"
)

// allocSecret maps SecretMem memory with the named backend, skipping the test where the kernel
// has none, and frees it when the test ends.
func allocSecret(t *testing.T, be string, size int, opts ...Option) []byte {
	t.Helper()
	b, err := Alloc(size, append(opts, SecretMem(), WithBackend(be))...)
	if errors.Is(err, ErrSecretMem) {
		t.Skipf("no secret memory here: %v", err)
	}
	require.NoError(t, err, "Alloc(%d, SecretMem) with the %s backend", size, be)
	t.Cleanup(func() { _ = Free(b) })
	return b
}

// readProcMem reads n bytes at addr through /proc/self/mem, as root or a debugger could.
func readProcMem(t *testing.T, addr uintptr, n int) ([]byte, error) {
	t.Helper()
	f, err := os.Open("/proc/self/mem")
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, n)
	_, err = f.ReadAt(buf, int64(addr))
	return buf, err
}

// testSecretMem: SecretMem memory is ordinary memory to its owner, and unreadable through
// /proc/self/mem, with every option combined as SecretMem's documentation says.
func testSecretMem(t *testing.T, be string) {
	pg := PageSize()
	plain := alloc(t, be, pg)
	fill(plain, 0x3c)
	got, err := readProcMem(t, addrOf(plain), 16)
	require.NoError(t, err, "an ordinary mapping reads through /proc/self/mem")
	assert.Equal(t, plain[:16], got)

	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"plain", nil},
		{"guards", []Option{GuardPages()}},
		{"aligned", []Option{Align(64 << 10)}},
		{"secure", []Option{GuardPages(), Align(2 << 20), NoDump(), WipeOnFork(), Pin(), Populate()}},
		{"dontfork", []Option{DontFork(), PinRequired()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := allocSecret(t, be, 3*pg, c.opts...)
			in, err := Stat(b)
			require.NoError(t, err)
			assert.True(t, in.SecretMem, "Stat says SecretMem")
			assert.True(t, in.Locked, "secret memory is locked")
			assert.NoError(t, in.LockErr)
			if in.Guard != "" {
				assert.Equal(t, "mprotect", in.Guard, "guards of secret memory are PROT_NONE pages")
			}
			populated := c.name == "secure"
			if !populated {
				assert.Zero(t, residentPages(t, b), "untouched")
			} else {
				assert.Equal(t, 3, residentPages(t, b), "Populate faults secret pages in")
			}
			assert.True(t, isZero(b[:cap(b)]))
			fill(b[:cap(b)], 0x5c)
			assert.Equal(t, byte(0x5c), b[cap(b)-1], "usable as ordinary memory")

			_, err = readProcMem(t, addrOf(b), 16)
			assert.ErrorIs(t, err, unix.EIO, "reading secret memory through /proc/self/mem")

			flags := vmFlagSet(t, addrOf(b))
			for _, f := range []string{"rd", "wr", "sh", "lo", "dd"} {
				assert.True(t, flags[f], "VmFlags %q in %v", f, flags)
			}
			forks := false
			for _, o := range c.opts {
				var cfg allocConfig
				_ = o(&cfg)
				forks = forks || cfg.flags&(specWipeOnFork|specDontFork) != 0
			}
			assert.Equal(t, forks, flags["dc"], "WipeOnFork and DontFork leave it out of a child: %v", flags)
			assert.False(t, flags["wf"], "the kernel wipes only private memory on fork")

			if in.Guard != "" {
				end := addrOf(b) + uintptr(cap(b))
				assert.True(t, writeFaults(t, end), "write just past the end")
				assert.True(t, writeFaults(t, addrOf(b)-1), "write just before the start")
			}
			require.NoError(t, Protect(b[:pg:pg], ProtRead))
			assert.True(t, writeFaults(t, addrOf(b)), "ProtRead secret page")
			require.NoError(t, Protect(b[:pg:pg], ProtReadWrite))
			b[0] = 1
		})
	}

	m, err := Map(pg, SecretMem(), WithBackend(be))
	if errors.Is(err, ErrSecretMem) {
		t.Skipf("no secret memory here: %v", err)
	}
	require.NoError(t, err)
	assert.True(t, m.Info().SecretMem, "a Mapping can be secret too")
	m.Bytes()[0] = 7
	_, err = readProcMem(t, addrOf(m.Bytes()), 1)
	assert.ErrorIs(t, err, unix.EIO)
	require.NoError(t, m.Unmap())
}

// TestSecretMemUnderMemlockLimit: as an unprivileged user under a 64 KiB RLIMIT_MEMLOCK, secret
// memory beyond the limit is refused with ErrPinFailed (secret pages are locked and charged to
// it, Pin or not), leaves nothing mapped, and secret memory within the limit still works.
func TestSecretMemUnderMemlockLimit(t *testing.T) {
	if os.Getenv(childMode) == "secret-memlock" {
		secretMemlockChild(t)
		return
	}
	runBackendChild(t, "TestSecretMemUnderMemlockLimit", "secret-memlock", true, "secret memlock checked: backend=%s ")
}

func secretMemlockChild(t *testing.T) {
	const limit = 64 << 10
	lowerMemlock(t, limit)
	pg := PageSize()
	for _, be := range backendsOfParent(t) {
		for _, opts := range [][]Option{nil, {GuardPages(), Align(2 << 20)}} {
			before := secretMappings(t)
			b, err := Alloc(1<<20, append(opts, SecretMem(), WithBackend(be))...)
			if errors.Is(err, ErrSecretMem) {
				t.Skipf("no secret memory here: %v", err)
			}
			require.Error(t, err, "%s: 1 MiB of secret memory under a 64 KiB RLIMIT_MEMLOCK", be)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, ErrPinFailed, "%s", be)
			assert.ErrorIs(t, err, unix.EAGAIN, "%s", be)
			assert.Contains(t, err.Error(), "RLIMIT_MEMLOCK", "%s: the error says why", be)
			assert.Equal(t, before, secretMappings(t), "%s: no secret memory left mapped", be)
			t.Logf("refused: %v", err)
		}
		b, err := Alloc(4*pg, SecretMem(), GuardPages(), WithBackend(be))
		require.NoError(t, err, "%s: secret memory within the limit", be)
		fill(b, 1)
		require.NoError(t, Free(b))
		t.Logf("secret memlock checked: backend=%s (uid %d)", be, os.Geteuid())
	}
}

// TestSecretMemUnavailable: where the kernel has no secret memory (too old, disabled, or
// forbidden by seccomp: here a filter in a child makes memfd_secret fail as each would), Alloc
// with SecretMem fails with ErrSecretMem and the errno, and maps nothing.
func TestSecretMemUnavailable(t *testing.T) {
	if os.Getenv(childMode) == "no-secretmem" {
		noSecretMemChild(t)
		return
	}
	if auditArch() == 0 {
		t.Skipf("no seccomp filter written for %s", runtime.GOARCH)
	}
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		t.Run(errno.Error(), func(t *testing.T) {
			out, err := runChild(t, "TestSecretMemUnavailable", "no-secretmem",
				[]string{"ZEROPOOL_TEST_ERRNO=" + errno.Error()}, false)
			require.NoError(t, err, "child:\n%s", out)
			assert.Contains(t, out, "--- PASS: TestSecretMemUnavailable")
			for _, be := range usableBackends(t) {
				assert.Contains(t, out, "refusal checked: backend="+be+"\n", "child:\n%s", out)
			}
		})
	}
}

func noSecretMemChild(t *testing.T) {
	backends := backendsOfParent(t)
	errno := unix.ENOSYS
	if os.Getenv("ZEROPOOL_TEST_ERRNO") == unix.EPERM.Error() {
		errno = unix.EPERM
	}
	require.NoError(t, failSyscall(unix.SYS_MEMFD_SECRET, errno))
	for _, be := range backends {
		before := secretMappings(t)
		b, err := Alloc(PageSize(), SecretMem(), GuardPages(), WithBackend(be))
		assert.Nil(t, b)
		assert.ErrorIs(t, err, ErrSecretMem, "%s", be)
		assert.ErrorIs(t, err, errno, "%s", be)
		assert.Equal(t, before, secretMappings(t), "%s: no secret memory mapped", be)
		m, err := Map(PageSize(), SecretMem(), WithBackend(be))
		assert.Nil(t, m)
		assert.ErrorIs(t, err, ErrSecretMem, "%s", be)
		plain, err := Alloc(PageSize(), WithBackend(be))
		require.NoError(t, err, "%s: still serving", be)
		require.NoError(t, Free(plain))
		t.Logf("refusal checked: backend=%s", be)
	}
}

func auditArch() uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64
	}
	return 0
}

// failSyscall installs a seccomp filter on every thread of the process that makes system call
// nr fail with errno and lets every other call through.
func failSyscall(nr uintptr, errno unix.Errno) error {
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: auditArch(), Jt: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(nr), Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if e != 0 {
		return e
	}
	return nil
}

// secretMappings counts the mappings of secret memory in /proc/self/maps. (VmSize is no
// measure of what one call left mapped: the Go runtime maps arenas and thread stacks of its
// own at any time.)
func secretMappings(t *testing.T) int {
	t.Helper()
	maps, err := procfs.Maps()
	require.NoError(t, err)
	n := 0
	for _, m := range maps {
		if strings.Contains(m.Name, "secretmem") {
			n++
		}
	}
	return n
}
