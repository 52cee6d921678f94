package pool_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// testPool builds a pool for one test and closes it when the test ends; tests that check
// Close's result call it themselves.
func testPool(t testing.TB, cfg pool.Config) *pool.BufferPool {
	t.Helper()
	p, err := pool.NewWithConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// firstByte is the address of a slice's first element, whatever its len.
func firstByte(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// requirePoolStorage checks that the Buffer's storage is a buffer of p that is out: the
// pool's regions hold it and Owner finds the whole buffer, starting where the storage does.
func requirePoolStorage(t testing.TB, p *pool.BufferPool, b *pool.Buffer) {
	t.Helper()
	if b.Len() == 0 {
		return // nothing to locate without reaching past Bytes
	}
	all := b.Bytes()
	_, _, err := p.RegionOf(all)
	require.NoError(t, err, "the Buffer's bytes are not the pool's memory")
	whole, err := p.Owner(all)
	require.NoError(t, err, "the Buffer's storage is not a buffer of the pool that is out")
	assert.Equal(t, b.Cap(), cap(whole), "the storage is one whole buffer of the pool")
}

// The data the ported bytes.Buffer tests write: N bytes cycling through the alphabet.
const testN = 10000

var (
	testBytes = func() []byte {
		b := make([]byte, testN)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		return b
	}()
	testString = string(testBytes)
)

// check is bytes.Buffer's check: Len, Bytes and String agree with s.
func check(t *testing.T, name string, b *pool.Buffer, s string) {
	t.Helper()
	assert.Equal(t, len(s), b.Len(), "%s: Len", name)
	assert.Equal(t, len(b.Bytes()), b.Len(), "%s: len(Bytes())", name)
	assert.Equal(t, s, b.String(), "%s: String", name)
	assert.Equal(t, s, string(b.Bytes()), "%s: Bytes", name)
}

// fill writes fus n times, with WriteString or Write, checking the contents after each, and
// returns the expected contents.
func fill(t *testing.T, name string, b *pool.Buffer, s string, n int, fus string, asString bool) string {
	t.Helper()
	check(t, name+" (fill 1)", b, s)
	for ; n > 0; n-- {
		var m int
		var err error
		if asString {
			m, err = b.WriteString(fus)
		} else {
			m, err = b.Write([]byte(fus))
		}
		require.NoError(t, err, "%s (fill 2)", name)
		require.Equal(t, len(fus), m, "%s (fill 3)", name)
		s += fus
		check(t, name+" (fill 4)", b, s)
	}
	return s
}

// empty reads the Buffer dry through fub, checking the contents after each read.
func empty(t *testing.T, name string, b *pool.Buffer, s string, fub []byte) {
	t.Helper()
	check(t, name+" (empty 1)", b, s)
	for {
		n, err := b.Read(fub)
		if n == 0 {
			if len(fub) > 0 {
				assert.ErrorIs(t, err, io.EOF, "%s: Read of an empty Buffer", name)
			}
			break
		}
		require.NoError(t, err, "%s (empty 2)", name)
		s = s[n:]
		check(t, name+" (empty 3)", b, s)
	}
	check(t, name+" (empty 4)", b, "")
}

// From bytes.Buffer's TestBasicOperations.
func TestBufferBasicOperations(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	for range 5 {
		check(t, "(1)", b, "")
		b.Reset()
		check(t, "(2)", b, "")
		b.Truncate(0)
		check(t, "(3)", b, "")

		n, err := b.Write(testBytes[0:1])
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		check(t, "(4)", b, "a")

		require.NoError(t, b.WriteByte(testString[1]))
		check(t, "(5)", b, "ab")

		n, err = b.Write(testBytes[2:26])
		require.NoError(t, err)
		assert.Equal(t, 24, n)
		check(t, "(6)", b, testString[0:26])

		b.Truncate(26)
		check(t, "(7)", b, testString[0:26])
		b.Truncate(20)
		check(t, "(8)", b, testString[0:20])

		empty(t, "(9)", b, testString[0:20], make([]byte, 5))
		empty(t, "(10)", b, "", make([]byte, 100))

		require.NoError(t, b.WriteByte(testString[1]))
		c, err := b.ReadByte()
		require.NoError(t, err)
		assert.Equal(t, testString[1], c)
		_, err = b.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	}
}

// From bytes.Buffer's TestLargeStringWrites, TestLargeByteWrites, TestLargeStringReads and
// TestLargeByteReads: large writes and reads of every length ratio, through one Buffer that
// grows across several size classes.
func TestBufferLargeWritesAndReads(t *testing.T) {
	for _, asString := range []bool{true, false} {
		name := map[bool]string{true: "WriteString", false: "Write"}[asString]
		t.Run(name+"/large writes", func(t *testing.T) {
			p := testPool(t, pool.Config{})
			b := p.NewBuffer(0)
			for i := 3; i < 30; i += 3 {
				s := fill(t, "(1)", b, "", 5, testString, asString)
				empty(t, "(2)", b, s, make([]byte, len(testString)/i))
			}
			check(t, "(3)", b, "")
			require.NoError(t, b.Release())
			assert.Zero(t, p.Stats().InUse)
		})
		t.Run(name+"/large reads", func(t *testing.T) {
			p := testPool(t, pool.Config{})
			b := p.NewBuffer(0)
			for i := 3; i < 30; i += 3 {
				s := fill(t, "(1)", b, "", 5, testString[:len(testString)/i], asString)
				empty(t, "(2)", b, s, make([]byte, len(testString)))
			}
			check(t, "(3)", b, "")
			require.NoError(t, b.Release())
			assert.Zero(t, p.Stats().InUse)
		})
	}
}

// From bytes.Buffer's TestMixedReadsAndWrites, with a seeded generator.
func TestBufferMixedReadsAndWrites(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	rng := rand.New(rand.NewPCG(1, 2))
	s := ""
	for i := range 50 {
		wlen := rng.IntN(len(testString))
		s = fill(t, "(1)", b, s, 1, testString[:wlen], i%2 == 0)
		n, _ := b.Read(make([]byte, rng.IntN(len(testString))))
		s = s[n:]
	}
	empty(t, "(2)", b, s, make([]byte, b.Len()))
}

// From bytes.Buffer's TestCapWithPreallocatedSlice and TestCapWithSliceAndWrittenData: the
// capacity asked for is there, and a write that fits does not change it.
func TestBufferCap(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(10)
	defer b.Release()
	c := b.Cap()
	assert.GreaterOrEqual(t, c, 10)
	assert.Equal(t, c, b.Available())
	_, err := b.Write([]byte("test"))
	require.NoError(t, err)
	assert.Equal(t, c, b.Cap())
	assert.Equal(t, c-4, b.Available())

	z := p.NewBuffer(0)
	assert.Zero(t, z.Cap(), "NewBuffer(0) takes no storage until the first write")
	assert.NoError(t, z.Release())
}

// From bytes.Buffer's TestNil.
func TestBufferNil(t *testing.T) {
	var b *pool.Buffer
	assert.Equal(t, "<nil>", b.String())
}

// From bytes.Buffer's TestReadFrom and TestWriteTo: one Buffer into another, both ways.
func TestBufferReadFromAndWriteTo(t *testing.T) {
	p := testPool(t, pool.Config{})
	for i := 3; i < 30; i += 3 {
		src := p.NewBuffer(0)
		s := fill(t, "(1)", src, "", 5, testString[:len(testString)/i], false)
		dst := p.NewBuffer(0)
		n, err := dst.ReadFrom(src)
		require.NoError(t, err)
		assert.Equal(t, int64(len(s)), n)
		check(t, "(2) source drained", src, "")

		n, err = dst.WriteTo(src)
		require.NoError(t, err)
		assert.Equal(t, int64(len(s)), n)
		check(t, "(3) destination drained", dst, "")
		empty(t, "(4)", src, s, make([]byte, len(testString)))
		require.NoError(t, src.Release())
		require.NoError(t, dst.Release())
	}
	assert.Zero(t, p.Stats().InUse)
}

type panicReader struct{ panic bool }

func (r panicReader) Read([]byte) (int, error) {
	if r.panic {
		panic("oops")
	}
	return 0, io.EOF
}

// From bytes.Buffer's TestReadFromPanicReader: a Reader that panics leaves an empty Buffer
// empty.
func TestBufferReadFromPanicReader(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	n, err := b.ReadFrom(panicReader{})
	require.NoError(t, err)
	assert.Zero(t, n)
	check(t, "(1)", b, "")

	assert.PanicsWithValue(t, "oops", func() { _, _ = b.ReadFrom(panicReader{panic: true}) })
	check(t, "(2)", b, "")
}

type countReader int

func (r countReader) Read([]byte) (int, error) { return int(r), nil }

// From bytes.Buffer's TestReadFromNegativeReader: a Reader that returns an impossible count
// is a bug in it, and gets a panic, as from bytes.Buffer.
func TestBufferReadFromInvalidCount(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	for _, r := range []countReader{-1, 1 << 40} {
		assert.PanicsWithValue(t, "zeropool: Buffer.ReadFrom: reader returned an invalid count",
			func() { _, _ = b.ReadFrom(r) }, "count %d", int(r))
	}
}

type countWriter struct {
	n   int
	err error
}

func (w countWriter) Write([]byte) (int, error) { return w.n, w.err }

// WriteTo reports a short write as io.ErrShortWrite, a writer's error as it is, and keeps
// what was not written.
func TestBufferWriteToShortAndFailedWrites(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	_, err := b.WriteString("0123456789")
	require.NoError(t, err)

	n, err := b.WriteTo(countWriter{n: 4})
	assert.ErrorIs(t, err, io.ErrShortWrite)
	assert.Equal(t, int64(4), n)
	check(t, "after a short write", b, "456789")

	boom := errors.New("boom")
	n, err = b.WriteTo(countWriter{n: 2, err: boom})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, int64(2), n)
	check(t, "after a failed write", b, "6789")

	assert.Panics(t, func() { _, _ = b.WriteTo(countWriter{n: 5}) }, "a count above what was offered")
}

// From bytes.Buffer's TestRuneIO (the writing half: Buffer has no ReadRune).
func TestBufferWriteRune(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	var want []byte
	for r := rune(0); r < 0x3000; r += 7 {
		n, err := b.WriteRune(r)
		require.NoError(t, err)
		assert.Equal(t, utf8.RuneLen(r), n, "rune %U", r)
		want = utf8.AppendRune(want, r)
	}
	n, err := b.WriteRune(utf8.MaxRune + 1) // from TestWriteInvalidRune
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	want = append(want, "\uFFFD"...)
	assert.Equal(t, want, b.Bytes())
}

// From bytes.Buffer's TestGrow: after Grow(n), a write of n bytes allocates nothing, and the
// bytes read, unread and written are where they belong.
func TestBufferGrow(t *testing.T) {
	p := testPool(t, pool.Config{})
	tmp := make([]byte, 72)
	for _, growLen := range []int{0, 100, 1000, 10000, 100000} {
		for _, startLen := range []int{0, 100, 1000, 10000, 100000} {
			x := bytes.Repeat([]byte{'x'}, startLen)
			y := bytes.Repeat([]byte{'y'}, growLen)
			b := p.NewBuffer(0)
			_, err := b.Write(x)
			require.NoError(t, err)
			read, _ := b.Read(tmp)
			b.Grow(growLen)
			c := b.Cap()
			// AllocsPerRun runs the write twice: Truncate drops the first one's bytes.
			allocs := testing.AllocsPerRun(1, func() {
				b.Truncate(startLen - read)
				_, _ = b.Write(y)
			})
			assert.Zero(t, allocs, "a write after Grow allocated")
			assert.Equal(t, c, b.Cap(), "a write after Grow grew the storage")
			assert.True(t, bytes.Equal(x[read:], b.Bytes()[:startLen-read]), "initial data, start %d grow %d", startLen, growLen)
			assert.True(t, bytes.Equal(y, b.Bytes()[startLen-read:]), "written data, start %d grow %d", startLen, growLen)
			requirePoolStorage(t, p, b)
			require.NoError(t, b.Release())
		}
	}
	assert.Zero(t, p.Stats().InUse)
	assert.Panics(t, func() { p.NewBuffer(8).Grow(-1) }, "Grow(-1)")
}

// From bytes.Buffer's TestGrowOverflow: where bytes.Buffer panics with ErrTooLarge, Grow
// panics with an error wrapping it, and Write returns that error, the Buffer unchanged.
func TestBufferGrowOverflow(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(1)
	defer b.Release()
	_, err := b.WriteString("x")
	require.NoError(t, err)

	v := func() (v any) {
		defer func() { v = recover() }()
		b.Grow(math.MaxInt)
		return nil
	}()
	err, ok := v.(error)
	require.True(t, ok, "Grow(MaxInt) panicked with %v, want an error", v)
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	assert.ErrorIs(t, err, pool.ErrInvalidSize)
	check(t, "after Grow(MaxInt)", b, "x")
}

// A pool that cannot map more (MaxMappedBytes) refuses the growth: Write and ReadFrom return
// an error wrapping bytes.ErrTooLarge and ErrExhausted, and the Buffer keeps its contents.
func TestBufferTooLarge(t *testing.T) {
	p := testPool(t, pool.Config{MaxMappedBytes: 8 << 20})
	b := p.NewBuffer(1 << 20)
	defer b.Release()
	chunk := bytes.Repeat([]byte{'z'}, 1<<20)
	var err error
	var written int
	for range 16 {
		var n int
		if n, err = b.Write(chunk); err != nil {
			assert.Zero(t, n)
			break
		}
		written += n
	}
	require.Error(t, err, "8 MiB of mappings cannot hold 16 MiB")
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	assert.ErrorIs(t, err, pool.ErrExhausted)
	assert.Equal(t, written, b.Len(), "the refused write changed the Buffer")
	assert.Equal(t, chunk[0], b.Bytes()[written-1])

	n, err := b.ReadFrom(bytes.NewReader(bytes.Repeat(chunk, 16)))
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	assert.ErrorIs(t, err, pool.ErrExhausted)
	assert.Equal(t, int64(b.Len()-written), n, "what ReadFrom read before the refusal is kept")

	assert.Panics(t, func() { b.Grow(64 << 20) })
}

// From bytes.Buffer's TestReadEmptyAtEOF: an empty read of an empty Buffer is not EOF; a
// read with room is.
func TestBufferReadEmptyAtEOF(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	n, err := b.Read(nil)
	assert.NoError(t, err)
	assert.Zero(t, n)
	n, err = b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, io.EOF)
	assert.Zero(t, n)
}

