// Package uring is a small io_uring ring driven by raw system calls, for the tests and the
// examples of package iouring. It sets a ring up, submits READ, WRITE, READ_FIXED,
// WRITE_FIXED, NOP and the network entries of net_linux.go (SEND, SEND_ZC, RECV with ring-
// provided buffers, multishot), waits for their completions, and closes. It is not a general
// io_uring library: one goroutine at a time may use a Ring, and the caller keeps every buffer
// it names alive until that entry's last completion has been reaped.
package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (include/uapi/linux/io_uring.h, enum io_uring_op).
const (
	OpNop        uint8 = 0
	OpReadFixed  uint8 = 4
	OpWriteFixed uint8 = 5
	OpRead       uint8 = 22
	OpWrite      uint8 = 23
)

const (
	setupSubmitAll   = 1 << 7 // IORING_SETUP_SUBMIT_ALL: a failing entry does not stop the batch
	featSingleMmap   = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	enterGetEvents   = 1 << 0 // IORING_ENTER_GETEVENTS
	offSQRing        = 0
	offCQRing        = 0x8000000
	offSQEs          = 0x10000000
	sqeSize          = 64
	cqeSize          = 16
	disabledSysctl   = "/proc/sys/kernel/io_uring_disabled"
	maxEntriesPerRun = 1 << 12
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// sqe is struct io_uring_sqe, as far as these opcodes use it.
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	rwFlags  uint32
	userData uint64
	bufIndex uint16
	_        uint16
	_        int32
	_        [2]uint64
}

// SQE is one submission.
type SQE struct {
	Op       uint8
	Flags    uint8  // IOSQE_ flags (SQEBufferSelect, ...)
	IoPrio   uint16 // the opcode's own flags in the ioprio field (RecvMultishot, SendZCReportUsage, ...)
	FD       int
	Off      uint64 // file offset
	Buf      []byte // the memory read into or written from: Buf[:len(Buf)]
	Len      uint32 // with Buf nil: the length to pass (the most a ring-provided buffer may take; 0: its size)
	Addr     uint64 // with Buf nil: the address field (for OpAsyncCancel, the UserData to cancel)
	BufIndex uint16 // for OpReadFixed and OpWriteFixed: the registered buffer that holds Buf
	BufGroup uint16 // with SQEBufferSelect: the group of provided buffers the kernel picks from
	MsgFlags uint32 // for OpSend, OpSendZC, OpRecv: the send(2)/recv(2) flags (MSG_WAITALL, ...)
	UserData uint64 // returned in the CQE
}

// CQE is one completion.
type CQE struct {
	UserData uint64
	Res      int32 // bytes moved, or -errno
	Flags    uint32
}

// Err returns the completion's error (Res < 0) as an errno, or nil.
func (c CQE) Err() error {
	if c.Res < 0 {
		return unix.Errno(-c.Res)
	}
	return nil
}

// Ring is one io_uring instance with its rings mapped.
type Ring struct {
	fd       int
	ringMem  []byte // SQ and CQ rings (one mapping: IORING_FEAT_SINGLE_MMAP)
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  unsafe.Pointer
	sqN      uint32
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     unsafe.Pointer
	cqN      uint32
	inflight int       // submitted, last completion not reaped
	wait     *waitArgs // Reap's timeout, where the kernel reads it
}

// New sets up a ring of at least entries submission slots.
func New(entries uint32) (*Ring, error) {
	var p params
	p.flags = setupSubmitAll
	fd, err := setup(entries, &p)
	if errors.Is(err, unix.EINVAL) { // kernels before 5.18 know no IORING_SETUP_SUBMIT_ALL
		p = params{}
		fd, err = setup(entries, &p)
	}
	if err != nil {
		return nil, fmt.Errorf("uring: io_uring_setup(%d): %w", entries, err)
	}
	r := &Ring{fd: fd}
	if err := r.mapRings(&p); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

func setup(entries uint32, p *params) (int, error) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func (r *Ring) mapRings(p *params) error {
	if p.features&featSingleMmap == 0 {
		return errors.New("uring: the kernel lacks IORING_FEAT_SINGLE_MMAP (Linux 5.4)")
	}
	size := max(int(p.sqOff.array)+int(p.sqEntries)*4, int(p.cqOff.cqes)+int(p.cqEntries)*cqeSize)
	mem, err := unix.Mmap(r.fd, offSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap of the rings: %w", err)
	}
	r.ringMem = mem
	sqes, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap of the submission entries: %w", err)
	}
	r.sqeMem = sqes
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&mem[off]) }
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = at(p.sqOff.array)
	r.sqN = p.sqEntries
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = at(p.cqOff.cqes)
	r.cqN = p.cqEntries
	return nil
}

