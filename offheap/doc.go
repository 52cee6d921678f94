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
// compiled in on Linux; other backends register themselves from build-tagged files. Backends
// lists the ones in this binary.
//
// # Backends
//
// The Linux backends make the same mappings: every option, every error, every property the
// kernel reports (VmFlags, protections, guard pages, locked and resident pages) is the same
// whichever does the work. The mapping recipe (check the request, over-map to align, trim,
// map secret memory, install guards, advise, populate, lock) is written twice, once in Go and
// once in C, step for step; TestBackendsMakeIdenticalMappings compares what the kernel says
// of the mappings of every backend for every combination of the options. What each is for:
//
//   - "syscall" makes the system calls from Go. It needs no C toolchain and no file at run
//     time, and it is the reference the others are checked against.
//   - "cgo" runs the C recipe (csrc/zeropool.c) compiled into the binary, crossing into C once
//     per mapping instead of once per system call. It is the default where cgo is on. The
//     crossings it saves cost far less than the system calls themselves: Alloc then Free of
//     4 KiB took a median of 8.0 µs with cgo and 6.1 µs with syscall, and with guard pages,
//     NoDump, WipeOnFork and Pin 27.8 µs and 27.1 µs (BenchmarkAllocFree and
//     BenchmarkAllocFreeSecure, 6 runs each side by side on a shared 2-core machine): no gain
//     that a measurement shows.
//   - "purego" runs the same C recipe from a shared library (build/libzeropool.so) loaded at
//     run time, without cgo. It lets a CGO_ENABLED=0 binary use the C recipe, and the library
//     be rebuilt (instrumented, patched) without rebuilding the program; it makes the binary
//     dynamically linked, and fails to open where the library is not found.
//
// So cgo and purego give a Go program no mapping, property or speed the syscall backend does
// not: they are there for the programs that name them (Config.Backend, ZEROPOOL_BACKEND) and
// for C code in the same process, which can make the same mappings through csrc/zeropool.h.
// A new option is added in Go (its Option, its flag in spec.go and its step in
// backend_syscall_linux.go), in the C ABI (its flag in csrc/zeropool.h and its step in
// csrc/zeropool.c; abi_test.go checks the two declarations against each other), and, where
// other systems cannot give it, in backend_portable.go's refusals.
//
// Package offheap knows nothing of pools: it is the layer the pool package builds on.
//
// # Other systems
//
// Off-heap memory with these guarantees, pinning and the kernel's flags are Linux's. On every
// other system the package has the same API over one backend, "portable", meant for
// development and tests (a service developed on macOS or Windows and run on Linux), with no
// off-heap or pinning guarantee:
//
//   - Where golang.org/x/sys/unix has mmap (darwin, freebsd, netbsd, openbsd, dragonfly,
//     solaris, illumos, aix) mappings are mmap's: outside the Go heap, page-aligned, zero when
//     fresh, gone once unmapped. GuardPages and Guard are PROT_NONE pages, Protect is
//     mprotect's, Discard maps fresh zero pages over the range and keeps the access Protect
//     gave it.
//   - Elsewhere (windows, plan9, js, wasip1) mappings are Go memory that the backend holds
//     until Free or Unmap: page-aligned and at a fixed address, but on the Go heap (the
//     collector counts it), still readable through a stale slice after Free, and a request
//     larger than the system can back ends the process as make does. GuardPages, Protect,
//     Guard and Discard are refused.
//   - Everywhere the options NoDump, WipeOnFork, DontFork and SecretMem, PinRequired, Lock,
//     Unlock and VmFlags are refused with an error that names the feature and the system and
//     wraps ErrUnsupported (and errors.ErrUnsupported). Pin is best effort and never met: the
//     mapping is unlocked and Stat's LockErr says why. HugePages is ignored.
//
// On Linux the build tag zeropool_portable selects that backend instead of the Linux ones
// (and zeropool_portable,zeropool_gomem its Go memory), which is how it is tested.
package offheap
