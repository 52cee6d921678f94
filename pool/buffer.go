package pool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"unicode/utf8"
)

// ErrReleased is returned by the methods of a Buffer that can return an error once Release
// has given its storage back (or for a Buffer that NewBuffer did not make), and is the value
// of the panic of Grow in that state.
var ErrReleased = errors.New("zeropool: Buffer used after Release (or not made by NewBuffer)")

// minRead is the least free space ReadFrom offers each Read, as bytes.Buffer's (bytes.MinRead).
const minRead = bytes.MinRead

// Buffer is a growable byte buffer, like bytes.Buffer, whose storage always comes from a
// BufferPool: it starts with a buffer of the pool, and grows by getting a bigger one, copying
// the unread bytes over and putting the old one back. Release puts its storage back for good.
// Its bytes never live on the Go heap, so a Buffer of hundreds of MiB costs the garbage
// collector nothing and is reused, pages and all, by the pool's next Get.
//
// The methods behave as bytes.Buffer's, with three differences that come from the memory
// being the pool's:
//   - A slice from Bytes (or a read of it) is valid only until the next call that may grow
//     the Buffer (Write*, ReadFrom, Grow) and until Release: the old storage goes back to the
//     pool at once, and the pool may hand it to another holder. bytes.Buffer's old storage
//     stays valid until the garbage collector finds it unused; this one does not.
//   - Where bytes.Buffer panics with bytes.ErrTooLarge, Write, WriteString, WriteByte,
//     WriteRune and ReadFrom return an error instead, which wraps bytes.ErrTooLarge and the
//     pool's reason (ErrExhausted, ErrClosed, ErrInvalidSize, the system's refusal); the
//     Buffer is unchanged. Grow, which has no error to return, panics with that error.
//   - After Release the Buffer holds nothing: Len, Cap and Available are 0, Bytes is nil,
//     Reset and Truncate(0) do nothing; Read, ReadByte, WriteTo and every method that writes
//     return ErrReleased, and Grow panics with it. Release again does nothing and returns nil.
//     The zero Buffer behaves the same way: use BufferPool.NewBuffer.
//
// A Buffer is not safe for concurrent use, as bytes.Buffer is not.
type Buffer struct {
	p   *BufferPool // nil once released, and in the zero Buffer
	buf []byte      // the storage, as Get returned it (its first byte is the buffer's) up to len
	off int         // unread bytes are buf[off:]
	// err collects the pool's refusals to take back storage replaced on growth, for Release
	// to report: a refusal means something else put that storage back already.
	err error
	// leak is what the Buffer's cleanup reports if the Buffer is dropped without Release
	// (see buffer_leak.go); cleanup is stopped by Release.
	leak    *bufferLeak
	cleanup runtime.Cleanup
}

// NewBuffer returns an empty Buffer whose storage is a buffer of the pool of at least size
// bytes (Cap() >= size); size 0 gets storage at the first write. It panics where
// p.Get(size) would: a nil pool, a negative or impossible size, a closed pool, memory the
// system refuses. Call Release when done with it.
func (p *BufferPool) NewBuffer(size int) *Buffer {
	if p == nil {
		panic("zeropool: NewBuffer called on a nil *BufferPool")
	}
	b := &Buffer{p: p}
	if size != 0 {
		b.buf = p.Get(size)[:0]
	}
	b.watch()
	return b
}

// Release puts the Buffer's storage back into its pool; the Buffer then holds nothing (see
// Buffer). It returns the pool's refusal of that storage, joined with any refusal of storage
// replaced while the Buffer grew: both mean that something else put the pool's memory back
// behind the Buffer's back (a Put of Bytes(), say). A second Release does nothing and returns
// nil.
func (b *Buffer) Release() error {
	if b.p == nil {
		return nil
	}
	b.cleanup.Stop()
	err := errors.Join(b.err, b.p.Put(b.buf[:0]))
	*b = Buffer{}
	return err
}

// Len returns the number of unread bytes.
func (b *Buffer) Len() int { return len(b.buf) - b.off }

