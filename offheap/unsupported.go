//go:build !linux

package offheap

// Package offheap is made of Linux system calls and files (mlock2, MADV_WIPEONFORK,
// MADV_GUARD_INSTALL, memfd_secret, /proc/self/smaps) that other systems lack, and so are its
// backends; every other file of it carries the _linux suffix. On any other system the build
// stops at the line below, and its error reads as a sentence.
var _ = offheap_builds_only_on_Linux_it_is_made_of_Linux_system_calls_and_proc_files
