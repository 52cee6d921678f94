//go:build !zeropool_portable

package iouring

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/pool"
)

// requireSendZC skips where the kernel lacks IORING_OP_SEND_ZC (Linux 6.0, which also brought
// multishot receives).
func requireSendZC(t testing.TB, r *uring.Ring) {
	t.Helper()
	ok, err := r.Supports(uring.OpSendZC)
	require.NoError(t, err)
	if !ok {
		t.Skip("the kernel lacks IORING_OP_SEND_ZC (Linux 6.0)")
	}
}

// zcMsg is the size of the zero-copy messages: more than the receiver's window, so that most
// of a message waits in the sender's queue, in the buffer's own pages, until the receiver
// reads; less than the sender's buffer, so that the whole message is queued at once.
const zcMsg = 128 << 10

// stalledPair returns a loopback TCP pair whose receiving end (the net.Conn) has a small
// receive buffer and whose sending end (the descriptor, for the ring) a large send buffer:
// data sent is queued and stays queued until the receiver reads.
func stalledPair(t testing.TB) (int, *net.TCPConn) {
	t.Helper()
	return tcpPairWith(t, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	}, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<10)
	})
}

// sendZC submits a SEND_ZC of b on fd under userData, the whole of b (MSG_WAITALL).
func sendZC(t testing.TB, r *uring.Ring, fd int, b []byte, userData uint64) {
	t.Helper()
	require.NoError(t, r.Submit(uring.SQE{Op: uring.OpSendZC, FD: fd, Buf: b, MsgFlags: unix.MSG_WAITALL, UserData: userData}))
}

// reaper hands out a ring's completions one at a time.
type reaper struct {
	r       *uring.Ring
	backlog []uring.CQE
}

// next waits for the next completion.
func (rp *reaper) next(t testing.TB) uring.CQE {
	t.Helper()
	if len(rp.backlog) == 0 {
		var err error
		rp.backlog, err = rp.r.Reap(rp.backlog, 1, reapTimeout)
		require.NoError(t, err)
	}
	c := rp.backlog[0]
	rp.backlog = rp.backlog[1:]
	return c
}

// quiet checks that no completion arrives within a moment: the kernel still holds the
// buffer. (Not a timing assertion: the notification cannot come before the receiver reads,
// however long the wait.)
func (rp *reaper) quiet(t testing.TB) {
	t.Helper()
	require.Empty(t, rp.backlog)
	var err error
	rp.backlog, err = rp.r.Reap(rp.backlog, 1, 50*time.Millisecond)
	require.ErrorIs(t, err, uring.ErrTimeout, "no notification while the receiver has not read: %+v", rp.backlog)
}

// readAll reads n bytes from c.
func readAll(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	return got
}

// What the helper prevents. A buffer sent with SEND_ZC and put back at its first completion
// (the send "done") is handed to the next Get while the kernel still sends from its pages:
// the next holder's bytes go out on the wire in place of the message. This is the failure
// every later test shows does not happen with ZeroCopySends.
func TestSendZCEarlyPutCorruptsTheWire(t *testing.T) {
	oneP(t) // the next Get on the same P gets the buffer just put back
	r := newNetRing(t)
	requireSendZC(t, r)
	rp := &reaper{r: r}
	p := newNetPool(t, pool.Config{})
	fd, conn := stalledPair(t)

	b := p.Get(zcMsg)
	fillStream(b, 0)
	sendZC(t, r, fd, b, 7)
	c := rp.next(t)
	require.Equal(t, int32(zcMsg), c.Res, "the whole message is queued: %v", c.Err())
	require.NotZero(t, c.Flags&uring.CQEFMore, "a notification will follow")
	rp.quiet(t)

	require.NoError(t, p.Put(b)) // too early
	next := p.Get(zcMsg)
	require.Equal(t, addr(b), addr(next), "the next Get gets the same pages")
	for i := range next {
		next[i] = 0xEE
	}
	got := readAll(t, conn, zcMsg)
	off := streamMismatch(got, 0)
	require.GreaterOrEqual(t, off, int64(0), "the receiver got the next holder's bytes, not the message")
	assert.Equal(t, byte(0xEE), got[off])

	n := rp.next(t)
	assert.NotZero(t, n.Flags&uring.CQEFNotif, "the notification comes once the receiver has the data")
	require.NoError(t, p.Put(next))
}

