//go:build !zeropool_portable

package iouring

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

// io_uring_register opcodes and flags (include/uapi/linux/io_uring.h).
const (
	unregisterBuffers     = 1  // IORING_UNREGISTER_BUFFERS
	registerBuffers2      = 15 // IORING_REGISTER_BUFFERS2
	registerBuffersUpdate = 16 // IORING_REGISTER_BUFFERS_UPDATE
	rsrcRegisterSparse    = 1  // IORING_RSRC_REGISTER_SPARSE
)

// rsrcRegister is struct io_uring_rsrc_register.
type rsrcRegister struct {
	nr, flags  uint32
	resv2      uint64
	data, tags uint64
}

// rsrcUpdate2 is struct io_uring_rsrc_update2.
type rsrcUpdate2 struct {
	offset, resv uint32
	data, tags   uint64
	nr, resv2    uint32
}

// span is one registered region: [lo, hi) in slot index.
type span struct {
	lo, hi uintptr
	index  uint16
}

// snapshot is an immutable list of the registered regions, sorted by address. Index reads
// the current one without a lock; every change publishes a new one.
type snapshot struct{ spans []span }

// Table is one ring's registered-buffer table, kept in step with one or more pools through
// OnMap and OnUnmap. All its methods are safe for concurrent use.
type Table struct {
	snap atomic.Pointer[snapshot]

	mu     sync.Mutex // serializes the changes and the kernel calls that make them
	fd     int        // the Table's own duplicate of the ring's descriptor; -1 after Close
	closed bool
	slots  int
	free   []uint16 // free slots, the lowest on top

	unmapFailures atomic.Uint64
	lastUnmapErr  atomic.Pointer[error]
}

// NewTable registers a sparse table of slots empty slots (1 to MaxSlots) with the io_uring
// instance ringFD and returns the Table that fills them. A ring has at most one buffer table:
// NewTable fails (EBUSY) if ringFD has one. Errors: ErrInvalidSlots; ErrRingClosed for a
// closed descriptor or one that is not an io_uring; the kernel's errno otherwise (EEXIST for
// a ring set up with IORING_SETUP_SINGLE_ISSUER whose submitter is another thread: such a
// ring cannot be shared with the pool's goroutines).
func NewTable(ringFD int, slots int) (*Table, error) {
	if slots < 1 || slots > MaxSlots {
		return nil, fmt.Errorf("%w: NewTable(%d, %d)", ErrInvalidSlots, ringFD, slots)
	}
	fd, err := unix.FcntlInt(uintptr(ringFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d: %w", ErrRingClosed, ringFD, err)
	}
	reg := rsrcRegister{nr: uint32(slots), flags: rsrcRegisterSparse}
	if _, err := register(fd, registerBuffers2, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		_ = unix.Close(fd) // the duplicate was never used; its close cannot fail in a way that matters
		switch {
		case ringGone(err):
			return nil, fmt.Errorf("%w: fd %d: %w", ErrRingClosed, ringFD, err)
		case errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("iouring: fd %d already has a registered-buffer table: %w", ringFD, err)
		}
		return nil, fmt.Errorf("iouring: registering a sparse table of %d buffers on fd %d: %w", slots, ringFD, err)
	}
	t := &Table{fd: fd, slots: slots, free: make([]uint16, slots)}
	for i := range t.free {
		t.free[i] = uint16(slots - 1 - i)
	}
	t.snap.Store(&snapshot{})
	return t, nil
}

// OnMap registers r into a free slot. It is Config.OnMap's signature: the pool calls it after
// mapping a region and before handing out any of its buffers, and an error fails the Get that
// needed the region (wrapped). Errors: ErrTooLarge, ErrInvalidRegion, ErrClosed, ErrTableFull
// without a kernel call; ErrMemlock, ErrRingClosed, or the kernel's errno (EFAULT: pages the
// kernel cannot pin, such as guard pages or memfd_secret memory) from it. A refused region is
// not registered and takes no slot.
func (t *Table) OnMap(r pool.Region) error {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(r.Mem)))
	size := uintptr(len(r.Mem))
	switch {
	case size == 0:
		return fmt.Errorf("%w: region %d is empty", ErrInvalidRegion, r.ID)
	case size > MaxRegionSize:
		return fmt.Errorf("%w: region %d is %d bytes", ErrTooLarge, r.ID, size)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("%w: region %d", ErrClosed, r.ID)
	}
	cur := t.snap.Load().spans
	i := search(cur, lo) // cur[:i] start at or below lo
	if (i > 0 && cur[i-1].hi > lo) || (i < len(cur) && cur[i].lo < lo+size) {
		return fmt.Errorf("%w: region %d at %#x (%d bytes) overlaps a registered one", ErrInvalidRegion, r.ID, lo, size)
	}
	if len(t.free) == 0 {
		return fmt.Errorf("%w: all %d slots hold a region (region %d, %d bytes)", ErrTableFull, t.slots, r.ID, size)
	}
	slot := t.free[len(t.free)-1]
	iov := unix.Iovec{Base: unsafe.SliceData(r.Mem)}
	iov.SetLen(int(size))
	if err := t.update(slot, &iov); err != nil {
		return t.mapError(r, size, err)
	}
	t.free = t.free[:len(t.free)-1]
	next := make([]span, 0, len(cur)+1)
	next = append(append(append(next, cur[:i]...), span{lo, lo + size, slot}), cur[i:]...)
	t.snap.Store(&snapshot{next})
	return nil
}

