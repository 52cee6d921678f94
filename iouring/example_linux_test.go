//go:build !zeropool_portable

package iouring_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

// A pool whose every region is registered with a ring, and a READ_FIXED into one of its
// buffers. Any io_uring library's ring works the same: the table needs only its file
// descriptor (here the ring is this module's small test harness).
func Example() {
	ring, err := uring.New(8)
	if err != nil {
		fmt.Println("no io_uring here:", err)
		return
	}
	defer ring.Close()
	table, err := iouring.NewTable(ring.FD(), 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pool.NewWithConfig(pool.Config{OnMap: table.OnMap, OnUnmap: table.OnUnmap, DontFork: true})
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := os.CreateTemp("", "zeropool-example-*")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString("hello from the disk, straight into a pooled buffer"); err != nil {
		fmt.Println(err)
		return
	}

	buf := p.Get(64 << 10)
	index, ok := table.Index(buf) // the buf_index of the region that holds buf
	if !ok {
		fmt.Println("buffer not registered")
		return
	}
	cqes, err := ring.Run(uring.SQE{Op: uring.OpReadFixed, FD: int(f.Fd()), Buf: buf, BufIndex: index})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := cqes[0].Res
	fmt.Printf("READ_FIXED: %d bytes: %s\n", n, buf[:n])
	// Put only after the completion: until then the kernel may still write into buf.
	if err := p.Put(buf); err != nil {
		fmt.Println(err)
	}
	// Close the pool first (each region's OnUnmap clears its slot), then the table.
	fmt.Println("pool closed:", p.Close())
	fmt.Println("table closed:", table.Close())
}

// TestExample runs Example, which has no Output comment so that it cannot fail where io_uring
// is unavailable, and checks what it prints.
func TestExample(t *testing.T) {
	if err := uring.Unavailable(); err != nil {
		t.Skip(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	require.NoError(t, err)
	defer out.Close()
	stdout := os.Stdout
	os.Stdout = out
	func() {
		defer func() { os.Stdout = stdout }()
		Example()
	}()
	got, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	assert.Equal(t, "READ_FIXED: 50 bytes: hello from the disk, straight into a pooled buffer\n"+
		"pool closed: <nil>\ntable closed: <nil>\n", string(got))
}
