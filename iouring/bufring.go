package iouring

import "errors"

// MaxBufRingCount is the most buffers a BufRing may have (the kernel's limit of a provided-
// buffer ring's entries).
const MaxBufRingCount = 1 << 15

// Errors of a BufRing, errors.Is-comparable; the kernel's errno is wrapped too where there is
// one. A kernel without provided-buffer rings (before Linux 5.19) gives an error wrapping
// errors.ErrUnsupported.
var (
	// ErrInvalidBufRing: NewBufRing's count is not a power of two from 1 to MaxBufRingCount,
	// or its size is not 1 byte to MaxRegionSize.
	ErrInvalidBufRing = errors.New("iouring: a buffer ring's count must be a power of two from 1 to 32768, its size 1 byte to 1 GiB")
	// ErrGroupInUse: the ring has a provided-buffer group of that number already (EEXIST).
	ErrGroupInUse = errors.New("iouring: buffer group already registered on this ring")
)

// BufferID returns the id of the ring-provided buffer a completion names, from the CQE's
// flags: ok is false when IORING_CQE_F_BUFFER is unset (the completion used no buffer, as a
// receive that failed with -ENOBUFS or found the end of the stream).
func BufferID(cqeFlags uint32) (id uint16, ok bool) {
	const cqeFBuffer, cqeBufferShift = 1 << 0, 16 // IORING_CQE_F_BUFFER, IORING_CQE_BUFFER_SHIFT
	if cqeFlags&cqeFBuffer == 0 {
		return 0, false
	}
	return uint16(cqeFlags >> cqeBufferShift), true
}
