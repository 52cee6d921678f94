//go:build !zeropool_portable

package iouring

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/pool"
)

// reapTimeout bounds every wait for a completion, so that a lost completion fails the test
// instead of hanging the suite. It is not a timing assertion.
const reapTimeout = 30 * time.Second

// newNetRing returns a ring with room for many entries in flight, closed at the end of the
// test, or skips the test where io_uring is unavailable (saying why).
func newNetRing(t testing.TB) *uring.Ring {
	t.Helper()
	return newRingOf(t, 256)
}

// newNetPool returns an ordinary pool closed at the end of the test unless the test closed it.
func newNetPool(t testing.TB, cfg pool.Config) *pool.BufferPool {
	t.Helper()
	p, err := pool.NewWithConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			assert.ErrorIs(t, err, pool.ErrClosed, "pool Close at the end of the test")
		}
	})
	return p
}

// newBufRing registers a BufRing, closed at the end of the test unless the test closed it.
func newBufRing(t testing.TB, r *uring.Ring, group uint16, p *pool.BufferPool, size, count int) *BufRing {
	t.Helper()
	br, err := NewBufRing(r.FD(), group, p, size, count)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := br.Close(); err != nil {
			assert.ErrorIs(t, err, ErrClosed, "BufRing.Close at the end of the test")
		}
	})
	return br
}

// tcpPair returns a connected loopback TCP pair: the descriptor of one end, for the ring,
// and the other end as a net.Conn. Both are closed at the end of the test. setup, when set,
// runs on the ring's end before the connection is made (socket options such as buffer
// sizes, which TCP fixes at the handshake).
func tcpPair(t testing.TB, setup func(fd int) error) (int, *net.TCPConn) {
	t.Helper()
	return tcpPairWith(t, setup, nil)
}

// tcpPairWith is tcpPair with setupPeer run on the listening socket the net.Conn end is
// accepted from (the accepted socket inherits its buffer sizes).
func tcpPairWith(t testing.TB, setup, setupPeer func(fd int) error) (int, *net.TCPConn) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Close(fd) })
	if setup != nil {
		require.NoError(t, setup(fd))
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if setupPeer == nil {
			return nil
		}
		var err error
		if cerr := c.Control(func(fd uintptr) { err = setupPeer(int(fd)) }); cerr != nil {
			return cerr
		}
		return err
	}}
	l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	ln := l.(*net.TCPListener)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
	c, err := ln.AcceptTCP()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return fd, c
}

// streamAt is the byte at offset o of the test streams: no period a misplaced chunk could
// hide in.
func streamAt(o int64) byte { return byte((uint64(o) * 0x9E3779B97F4A7C15) >> 56) }

func fillStream(b []byte, from int64) {
	for i := range b {
		b[i] = streamAt(from + int64(i))
	}
}

// streamMismatch returns the offset of the first byte of b that is not the stream's at from,
// or -1.
func streamMismatch(b []byte, from int64) int64 {
	for i := range b {
		if b[i] != streamAt(from+int64(i)) {
			return from + int64(i)
		}
	}
	return -1
}

// written is what writeStream did: how many messages, and its error.
type written struct {
	msgs int
	err  error
}

// writeStream writes total bytes of the stream to w in messages (writes) of 1 to maxMsg
// bytes, lengths from a fixed sequence, and reports on done.
func writeStream(w io.Writer, total int64, maxMsg int, done chan<- written) {
	buf := make([]byte, maxMsg)
	var off int64
	seed := uint64(1)
	msgs := 0
	for off < total {
		seed = seed*6364136223846793005 + 1442695040888963407
		n := int64(1 + int(seed>>33)%maxMsg)
		n = min(n, total-off)
		fillStream(buf[:n], off)
		if _, err := w.Write(buf[:n]); err != nil {
			done <- written{msgs, err}
			return
		}
		off += n
		msgs++
	}
	done <- written{msgs, nil}
}

const (
	udRecv   = 1 << 62    // user_data of the multishot receive
	udCancel = udRecv + 1 // and of its cancellation
)

// armRecv submits a multishot receive on fd that picks buffers of br's group.
func armRecv(t testing.TB, r *uring.Ring, br *BufRing, fd int) {
	t.Helper()
	require.NoError(t, r.Submit(uring.SQE{
		Op: uring.OpRecv, Flags: uring.SQEBufferSelect, IoPrio: uring.RecvMultishot,
		FD: fd, BufGroup: br.Group(), UserData: udRecv,
	}))
}

// receiver drives a multishot receive into a BufRing and checks every byte against the
// stream.
type receiver struct {
	t       testing.TB
	r       *uring.Ring
	br      *BufRing
	fd      int
	got     int64 // stream bytes received and checked
	msgs    int   // completions with data
	enobufs int   // receives that ended for want of a buffer
	rearms  int   // multishot receives that ended and were submitted again
	other   func(c uring.CQE)
}

// next reaps completions (waiting for at least one) and returns those of the receive that
// carry data, after checking their bytes; it re-arms the receive where it ended (ENOBUFS
// when ready says so, or a completion without IORING_CQE_F_MORE). Completions of other
// entries go to rc.other.
func (rc *receiver) next(ready func() bool) []uring.CQE {
	rc.t.Helper()
	cqes, err := rc.r.Reap(nil, 1, reapTimeout)
	require.NoError(rc.t, err, "completions of the receive (%d bytes so far)", rc.got)
	var data []uring.CQE
	for _, c := range cqes {
		if c.UserData != udRecv {
			require.NotNil(rc.t, rc.other, "a completion of an unknown entry: %+v", c)
			rc.other(c)
			continue
		}
		if c.Res > 0 {
			id, ok := BufferID(c.Flags)
			require.True(rc.t, ok, "a receive with data names its buffer: %+v", c)
			b := rc.br.Buffer(id)
			require.Len(rc.t, b, rc.br.Size())
			if off := streamMismatch(b[:c.Res], rc.got); off >= 0 {
				require.Failf(rc.t, "received bytes differ", "at stream offset %d (buffer %d, completion %d)", off, id, rc.msgs)
			}
			rc.got += int64(c.Res)
			rc.msgs++
			data = append(data, c)
		} else if c.Res < 0 {
			require.ErrorIs(rc.t, c.Err(), unix.ENOBUFS, "the only error a receive may end with here")
			rc.enobufs++
		} else {
			require.Failf(rc.t, "end of stream", "after %d bytes", rc.got)
		}
		if c.Flags&uring.CQEFMore == 0 {
			if c.Res < 0 && ready != nil && !ready() {
				continue // the caller re-arms when it has given buffers back
			}
			rc.rearms++
			armRecv(rc.t, rc.r, rc.br, rc.fd)
		}
	}
	return data
}

// cancelRecv cancels the multishot receive and reaps completions until its last one.
func (rc *receiver) cancel() {
	rc.t.Helper()
	if rc.r.InFlight() == 0 {
		return
	}
	require.NoError(rc.t, rc.r.Submit(uring.SQE{Op: uring.OpAsyncCancel, FD: -1, Addr: udRecv, UserData: udCancel}))
	for rc.r.InFlight() > 0 {
		cqes, err := rc.r.Reap(nil, 1, reapTimeout)
		require.NoError(rc.t, err)
		for _, c := range cqes {
			if id, ok := BufferID(c.Flags); ok && c.UserData == udRecv {
				rc.br.Recycle(id)
			}
		}
	}
}
