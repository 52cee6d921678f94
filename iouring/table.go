package iouring

// The limits and errors of a Table are the same on every system; table_linux.go is the Table
// itself, table_other.go its refusal elsewhere.

import "errors"

// Limits of the kernel's registered-buffer table.
const (
	// MaxSlots is the most slots a table may have (IORING_MAX_REG_BUFFERS).
	MaxSlots = 1 << 14
	// MaxRegionSize is the largest region one slot can hold: the kernel refuses a registered
	// buffer above 1 GiB. A pool whose MaxBufferSize is 1 GiB or less (the default) maps no
	// larger pooled region; a Get above MaxBufferSize maps a region of its own, which OnMap
	// refuses with ErrTooLarge when it is larger than this.
	MaxRegionSize = 1 << 30
)

// Errors of a Table, errors.Is-comparable. The kernel's errno is wrapped too where there is
// one (errors.Is(err, unix.ENOMEM) holds for an ErrMemlock from the kernel).
var (
	// ErrTableFull: every slot holds a region; OnMap refuses another (the pool's Get that
	// needed it fails). Trim or the idle bounds free slots as regions are unmapped.
	ErrTableFull = errors.New("iouring: registered-buffer table full")
	// ErrMemlock: the kernel refused to pin a region, or a BufRing's entries (ENOMEM):
	// registering it would pass RLIMIT_MEMLOCK, which the kernel applies to the user's
	// registered buffers and rings.
	ErrMemlock = errors.New("iouring: the kernel refused to pin the region (RLIMIT_MEMLOCK)")
	// ErrRingClosed: the ring's file descriptor is closed, is not an io_uring (EBADF,
	// EOPNOTSUPP), or the ring lost its buffer table (ENXIO).
	ErrRingClosed = errors.New("iouring: ring closed or not an io_uring")
	// ErrClosed: the Table or BufRing was closed; a Table's OnMap refuses every region, a
	// second Close of either returns it.
	ErrClosed = errors.New("iouring: closed")
	// ErrTooLarge: the region is larger than MaxRegionSize, the kernel's limit per registered
	// buffer.
	ErrTooLarge = errors.New("iouring: region larger than one registered buffer can be (1 GiB)")
	// ErrInvalidRegion: the region is empty or overlaps a region the table holds.
	ErrInvalidRegion = errors.New("iouring: invalid region")
	// ErrInvalidSlots: NewTable's slots is outside 1 to MaxSlots.
	ErrInvalidSlots = errors.New("iouring: slots must be 1 to 16384")
)
