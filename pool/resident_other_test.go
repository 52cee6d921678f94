//go:build !linux

package pool

import "testing"

// resident returns how many bytes of the buffers' pages are in RAM: mincore(2) of pool
// memory is read on Linux only, so here the test is skipped.
func resident(t *testing.T, bufs [][]byte) int64 {
	t.Helper()
	t.Skip("resident memory (mincore) is read on Linux only")
	return 0
}