// Cap returns the capacity of the Buffer's storage.
func (b *Buffer) Cap() int { return cap(b.buf) }

// Available returns how many bytes can be written without growing the storage.
func (b *Buffer) Available() int { return cap(b.buf) - len(b.buf) }

// Bytes returns the unread bytes, in the Buffer's pooled storage (not a copy). The slice is
// valid only until the next call that may grow the Buffer, and until Release (see Buffer).
func (b *Buffer) Bytes() []byte {
	if b.p == nil {
		return nil
	}
	return b.buf[b.off:]
}

// String returns the unread bytes as a string (a copy on the Go heap); "<nil>" for a nil
// *Buffer, as bytes.Buffer.
func (b *Buffer) String() string {
	if b == nil {
		return "<nil>"
	}
	return string(b.buf[b.off:])
}

// Reset empties the Buffer and keeps its storage for the next writes.
func (b *Buffer) Reset() {
	b.buf = b.buf[:0]
	b.off = 0
}

// Truncate keeps the first n unread bytes and discards the rest; it panics if n is negative
// or more than Len, as bytes.Buffer.Truncate.
func (b *Buffer) Truncate(n int) {
	if n == 0 {
		b.Reset()
		return
	}
	if n < 0 || n > b.Len() {
		panic("zeropool: Buffer.Truncate: out of range")
	}
	b.buf = b.buf[:b.off+n]
}

// Grow makes room for n more bytes, so that the next writes of up to n bytes do not grow
// the storage. It panics for a negative n, with ErrReleased after Release, and with the
// error Write would return where the pool cannot give the storage (see Buffer).
func (b *Buffer) Grow(n int) {
	if n < 0 {
		panic("zeropool: Buffer.Grow: negative count")
	}
	m, err := b.grow(n)
	if err != nil {
		panic(err)
	}
	b.buf = b.buf[:m]
}

// grow makes room for n more bytes and returns where they start: b.buf is extended by n
// bytes, for the caller to fill. On error the Buffer is unchanged.
func (b *Buffer) grow(n int) (int, error) {
	if b.p == nil {
		return 0, ErrReleased
	}
	m := b.Len()
	if m == 0 && b.off != 0 {
		b.Reset() // everything was read: start again at the front of the storage
	}
	if i := len(b.buf); n <= cap(b.buf)-i {
		b.buf = b.buf[:i+n]
		return i, nil
	}
	c := cap(b.buf)
	if n <= c/2-m {
		// Enough room once the unread bytes move to the front; at most half the storage
		// is copied, as bytes.Buffer does.
		copy(b.buf, b.buf[b.off:])
	} else {
		if n > math.MaxInt-m {
			return 0, fmt.Errorf("zeropool: Buffer cannot hold %d more bytes than its %d: %w: %w", n, m, bytes.ErrTooLarge, ErrInvalidSize)
		}
		// Double the storage, or take what is needed when that is more: the pool's classes
		// are powers of two, so doubling moves to the next class.
		want := m + n
		if c <= math.MaxInt/2 {
			want = max(want, 2*c)
		}
		nb, err := b.p.TryGet(want)
		if err != nil {
			return 0, fmt.Errorf("zeropool: Buffer cannot grow to %d bytes: %w: %w", want, bytes.ErrTooLarge, err)
		}
		copy(nb, b.buf[b.off:])
		if cap(b.buf) != 0 {
			if err := b.p.Put(b.buf[:0]); err != nil {
				b.err = errors.Join(b.err, err)
			}
		}
		b.buf = nb
		b.leak.storage.Store(uintptr(addrOfSlice(nb)))
		b.leak.size.Store(int64(cap(nb)))
	}
	b.off = 0
	b.buf = b.buf[:m+n]
	return m, nil
}

// Write appends p to the Buffer, growing it as needed. It returns len(p) and nil, or 0 and
// an error wrapping bytes.ErrTooLarge (with the pool's reason) or ErrReleased, the Buffer
// unchanged.
func (b *Buffer) Write(p []byte) (int, error) {
	m, err := b.grow(len(p))
	if err != nil {
		return 0, err
	}
	return copy(b.buf[m:], p), nil
}

