//go:build !linux || zeropool_portable

package iouring

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/zeropool-go/zeropool/pool"
)

// Table is one ring's registered-buffer table, kept in step with one or more pools through
// OnMap and OnUnmap. All its methods are safe for concurrent use.
//
// io_uring is Linux's: here NewTable refuses, and a Table's zero value behaves as a closed
// one.
type Table struct{ _ struct{} }

// NewTable registers a sparse table of slots empty slots (1 to MaxSlots) with the io_uring
// instance ringFD and returns the Table that fills them. On this system it returns an error
// wrapping errors.ErrUnsupported (after ErrInvalidSlots for slots outside 1 to MaxSlots):
// io_uring is Linux's.
func NewTable(ringFD int, slots int) (*Table, error) {
	if slots < 1 || slots > MaxSlots {
		return nil, fmt.Errorf("%w: NewTable(%d, %d)", ErrInvalidSlots, ringFD, slots)
	}
	return nil, fmt.Errorf("iouring: NewTable(%d, %d): io_uring needs Linux; this is %s: %w",
		ringFD, slots, systemName(), errors.ErrUnsupported)
}

// OnMap registers r into a free slot. Here no Table holds a ring: it returns ErrClosed,
// wrapping errors.ErrUnsupported too.
func (t *Table) OnMap(r pool.Region) error {
	return fmt.Errorf("%w: region %d: io_uring needs Linux; this is %s: %w", ErrClosed, r.ID, systemName(), errors.ErrUnsupported)
}

// OnUnmap clears r's slot. Here no Table holds one: it does nothing.
func (t *Table) OnUnmap(r pool.Region) {}

// Err returns nil while every OnUnmap has cleared its slot: here, always.
func (t *Table) Err() error { return nil }

// Index returns the buf_index for a READ_FIXED or WRITE_FIXED operation on b[:len(b)]. Here
// no memory is registered: ok is false.
func (t *Table) Index(b []byte) (index uint16, ok bool) { return 0, false }

// Close unregisters every buffer of the table. Here there is none: it returns ErrClosed, as
// for a Table closed before.
func (t *Table) Close() error { return ErrClosed }

// systemName names this system in errors: its GOOS, or the Linux build that tests the
// other systems' code.
func systemName() string {
	if runtime.GOOS == "linux" {
		return "linux built with the zeropool_portable tag"
	}
	return runtime.GOOS
}
