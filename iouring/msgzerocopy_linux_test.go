//go:build !zeropool_portable

package iouring

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

// zeroCopyDone reads one MSG_ZEROCOPY notification from fd's error queue, waiting for it,
// and returns the range of send counters it covers (both ends included) and whether the
// kernel says it copied.
func zeroCopyDone(t testing.TB, fd int) (lo, hi uint32, copied bool) {
	t.Helper()
	deadline := time.Now().Add(reapTimeout)
	oob := make([]byte, 128)
	for {
		_, oobn, _, _, err := unix.Recvmsg(fd, nil, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err == unix.EAGAIN {
			require.True(t, time.Now().Before(deadline), "no MSG_ZEROCOPY notification")
			fds := []unix.PollFd{{Fd: int32(fd)}} // POLLERR is always reported
			_, err = unix.Poll(fds, 1000)
			require.True(t, err == nil || err == unix.EINTR, "poll: %v", err)
			continue
		}
		require.NoError(t, err)
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		require.Equal(t, int32(unix.SOL_IP), msgs[0].Header.Level)
		require.Equal(t, int32(unix.IP_RECVERR), msgs[0].Header.Type)
		var ee unix.SockExtendedErr
		require.NoError(t, binary.Read(bytes.NewReader(msgs[0].Data), binary.NativeEndian, &ee))
		require.Equal(t, uint8(unix.SO_EE_ORIGIN_ZEROCOPY), ee.Origin, "a zero-copy notification: %+v", ee)
		return ee.Info, ee.Data, ee.Code&unix.SO_EE_CODE_ZEROCOPY_COPIED != 0
	}
}

// MSG_ZEROCOPY, as SEND_ZC: the kernel sends from the buffer's pages after sendmsg returns,
// until its notification on the socket's error queue (SO_EE_ORIGIN_ZEROCOPY, a range of the
// socket's send counters). Put back at the return, the buffer's next holder's bytes go out;
// held (ZeroCopySends.Hold under the send's counter, Release at the notification), the
// receiver gets the message byte for byte while the pool serves other Gets.
func TestMsgZeroCopy(t *testing.T) {
	for _, early := range []bool{true, false} {
		name := map[bool]string{true: "put at return", false: "held until the notification"}[early]
		t.Run(name, func(t *testing.T) {
			oneP(t) // the next Get on the same P gets the buffer just put back
			p := newNetPool(t, pool.Config{})
			zc := NewZeroCopySends(p)
			fd, conn := stalledPair(t)
			require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ZEROCOPY, 1))

			b := p.Get(zcMsg)
			fillStream(b, 0)
			const counter = 0 // the socket's first zero-copy send
			if !early {
				require.NoError(t, zc.Hold(counter, b))
			}
			n, err := unix.SendmsgN(fd, b, nil, nil, unix.MSG_ZEROCOPY)
			require.NoError(t, err)
			require.Equal(t, zcMsg, n)
			require.NoError(t, p.Put(b)) // the application is done with it

			next := p.Get(zcMsg)
			if early {
				require.Equal(t, addr(b), addr(next), "the next Get gets the same pages")
			} else {
				require.NotEqual(t, addr(b), addr(next), "the next Get gets other memory")
			}
			for i := range next {
				next[i] = 0xEE
			}
			got := readAll(t, conn, zcMsg)
			lo, hi, copied := zeroCopyDone(t, fd)
			assert.Equal(t, [2]uint32{counter, counter}, [2]uint32{lo, hi}, "the notification covers the one send")
			t.Logf("the kernel copied: %v (loopback delivers by copying)", copied)
			if early {
				off := streamMismatch(got, 0)
				require.GreaterOrEqual(t, off, int64(0), "the receiver got the next holder's bytes")
				assert.Equal(t, byte(0xEE), got[off])
			} else {
				assert.EqualValues(t, -1, streamMismatch(got, 0), "the receiver got the message byte for byte")
				assert.Equal(t, int64(2), p.Stats().InUse, "the message stays out until the notification")
				for k := lo; k <= hi; k++ {
					require.NoError(t, zc.Release(uint64(k)))
				}
			}
			require.NoError(t, p.Put(next))
			s := p.Stats()
			assert.Zero(t, s.InUse)
			assert.Equal(t, s.Retains, s.RefPuts)
		})
	}
}

// vmsplice has no notification: the pipe refers to the buffer's pages until its reader has
// taken the data. Held from the vmsplice until the pipe is drained, the buffer is safe to Put
// at once; the reader gets the message while the pool serves other Gets.
func TestVmspliceHeldUntilDrained(t *testing.T) {
	p := newNetPool(t, pool.Config{})
	zc := NewZeroCopySends(p)
	rd, wr := pipe(t)
	const n = 4096
	b := p.Get(n)
	fillStream(b, 0)
	require.NoError(t, zc.Hold(1, b)) // the pipe's reference
	iov := []unix.Iovec{{Base: &b[0]}}
	iov[0].SetLen(n)
	k, err := unix.Vmsplice(int(wr.Fd()), iov, 0)
	require.NoError(t, err)
	require.Equal(t, n, k)
	require.NoError(t, p.Put(b))

	next := p.Get(n)
	require.NotEqual(t, addr(b), addr(next), "the next Get gets other memory")
	for i := range next {
		next[i] = 0xEE
	}
	got := make([]byte, n)
	_, err = rd.Read(got)
	require.NoError(t, err)
	assert.EqualValues(t, -1, streamMismatch(got, 0), "the pipe delivered the message")
	require.NoError(t, zc.Release(1), "drained: the pipe's reference goes")
	require.NoError(t, p.Put(next))
	assert.Zero(t, p.Stats().InUse)
}