// The pattern done right: Hold at submission, the application's Put right after, Complete at
// each completion. The buffer stays out until the notification, so the next Get gets other
// memory and the receiver gets the message byte for byte.
func TestZeroCopySendsHoldUntilNotification(t *testing.T) {
	r := newNetRing(t)
	requireSendZC(t, r)
	rp := &reaper{r: r}
	p := newNetPool(t, pool.Config{})
	zc := NewZeroCopySends(p)
	fd, conn := stalledPair(t)

	b := p.Get(zcMsg)
	fillStream(b, 0)
	require.NoError(t, zc.Hold(7, b))
	sendZC(t, r, fd, b, 7)
	require.NoError(t, p.Put(b), "the application lets go at once")

	c := rp.next(t)
	require.Equal(t, int32(zcMsg), c.Res, "%v", c.Err())
	done, err := zc.Complete(c.UserData, c.Flags)
	require.NoError(t, err)
	assert.False(t, done, "the first completion is not the end")
	assert.Equal(t, 1, zc.Pending())
	rp.quiet(t)
	s := p.Stats()
	assert.Equal(t, int64(1), s.InUse, "the buffer is out while the kernel holds it")

	next := p.Get(zcMsg)
	assert.NotEqual(t, addr(b), addr(next), "the next Get gets other memory")
	for i := range next {
		next[i] = 0xEE
	}
	got := readAll(t, conn, zcMsg)
	assert.EqualValues(t, -1, streamMismatch(got, 0), "the receiver got the message byte for byte")

	n := rp.next(t)
	require.NotZero(t, n.Flags&uring.CQEFNotif)
	done, err = zc.Complete(n.UserData, n.Flags)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Zero(t, zc.Pending())
	s = p.Stats()
	assert.Equal(t, int64(1), s.InUse, "only next is out: the notification put the message back")
	require.NoError(t, p.Put(next))
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, s.Gets, s.Puts)
	assert.Equal(t, s.Retains, s.RefPuts)
}

// Fan-out: one buffer sent to four connections holds four references; the application's
// Put comes first, and the buffer goes back only at the last of the four notifications. Every
// receiver gets the message byte for byte although the pool served other Gets meanwhile.
func TestZeroCopySendsFanOut(t *testing.T) {
	r := newNetRing(t)
	requireSendZC(t, r)
	rp := &reaper{r: r}
	p := newNetPool(t, pool.Config{})
	zc := NewZeroCopySends(p)
	const n = 4
	fds := make([]int, n)
	conns := make([]*net.TCPConn, n)
	for i := range n {
		fds[i], conns[i] = stalledPair(t)
	}
	b := p.Get(zcMsg)
	fillStream(b, 0)
	for i := range n {
		require.NoError(t, zc.Hold(uint64(100+i), b))
		sendZC(t, r, fds[i], b, uint64(100+i))
	}
	require.NoError(t, p.Put(b))
	for range n {
		c := rp.next(t)
		require.Equal(t, int32(zcMsg), c.Res, "%v", c.Err())
		done, err := zc.Complete(c.UserData, c.Flags)
		require.NoError(t, err)
		require.False(t, done)
	}
	other := p.Get(zcMsg) // writes into whatever the pool hands out next
	for i := range other {
		other[i] = 0xEE
	}
	for i, notified := 0, 0; i < n; i++ {
		got := readAll(t, conns[i], zcMsg)
		assert.EqualValues(t, -1, streamMismatch(got, 0), "receiver %d got the message byte for byte", i)
		// Each receiver's read lets its notification come; until the last, the buffer is out.
		for notified <= i {
			c := rp.next(t)
			require.NotZero(t, c.Flags&uring.CQEFNotif)
			done, err := zc.Complete(c.UserData, c.Flags)
			require.NoError(t, err)
			require.True(t, done)
			notified++
			want := int64(2) // b and other
			if notified == n {
				want = 1
			}
			assert.Equal(t, want, p.Stats().InUse, "after %d of %d notifications", notified, n)
		}
	}
	require.NoError(t, p.Put(other))
	s := p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, uint64(n), s.Retains)
	assert.Equal(t, uint64(n), s.RefPuts, "the application's Put and three notifications dropped references; the last gave it back")
}

