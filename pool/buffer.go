package pool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"unicode/utf8"
)

// minRead is the free space ReadFrom makes when it grows without a size hint, as
// bytes.Buffer's (bytes.MinRead).
const minRead = bytes.MinRead

// keepGrowthMax is the largest storage that growth puts back into the pool to wait idle for
// reuse; larger storage that a Buffer grew out of goes back to the system (putRelease). What
// growth from empty leaves idle is then at most the classes up to 4 MiB, one buffer each
// (about 8 MiB), whatever the final size: growing to 256 MiB no longer leaves a buffer of
// every class it passed (another 256 MiB). Buffers of up to a few MiB, which Buffers of a
// busy service grow through again and again, keep being reused; larger ones are mapped
// afresh, which costs page faults on the order of what copying them on growth costs anyway.
// A size hint (NewBufferFor, ReadFrom's) avoids both.
const keepGrowthMax = 4 << 20

// readOp records the last read, for UnreadByte and UnreadRune, as bytes.Buffer's: a rune's
// size (1 to 4) after ReadRune, opRead after any other read, opInvalid after anything else.
type readOp int8

const (
	opRead    readOp = -1
	opInvalid readOp = 0
)

// Buffer is a growable byte buffer, like bytes.Buffer, whose storage always comes from a
// BufferPool: it starts with a buffer of the pool, and grows by getting a bigger one, copying
// the unread bytes over and putting the old one back. Release puts its storage back for good.
// Its bytes never live on the Go heap, so a Buffer of hundreds of MiB costs the garbage
// collector nothing and is reused, pages and all, by the pool's next Get.
//
// The methods behave as bytes.Buffer's, with these differences that come from the memory
// being the pool's:
//   - A slice from Bytes, Next or AvailableBuffer is valid only until the next call that may
//     grow the Buffer (Write*, ReadFrom, Grow) and until Release: the old storage goes back to
//     the pool (or, above 4 MiB, to the system) at once, and the pool may hand it to another
//     holder. bytes.Buffer's old storage stays valid until the garbage collector finds it
//     unused; this one does not. ReadBytes and ReadString return copies on the Go heap.
//   - Growth doubles the storage, as bytes.Buffer's does, but storage of more than 4 MiB
//     that the Buffer grew out of is unmapped rather than kept idle in the pool, so that a
//     Buffer grown from empty to hundreds of MiB leaves one buffer of that size idle after
//     Release, not one more of every class it passed. When the final size is known before
//     the bytes come, give it (NewBufferFor, or a reader ReadFrom can ask, see ReadFrom): the
//     storage is then got once, at that size, with nothing copied.
//   - Where bytes.Buffer panics with bytes.ErrTooLarge, Write, WriteString, WriteByte,
//     WriteRune and ReadFrom return an error instead, which wraps bytes.ErrTooLarge and the
//     pool's reason (ErrExhausted, ErrClosed, ErrInvalidSize, the system's refusal); the
//     Buffer is unchanged. Grow, which has no error to return, panics with that error.
//   - After Release the Buffer holds nothing: Len, Cap and Available are 0; Bytes, Next and
//     AvailableBuffer return nil; Reset and Truncate(0) do nothing; every read (Read,
//     ReadByte, ReadRune, ReadBytes, ReadString), WriteTo and every method that writes
//     return ErrReleased, UnreadByte and UnreadRune their errors, and Grow panics with
//     ErrReleased. Release again does nothing and returns nil. The zero Buffer behaves the
//     same way: use BufferPool.NewBuffer.
//
// A Buffer is not safe for concurrent use, as bytes.Buffer is not.
type Buffer struct {
	p        *BufferPool // nil once released, and in the zero Buffer
	buf      []byte      // the storage, as Get returned it (its first byte is the buffer's) up to len
	off      int         // unread bytes are buf[off:]
	lastRead readOp      // for UnreadByte and UnreadRune
	// probe is where ReadFrom reads one byte, when the storage is full, to learn whether the
	// reader has more before it grows the storage for it.
	probe [1]byte
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

// NewBufferFor returns an empty Buffer with room for n bytes (Cap() >= n), for data whose
// length is known before it is read: an http.Request's ContentLength, a file's size. ReadFrom
// then reads it into that storage, got once, with no growth and no copy, and stops at io.EOF
// without growing even when the data fill the storage exactly:
//
//	b, err := p.NewBufferFor(r.ContentLength) // -1, unknown, gives an empty Buffer
//	if err != nil { ... }                     // more than the pool can give: 413, say
//	defer b.Release()
//	_, err = b.ReadFrom(r.Body)
//
// A negative n (unknown, as ContentLength's -1) or 0 gives a Buffer with no storage until the
// first write, as NewBuffer(0). Where the pool cannot give n bytes, NewBufferFor returns an
// error wrapping bytes.ErrTooLarge and the pool's reason (ErrInvalidSize, ErrExhausted,
// ErrClosed, the system's refusal) instead of NewBuffer's panic, so that a length announced
// by a client cannot crash a handler. The length is trusted otherwise: it is the client's
// claim, so bound it by what the service accepts before asking for it. It panics for a nil
// pool.
func (p *BufferPool) NewBufferFor(n int64) (*Buffer, error) {
	if p == nil {
		panic("zeropool: NewBufferFor called on a nil *BufferPool")
	}
	b := &Buffer{p: p}
	if n <= 0 {
		b.watch()
		return b, nil
	}
	if n > math.MaxInt {
		return nil, fmt.Errorf("zeropool: NewBufferFor(%d): %w: %w", n, bytes.ErrTooLarge, ErrInvalidSize)
	}
	buf, err := p.TryGet(int(n))
	if err != nil {
		return nil, fmt.Errorf("zeropool: NewBufferFor(%d): %w: %w", n, bytes.ErrTooLarge, err)
	}
	b.buf = buf[:0]
	b.watch()
	return b, nil
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

// AvailableBuffer returns an empty slice of the storage's free space (cap is Available()),
// for an append whose result is passed to Write at once, as with bytes.Buffer: the bytes
// are then written in place. It is valid only until the next call that changes the Buffer,
// and until Release; nil after Release.
func (b *Buffer) AvailableBuffer() []byte {
	if b.p == nil {
		return nil
	}
	return b.buf[len(b.buf):]
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
	b.lastRead = opInvalid
}

// Truncate keeps the first n unread bytes and discards the rest; it panics if n is negative
// or more than Len, as bytes.Buffer.Truncate.
func (b *Buffer) Truncate(n int) {
	if n == 0 {
		b.Reset()
		return
	}
	b.lastRead = opInvalid
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
// bytes, for the caller to fill. New storage is twice the old at least, as bytes.Buffer's.
// On error the Buffer is unchanged.
func (b *Buffer) grow(n int) (int, error) { return b.growTo(n, false) }

// growTo is grow; with exact, new storage holds the unread bytes and n more, not twice the
// old: n is what a size hint says is coming.
func (b *Buffer) growTo(n int, exact bool) (int, error) {
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
		// Double the storage, or take what is needed when that is more: doubling moves past
		// a power of two, so a Buffer grown by small writes passes one class per power of
		// two.
		want := m + n
		if !exact && c <= math.MaxInt/2 {
			want = max(want, 2*c)
		}
		nb, err := b.p.TryGet(want)
		if err != nil {
			return 0, fmt.Errorf("zeropool: Buffer cannot grow to %d bytes: %w: %w", want, bytes.ErrTooLarge, err)
		}
		copy(nb, b.buf[b.off:])
		if c != 0 {
			b.giveBack(b.buf[:0])
		}
		b.buf = nb
		b.leak.storage.Store(uintptr(addrOfSlice(nb))) // for the leak report, should b be dropped
		b.leak.size.Store(int64(cap(nb)))
	}
	b.off = 0
	b.buf = b.buf[:m+n]
	return m, nil
}

// giveBack returns storage the Buffer grew out of: to the pool up to keepGrowthMax, to the
// system above it. A refusal is kept for Release to report.
func (b *Buffer) giveBack(old []byte) {
	var err error
	if cap(old) > keepGrowthMax {
		err = b.p.putRelease(old)
	} else {
		err = b.p.Put(old)
	}
	if err != nil {
		b.err = errors.Join(b.err, err)
	}
}

// Write appends p to the Buffer, growing it as needed. It returns len(p) and nil, or 0 and
// an error wrapping bytes.ErrTooLarge (with the pool's reason) or ErrReleased, the Buffer
// unchanged.
func (b *Buffer) Write(p []byte) (int, error) {
	b.lastRead = opInvalid
	m, err := b.grow(len(p))
	if err != nil {
		return 0, err
	}
	return copy(b.buf[m:], p), nil
}

// WriteString appends s to the Buffer; it returns as Write.
func (b *Buffer) WriteString(s string) (int, error) {
	b.lastRead = opInvalid
	m, err := b.grow(len(s))
	if err != nil {
		return 0, err
	}
	return copy(b.buf[m:], s), nil
}

// WriteByte appends c to the Buffer; it returns as Write.
func (b *Buffer) WriteByte(c byte) error {
	b.lastRead = opInvalid
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
	b.lastRead = opInvalid
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
	b.lastRead = opInvalid
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
	if n > 0 {
		b.lastRead = opRead
	}
	return n, nil
}

// Next returns the next n unread bytes (all of them if there are fewer), in the pooled
// storage, and advances past them as Read would. The slice is valid only until the next call
// that reads or writes, and until Release; nil after Release. It panics for a negative n.
func (b *Buffer) Next(n int) []byte {
	if n < 0 {
		panic("zeropool: Buffer.Next: negative count")
	}
	b.lastRead = opInvalid
	if b.p == nil {
		return nil
	}
	n = min(n, b.Len())
	data := b.buf[b.off : b.off+n]
	b.off += n
	if n > 0 {
		b.lastRead = opRead
	}
	return data
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
	b.lastRead = opRead
	return c, nil
}

// ReadRune reads the next UTF-8 encoded code point and returns it with its size in bytes:
// io.EOF when nothing is unread, ErrReleased after Release; bytes that are not valid UTF-8
// give U+FFFD and size 1, as bytes.Buffer.
func (b *Buffer) ReadRune() (r rune, size int, err error) {
	if b.p == nil {
		return 0, 0, ErrReleased
	}
	if b.Len() == 0 {
		b.Reset()
		return 0, 0, io.EOF
	}
	if c := b.buf[b.off]; c < utf8.RuneSelf {
		b.off++
		b.lastRead = 1
		return rune(c), 1, nil
	}
	r, size = utf8.DecodeRune(b.buf[b.off:])
	b.off += size
	b.lastRead = readOp(size)
	return r, size, nil
}

// UnreadRune puts back the rune the last call read, if that call was a successful ReadRune;
// otherwise it returns ErrInvalidUnreadRune and changes nothing.
func (b *Buffer) UnreadRune() error {
	if b.lastRead <= opInvalid {
		return ErrInvalidUnreadRune
	}
	if b.off >= int(b.lastRead) {
		b.off -= int(b.lastRead)
	}
	b.lastRead = opInvalid
	return nil
}

// UnreadByte puts back the last byte the last call read, if that call was a read that read
// at least one byte (Read, Next, ReadByte, ReadRune, ReadBytes, ReadString); otherwise (a
// write since, a read that read nothing or failed) it returns ErrInvalidUnreadByte.
func (b *Buffer) UnreadByte() error {
	if b.lastRead == opInvalid {
		return ErrInvalidUnreadByte
	}
	b.lastRead = opInvalid
	if b.off > 0 {
		b.off--
	}
	return nil
}

// ReadBytes reads up to and including the first delim and returns those bytes, a copy on
// the Go heap. Without a delim it returns the rest and io.EOF: err is nil exactly when the
// bytes end in delim. After Release it returns ErrReleased.
func (b *Buffer) ReadBytes(delim byte) ([]byte, error) {
	slice, err := b.readSlice(delim)
	if slice == nil {
		return nil, err
	}
	return append([]byte(nil), slice...), err
}

// ReadString is ReadBytes returning a string.
func (b *Buffer) ReadString(delim byte) (string, error) {
	slice, err := b.readSlice(delim)
	return string(slice), err
}

// readSlice is ReadBytes without the copy: the line in the pooled storage.
func (b *Buffer) readSlice(delim byte) ([]byte, error) {
	if b.p == nil {
		b.lastRead = opInvalid
		return nil, ErrReleased
	}
	var err error
	end := len(b.buf)
	if i := bytes.IndexByte(b.buf[b.off:], delim); i >= 0 {
		end = b.off + i + 1
	} else {
		err = io.EOF
	}
	line := b.buf[b.off:end]
	b.off = end
	b.lastRead = opRead
	return line, err
}

// ReadFrom reads from r until io.EOF and appends what it read, growing the Buffer as needed.
// r reads straight into the pooled storage: no copy on the Go heap, no allocation. It returns
// the bytes read and r's error other than io.EOF, or the error of a growth the pool could not
// serve (see Write) with what was read until then kept.
//
// Each Read gets all the free space there is, however small. The first time the storage is
// full (or absent), ReadFrom asks r how much it still holds and grows to exactly that.
// Readers that say so are those with a Len() int method (the unread bytes: bytes.Reader,
// strings.Reader, bytes.Buffer, Buffer), a regular *os.File (its size less its offset), and
// those with Size() int64 and Seek (size less offset: io.SectionReader). Otherwise (a socket,
// a pipe, an HTTP body, whose ContentLength NewBufferFor takes instead; a reader that has
// nothing left or more than it said), full storage grows only once r has shown it has more:
// r is read one byte first, into the Buffer's own spare byte, so that data that fill the
// storage exactly end at io.EOF with no second buffer; when the byte comes, the storage
// doubles. Should that growth fail, the byte is lost with it.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	b.lastRead = opInvalid
	if b.p == nil {
		return 0, ErrReleased
	}
	var n int64
	asked := false // r's size hint is asked for once, the first time the storage is full
	for {
		if b.Len() == 0 && b.off != 0 {
			b.Reset() // everything was read: the whole storage is free again
		}
		if len(b.buf) == cap(b.buf) {
			hint := int64(-1)
			if !asked {
				asked = true
				hint = sizeHint(r)
			}
			if hint > 0 && hint <= math.MaxInt {
				i, err := b.growTo(int(hint), true)
				if err != nil {
					return n, err
				}
				b.buf = b.buf[:i]
			} else if cap(b.buf) == 0 {
				i, err := b.grow(minRead)
				if err != nil {
					return n, err
				}
				b.buf = b.buf[:i]
			} else {
				m, e := r.Read(b.probe[:])
				if m < 0 || m > 1 {
					panic("zeropool: Buffer.ReadFrom: reader returned an invalid count")
				}
				if m == 1 {
					i, err := b.grow(minRead)
					if err != nil {
						return n, err
					}
					b.buf[i] = b.probe[0]
					b.buf = b.buf[:i+1]
					n++
				}
				if e == io.EOF {
					return n, nil
				}
				if e != nil {
					return n, e
				}
				continue
			}
		}
		i := len(b.buf)
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

// sizeHint returns how many more bytes r says it holds, or -1 when it cannot say.
func sizeHint(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }:
		return int64(r.Len())
	case *os.File:
		fi, err := r.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1 // a pipe, a socket, a device: its size says nothing
		}
		off, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return max(fi.Size()-off, 0)
	case interface {
		Size() int64
		io.Seeker
	}:
		off, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return max(r.Size()-off, 0)
	}
	return -1
}

// WriteTo writes the unread bytes to w, straight from the pooled storage (no copy), until
// they are all written or w fails; it returns the bytes written and w's error, or
// io.ErrShortWrite for a w that wrote less without one. Once everything is written the
// Buffer is empty (its storage kept). After Release it returns ErrReleased.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	b.lastRead = opInvalid
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
	_ io.ByteScanner  = (*Buffer)(nil)
	_ io.RuneScanner  = (*Buffer)(nil)
	_ io.ByteWriter   = (*Buffer)(nil)
	_ io.StringWriter = (*Buffer)(nil)
	_ fmt.Stringer    = (*Buffer)(nil)
)
