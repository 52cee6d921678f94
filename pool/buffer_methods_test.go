package pool_test

import (
	"io"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// The bytes.Buffer methods beyond the contract's first list, with bytes.Buffer's own tests
// ported (src/bytes/buffer_test.go): Next, ReadBytes, ReadString, ReadRune, UnreadByte,
// UnreadRune and AvailableBuffer.

// bufferOf returns a Buffer of p holding s, released when the test ends.
func bufferOf(t *testing.T, p *pool.BufferPool, s string) *pool.Buffer {
	t.Helper()
	b := p.NewBuffer(0)
	t.Cleanup(func() { assert.NoError(t, b.Release()) })
	_, err := b.WriteString(s)
	require.NoError(t, err)
	return b
}

// From bytes.Buffer's TestWriteAppend: appends into AvailableBuffer, passed to Write, land in
// place, and once the storage is big enough they allocate nothing.
func TestBufferWriteAppend(t *testing.T) {
	p := testPool(t, pool.Config{})
	got := p.NewBuffer(0)
	defer got.Release()
	var want []byte
	for i := range 1000 {
		b := got.AvailableBuffer()
		b = strconv.AppendInt(b, int64(i), 10)
		want = strconv.AppendInt(want, int64(i), 10)
		_, err := got.Write(b)
		require.NoError(t, err)
	}
	assert.Equal(t, want, got.Bytes())

	allocs := testing.AllocsPerRun(100, func() {
		got.Reset()
		for i := range 1000 {
			b := got.AvailableBuffer()
			b = strconv.AppendInt(b, int64(i), 10)
			_, _ = got.Write(b)
		}
	})
	assert.Zero(t, allocs, "allocations occurred while appending")
	assert.Equal(t, want, got.Bytes())
	requirePoolStorage(t, p, got)

	free := got.AvailableBuffer()
	assert.Empty(t, free)
	assert.Equal(t, got.Available(), cap(free))
	if len(got.Bytes()) > 0 {
		assert.Equal(t, firstByte(got.Bytes())+uintptr(got.Len()), firstByte(free), "the free space follows the unread bytes, in the pooled storage")
	}
}

// From bytes.Buffer's TestRuneIO: WriteRune, ReadRune and UnreadRune over the first 1000
// code points, and the errors at EOF.
func TestBufferRuneIO(t *testing.T) {
	const NRune = 1000
	p := testPool(t, pool.Config{})
	buf := p.NewBuffer(0)
	defer buf.Release()
	b := make([]byte, utf8.UTFMax*NRune)
	n := 0
	for r := range rune(NRune) {
		size := utf8.EncodeRune(b[n:], r)
		nbytes, err := buf.WriteRune(r)
		require.NoError(t, err, "WriteRune(%U)", r)
		require.Equal(t, size, nbytes, "WriteRune(%U)", r)
		n += size
	}
	b = b[:n]
	require.Equal(t, b, buf.Bytes(), "the result of WriteRune")

	for r := range rune(NRune) {
		size := utf8.RuneLen(r)
		nr, nbytes, err := buf.ReadRune()
		require.NoError(t, err, "ReadRune(%U)", r)
		require.Equal(t, r, nr)
		require.Equal(t, size, nbytes, "size of %U", r)
	}

	buf.Reset()
	assert.ErrorIs(t, buf.UnreadRune(), pool.ErrInvalidUnreadRune, "UnreadRune at EOF")
	_, _, err := buf.ReadRune()
	assert.ErrorIs(t, err, io.EOF, "ReadRune at EOF")
	assert.ErrorIs(t, buf.UnreadRune(), pool.ErrInvalidUnreadRune, "UnreadRune after ReadRune at EOF")

	_, err = buf.Write(b)
	require.NoError(t, err)
	for r := range rune(NRune) {
		r1, size, _ := buf.ReadRune()
		require.NoError(t, buf.UnreadRune(), "UnreadRune(%U)", r)
		r2, nbytes, err := buf.ReadRune()
		require.NoError(t, err)
		require.Equal(t, r, r1)
		require.Equal(t, r1, r2, "ReadRune(%U) after UnreadRune", r)
		require.Equal(t, size, nbytes)
	}
	_, err = buf.WriteString("é")
	require.NoError(t, err)
	_, _, err = buf.ReadRune()
	require.NoError(t, err)
	assert.NoError(t, buf.UnreadRune())
	assert.ErrorIs(t, buf.UnreadRune(), pool.ErrInvalidUnreadRune, "a second UnreadRune")
}

// Bytes that are not valid UTF-8 read as U+FFFD of size 1, one byte at a time, as
// bytes.Buffer's ReadRune.
func TestBufferReadRuneInvalid(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := bufferOf(t, p, "\xffé\xc3")
	for _, want := range []struct {
		r    rune
		size int
	}{{utf8.RuneError, 1}, {'é', 2}, {utf8.RuneError, 1}} {
		r, size, err := b.ReadRune()
		require.NoError(t, err)
		assert.Equal(t, want.r, r)
		assert.Equal(t, want.size, size)
	}
	_, _, err := b.ReadRune()
	assert.ErrorIs(t, err, io.EOF)
}

// From bytes.Buffer's TestNext: for a Buffer of j bytes read up to i, Next(k) returns the
// right bytes, and no more than there are.
func TestBufferNext(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := []byte{0, 1, 2, 3, 4}
	tmp := make([]byte, 5)
	for i := 0; i <= 5; i++ {
		for j := i; j <= 5; j++ {
			for k := 0; k <= 6; k++ {
				buf := p.NewBuffer(8)
				_, err := buf.Write(b[:j])
				require.NoError(t, err)
				n, _ := buf.Read(tmp[:i])
				require.Equal(t, i, n, "Read %d", i)
				bb := buf.Next(k)
				want := min(k, j-i)
				require.Len(t, bb, want, "in %d,%d: len(Next(%d))", i, j, k)
				for l, v := range bb {
					require.Equal(t, byte(l+i), v, "in %d,%d: Next(%d)[%d]", i, j, k, l)
				}
				assert.Equal(t, j-i-want, buf.Len(), "Next advances past what it returned")
				require.NoError(t, buf.Release())
			}
		}
	}
	buf := p.NewBuffer(8)
	defer buf.Release()
	assert.PanicsWithValue(t, "zeropool: Buffer.Next: negative count", func() { buf.Next(-1) })
}

// bytes.Buffer's readBytesTests.
var readBytesTests = []struct {
	buffer   string
	delim    byte
	expected []string
	err      error
}{
	{"", 0, []string{""}, io.EOF},
	{"a\x00", 0, []string{"a\x00"}, nil},
	{"abbbaaaba", 'b', []string{"ab", "b", "b", "aaab"}, nil},
	{"hello\x01world", 1, []string{"hello\x01"}, nil},
	{"foo\nbar", 0, []string{"foo\nbar"}, io.EOF},
	{"alpha\nbeta\ngamma\n", '\n', []string{"alpha\n", "beta\n", "gamma\n"}, nil},
	{"alpha\nbeta\ngamma", '\n', []string{"alpha\n", "beta\n", "gamma"}, io.EOF},
}

// From bytes.Buffer's TestReadBytes and TestReadString; ReadBytes returns a copy on the heap,
// which the pool does not own and later writes do not change.
func TestBufferReadBytesAndString(t *testing.T) {
	p := testPool(t, pool.Config{})
	for _, test := range readBytesTests {
		t.Run(strconv.Quote(test.buffer), func(t *testing.T) {
			buf := bufferOf(t, p, test.buffer)
			var err error
			for _, expected := range test.expected {
				var line []byte
				line, err = buf.ReadBytes(test.delim)
				assert.Equal(t, expected, string(line))
				if len(line) > 0 {
					_, _, owned := p.RegionOf(line)
					assert.ErrorIs(t, owned, pool.ErrNotOwned, "ReadBytes returns a copy")
				}
				if err != nil {
					break
				}
			}
			assert.Equal(t, test.err, err, "ReadBytes")

			str := bufferOf(t, p, test.buffer)
			for _, expected := range test.expected {
				var s string
				s, err = str.ReadString(test.delim)
				assert.Equal(t, expected, s)
				if err != nil {
					break
				}
			}
			assert.Equal(t, test.err, err, "ReadString")
		})
	}
	b := bufferOf(t, p, "one\ntwo\n")
	line, err := b.ReadBytes('\n')
	require.NoError(t, err)
	_, err = b.WriteString("xxxxxxxx") // may move or overwrite the storage
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(line))
}