func TestBufferTruncateOutOfRange(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(0)
	defer b.Release()
	_, err := b.WriteString("abc")
	require.NoError(t, err)
	assert.Panics(t, func() { b.Truncate(-1) })
	assert.Panics(t, func() { b.Truncate(4) })
	check(t, "after refused Truncates", b, "abc")
}

// Growth takes a bigger buffer from the pool and puts the old one back: at every size the
// storage is a buffer of the pool, one buffer is out at a time, and every old one is back.
func TestBufferGrowsInsidePool(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(4 << 10)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
	caps := map[int]bool{b.Cap(): true}
	for range 64 { // 4 MiB: 4 KiB, then 64 KiB doubling to 4 MiB
		_, err := b.Write(chunk)
		require.NoError(t, err)
		requirePoolStorage(t, p, b)
		caps[b.Cap()] = true
		assert.Equal(t, int64(1), p.Stats().InUse, "the old storage was not put back")
	}
	grown := len(caps) - 1
	require.GreaterOrEqual(t, grown, 7, "the Buffer grew through the classes")
	assert.Equal(t, bytes.Repeat(chunk, 64), b.Bytes())
	s := p.Stats()
	assert.Equal(t, uint64(grown+1), s.Gets, "one Get per storage")
	assert.Equal(t, uint64(grown), s.Puts, "every replaced storage is back")
	assert.Zero(t, s.Rejected)

	require.NoError(t, b.Release())
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, uint64(grown+1), s.Puts)
}

