//go:build linux

package pool

import (
	"errors"
	"syscall"
	"unsafe"
)

// forkReadsZero forks this process with a raw clone system call, as fork(2) does, without
// the exec that os/exec and syscall.ForkExec always add: only a real fork shows what a child
// sees of memory advised MADV_WIPEONFORK. The child exits with status 0 if the n bytes at p
// all read as zero there, 1 otherwise; forkReadsZero returns that status.
func forkReadsZero(p *byte, n int) (status int, err error) {
	pid, errno := forkAndCheck(p, n)
	if errno != 0 {
		return 0, errno
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	if !ws.Exited() {
		return 0, errors.New("the forked child did not exit normally: " + ws.Signal().String())
	}
	return ws.ExitStatus(), nil
}

// forkAndCheck forks; the child reads the n bytes at p and leaves with exit_group. The child
// is a copy of a multithreaded Go process in which only this thread exists, so it must not
// enter the runtime at all: no stack growth (nosplit), no allocation, no race-detector calls
// (norace), no pointer checks (nocheckptr), no bounds checks, and only calls that are
// themselves nosplit and norace (syscall.RawSyscall6 is both; it makes the system call
// directly). The same rules let syscall's own forkAndExecInChild run in a child.
//
//go:nosplit
//go:norace
//go:nocheckptr
func forkAndCheck(p *byte, n int) (pid int, errno syscall.Errno) {
	// clone(SIGCHLD, 0, ...) is fork(2); SYS_FORK does not exist on every architecture.
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	if r != 0 {
		return int(r), 0 // the parent
	}
	code := uintptr(0)
	for i := 0; i < n; i++ {
		if *(*byte)(unsafe.Add(unsafe.Pointer(p), i)) != 0 {
			code = 1
			break
		}
	}
	syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0)
	return 0, 0 // not reached
}
