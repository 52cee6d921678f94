// Package iouring keeps the registered-buffer table of one io_uring instance in step with a
// zeropool pool, so that READ_FIXED and WRITE_FIXED operations can use pooled buffers without
// the kernel pinning and unpinning their pages on every operation.
//
// A Table is a sparse registered-buffer table (IORING_REGISTER_BUFFERS2 with
// IORING_RSRC_REGISTER_SPARSE). Its OnMap and OnUnmap methods are the pool's hooks:
//
//	t, err := iouring.NewTable(ringFD, 1024)
//	p, err := pool.NewWithConfig(pool.Config{OnMap: t.OnMap, OnUnmap: t.OnUnmap})
//
// Every region the pool maps (a 2 MiB slab of same-size slots, or one large buffer's own
// mapping) is registered into a free slot before any of its buffers is handed out, and
// cleared from its slot before it is unmapped. With the hooks set the pool never changes the
// pages behind a live region, so a registration never goes stale: the kernel's pinned pages
// are the pages the buffer's address refers to. Index gives the buf_index of a buffer.
//
// The table needs only the ring's file descriptor, so it works with any io_uring library.
// It keeps a duplicate of that descriptor, so the ring and its registered buffers live until
// Table.Close even if the library closes its own descriptor first. Shut down in this order:
// finish or cancel the operations in flight, Close the pool (each region's OnUnmap runs),
// Close the Table, close the ring.
//
// Registered buffers are charged to RLIMIT_MEMLOCK by the kernel (unless the ring's creator
// has CAP_IPC_LOCK), to the user's count, separately from mlock's per-process count, and they
// appear in VmPin in /proc/PID/status. Registering a region makes all of it resident.
//
// For network I/O, a BufRing is a provided-buffer ring filled from a pool: the kernel picks a
// buffer per receive completion (multishot receives), and the application recycles it or
// keeps it without a copy (Detach). A ZeroCopySends holds the buffers of zero-copy sends
// (SEND_ZC, SENDMSG_ZC; MSG_ZEROCOPY and vmsplice by key) until the kernel's notification,
// with a pool.Retain reference each, so that no Put recycles them early.
//
// io_uring is Linux's. On other systems (and on Linux built with the zeropool_portable tag)
// the package has the same API, and NewTable returns an error wrapping errors.ErrUnsupported:
// no Table can be made there.
package iouring