// FD returns the ring's file descriptor, for io_uring_register.
func (r *Ring) FD() int { return r.fd }

// Entries returns the number of submission slots.
func (r *Ring) Entries() int { return int(r.sqN) }

// Submit queues sqes and hands them to the kernel. At most Entries() entries may be in flight
// (submitted, last completion not yet reaped by Wait or Reap: a completion flagged CQEFMore
// says that more will follow for the same entry).
func (r *Ring) Submit(sqes ...SQE) error { return r.submit(sqes, 0) }

// submit is Submit, waiting in the same system call for wait completions when wait > 0 (an
// interrupted wait returns early: the caller reaps what is there and waits again).
func (r *Ring) submit(sqes []SQE, wait uint32) error {
	if len(sqes) == 0 {
		return nil
	}
	if r.inflight+len(sqes) > int(r.sqN) {
		return fmt.Errorf("uring: %d entries in flight and %d more would pass the ring's %d", r.inflight, len(sqes), r.sqN)
	}
	// The kernel consumes every entry of a submission before io_uring_enter returns, so the
	// whole ring is free here.
	tail := *r.sqTail // only this goroutine writes the tail
	for i, s := range sqes {
		idx := (tail + uint32(i)) & r.sqMask
		e := (*sqe)(unsafe.Pointer(&r.sqeMem[idx*sqeSize]))
		*e = sqe{
			opcode:   s.Op,
			flags:    s.Flags,
			ioprio:   s.IoPrio,
			fd:       int32(s.FD),
			off:      s.Off,
			len:      s.Len,
			addr:     s.Addr,
			rwFlags:  s.MsgFlags,
			userData: s.UserData,
			bufIndex: s.BufIndex,
		}
		if s.Flags&SQEBufferSelect != 0 {
			e.bufIndex = s.BufGroup // buf_group shares the field with buf_index
		}
		if len(s.Buf) > 0 {
			e.addr = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(s.Buf))))
			e.len = uint32(len(s.Buf))
		}
		*(*uint32)(unsafe.Add(r.sqArray, idx*4)) = idx
	}
	// Release: the entries above are visible to the kernel before the new tail is.
	atomic.StoreUint32(r.sqTail, tail+uint32(len(sqes)))
	done := 0
	var flags uint32
	if wait > 0 {
		flags = enterGetEvents
	}
	for done < len(sqes) {
		// The kernel reports what it submitted even when the wait that follows is
		// interrupted, so a retry after EINTR (in enter) never submits an entry twice.
		n, err := r.enter(uint32(len(sqes)-done), wait, flags)
		if err != nil {
			// Entries the kernel has not consumed are withdrawn, so that the ring stays usable.
			if done == 0 && n == 0 {
				atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
			}
			r.inflight += done
			return fmt.Errorf("uring: io_uring_enter: %w", err)
		}
		if n == 0 {
			r.inflight += done
			return fmt.Errorf("uring: io_uring_enter submitted none of %d entries", len(sqes)-done)
		}
		done += n
	}
	r.inflight += done
	return nil
}

