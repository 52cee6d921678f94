//go:build !zeropool_portable

package iouring

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

// io_uring_register opcodes of provided-buffer rings.
const (
	registerPbufRing   = 22 // IORING_REGISTER_PBUF_RING (Linux 5.19)
	unregisterPbufRing = 23 // IORING_UNREGISTER_PBUF_RING
	bufEntrySize       = 16 // sizeof(struct io_uring_buf)
	tailWord           = 12 // offset of the 32-bit word holding bufs[0].bid and the ring's tail
)

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// BufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING) of one io_uring instance,
// filled with buffers from a pool: the kernel picks one of them for each receive that asks
// for its group (IOSQE_BUFFER_SELECT, as multishot receives do) and names it in the
// completion, whose flags carry IORING_CQE_F_BUFFER and the buffer's id in their upper 16 bits
// (BufferID). The application reads Buffer(id)[:cqe.res], then either gives the buffer back
// to the kernel with Recycle or keeps it, without a copy, with Detach.
//
//	br, err := iouring.NewBufRing(ringFD, 7, p, 16<<10, 256)
//	// submit IORING_OP_RECV with IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT, buf_group 7
//	for each completion cqe:
//		id, ok := iouring.BufferID(cqe.Flags)
//		msg := br.Buffer(id)[:cqe.Res]
//		... use msg ...
//		br.Recycle(id)              // or: kept := br.Detach(id) ... p.Put(kept)
//
// Each id a completion names is the application's until it calls Recycle or Detach for it,
// once; calling either for an id the kernel holds (one no completion named, or named and
// given back already) hands the kernel one buffer twice and is a bug as a double Put is. A
// receive that finds the ring empty completes with -ENOBUFS (a multishot receive then ends:
// no IORING_CQE_F_MORE); Recycle or Detach and submit it again, the data waits in the socket.
//
// Recycle, Detach and Buffer may be called from any goroutine, also while another reaps the
// completions; Buffer takes no lock and does not allocate. The BufRing keeps its own
// duplicate of the ring's descriptor, as a Table does. Shut down in this order: cancel or
// finish the receives that use the group, Close the BufRing, close the ring.
//
// The kernel copies received data into the buffers (they are not registered or pinned); it
// pins the ring's own memory, count*16 bytes rounded up to a page, charged to RLIMIT_MEMLOCK
// (unless the ring's creator has CAP_IPC_LOCK).
type BufRing struct {
	pool  *pool.BufferPool
	group uint16
	size  int
	mask  uint16
	// bufs holds the address of the buffer under each id. It is read without a lock (Buffer)
	// and changed under mu (Detach, Close).
	bufs []atomic.Uintptr

	mu     sync.Mutex // serializes the tail's changes, Detach's exchanges and Close
	fd     int        // the BufRing's own duplicate of the ring's descriptor; -1 after Close
	ring   []byte     // the entries the kernel reads, a mapping of their own
	tail   uint16
	bid0   uint16 // the id in entry 0, which shares a 32-bit word with the tail
	closed bool

	refused     atomic.Uint64 // Recycle and Detach calls that could do nothing
	lastRefusal atomic.Pointer[error]
}