// From bytes.Buffer's TestUnreadByte, with every read that UnreadByte follows.
func TestBufferUnreadByte(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte, "UnreadByte at EOF")
	_, err := b.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "ReadByte at EOF")
	assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte, "UnreadByte after ReadByte at EOF")

	_, err = b.WriteString("abcdefghijklmnopqrstuvwxyz")
	require.NoError(t, err)
	n, err := b.Read(nil)
	require.NoError(t, err)
	require.Zero(t, n)
	assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte, "UnreadByte after Read(nil)")

	_, err = b.ReadBytes('m')
	require.NoError(t, err)
	require.NoError(t, b.UnreadByte())
	c, err := b.ReadByte()
	require.NoError(t, err)
	assert.Equal(t, byte('m'), c)

	reads := map[string]func(){
		"Read":       func() { _, _ = b.Read(make([]byte, 2)) },
		"Next":       func() { b.Next(2) },
		"ReadByte":   func() { _, _ = b.ReadByte() },
		"ReadRune":   func() { _, _, _ = b.ReadRune() },
		"ReadString": func() { _, _ = b.ReadString('q') },
	}
	for name, read := range reads {
		b.Reset()
		_, err := b.WriteString("nopqrs")
		require.NoError(t, err)
		read()
		before := b.Len()
		require.NoError(t, b.UnreadByte(), "UnreadByte after %s", name)
		assert.Equal(t, before+1, b.Len(), "after %s", name)
		assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte, "a second UnreadByte after %s", name)
	}

	// A write between the read and UnreadByte or UnreadRune makes them refuse.
	for name, write := range map[string]func(){
		"Write":    func() { _, _ = b.Write([]byte("x")) },
		"ReadFrom": func() { _, _ = b.ReadFrom(eofReader{}) },
		"Truncate": func() { b.Truncate(b.Len()) },
		"WriteTo":  func() { _, _ = b.WriteTo(io.Discard) },
	} {
		b.Reset()
		_, err := b.WriteString("éa")
		require.NoError(t, err)
		_, _, err = b.ReadRune()
		require.NoError(t, err)
		write()
		assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte, "UnreadByte after %s", name)
		assert.ErrorIs(t, b.UnreadRune(), pool.ErrInvalidUnreadRune, "UnreadRune after %s", name)
	}
	// UnreadRune follows ReadRune only.
	b.Reset()
	_, err = b.WriteString("ab")
	require.NoError(t, err)
	_, err = b.ReadByte()
	require.NoError(t, err)
	assert.ErrorIs(t, b.UnreadRune(), pool.ErrInvalidUnreadRune, "UnreadRune after ReadByte")
}

