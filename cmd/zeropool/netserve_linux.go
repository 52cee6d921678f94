//go:build !zeropool_portable

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

// serveHeap is the echo as Go programs keep a message without copying it: each read into a
// new heap buffer, handed to the connection's writer goroutine.
func serveHeap(cfg echoConfig, conns []*net.TCPConn, _ *echoRun) error {
	return serveEach(conns, func(c *net.TCPConn) error {
		msgs := make(chan []byte, 64)
		wrote := make(chan error, 1)
		go func() {
			var err error
			for b := range msgs {
				if err == nil {
					_, err = c.Write(b)
				}
			}
			wrote <- err
		}()
		var err error
		for {
			b := make([]byte, cfg.size)
			n, rerr := c.Read(b)
			if n > 0 {
				msgs <- b[:n]
			}
			if rerr != nil {
				if rerr != io.EOF {
					err = rerr
				}
				break
			}
		}
		close(msgs)
		return errors.Join(err, <-wrote)
	})
}

// serveReuse is the plainest Go echo: one buffer per connection, read then write. (Not
// io.Copy: between two TCP connections it splices in the kernel and never uses a buffer.)
func serveReuse(cfg echoConfig, conns []*net.TCPConn, _ *echoRun) error {
	return serveEach(conns, func(c *net.TCPConn) error {
		b := make([]byte, cfg.size)
		for {
			n, err := c.Read(b)
			if n > 0 {
				if _, werr := c.Write(b[:n]); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
}

// serveEach runs serve on every connection in a goroutine of its own, then closes the
// connection's write side (the client's reader sees the end) and the connection.
func serveEach(conns []*net.TCPConn, serve func(*net.TCPConn) error) error {
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			errs[i] = errors.Join(serve(c), c.CloseWrite(), c.Close())
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// User data of the io_uring echo's entries: the kind in the top byte, the connection in the
// next three, a counter of the connection's sends in the low four.
const (
	udRecv   uint64 = 1 << 56
	udSend   uint64 = 2 << 56
	udCancel uint64 = 3 << 56
)

func userData(kind uint64, conn int, seq uint32) uint64 { return kind | uint64(conn)<<32 | uint64(seq) }

func decodeUserData(ud uint64) (kind uint64, conn int) {
	return ud &^ (1<<56 - 1), int(ud >> 32 & (1<<24 - 1))
}

// Flow control of the io_uring echo: a connection whose received messages waiting to go back
// pass highWater stops receiving (its multishot receive is cancelled) until they fall below
// lowWater, so that a client sending faster than it reads fills TCP's window, not the pool.
const (
	highWater = 1 << 20
	lowWater  = 256 << 10
	maxIovecs = 64 // messages gathered into one SENDMSG
)

// uconn is the io_uring echo's state of one connection.
type uconn struct {
	fd     int
	queue  msgQueue // messages received and detached, oldest first, not yet all sent
	off    int      // bytes of queue's first message the kernel has taken
	queued int      // bytes in queue, less off
	seq    uint32
	// The SENDMSG in flight, if any: the kernel reads msg and iov until its first completion.
	sending bool
	msg     unix.Msghdr
	iov     [maxIovecs]unix.Iovec
	recving bool // a multishot receive is in flight
	paused  bool // flow control cancelled it
	eof     bool // the client closed its side: no more receives
	shut    bool // everything went back and the write side is shut
}

// msgQueue is a FIFO of messages that, once warm, allocates nothing.
type msgQueue struct {
	items [][]byte
	head  int
}

func (q *msgQueue) len() int        { return len(q.items) - q.head }
func (q *msgQueue) at(i int) []byte { return q.items[q.head+i] }
func (q *msgQueue) push(b []byte)   { q.items = append(q.items, b) }
func (q *msgQueue) pop() (b []byte) {
	b = q.items[q.head]
	q.items[q.head] = nil // no address of pool memory left behind in Go memory
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return b
}

// serveURing is the echo on one io_uring ring, driven from one locked thread: per connection a
// multishot receive into a BufRing of pooled buffers; every message detached from the ring
// (the kernel gets a fresh buffer under its id) and sent back as it is. The messages waiting
// on a connection go back in one SENDMSG_ZC (each buffer held by a ZeroCopySends until the
// notification) or SENDMSG (the kernel copies), one in flight per connection so that the
// stream keeps its order; the application's reference to a message is put back once the
// kernel has taken all of it.
func serveURing(cfg echoConfig, conns []*net.TCPConn, zeroCopy bool, run *echoRun) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	us := make([]*uconn, len(conns))
	for i, c := range conns {
		f, err := c.File() // a descriptor of its own, for the ring
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, f.Close(), c.Close()) }()
		us[i] = &uconn{fd: int(f.Fd())}
	}
	ring, err := uring.New(1024)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ring.Close()) }()
	p, err := pool.NewWithConfig(pool.Config{})
	if err != nil {
		return err
	}
	// Closed last: an error here is a buffer the echo did not give back.
	defer func() { err = errors.Join(err, p.Close()) }()
	br, err := iouring.NewBufRing(ring.FD(), 1, p, cfg.size, cfg.count)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, br.Close(), br.Err()) }()
	zc := iouring.NewZeroCopySends(p)
	sendOp := uring.OpSendMsg
	if zeroCopy {
		sendOp = uring.OpSendMsgZC
	}

	var batch []uring.SQE
	var held [maxIovecs][]byte // the slices of a SENDMSG_ZC, for Hold
	recv := func(i int) {
		us[i].recving = true
		batch = append(batch, uring.SQE{Op: uring.OpRecv, Flags: uring.SQEBufferSelect, IoPrio: uring.RecvMultishot,
			FD: us[i].fd, BufGroup: br.Group(), UserData: userData(udRecv, i, 0)})
	}
	// send submits one SENDMSG of the messages waiting on connection i.
	send := func(i int) error {
		u := us[i]
		n := min(u.queue.len(), maxIovecs)
		for k := range n {
			b := u.queue.at(k)
			if k == 0 {
				b = b[u.off:]
			}
			u.iov[k] = unix.Iovec{Base: unsafe.SliceData(b)}
			u.iov[k].SetLen(len(b))
			held[k] = b
		}
		u.msg = unix.Msghdr{Iov: &u.iov[0]}
		u.msg.SetIovlen(n)
		u.seq++
		ud := userData(udSend, i, u.seq)
		if zeroCopy {
			err := zc.Hold(ud, held[:n]...) // before the kernel can have them
			clear(held[:n])
			if err != nil {
				return err
			}
		}
		u.sending = true
		batch = append(batch, uring.SQE{Op: sendOp, FD: u.fd, Addr: uint64(uintptr(unsafe.Pointer(&u.msg))), Len: 1,
			MsgFlags: unix.MSG_WAITALL, IoPrio: zcFlags(zeroCopy), UserData: ud})
		return nil
	}
	// sent takes the n bytes the kernel took off connection i's queue: the application's
	// reference to each message it took whole goes back (with SENDMSG_ZC the message stays
	// out until its notification).
	sent := func(i, n int) error {
		u := us[i]
		u.sending = false
		clear(u.iov[:]) // no address of pool memory left behind in Go memory
		u.queued -= n
		for n > 0 {
			left := len(u.queue.at(0)) - u.off
			if n < left {
				u.off += n
				return nil
			}
			n -= left
			u.off = 0
			if err := p.Put(u.queue.pop()); err != nil {
				return err
			}
		}
		return nil
	}
	// step decides what connection i does next: a send, a receive stopped or resumed, or the
	// end of its side.
	step := func(i int) error {
		u := us[i]
		switch {
		case u.recving && !u.paused && u.queued > highWater:
			u.paused = true
			batch = append(batch, uring.SQE{Op: uring.OpAsyncCancel, FD: -1, Addr: userData(udRecv, i, 0), UserData: userData(udCancel, i, 0)})
		case !u.recving && !u.eof && (!u.paused || u.queued < lowWater):
			u.paused = false
			recv(i)
		}
		switch {
		case u.sending:
		case u.queue.len() > 0:
			// Room in the ring for the send, every receive, and a cancellation each (sends
			// whose notification has not come stay in flight).
			if ring.InFlight()+len(batch)+2*len(us) < ring.Entries() {
				return send(i)
			}
		case u.eof && !u.recving && !u.shut:
			u.shut = true
			return unix.Shutdown(u.fd, unix.SHUT_WR)
		}
		return nil
	}
	for i := range us {
		recv(i)
	}
	var cqes []uring.CQE
	for {
		done := true
		for _, u := range us {
			done = done && u.shut
		}
		if done && len(batch) == 0 && ring.InFlight() == 0 {
			break
		}
		cqes, err = ring.SubmitAndReap(cqes[:0], 1, batch...)
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, c := range cqes {
			kind, i := decodeUserData(c.UserData)
			u := us[i]
			switch kind {
			case udRecv:
				switch {
				case c.Res > 0:
					id, ok := iouring.BufferID(c.Flags)
					if !ok {
						return fmt.Errorf("connection %d: a receive of %d bytes names no buffer", i, c.Res)
					}
					msg := br.Detach(id) // kept as it is; the kernel gets a fresh buffer under id
					if msg == nil {
						return br.Err()
					}
					u.queue.push(msg[:c.Res])
					u.queued += int(c.Res)
				case c.Res == 0:
					u.eof = true
				case errors.Is(c.Err(), unix.ENOBUFS): // every buffer was taken before this batch's Detaches
				case errors.Is(c.Err(), unix.ECANCELED): // flow control
				default:
					return fmt.Errorf("connection %d: receive: %w", i, c.Err())
				}
				if c.Flags&uring.CQEFMore == 0 {
					u.recving = false
				}
			case udCancel: // 0, or ENOENT/EALREADY when the receive ended meanwhile
			case udSend:
				if zeroCopy {
					if _, err := zc.Complete(c.UserData, c.Flags); err != nil {
						return err
					}
					if c.Flags&uring.CQEFNotif != 0 {
						run.zcSends++
						if uint32(c.Res)&uring.NotifUsageZCCopied != 0 {
							run.zcCopied++
						}
						continue
					}
				}
				if c.Res < 0 {
					return fmt.Errorf("connection %d: send: %w", i, c.Err())
				}
				if err := sent(i, int(c.Res)); err != nil {
					return err
				}
			default:
				return fmt.Errorf("a completion of an unknown entry: %+v", c)
			}
		}
		for i := range us {
			if err := step(i); err != nil {
				return err
			}
		}
	}
	if n := zc.Pending(); n > 0 {
		return fmt.Errorf("%d zero-copy sends were never notified", n)
	}
	return nil
}

// zcFlags asks SEND_ZC's notifications to say whether the kernel copied the data.
func zcFlags(zeroCopy bool) uint16 {
	if zeroCopy {
		return uring.SendZCReportUsage
	}
	return 0
}