// Reading frees the front of the storage; a write that fits once the unread bytes move to
// the front moves them instead of getting a bigger buffer.
func TestBufferReusesReadSpace(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(64 << 10)
	defer b.Release()
	c := b.Cap()
	_, err := b.Write(bytes.Repeat([]byte{'a'}, c))
	require.NoError(t, err)
	_, err = b.Read(make([]byte, c-100))
	require.NoError(t, err)
	gets := p.Stats().Gets
	_, err = b.Write(bytes.Repeat([]byte{'b'}, c/4))
	require.NoError(t, err)
	assert.Equal(t, c, b.Cap())
	assert.Equal(t, gets, p.Stats().Gets, "the write took new storage instead of the free front")
	assert.Equal(t, append(bytes.Repeat([]byte{'a'}, 100), bytes.Repeat([]byte{'b'}, c/4)...), b.Bytes())
}

// Growth allocates nothing: a cycle of NewBuffer, growth and Release in steady state
// allocates only the Buffer and its leak cleanup (runtime.AddCleanup's records), as many
// whether the Buffer grows once or sixteen times.
func TestBufferGrowthAllocatesNothing(t *testing.T) {
	p := testPool(t, pool.Config{})
	chunk := make([]byte, 64<<10)
	cycle := func(writes int) func() {
		return func() {
			b := p.NewBuffer(4 << 10)
			for range writes {
				_, _ = b.Write(chunk)
			}
			_ = b.Release()
		}
	}
	cycle(16)()
	once := testing.AllocsPerRun(20, cycle(1))
	assert.LessOrEqual(t, once, 4.0, "the Buffer, its leak record and the cleanup")
	assert.Equal(t, once, testing.AllocsPerRun(20, cycle(16)), "growth allocates nothing")
}

