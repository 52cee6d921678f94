// Package offheap maps page-granular memory outside the Go heap.
//
// Alloc returns an ordinary []byte backed by an anonymous private mapping (or, with
// SecretMem, by memfd_secret memory): the garbage collector never scans it, never moves it and
// never frees it. The caller owns it until Free. Options ask the kernel for the properties
// that secrets and DMA-style users need (mlock, MADV_DONTDUMP, MADV_WIPEONFORK, MADV_DONTFORK,
// guard pages, transparent huge pages, secret memory), and VmFlags reads back what the kernel
// actually applied from /proc/self/smaps.
//
// Map makes the same mappings for a holder that keeps them to itself (a pool): the returned
// Mapping's methods protect, discard, guard, lock and unmap it, while the package-level Free
// and range operations refuse its memory with ErrNotOwned, so that no caller can change a
// pool's pages behind its back.
//
// The work is done by a backend. The "syscall" backend (golang.org/x/sys/unix) is always
// compiled in; other backends register themselves from build-tagged files. Backends lists the
// ones in this binary.
//
// Package offheap knows nothing of pools: it is the layer the pool package builds on. It is
// Linux-only (its files carry the _linux suffix); on other systems its build stops with an
// error that says so.
package offheap
