package uring

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = unix.Close(fds[0])
		_ = unix.Close(fds[1])
	})
	return fds
}

func TestSupports(t *testing.T) {
	r := newRing(t, 4)
	ok, err := r.Supports(OpNop)
	require.NoError(t, err)
	assert.True(t, ok, "every kernel with io_uring knows NOP")
	ok, err = r.Supports(255)
	require.NoError(t, err)
	assert.False(t, ok, "no kernel has 255 opcodes")
}

// SEND on one end, RECV on the other: the bytes arrive, each entry completes once.
func TestSendRecv(t *testing.T) {
	r := newRing(t, 4)
	fds := socketPair(t)
	msg := []byte("through the ring and back")
	got := make([]byte, 64)
	cqes, err := r.Run(SQE{Op: OpSend, FD: fds[0], Buf: msg}, SQE{Op: OpRecv, FD: fds[1], Buf: got})
	require.NoError(t, err)
	require.Equal(t, int32(len(msg)), cqes[0].Res, "%v", cqes[0].Err())
	require.Equal(t, int32(len(msg)), cqes[1].Res, "%v", cqes[1].Err())
	assert.Equal(t, msg, got[:len(msg)])
	assert.Zero(t, r.InFlight())
}

// Reap with a timeout returns ErrTimeout while nothing completes; a cancelled receive
// completes with ECANCELED and leaves the ring with nothing in flight, where Reap refuses to
// wait.
func TestReapTimeoutAndCancel(t *testing.T) {
	r := newRing(t, 4)
	fds := socketPair(t)
	buf := make([]byte, 16)
	require.NoError(t, r.Submit(SQE{Op: OpRecv, FD: fds[1], Buf: buf, UserData: 1}))
	cqes, err := r.Reap(nil, 1, 20*time.Millisecond)
	require.ErrorIs(t, err, ErrTimeout)
	assert.Empty(t, cqes)
	assert.Equal(t, 1, r.InFlight())

	require.NoError(t, r.Submit(SQE{Op: OpAsyncCancel, FD: -1, Addr: 1, UserData: 2}))
	for len(cqes) < 2 {
		cqes, err = r.Reap(cqes, 1, 10*time.Second)
		require.NoError(t, err)
	}
	for _, c := range cqes {
		switch c.UserData {
		case 1:
			assert.ErrorIs(t, c.Err(), unix.ECANCELED)
		case 2:
			assert.NoError(t, c.Err())
		}
	}
	assert.Zero(t, r.InFlight())
	_, err = r.Reap(nil, 1, 0)
	assert.ErrorContains(t, err, "no entry in flight")
	_, _ = unix.Write(fds[0], []byte("x"))
	cqes, err = r.Reap(nil, 0, 0)
	require.NoError(t, err, "min 0 only looks")
	assert.Empty(t, cqes)
	runtime.KeepAlive(buf) // the kernel could write into it until the cancellation completed
}
