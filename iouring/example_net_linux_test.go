//go:build !zeropool_portable

package iouring_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

// echoOnce is docs/zero-copy-network.md's, word for word (TestZeroCopyDocSampleIsThisOne
// checks).

// echoOnce receives one message on fd into a pooled buffer ring, keeps it without a copy
// (Detach), and sends it back with SEND_ZC; the buffer goes back to the pool at the send's
// notification, whenever the application puts its own reference.
func echoOnce(ring *uring.Ring, fd int, p *pool.BufferPool) error {
	br, err := iouring.NewBufRing(ring.FD(), 1, p, 16<<10, 64) // group 1: 64 buffers of 16 KiB
	if err != nil {
		return err
	}
	defer br.Close()
	zc := iouring.NewZeroCopySends(p)

	// A multishot receive that picks its buffers from group 1.
	err = ring.Submit(uring.SQE{Op: uring.OpRecv, Flags: uring.SQEBufferSelect, IoPrio: uring.RecvMultishot,
		FD: fd, BufGroup: br.Group(), UserData: 1})
	if err != nil {
		return err
	}
	cqes, err := ring.Reap(nil, 1, 0)
	if err != nil {
		return err
	}
	c := cqes[0]
	id, ok := iouring.BufferID(c.Flags)
	if c.Res <= 0 || !ok {
		return fmt.Errorf("receive: %d bytes, buffer named: %v", c.Res, ok)
	}
	kept := br.Detach(id) // ours now; the kernel has a fresh buffer under id
	if kept == nil {
		return br.Err() // the pool had no fresh buffer: id is still ours to Recycle
	}
	msg := kept[:c.Res]

	// Hold the buffer for the send before submitting it, then let go of our own reference.
	if err := zc.Hold(2, msg); err != nil {
		return err
	}
	if err := ring.Submit(uring.SQE{Op: uring.OpSendZC, FD: fd, Buf: msg, UserData: 2}); err != nil {
		return err
	}
	if err := p.Put(msg); err != nil { // only drops a reference: the kernel may still read it
		return err
	}
	// The send completes twice: queued (IORING_CQE_F_MORE), then the notification.
	for done := false; !done; {
		cqes, err := ring.Reap(nil, 1, 0)
		if err != nil {
			return err
		}
		for _, c := range cqes {
			if c.UserData == 2 {
				if done, err = zc.Complete(c.UserData, c.Flags); err != nil {
					return err
				}
			}
		}
	}
	// Stop the multishot receive before Close puts its buffers back.
	if err := ring.Submit(uring.SQE{Op: uring.OpAsyncCancel, Addr: 1, UserData: 3}); err != nil {
		return err
	}
	for ring.InFlight() > 0 {
		if _, err := ring.Reap(nil, 1, 0); err != nil {
			return err
		}
	}
	return nil
}

// A message received into a pooled provided-buffer ring and sent back with SEND_ZC, over
// loopback TCP. (The ring is this module's small test harness; any io_uring library's works
// the same: BufRing and ZeroCopySends need only its file descriptor and its completions.)
func ExampleBufRing() {
	ring, err := uring.New(16)
	if err != nil {
		fmt.Println("no io_uring here:", err)
		return
	}
	defer ring.Close()
	p, err := pool.NewWithConfig(pool.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fd, client, err := loopbackPair()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unix.Close(fd)
	defer client.Close()

	if _, err := client.Write([]byte("hello through a pooled ring")); err != nil {
		fmt.Println(err)
		return
	}
	if err := echoOnce(ring, fd, p); err != nil {
		fmt.Println(err)
		return
	}
	got := make([]byte, 27)
	if _, err := io.ReadFull(client, got); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("echoed: %s\n", got)
	s := p.Stats()
	fmt.Printf("in use %d, retains %d, puts that only dropped a reference %d\n", s.InUse, s.Retains, s.RefPuts)
	fmt.Println("pool closed:", p.Close())
	// Output:
	// echoed: hello through a pooled ring
	// in use 0, retains 1, puts that only dropped a reference 1
	// pool closed: <nil>
}

// loopbackPair returns the two ends of a loopback TCP connection: a descriptor for the ring
// and a net.Conn. The listener is plain TCP (Go's listeners are Multipath TCP by default, and
// the connections they accept refuse SEND_ZC).
func loopbackPair() (int, net.Conn, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		return -1, nil, err
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		return -1, nil, err
	}
	server, err := ln.Accept()
	if err != nil {
		return -1, nil, errors.Join(err, client.Close())
	}
	defer server.Close()
	f, err := server.(*net.TCPConn).File() // a descriptor of its own
	if err != nil {
		return -1, nil, errors.Join(err, client.Close())
	}
	fd, err := unix.Dup(int(f.Fd()))
	return fd, client, errors.Join(err, f.Close())
}

// The doc's sample is echoOnce above, word for word.
func TestZeroCopyDocSampleIsThisOne(t *testing.T) {
	doc, err := os.ReadFile("../docs/zero-copy-network.md")
	require.NoError(t, err)
	src, err := os.ReadFile("example_net_linux_test.go")
	require.NoError(t, err)
	fn := regexp.MustCompile(`(?s)\n(// echoOnce receives.*?\n}\n)`).FindSubmatch(src)
	require.NotNil(t, fn, "echoOnce in this file")
	assert.True(t, strings.Contains(string(doc), string(fn[1])), "docs/zero-copy-network.md shows echoOnce as this file has it")
}