// eofReader has nothing.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// After Release, and on the zero Buffer, the new methods hold nothing and say so.
func TestBufferNewMethodsAfterRelease(t *testing.T) {
	p := testPool(t, pool.Config{})
	released := p.NewBuffer(64)
	_, err := released.WriteString("line\n")
	require.NoError(t, err)
	_, err = released.ReadByte()
	require.NoError(t, err)
	require.NoError(t, released.Release())
	for name, b := range map[string]*pool.Buffer{"released": released, "zero": new(pool.Buffer)} {
		t.Run(name, func(t *testing.T) {
			assert.Nil(t, b.Next(4))
			assert.Nil(t, b.AvailableBuffer())
			line, err := b.ReadBytes('\n')
			assert.Nil(t, line)
			assert.ErrorIs(t, err, pool.ErrReleased)
			s, err := b.ReadString('\n')
			assert.Empty(t, s)
			assert.ErrorIs(t, err, pool.ErrReleased)
			_, _, err = b.ReadRune()
			assert.ErrorIs(t, err, pool.ErrReleased)
			assert.ErrorIs(t, b.UnreadByte(), pool.ErrInvalidUnreadByte)
			assert.ErrorIs(t, b.UnreadRune(), pool.ErrInvalidUnreadRune)
		})
	}
	assert.Zero(t, p.Stats().InUse)
	assert.Zero(t, p.Stats().Rejected)
}

// Buffer is an io.RuneScanner and an io.ByteScanner, as bytes.Buffer.
func TestBufferScanners(t *testing.T) {
	p := testPool(t, pool.Config{})
	var rs io.RuneScanner = bufferOf(t, p, "héllo")
	r, _, err := rs.ReadRune()
	require.NoError(t, err)
	assert.Equal(t, 'h', r)
	var bs io.ByteScanner = bufferOf(t, p, "x")
	c, err := bs.ReadByte()
	require.NoError(t, err)
	assert.Equal(t, byte('x'), c)
	require.NoError(t, bs.UnreadByte())
}
