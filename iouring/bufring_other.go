//go:build !linux || zeropool_portable

package iouring

import (
	"errors"
	"fmt"

	"github.com/zeropool-go/zeropool/pool"
)

// BufRing is a provided-buffer ring of one io_uring instance, filled with buffers from a pool.
//
// io_uring is Linux's: here NewBufRing refuses, and a BufRing's zero value behaves as a
// closed one.
type BufRing struct{ _ struct{} }

// NewBufRing registers a provided-buffer ring of count buffers of size bytes from p as buffer
// group group of the io_uring instance ringFD. On this system it returns an error wrapping
// errors.ErrUnsupported (after ErrInvalidBufRing for a count or size outside the limits),
// with no buffer taken from p: io_uring is Linux's.
func NewBufRing(ringFD int, group uint16, p *pool.BufferPool, size, count int) (*BufRing, error) {
	if count < 1 || count > MaxBufRingCount || count&(count-1) != 0 || size < 1 || size > MaxRegionSize {
		return nil, fmt.Errorf("%w: NewBufRing(group %d, size %d, count %d)", ErrInvalidBufRing, group, size, count)
	}
	return nil, fmt.Errorf("iouring: NewBufRing(%d, %d): io_uring needs Linux; this is %s: %w",
		ringFD, group, systemName(), errors.ErrUnsupported)
}

// Group returns the ring's buffer group: here 0, no ring exists.
func (br *BufRing) Group() uint16 { return 0 }

// Size returns the bytes of each buffer: here 0.
func (br *BufRing) Size() int { return 0 }

// Count returns the ring's buffers: here 0.
func (br *BufRing) Count() int { return 0 }

// Buffer returns the buffer under id: here nil, no ring holds one.
func (br *BufRing) Buffer(id uint16) []byte { return nil }

// Recycle gives the buffer under id back to the kernel: here it does nothing.
func (br *BufRing) Recycle(id uint16) {}

// Detach hands the buffer under id to the application: here nil.
func (br *BufRing) Detach(id uint16) []byte { return nil }

// Close unregisters the ring: here there is none, and it returns ErrClosed, as for a BufRing
// closed before.
func (br *BufRing) Close() error { return ErrClosed }

// Err returns the last refusal of a Recycle or Detach: here nil.
func (br *BufRing) Err() error { return nil }
