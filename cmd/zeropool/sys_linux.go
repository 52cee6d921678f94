package main

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// The facts only Linux has the calls for.

// rlimInfinity is RLIMIT_MEMLOCK's "unlimited".
const rlimInfinity = unix.RLIM_INFINITY

// memlockLimit returns RLIMIT_MEMLOCK; unlimited is rlimInfinity.
func memlockLimit() (soft, hard uint64, err error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r); err != nil {
		return 0, 0, err
	}
	return r.Cur, r.Max, nil
}

// kernel returns the system name, release and machine, as uname -srm prints them.
func kernel() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " +
		unix.ByteSliceToString(u.Machine[:]), nil
}

// lockErrnoHint explains why the kernel refused an mlock.
func lockErrnoHint(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch errno {
	case syscall.EPERM:
		return " (EPERM: RLIMIT_MEMLOCK is 0 and the process lacks CAP_IPC_LOCK)"
	case syscall.ENOMEM:
		return " (ENOMEM: RLIMIT_MEMLOCK is too small or used up, and the process lacks CAP_IPC_LOCK)"
	case syscall.EAGAIN:
		return " (EAGAIN: the kernel could not lock the pages)"
	case syscall.ENOSYS:
		return " (ENOSYS: mlock is not available, perhaps filtered by seccomp)"
	}
	return ""
}
