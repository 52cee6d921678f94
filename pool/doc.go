// Package pool is a buffer pool whose buffers live outside the Go heap.
//
// Buffers are carved from anonymous mappings (package offheap) and handed out as ordinary
// []byte. The garbage collector never scans, moves or frees them: idle buffers survive any
// number of collections, and Get and Put allocate nothing.
//
// # What a caller may rely on
//
//   - Get(n) returns len n, cap at least n, memory outside the Go heap. A reused buffer holds
//     whatever its last holder left in it (reuse costs nothing); fresh memory is zero; GetZeroed
//     zeroes. Get(0) returns len 0 and cap 0: nothing anyone can append into in place. Buffers
//     of 4 KiB or more start on a page boundary (O_DIRECT-safe); smaller ones on a multiple of
//     their size class. Above 256 KiB, cap is at most 1.25 n rounded up to a page.
//   - Put takes back a slice whose first element is the first byte of a buffer this pool
//     handed out and has not taken back; len and cap may differ. Put(nil) does nothing.
//     Anything else is refused with an errors.Is-comparable error (ErrNotOwned, ErrDoublePut,
//     wrapped in ErrClosed after Close), the pool unchanged, never a panic. Owner recovers the
//     whole buffer from an interior slice.
//   - TryGet returns an error, never panics: ErrInvalidSize, ErrClosed, ErrExhausted beyond
//     Config.MaxMappedBytes, or the system's refusal. Get panics where TryGet would fail. A
//     method called on a nil *BufferPool panics with a plain, recoverable panic.
//   - The zero value of BufferPool is a pool with the defaults, set up by its first method
//     call, so a BufferPool can be a field of a struct.
//   - Config.OnMap and Config.OnUnmap run with no lock of the pool held and may call it
//     back; a panic in either reaches the caller of the method that ran it, after the pool
//     has put itself in order.
//   - Close unmaps every idle buffer and returns an error wrapping ErrBuffersOut naming how
//     many are still out; those stay valid until their Put, which unmaps them. Close racing
//     with any number of Gets, Puts and Trims leaks nothing.
//   - Memory goes back to the system only by Put (beyond MaxIdleBytes, or buffers above
//     MaxBufferSize), Trim, Close, and a Get that MaxMappedBytes stopped. Nothing runs in the
//     background; importing the package has no side effect.
//   - Stats are exact when the pool is quiet, and never cost the hot path an atomic
//     read-modify-write.
//   - Retain adds a reference to a buffer that is out (one buffer, several holders: the
//     kernel until a zero-copy send's notification, N connections of a fan-out); the Put
//     that drops the last reference gives it back, and holders may Put it concurrently.
//
// # How it works
//
// Size classes are powers of two from 64 B to 256 KiB, then four per power of two up to
// Config.MaxBufferSize. A Get pops from the current P's loaded magazine of its class (under
// runtime.procPin: no lock); Put pushes onto it. Each P holds a loaded and a previous
// magazine of Config.LocalCacheSize buffers per class; when both are empty or both full it
// trades a whole magazine with the class's depot, in one short critical section (Bonwick and
// Adams, "Magazines and Vmem", 2001). The depot is bounded by bytes (Config.MaxIdleBytes).
// Classes up to 256 KiB are slots of 2 MiB slabs, larger ones a mapping each. Put finds a
// buffer's region in O(1) through one page map for the process, indexed by 2 MiB granule, and
// checks the slot's state byte (out, idle, free): that is how double Puts and foreign slices
// are caught.
//
// # Regions
//
// A region is one mapping of the pool (a slab, or one buffer's own mapping). Config.OnMap and
// Config.OnUnmap announce each region's birth and death; Regions and RegionOf list and find
// them. With either hook set the pool never changes the pages behind a live region, which is
// what keeps a registration with the kernel or a device (io_uring fixed buffers, see package
// iouring) valid.
//
// # Secrets and debugging
//
// A Config.Secure pool wipes every buffer on Put, keeps its memory out of core dumps and
// forked children, pins it, and fences it with guard pages (small secrets share guarded slabs
// with canaries); Freeze, Melt and Purge act on its buffers, and Config.SecretMem takes its
// memory out of the kernel's direct map. A Config.Debug pool makes every idle buffer
// inaccessible, so a touch after Put faults at once.
//
// # Other systems
//
// The package builds on every system with the same API, but what it promises about memory
// is Linux's. Elsewhere its memory comes from offheap's portable backend, meant for
// development and tests (a service developed on macOS or Windows and deployed on Linux), with
// no off-heap or pinning guarantee: where golang.org/x/sys/unix has mmap (darwin, freebsd and
// the other BSDs, solaris, aix) buffers are mmap'd memory outside the Go heap; on windows,
// plan9, js and wasip1 they are Go memory that the pool holds (on the Go heap, counted by
// the collector; a request larger than the system can back ends the process as make does).
// Get, Put, Trim, Close, Stats, Regions, Owner, Preallocate, Buffer, Sized and the rest work
// as on Linux; Trim's discard of free slots is refused over Go memory and counted in
// Stats.UnreleasedBytes. Pinned stays best effort: nothing is pinned, and every mapping counts
// in Stats.PinFailures. Debug works where the memory is mmap'd (idle buffers are made
// PROT_NONE with mprotect, and stay so through Trim) and is refused over Go memory.
// NewWithConfig refuses, with an error that wraps ErrInvalidConfig and offheap.ErrUnsupported
// (so errors.ErrUnsupported) and names the feature and the system: Secure, SecretMem,
// RequirePinned with Pinned or Secure, OnMap and OnUnmap (they exist to register regions
// with the kernel; package iouring refuses its tables there too), and DontFork.
package pool