// NewBufRing registers a provided-buffer ring of count buffers (a power of two from 1 to
// MaxBufRingCount) of size bytes each, from p, as buffer group group of the io_uring
// instance ringFD, and provides every buffer to the kernel. Errors, with no buffer left out of
// p and nothing registered: ErrInvalidBufRing; ErrRingClosed for a closed descriptor or one
// that is not an io_uring; ErrGroupInUse; ErrMemlock where pinning the ring's entries would
// pass RLIMIT_MEMLOCK; the pool's error when it cannot supply the buffers (pool.ErrExhausted,
// pool.ErrClosed, ...); errors.ErrUnsupported wrapped for a kernel without provided-buffer
// rings (Linux 5.19).
func NewBufRing(ringFD int, group uint16, p *pool.BufferPool, size, count int) (*BufRing, error) {
	if count < 1 || count > MaxBufRingCount || count&(count-1) != 0 || size < 1 || size > MaxRegionSize {
		return nil, fmt.Errorf("%w: NewBufRing(group %d, size %d, count %d)", ErrInvalidBufRing, group, size, count)
	}
	if p == nil {
		return nil, errors.New("iouring: NewBufRing with a nil pool")
	}
	fd, err := unix.FcntlInt(uintptr(ringFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d: %w", ErrRingClosed, ringFD, err)
	}
	br := &BufRing{pool: p, group: group, size: size, mask: uint16(count - 1), bufs: make([]atomic.Uintptr, count), fd: fd}
	fail := func(err error) (*BufRing, error) {
		for i := range br.bufs {
			if a := br.bufs[i].Swap(0); a != 0 {
				_ = p.Put(bufferAt(a, size)) // taken from p just now: its Put cannot be refused
			}
		}
		if br.ring != nil {
			_ = unix.Munmap(br.ring) // never registered, or unregistered: ours alone
		}
		_ = unix.Close(fd) // the duplicate was never used
		return nil, err
	}
	pg := unix.Getpagesize()
	ringBytes := (count*bufEntrySize + pg - 1) &^ (pg - 1)
	br.ring, err = unix.Mmap(-1, 0, ringBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		br.ring = nil
		return fail(fmt.Errorf("iouring: mapping %d bytes for the entries of buffer group %d: %w", ringBytes, group, err))
	}
	for id := range count {
		b, err := p.TryGet(size)
		if err != nil {
			return fail(fmt.Errorf("iouring: buffer %d of %d (%d bytes) for group %d: %w", id+1, count, size, group, err))
		}
		br.bufs[id].Store(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
		br.provide(uint16(id))
	}
	br.publish()
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(br.ring)))), ringEntries: uint32(count), bgid: group}
	if _, err := register(fd, registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		switch {
		case ringGone(err):
			err = fmt.Errorf("%w: fd %d: %w", ErrRingClosed, ringFD, err)
		case errors.Is(err, unix.EEXIST):
			err = fmt.Errorf("%w: group %d on fd %d: %w", ErrGroupInUse, group, ringFD, err)
		case errors.Is(err, unix.ENOMEM):
			err = fmt.Errorf("%w: the %d bytes of buffer group %d's entries: %w", ErrMemlock, ringBytes, group, err)
		case errors.Is(err, unix.EINVAL):
			err = fmt.Errorf("%w: the kernel refused a provided-buffer ring (IORING_REGISTER_PBUF_RING needs Linux 5.19): %w", errors.ErrUnsupported, err)
		default:
			err = fmt.Errorf("iouring: registering buffer group %d on fd %d: %w", group, ringFD, err)
		}
		return fail(err)
	}
	return br, nil
}

// Group returns the buffer group the ring was registered as.
func (br *BufRing) Group() uint16 { return br.group }

// Size returns the bytes of each buffer: len(Buffer(id)).
func (br *BufRing) Size() int { return br.size }

// Count returns the number of buffers (and ids, 0 to Count()-1).
func (br *BufRing) Count() int { return len(br.bufs) }

// Buffer returns the whole buffer (len Size()) that id names now: the one a completion naming
// id received into (read Buffer(id)[:cqe.res]). It is nil for an id out of range and after
// Close. The slice is valid until the id is recycled or detached (after Detach the id names
// the fresh buffer), or the BufRing closed.
func (br *BufRing) Buffer(id uint16) []byte {
	if int(id) >= len(br.bufs) {
		return nil
	}
	a := br.bufs[id].Load()
	if a == 0 {
		return nil
	}
	return bufferAt(a, br.size)
}

// Recycle gives the buffer id names back to the kernel, at once: the next receive may fill
// it. Call it once for each id a completion named, when done with the data. Recycle of an id
// out of range, or after Close, does nothing; Err counts and reports it.
func (br *BufRing) Recycle(id uint16) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if err := br.usable(id, "Recycle"); err != nil {
		br.refuse(err)
		return
	}
	br.provide(id)
	br.publish()
}

