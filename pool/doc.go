// Package pool is a buffer pool whose buffers live outside the Go heap.
//
// Buffers are carved from anonymous mappings (package offheap) and handed out as ordinary
// []byte. A Get is served, in order, from a small cache owned by the current P (no lock, no
// atomic read-modify-write), from the size class's shard stacks (one mutex each, P-affine, with
// stealing), then from the free slots of the class's slabs, and only then from fresh memory: a
// slot of a 2 MiB slab for classes up to 256 KiB, or a mapping of its own for larger classes.
// Put finds a buffer's slab or mapping in O(1) through a two-level map indexed by 2 MiB
// address granule, checks the slot's state byte (out, idle, free), and caches it again; what
// the caches cannot hold goes back to its slab.
//
// The garbage collector sees none of it: the caches hold addresses, not pointers; buffers
// survive any number of collections; 0 allocations per Get and Put.
//
// Memory is returned to the system by Put (beyond the idle bounds or the buffers above
// MaxBufferSize), by Trim, and by Close. Nothing runs in the background.
package pool