// After Release a Buffer holds nothing; its methods say so with ErrReleased or a panic with
// it, never a crash or a second Put. The zero Buffer behaves the same.
func TestBufferAfterRelease(t *testing.T) {
	p := testPool(t, pool.Config{})
	released := p.NewBuffer(1 << 10)
	_, err := released.WriteString("data")
	require.NoError(t, err)
	require.NoError(t, released.Release())
	for name, b := range map[string]*pool.Buffer{"released": released, "zero": new(pool.Buffer)} {
		t.Run(name, func(t *testing.T) {
			assert.Zero(t, b.Len())
			assert.Zero(t, b.Cap())
			assert.Zero(t, b.Available())
			assert.Nil(t, b.Bytes())
			assert.Empty(t, b.String())
			b.Reset()
			b.Truncate(0)
			assert.Panics(t, func() { b.Truncate(1) })
			for op, f := range map[string]func() error{
				"Write":       func() error { _, err := b.Write([]byte("x")); return err },
				"WriteString": func() error { _, err := b.WriteString("x"); return err },
				"WriteByte":   func() error { return b.WriteByte('x') },
				"WriteRune":   func() error { _, err := b.WriteRune('é'); return err },
				"Read":        func() error { _, err := b.Read(make([]byte, 4)); return err },
				"ReadByte":    func() error { _, err := b.ReadByte(); return err },
				"ReadFrom":    func() error { _, err := b.ReadFrom(strings.NewReader("x")); return err },
				"WriteTo":     func() error { _, err := b.WriteTo(io.Discard); return err },
			} {
				assert.ErrorIs(t, f(), pool.ErrReleased, op)
			}
			assert.PanicsWithValue(t, pool.ErrReleased, func() { b.Grow(1) })
			assert.NoError(t, b.Release(), "Release again")
			assert.NoError(t, b.Release(), "and again")
		})
	}
	s := p.Stats()
	assert.Equal(t, uint64(1), s.Puts, "one Put for one Buffer")
	assert.Zero(t, s.Rejected)
	assert.Zero(t, s.InUse)
}