// Detach hands the buffer id names to the application, as an ordinary buffer of the pool
// (len and cap Size(); Put it when done), and provides a fresh buffer from the pool to the
// kernel under the same id at once: do not Recycle the id for it. So a received message is
// kept without a copy. Detach returns nil, and changes nothing, for an id out of range, after
// Close, or when the pool cannot supply the fresh buffer (pool.ErrExhausted, pool.ErrClosed):
// the id is still the application's then (Recycle it, or Detach again later); Err reports why.
func (br *BufRing) Detach(id uint16) []byte {
	if int(id) >= len(br.bufs) {
		br.refuse(fmt.Errorf("iouring: Detach(%d) of a ring of %d buffers", id, len(br.bufs)))
		return nil
	}
	fresh, err := br.pool.TryGet(br.size) // before the lock: a Get may map memory
	if err != nil {
		br.refuse(fmt.Errorf("iouring: Detach(%d): no fresh buffer for the kernel: %w", id, err))
		return nil
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	if err := br.usable(id, "Detach"); err != nil {
		_ = br.pool.Put(fresh) // taken just now: its Put cannot be refused
		br.refuse(err)
		return nil
	}
	old := br.bufs[id].Swap(uintptr(unsafe.Pointer(unsafe.SliceData(fresh))))
	br.provide(id)
	br.publish()
	return bufferAt(old, br.size)
}

// Close unregisters the ring (the kernel picks none of its buffers afterwards), puts back to
// the pool every buffer the BufRing holds, whether the kernel or a completion not yet recycled
// had it (detached buffers stay the application's), and closes the BufRing's duplicate of the
// ring's descriptor. Finish or cancel the receives of the group first: a receive in progress
// could still write into a buffer the pool hands out again. Should the kernel refuse to
// unregister, the buffers stay out of the pool (the kernel may still fill them) and the error
// says so. A second Close returns ErrClosed.
func (br *BufRing) Close() error {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.closed {
		return fmt.Errorf("%w: buffer ring of group %d", ErrClosed, br.group)
	}
	br.closed = true
	var errs []error
	reg := bufReg{bgid: br.group}
	_, err := register(br.fd, unregisterPbufRing, unsafe.Pointer(&reg), 1)
	switch {
	case err == nil, errors.Is(err, unix.ENXIO), errors.Is(err, unix.EBADF):
		// Unregistered, or the ring is gone with its groups: nothing of the kernel reads the
		// entries or fills the buffers any more.
		for i := range br.bufs {
			if a := br.bufs[i].Swap(0); a != 0 {
				if err := br.pool.Put(bufferAt(a, br.size)); err != nil {
					errs = append(errs, fmt.Errorf("iouring: putting back buffer %d of group %d: %w", i, br.group, err))
				}
			}
		}
		if err := unix.Munmap(br.ring); err != nil {
			errs = append(errs, fmt.Errorf("iouring: unmapping the entries of group %d: %w", br.group, err))
		}
		br.ring = nil
	default:
		for i := range br.bufs {
			br.bufs[i].Store(0) // out of the pool for good: the kernel may still use them
		}
		errs = append(errs, fmt.Errorf("iouring: unregistering buffer group %d (its %d buffers stay out of the pool): %w", br.group, len(br.bufs), err))
	}
	if err := unix.Close(br.fd); err != nil {
		errs = append(errs, fmt.Errorf("iouring: closing the ring's descriptor: %w", err))
	}
	br.fd = -1
	return errors.Join(errs...)
}

// Err returns nil while every Recycle and Detach did what it was asked, and otherwise an
// error saying how many could not, wrapping the last reason.
func (br *BufRing) Err() error {
	n := br.refused.Load()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("iouring: %d Recycle or Detach calls did nothing; the last: %w", n, *br.lastRefusal.Load())
}

// usable refuses an id out of range and any id after Close. The caller holds mu.
func (br *BufRing) usable(id uint16, what string) error {
	switch {
	case br.closed:
		return fmt.Errorf("%w: %s(%d) on the closed buffer ring of group %d", ErrClosed, what, id, br.group)
	case int(id) >= len(br.bufs):
		return fmt.Errorf("iouring: %s(%d) of a ring of %d buffers", what, id, len(br.bufs))
	}
	return nil
}

func (br *BufRing) refuse(err error) {
	br.refused.Add(1)
	br.lastRefusal.Store(&err)
}

// provide writes the entry of buffer id at the tail, for publish to hand over. The entry is
// free: the kernel holds at most count-1 other buffers when one is given back. The caller
// holds mu (or is NewBufRing).
func (br *BufRing) provide(id uint16) {
	slot := br.tail & br.mask
	e := br.ring[int(slot)*bufEntrySize:][:bufEntrySize:bufEntrySize]
	*(*uint64)(unsafe.Pointer(&e[0])) = uint64(br.bufs[id].Load())
	*(*uint32)(unsafe.Pointer(&e[8])) = uint32(br.size)
	*(*uint16)(unsafe.Pointer(&e[12])) = id
	if slot == 0 {
		br.bid0 = id
	}
	br.tail++
}

// publish makes the entries provided so far visible to the kernel: a release store of the
// tail, which the kernel reads with an acquire load. The tail is the upper half of a 32-bit
// word whose lower half is entry 0's id (struct io_uring_buf_ring overlays them), and Go has
// no 16-bit atomic store: the word is stored whole, with entry 0's id as it is.
func (br *BufRing) publish() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&br.ring[tailWord])), uint32(br.bid0)|uint32(br.tail)<<16)
}

// bufferAt is the buffer of n bytes at address a (memory of the pool, outside the Go heap).
func bufferAt(a uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&a))), n)[:n:n]
}
