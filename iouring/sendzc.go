package iouring

import (
	"errors"
	"fmt"
	"sync"

	"github.com/zeropool-go/zeropool/pool"
)

// ErrUnknownSend is returned by ZeroCopySends.Complete and Release for a user_data that no
// Hold registered (or whose send is done already).
var ErrUnknownSend = errors.New("iouring: no zero-copy send held under that user_data")

// ZeroCopySends keeps the buffers of zero-copy sends (IORING_OP_SEND_ZC, IORING_OP_SENDMSG_ZC)
// out of their pool until the kernel is done with them.
//
// A zero-copy send completes twice. The first completion (IORING_CQE_F_MORE set) says the
// data is queued, and the kernel still reads the buffer's pages: retransmissions, a NIC's DMA,
// or on loopback the copy into the receiver. The second, the notification
// (IORING_CQE_F_NOTIF), says it has let go of them. A Put before it lets the pool hand the
// pages to the next Get, whose writes then go out on the wire in place of the data: silent
// corruption. And one buffer sent to N connections has N such windows.
//
// Hold takes a reference to the buffer (pool.Retain) at submission, under the entry's
// user_data; Complete, given each completion of that user_data, drops it at the notification
// (or at the only completion, when the first has no IORING_CQE_F_MORE: the send failed before
// the kernel took the pages). So the application may Put its buffer at any time, right after
// submitting; the buffer goes back to the pool after its last send's notification:
//
//	b := p.Get(n) // fill it
//	for i, conn := range conns { // fan-out: one reference per send
//		zc.Hold(ud[i], b) // then submit SEND_ZC of b on conn with user_data ud[i]
//	}
//	p.Put(b) // the application's reference
//	... for each completion cqe: zc.Complete(cqe.UserData, cqe.Flags)
//
// Each user_data must be unique among the sends held at once. The methods are safe for
// concurrent use (submission on one goroutine, reaping on another). A send whose
// notification never comes (the ring torn down first) keeps its buffer out of the pool; the
// pool's Close reports it: the safe failure. Sends through MSG_ZEROCOPY (whose notifications
// come on the socket's error queue as ranges of send counters) and vmsplice (done when the
// pipe is drained) use Hold and Release under keys of the caller's choosing.
type ZeroCopySends struct {
	pool *pool.BufferPool
	mu   sync.Mutex
	held map[uint64][][]byte // user_data -> the buffers its send holds
	free [][][]byte          // emptied lists, for the next Holds
}

// NewZeroCopySends returns a ZeroCopySends for buffers of p.
func NewZeroCopySends(p *pool.BufferPool) *ZeroCopySends {
	return &ZeroCopySends{pool: p, held: make(map[uint64][][]byte)}
}

// Hold retains the buffers of bufs (each any slice of a buffer of the pool that is out, as
// pool.Retain takes: one, or one per iovec of a SENDMSG_ZC) for the send submitted under
// userData. Call it before submitting: once submitted, the completion can arrive on another
// goroutine at once. Errors, with nothing held: the pool's refusal of Retain
// (pool.ErrNotOwned, pool.ErrDoublePut, pool.ErrTooManyReferences); an error for a userData
// held already, or no buffer.
func (z *ZeroCopySends) Hold(userData uint64, bufs ...[]byte) error {
	if len(bufs) == 0 {
		return fmt.Errorf("iouring: Hold(%d) of no buffer", userData)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, dup := z.held[userData]; dup {
		return fmt.Errorf("iouring: Hold(%d): a send under that user_data is held already", userData)
	}
	wholes := z.spare(len(bufs))
	for i, b := range bufs {
		whole, err := z.pool.Owner(b)
		if err == nil {
			err = z.pool.Retain(whole)
		}
		if err != nil {
			for j, w := range wholes {
				_ = z.pool.Put(w) // retained just now: this Put only drops that reference
				wholes[j] = nil
			}
			z.free = append(z.free, wholes[:0])
			return fmt.Errorf("iouring: Hold(%d), buffer %d of %d: %w", userData, i+1, len(bufs), err)
		}
		wholes = append(wholes, whole)
	}
	z.held[userData] = wholes
	return nil
}

// spare returns an empty list with room for n buffers, reusing one Release gave back, so that
// a steady stream of sends allocates nothing. The caller holds mu.
func (z *ZeroCopySends) spare(n int) [][]byte {
	for i := len(z.free) - 1; i >= 0; i-- {
		if l := z.free[i]; cap(l) >= n {
			z.free[i] = z.free[len(z.free)-1]
			z.free = z.free[:len(z.free)-1]
			return l
		}
	}
	return make([][]byte, 0, max(n, 1))
}

// Complete handles one completion of the send held under userData, given its flags. At the
// notification (IORING_CQE_F_NOTIF), or at a completion without IORING_CQE_F_MORE (no
// notification follows), it puts the reference back and reports done; at the first of two
// completions it keeps it. ErrUnknownSend for a userData not held.
func (z *ZeroCopySends) Complete(userData uint64, cqeFlags uint32) (done bool, err error) {
	const cqeFMore, cqeFNotif = 1 << 1, 1 << 3 // IORING_CQE_F_MORE, IORING_CQE_F_NOTIF
	if cqeFlags&cqeFNotif == 0 && cqeFlags&cqeFMore != 0 {
		z.mu.Lock()
		_, ok := z.held[userData]
		z.mu.Unlock()
		if !ok {
			return false, fmt.Errorf("%w: %d", ErrUnknownSend, userData)
		}
		return false, nil
	}
	return true, z.Release(userData)
}

// Release puts back the reference Hold took under key, whatever the kernel said: for a send
// that was never submitted, and for MSG_ZEROCOPY and vmsplice, once the kernel is done (the
// send's counter is in a range of the error queue's SO_EE_ORIGIN_ZEROCOPY notification; the
// pipe is drained). ErrUnknownSend for a key not held.
func (z *ZeroCopySends) Release(key uint64) error {
	z.mu.Lock()
	bufs, ok := z.held[key]
	delete(z.held, key)
	z.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownSend, key)
	}
	var errs []error
	for i, b := range bufs {
		if err := z.pool.Put(b); err != nil {
			errs = append(errs, fmt.Errorf("iouring: releasing buffer %d of send %d: %w", i+1, key, err))
		}
		bufs[i] = nil // the list is kept for reuse: it must not keep the memory's address
	}
	z.mu.Lock()
	z.free = append(z.free, bufs[:0])
	z.mu.Unlock()
	return errors.Join(errs...)
}

// Pending returns how many sends are held (one per Hold, whatever its number of buffers):
// submitted, the kernel not yet done.
func (z *ZeroCopySends) Pending() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return len(z.held)
}
