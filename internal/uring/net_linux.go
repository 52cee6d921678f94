package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Network opcodes (enum io_uring_op).
const (
	OpSendMsg     uint8 = 9  // IORING_OP_SENDMSG: Addr is a *unix.Msghdr, Len 1
	OpAsyncCancel uint8 = 14 // IORING_OP_ASYNC_CANCEL: Addr is the UserData to cancel
	OpSend        uint8 = 26 // IORING_OP_SEND (Linux 5.6)
	OpRecv        uint8 = 27 // IORING_OP_RECV (Linux 5.6)
	OpSendZC      uint8 = 47 // IORING_OP_SEND_ZC (Linux 6.0): two completions, the second CQEFNotif
	OpSendMsgZC   uint8 = 48 // IORING_OP_SENDMSG_ZC (Linux 6.1): SENDMSG's entry, SEND_ZC's completions
)

// SQE flags, ioprio flags and CQE flags (include/uapi/linux/io_uring.h).
const (
	SQEBufferSelect uint8 = 1 << 5 // IOSQE_BUFFER_SELECT: the kernel picks a buffer of SQE.BufGroup

	RecvMultishot     uint16 = 1 << 1 // IORING_RECV_MULTISHOT (Linux 6.0): one completion per receive, CQEFMore until the last
	SendZCReportUsage uint16 = 1 << 3 // IORING_SEND_ZC_REPORT_USAGE (Linux 6.2): the notification says whether the kernel copied

	CQEFBuffer     uint32 = 1 << 0 // IORING_CQE_F_BUFFER: the upper 16 bits of Flags are the buffer id
	CQEFMore       uint32 = 1 << 1 // IORING_CQE_F_MORE: more completions of the same entry follow
	CQEFNotif      uint32 = 1 << 3 // IORING_CQE_F_NOTIF: a SEND_ZC notification: the kernel is done with the buffer
	CQEBufferShift        = 16     // IORING_CQE_BUFFER_SHIFT

	// NotifUsageZCCopied is set in the Res of a SEND_ZC notification (with SendZCReportUsage)
	// when the kernel copied the data instead of sending from the buffer's pages.
	NotifUsageZCCopied = 1 << 31 // IORING_NOTIF_USAGE_ZC_COPIED
)

const enterExtArg = 1 << 3 // IORING_ENTER_EXT_ARG (Linux 5.11)

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// ErrTimeout is returned by Reap when its timeout passed before min completions arrived.
var ErrTimeout = errors.New("uring: timed out waiting for completions")

// InFlight returns how many submitted entries have not had their last completion reaped.
func (r *Ring) InFlight() int { return r.inflight }

// Reap appends to out every completion that is ready, waiting until at least min have
// arrived; with timeout > 0 it waits no longer than that and returns ErrTimeout with what it
// has. min 0 only looks. Unlike Wait it takes any number of completions per entry (multishot
// receives, SEND_ZC's completion and notification).
func (r *Ring) Reap(out []CQE, min int, timeout time.Duration) ([]CQE, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	got := 0
	for {
		head := *r.cqHead
		tail := atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			c := *(*CQE)(unsafe.Add(r.cqes, (head&r.cqMask)*cqeSize))
			out = append(out, c)
			r.completed(c)
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
		if got >= min {
			return out, nil
		}
		if r.inflight == 0 {
			return out, fmt.Errorf("uring: waiting for %d completions with no entry in flight", min-got)
		}
		if timeout <= 0 {
			if _, err := r.enter(0, 1, enterGetEvents); err != nil {
				return out, fmt.Errorf("uring: io_uring_enter waiting: %w", err)
			}
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return out, ErrTimeout
		}
		if err := r.waitFor(left); err != nil {
			if errors.Is(err, unix.ETIME) {
				continue // look once more, then time out above
			}
			return out, fmt.Errorf("uring: io_uring_enter waiting: %w", err)
		}
	}
}

// SubmitAndReap is Submit and Reap(out, min, 0) in as few system calls as can be: one, when
// the kernel takes every entry and min completions are ready by then.
func (r *Ring) SubmitAndReap(out []CQE, min int, sqes ...SQE) ([]CQE, error) {
	if len(sqes) > 0 {
		if err := r.submit(sqes, uint32(max(min, 0))); err != nil {
			return out, err
		}
	}
	return r.Reap(out, min, 0)
}

// waitArgs is what io_uring_enter reads to wait with a timeout. The kernel finds the
// timespec by an address inside the argument, so both live in one heap object of the Ring
// (heap objects do not move; a stack might, between taking the address and the call).
type waitArgs struct {
	arg getEventsArg
	ts  unix.Timespec
}

// waitFor waits until a completion is ready or d has passed (ETIME).
func (r *Ring) waitFor(d time.Duration) error {
	if r.wait == nil {
		r.wait = new(waitArgs)
	}
	w := r.wait
	w.ts = unix.NsecToTimespec(d.Nanoseconds())
	w.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&w.ts)))}
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, 1, enterGetEvents|enterExtArg,
		uintptr(unsafe.Pointer(&w.arg)), unsafe.Sizeof(w.arg))
	if e == 0 || e == unix.EINTR {
		return nil
	}
	return e
}

// BufferID returns the id of the ring-provided buffer a completion names, and false when it
// names none (CQEFBuffer unset).
func (c CQE) BufferID() (uint16, bool) {
	if c.Flags&CQEFBuffer == 0 {
		return 0, false
	}
	return uint16(c.Flags >> CQEBufferShift), true
}

const (
	registerProbe = 8      // IORING_REGISTER_PROBE
	opSupported   = 1 << 0 // IO_URING_OP_SUPPORTED
	probeOps      = 256    // room for every opcode a u8 can name
)

// probe is struct io_uring_probe with room for every opcode.
type probeArg struct {
	lastOp, opsLen uint8
	_              uint16
	_              [3]uint32
	ops            [probeOps]probeOp
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	op    uint8
	_     uint8
	flags uint16
	_     uint32
}

// Supports reports whether the kernel knows opcode op (IORING_REGISTER_PROBE, Linux 5.6), so
// that tests can skip, naming what the kernel lacks.
func (r *Ring) Supports(op uint8) (bool, error) {
	p := new(probeArg) // on the heap: the kernel writes into it by address
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(p)), probeOps, 0, 0)
	if e != 0 {
		return false, fmt.Errorf("uring: IORING_REGISTER_PROBE: %w", e)
	}
	return op <= p.lastOp && p.ops[op].flags&opSupported != 0, nil
}
