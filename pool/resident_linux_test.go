package pool

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/offheap"
)

// resident returns how many bytes of the buffers' pages are in RAM, as mincore(2) sees them;
// pages no longer mapped count as not resident. Unlike the process's RssAnon, which moves with
// everything else the process does (the race detector's shadow memory among it), it measures
// the pool's memory alone.
func resident(t *testing.T, bufs [][]byte) int64 {
	t.Helper()
	pg := offheap.PageSize()
	var n int64
	vec := make([]byte, 0, 1024)
	for _, b := range bufs {
		b = b[:cap(b)]
		pages := (len(b) + pg - 1) / pg
		vec = slices.Grow(vec[:0], pages)[:pages]
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
		if errno == unix.ENOMEM {
			continue // unmapped
		}
		require.Zero(t, errno, "mincore: %v", errno)
		for _, v := range vec {
			if v&1 != 0 {
				n += int64(pg)
			}
		}
	}
	return n
}