// Wait returns the next n completions, waiting for them as needed. It is for entries that
// complete once; Reap takes the completions of multishot and zero-copy entries.
func (r *Ring) Wait(n int) ([]CQE, error) {
	if n > r.inflight {
		return nil, fmt.Errorf("uring: waiting for %d completions with %d entries in flight", n, r.inflight)
	}
	out := make([]CQE, 0, n)
	for len(out) < n {
		head := *r.cqHead                   // only this goroutine writes the head
		tail := atomic.LoadUint32(r.cqTail) // acquire: the entries up to tail are written
		for ; head != tail && len(out) < n; head++ {
			c := (*CQE)(unsafe.Add(r.cqes, (head&r.cqMask)*cqeSize))
			out = append(out, *c)
			r.completed(*c)
		}
		atomic.StoreUint32(r.cqHead, head) // release the slots to the kernel
		if len(out) == n {
			break
		}
		if _, err := r.enter(0, uint32(n-len(out)), enterGetEvents); err != nil {
			return out, fmt.Errorf("uring: io_uring_enter waiting: %w", err)
		}
	}
	return out, nil
}

// completed counts an entry out of flight at its last completion.
func (r *Ring) completed(c CQE) {
	if c.Flags&CQEFMore == 0 {
		r.inflight--
	}
}

// Run submits sqes and returns their completions in the order of sqes (each entry's UserData
// is replaced by its index). It keeps the entries' buffers alive until they complete. Entries
// beyond Entries() go in several rounds.
func (r *Ring) Run(sqes ...SQE) ([]CQE, error) {
	out := make([]CQE, len(sqes))
	for start := 0; start < len(sqes); {
		end := min(len(sqes), start+min(int(r.sqN), maxEntriesPerRun)-r.inflight)
		batch := make([]SQE, end-start)
		for i := range batch {
			batch[i] = sqes[start+i]
			batch[i].UserData = uint64(start + i)
		}
		if err := r.Submit(batch...); err != nil {
			return nil, err
		}
		cqes, err := r.Wait(len(batch))
		if err != nil {
			return nil, err
		}
		for _, c := range cqes {
			out[c.UserData] = c
		}
		start = end
	}
	for i := range sqes {
		out[i].UserData = sqes[i].UserData
	}
	runtime.KeepAlive(sqes) // and so every Buf: the kernel used them until now
	return out, nil
}

func (r *Ring) enter(toSubmit, minComplete, flags uint32) (int, error) {
	for {
		n, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR: // a signal (the Go runtime preempts with SIGURG): ask again
			continue
		}
		return 0, e
	}
}

// Close unmaps the rings and closes the ring's file descriptor. The kernel tears the ring
// down (and drops its registered buffers) once no other file descriptor refers to it.
func (r *Ring) Close() error {
	var errs []error
	for _, m := range [][]byte{r.sqeMem, r.ringMem} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.sqeMem, r.ringMem = nil, nil
	if r.fd >= 0 {
		errs = append(errs, unix.Close(r.fd))
		r.fd = -1
	}
	return errors.Join(errs...)
}

var (
	availableOnce sync.Once
	availableErr  error
)

// Unavailable returns nil when this process can set up an io_uring ring, and otherwise an
// error saying why not: the kernel.io_uring_disabled sysctl, a kernel without io_uring
// (ENOSYS), or a seccomp filter or policy that refuses it (EPERM, ENOSYS). Tests skip with it.
func Unavailable() error {
	availableOnce.Do(func() { availableErr = probe() })
	return availableErr
}

func probe() error {
	sysctl := ""
	if b, err := os.ReadFile(disabledSysctl); err == nil {
		switch v := strings.TrimSpace(string(b)); v {
		case "2":
			return fmt.Errorf("io_uring is disabled: %s is 2", disabledSysctl)
		case "1":
			sysctl = fmt.Sprintf(" (%s is 1: only CAP_SYS_ADMIN or the io_uring_group may create rings)", disabledSysctl)
		}
	}
	var p params
	fd, err := setup(1, &p)
	switch {
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("io_uring_setup: %w: the kernel has no io_uring, or a seccomp filter hides it%s", err, sysctl)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("io_uring_setup: %w: refused by policy (seccomp, LSM or sysctl)%s", err, sysctl)
	case err != nil:
		return fmt.Errorf("io_uring_setup: %w%s", err, sysctl)
	}
	return unix.Close(fd)
}