// A Put of the Buffer's storage behind its back is the caller's bug; Release reports the
// pool's refusal instead of hiding it, and so does a growth that finds its old storage gone.
func TestBufferReleaseReportsRefusals(t *testing.T) {
	p := testPool(t, pool.Config{})
	b := p.NewBuffer(4 << 10)
	_, err := b.WriteString("data")
	require.NoError(t, err)
	require.NoError(t, p.Put(b.Bytes()))
	assert.ErrorIs(t, b.Release(), pool.ErrDoublePut)

	b = p.NewBuffer(4 << 10)
	_, err = b.WriteString("data")
	require.NoError(t, err)
	require.NoError(t, p.Put(b.Bytes()))
	_, err = b.Write(make([]byte, 8<<10)) // grows, and the old storage is refused
	require.NoError(t, err, "the write itself succeeds")
	assert.ErrorIs(t, b.Release(), pool.ErrDoublePut)
	s := p.Stats()
	assert.Equal(t, uint64(2), s.DoublePuts)
	assert.Zero(t, s.InUse)
}

// NewBuffer panics where Get would, recoverably: a nil pool, a negative size, a closed pool.
// After Close a Buffer that is out can still be released, and cannot grow.
func TestBufferBadPools(t *testing.T) {
	var nilPool *pool.BufferPool
	assert.Panics(t, func() { nilPool.NewBuffer(0) }, "nil pool")
	assert.Panics(t, func() { nilPool.NewBuffer(16) }, "nil pool")

	p := testPool(t, pool.Config{})
	assert.Panics(t, func() { p.NewBuffer(-1) }, "negative size")

	b := p.NewBuffer(4 << 10)
	_, err := b.WriteString("kept")
	require.NoError(t, err)
	assert.ErrorIs(t, p.Close(), pool.ErrBuffersOut)
	assert.Panics(t, func() { p.NewBuffer(16) }, "closed pool")
	_, err = b.Write(make([]byte, 16<<10))
	assert.ErrorIs(t, err, pool.ErrClosed, "growth after Close")
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	check(t, "after a refused growth", b, "kept")
	assert.NoError(t, b.Release(), "a buffer out at Close is taken back")
	assert.Zero(t, p.Stats().InUse)
}