func (t *Table) mapError(r pool.Region, size uintptr, err error) error {
	switch {
	case errors.Is(err, unix.ENOMEM):
		var lim unix.Rlimit
		limit := "unknown"
		if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
			limit = fmt.Sprintf("%d bytes", lim.Cur)
		}
		return fmt.Errorf("%w: region %d (%d bytes): RLIMIT_MEMLOCK is %s, charged with every buffer this user has registered (or the kernel is out of memory): %w",
			ErrMemlock, r.ID, size, limit, err)
	case ringGone(err):
		return fmt.Errorf("%w: registering region %d: %w", ErrRingClosed, r.ID, err)
	case errors.Is(err, unix.EFAULT):
		return fmt.Errorf("iouring: the kernel cannot pin region %d (%d bytes): guard pages, PROT_NONE or memfd_secret memory cannot be registered: %w", r.ID, size, err)
	}
	return fmt.Errorf("iouring: registering region %d (%d bytes): %w", r.ID, size, err)
}

// OnUnmap clears r's slot. It is Config.OnUnmap's signature: the pool calls it before
// unmapping a region, when no buffer of it is out. A region the table does not hold (one
// OnMap refused, or any after Close) is ignored.
//
// The signature has no error. Should the kernel refuse to clear the slot (the ring was
// closed under the table), Index stops reporting the region at once, the slot is never
// reused (the kernel may still hold the old pages there; Close unregisters them), and the
// failure is counted: Err reports it.
func (t *Table) OnUnmap(r pool.Region) {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(r.Mem)))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(r.Mem) == 0 {
		return
	}
	cur := t.snap.Load().spans
	i := search(cur, lo) - 1
	if i < 0 || cur[i].lo != lo || cur[i].hi != lo+uintptr(len(r.Mem)) {
		return
	}
	slot := cur[i].index
	next := make([]span, 0, len(cur)-1)
	next = append(append(next, cur[:i]...), cur[i+1:]...)
	t.snap.Store(&snapshot{next})
	if err := t.update(slot, &unix.Iovec{}); err != nil {
		err = fmt.Errorf("iouring: clearing slot %d of region %d: %w", slot, r.ID, err)
		if ringGone(err) {
			err = fmt.Errorf("%w: %w", ErrRingClosed, err)
		}
		t.unmapFailures.Add(1)
		t.lastUnmapErr.Store(&err)
		return
	}
	t.free = append(t.free, slot)
}

// Err returns nil while every OnUnmap has cleared its slot, and otherwise an error saying how
// many could not, wrapping the last failure (ErrRingClosed when the ring was gone).
func (t *Table) Err() error {
	n := t.unmapFailures.Load()
	if n == 0 {
		return nil
	}
	last := t.lastUnmapErr.Load()
	return fmt.Errorf("iouring: %d OnUnmap calls could not clear their slot; the last: %w", n, *last)
}

// Index returns the buf_index for a READ_FIXED or WRITE_FIXED operation on b[:len(b)]: the
// slot of the registered region that holds all of it. ok is false for memory in no
// registered region (heap slices, foreign memory, a pool without the table's hooks, any
// slice after Close) and for a slice that runs past its region's end. The answer holds while
// b's buffer is out of its pool (a region with a buffer out is never unmapped). Index takes no
// lock and does not allocate.
func (t *Table) Index(b []byte) (index uint16, ok bool) {
	if cap(b) == 0 {
		return 0, false
	}
	s := t.snap.Load()
	if s == nil {
		return 0, false
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	i := search(s.spans, addr)
	if i == 0 {
		return 0, false
	}
	sp := &s.spans[i-1]
	if addr >= sp.hi || uintptr(len(b)) > sp.hi-addr {
		return 0, false
	}
	return sp.index, true
}

// search returns how many spans start at or below addr.
func search(spans []span, addr uintptr) int {
	i, j := 0, len(spans)
	for i < j {
		h := int(uint(i+j) >> 1)
		if spans[h].lo <= addr {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

// Close unregisters every buffer of the table (IORING_UNREGISTER_BUFFERS), so that the
// kernel unpins their pages, and closes the Table's duplicate of the ring's descriptor. After
// Close, OnMap refuses every region (ErrClosed), OnUnmap and Index find none. Close the pool
// first: a pool still open would fail every Get that needs a new region. A second Close
// returns ErrClosed.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	t.closed = true
	t.snap.Store(&snapshot{})
	var errs []error
	if _, err := register(t.fd, unregisterBuffers, nil, 0); err != nil {
		err = fmt.Errorf("iouring: unregistering the buffer table: %w", err)
		if ringGone(err) {
			err = fmt.Errorf("%w: %w", ErrRingClosed, err)
		}
		errs = append(errs, err)
	}
	if err := unix.Close(t.fd); err != nil {
		errs = append(errs, fmt.Errorf("iouring: closing the ring's descriptor: %w", err))
	}
	t.fd = -1
	t.free = nil
	return errors.Join(errs...)
}

// update points slot at iov (an empty iovec clears it).
func (t *Table) update(slot uint16, iov *unix.Iovec) error {
	up := rsrcUpdate2{offset: uint32(slot), data: uint64(uintptr(unsafe.Pointer(iov))), nr: 1}
	n, err := register(t.fd, registerBuffersUpdate, unsafe.Pointer(&up), unsafe.Sizeof(up))
	runtime.KeepAlive(iov) // up refers to it by address only
	if err == nil && n != 1 {
		err = fmt.Errorf("io_uring_register updated %d slots, not 1", n)
	}
	return err
}

// register is io_uring_register(2). EINTR is retried: every opcode used here is applied
// whole or not at all.
func register(fd int, op uintptr, arg unsafe.Pointer, nargs uintptr) (int, error) {
	for {
		n, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), op, uintptr(arg), nargs, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

// ringGone reports whether err says the ring is no longer there: a closed descriptor, one
// that is not an io_uring, or a ring that lost its buffer table or is exiting.
func ringGone(err error) bool {
	return errors.Is(err, unix.EBADF) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENXIO)
}