// WriteString appends s to the Buffer; it returns as Write.
func (b *Buffer) WriteString(s string) (int, error) {
	m, err := b.grow(len(s))
	if err != nil {
		return 0, err
	}
	return copy(b.buf[m:], s), nil
}

// WriteByte appends c to the Buffer; it returns as Write.
func (b *Buffer) WriteByte(c byte) error {
	m, err := b.grow(1)
	if err != nil {
		return err
	}
	b.buf[m] = c
	return nil
}

// WriteRune appends the UTF-8 encoding of r to the Buffer and returns its length; it returns
// as Write.
func (b *Buffer) WriteRune(r rune) (int, error) {
	if uint32(r) < utf8.RuneSelf {
		if err := b.WriteByte(byte(r)); err != nil {
			return 0, err
		}
		return 1, nil
	}
	m, err := b.grow(utf8.UTFMax)
	if err != nil {
		return 0, err
	}
	b.buf = utf8.AppendRune(b.buf[:m], r)
	return len(b.buf) - m, nil
}

// Read reads up to len(p) unread bytes into p. With nothing unread it returns io.EOF (0, nil
// for an empty p), as bytes.Buffer; after Release it returns ErrReleased.
func (b *Buffer) Read(p []byte) (int, error) {
	if b.p == nil {
		return 0, ErrReleased
	}
	if b.Len() == 0 {
		b.Reset()
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	return n, nil
}

// ReadByte reads the next unread byte; io.EOF when there is none, ErrReleased after Release.
func (b *Buffer) ReadByte() (byte, error) {
	if b.p == nil {
		return 0, ErrReleased
	}
	if b.Len() == 0 {
		b.Reset()
		return 0, io.EOF
	}
	c := b.buf[b.off]
	b.off++
	return c, nil
}

// ReadFrom reads from r until io.EOF and appends what it read, growing the Buffer as needed.
// r reads straight into the pooled storage: no copy on the Go heap, no allocation. It returns
// the bytes read and r's error other than io.EOF, or the error of a growth the pool could not
// serve (see Write) with what was read until then kept.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		i, err := b.grow(minRead)
		if err != nil {
			return n, err
		}
		b.buf = b.buf[:i]
		m, e := r.Read(b.buf[i:cap(b.buf)])
		if m < 0 || m > cap(b.buf)-i {
			panic("zeropool: Buffer.ReadFrom: reader returned an invalid count")
		}
		b.buf = b.buf[:i+m]
		n += int64(m)
		if e == io.EOF {
			return n, nil
		}
		if e != nil {
			return n, e
		}
	}
}

// WriteTo writes the unread bytes to w, straight from the pooled storage (no copy), until
// they are all written or w fails; it returns the bytes written and w's error, or
// io.ErrShortWrite for a w that wrote less without one. Once everything is written the
// Buffer is empty (its storage kept). After Release it returns ErrReleased.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	if b.p == nil {
		return 0, ErrReleased
	}
	var n int64
	if nb := b.Len(); nb > 0 {
		m, e := w.Write(b.buf[b.off:])
		if m < 0 || m > nb {
			panic("zeropool: Buffer.WriteTo: writer returned an invalid count")
		}
		b.off += m
		n = int64(m)
		if e != nil {
			return n, e
		}
		if m != nb {
			return n, io.ErrShortWrite
		}
	}
	b.Reset()
	return n, nil
}

// Buffer implements what bytes.Buffer does of the io interfaces.
var (
	_ io.ReadWriter   = (*Buffer)(nil)
	_ io.ReaderFrom   = (*Buffer)(nil)
	_ io.WriterTo     = (*Buffer)(nil)
	_ io.ByteReader   = (*Buffer)(nil)
	_ io.ByteWriter   = (*Buffer)(nil)
	_ io.StringWriter = (*Buffer)(nil)
	_ fmt.Stringer    = (*Buffer)(nil)
)