// A SEND_ZC that fails before the kernel takes the pages completes once, without
// IORING_CQE_F_MORE or with a notification after it; Complete gives the buffer back at the
// end either way. Bad input to the helper is refused and holds nothing.
func TestZeroCopySendsFailuresAndRefusals(t *testing.T) {
	r := newNetRing(t)
	requireSendZC(t, r)
	rp := &reaper{r: r}
	p := newNetPool(t, pool.Config{})
	zc := NewZeroCopySends(p)

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	b := p.Get(4096)
	require.NoError(t, zc.Hold(1, b))
	sendZC(t, r, fd, b, 1) // not connected
	require.NoError(t, p.Put(b))
	for done := false; !done; {
		c := rp.next(t)
		if c.Flags&uring.CQEFNotif == 0 {
			require.Error(t, c.Err(), "a send on an unconnected socket fails")
		}
		done, err = zc.Complete(c.UserData, c.Flags)
		require.NoError(t, err)
	}
	assert.Zero(t, p.Stats().InUse, "the failed send's buffer is back")

	c := p.Get(4096)
	assert.ErrorIs(t, zc.Hold(2, make([]byte, 64)), pool.ErrNotOwned, "heap memory")
	require.NoError(t, zc.Hold(2, c[10:]), "an interior slice holds its buffer")
	err = zc.Hold(2, c)
	assert.ErrorContains(t, err, "held already")
	_, err = zc.Complete(3, 1<<1)
	assert.ErrorIs(t, err, ErrUnknownSend)
	assert.ErrorIs(t, zc.Release(3), ErrUnknownSend)
	require.NoError(t, zc.Release(2), "a send never submitted")
	assert.ErrorIs(t, zc.Release(2), ErrUnknownSend, "released once")
	require.NoError(t, p.Put(c))
	idle := c
	assert.ErrorIs(t, zc.Hold(4, idle), pool.ErrNotOwned, "a buffer back in the pool is in no buffer out")
	s := p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, s.Retains, s.RefPuts)
	assert.Zero(t, zc.Pending())
}

// One send of several buffers (SENDMSG_ZC, an iovec each) holds each of them under one
// user_data and puts each back at the notification; a Hold that fails on one buffer holds
// none.
func TestZeroCopySendsHoldsEveryBuffer(t *testing.T) {
	p := newNetPool(t, pool.Config{})
	zc := NewZeroCopySends(p)
	a, b := p.Get(4096), p.Get(100)
	require.NoError(t, zc.Hold(1, a[10:], b, a[:5]), "two iovecs of a, one of b")
	require.NoError(t, p.Put(a))
	require.NoError(t, p.Put(b))
	s := p.Stats()
	assert.Equal(t, int64(2), s.InUse, "held by the send")
	assert.Equal(t, uint64(3), s.Retains)
	done, err := zc.Complete(1, 1<<1) // the first completion: IORING_CQE_F_MORE
	require.NoError(t, err)
	assert.False(t, done)
	done, err = zc.Complete(1, 1<<3) // the notification
	require.NoError(t, err)
	assert.True(t, done)
	s = p.Stats()
	assert.Zero(t, s.InUse, "the notification put both back")
	assert.Equal(t, s.Retains, s.RefPuts)

	c := p.Get(4096)
	err = zc.Hold(2, c, make([]byte, 8))
	require.ErrorIs(t, err, pool.ErrNotOwned)
	assert.Contains(t, err.Error(), "buffer 2 of 2")
	assert.Zero(t, zc.Pending())
	require.NoError(t, p.Put(c), "the refused Hold left no reference on c")
	assert.Zero(t, p.Stats().InUse)
	assert.ErrorContains(t, zc.Hold(3), "no buffer")
	for i := range 100 { // lists are reused: a steady stream allocates nothing
		d := p.Get(64)
		require.NoError(t, zc.Hold(uint64(10+i), d))
		require.NoError(t, p.Put(d))
		require.NoError(t, zc.Release(uint64(10+i)))
	}
	allocs := testing.AllocsPerRun(100, func() {
		d := p.Get(64)
		_ = zc.Hold(7, d)
		_ = p.Put(d)
		_ = zc.Release(7)
	})
	assert.Zero(t, allocs, "Hold and Release of a warm ZeroCopySends allocate nothing")
}