// ReadFrom reads an os.File straight into the pooled storage and WriteTo writes it straight
// from there: the bytes are the file's, and neither allocates.
func TestBufferFileIOAllocatesNothing(t *testing.T) {
	p := testPool(t, pool.Config{})
	data := bytes.Repeat([]byte("zeropool"), 128<<10) // 1 MiB
	in := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.WriteFile(in, data, 0o600))
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer out.Close()

	b := p.NewBuffer(2 << 20)
	defer b.Release()
	n, err := b.ReadFrom(f)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	assert.Equal(t, data, b.Bytes())
	requirePoolStorage(t, p, b)
	n, err = b.WriteTo(out)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	got, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Zero(t, b.Len(), "WriteTo empties the Buffer")

	readAllocs := testing.AllocsPerRun(10, func() {
		_, _ = f.Seek(0, io.SeekStart)
		b.Reset()
		_, _ = b.ReadFrom(f)
	})
	assert.Equal(t, len(data), b.Len())
	writeAllocs := testing.AllocsPerRun(10, func() {
		_, _ = out.Seek(0, io.SeekStart)
		_, _ = b.Write(data[:4096]) // fits: WriteTo emptied the Buffer
		_, _ = b.WriteTo(out)
	})
	assert.Zero(t, readAllocs, "ReadFrom of an os.File allocated")
	assert.Zero(t, writeAllocs, "WriteTo an os.File allocated")
}

func BenchmarkBufferReadFromFile(b *testing.B) {
	p := testPool(b, pool.Config{})
	name := filepath.Join(b.TempDir(), "in")
	require.NoError(b, os.WriteFile(name, make([]byte, 1<<20), 0o600))
	f, err := os.Open(name)
	require.NoError(b, err)
	defer f.Close()
	buf := p.NewBuffer(2 << 20)
	defer buf.Release()
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = f.Seek(0, io.SeekStart)
		buf.Reset()
		if _, err := buf.ReadFrom(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBufferWriteToFile(b *testing.B) {
	p := testPool(b, pool.Config{})
	f, err := os.Create(filepath.Join(b.TempDir(), "out"))
	require.NoError(b, err)
	defer f.Close()
	data := make([]byte, 1<<20)
	buf := p.NewBuffer(len(data))
	defer buf.Release()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = f.Seek(0, io.SeekStart)
		_, _ = buf.Write(data)
		if _, err := buf.WriteTo(f); err != nil {
			b.Fatal(err)
		}
	}
}
