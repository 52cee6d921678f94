package pool_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/pool"
)

// Growth, size hints and NewBufferFor: how a Buffer gets its storage.

// readerOnly hides every method of a reader but Read, so that ReadFrom gets no size hint:
// a body of unknown length, as a chunked HTTP request's.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// span is the address range of a Buffer's storage.
type span struct{ lo, hi uintptr }

// mappedBytes is how much of [lo, hi) the kernel has mapped now (/proc/self/maps).
func mappedBytes(t *testing.T, s span) uintptr {
	t.Helper()
	maps, err := procfs.Maps()
	require.NoError(t, err)
	return procfs.Covered(maps, s.lo, s.hi)
}

// A Buffer grown from empty to 256 MiB leaves idle, once released, its final storage and the
// storage of at most 4 MiB it grew out of: the larger storage it passed (8 to 128 MiB) went
// back to the system as soon as the Buffer left it, as the kernel's maps show.
func TestBufferGrowthGivesBackLargeStorage(t *testing.T) {
	pool.NeedsMappedMemory(t, "storage given back to the system, as the kernel's maps show")
	const total = 256 << 20
	p := testPool(t, pool.Config{})
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	b := p.NewBuffer(0)
	var last span
	released := 0
	for range total / len(chunk) {
		_, err := b.Write(chunk)
		require.NoError(t, err)
		if last.lo != 0 && firstByte(b.Bytes()) != last.lo {
			// The Buffer grew: its old storage is unmapped if it was above 4 MiB, else idle.
			if last.hi-last.lo > 4<<20 {
				assert.Zero(t, mappedBytes(t, last), "storage of %s the Buffer grew out of is still mapped", pool.FormatBytes(int64(last.hi-last.lo)))
				released++
			} else {
				assert.Equal(t, last.hi-last.lo, mappedBytes(t, last), "storage of %s is kept for reuse", pool.FormatBytes(int64(last.hi-last.lo)))
			}
		}
		last = span{firstByte(b.Bytes()), firstByte(b.Bytes()) + uintptr(b.Cap())}
		requirePoolStorage(t, p, b)
	}
	require.Equal(t, total, b.Len())
	assert.Equal(t, total, b.Cap(), "doubling from 1 MiB reaches 256 MiB exactly")
	assert.Equal(t, 5, released, "8, 16, 32, 64 and 128 MiB")
	for i := 0; i < total; i += len(chunk) {
		require.Equal(t, chunk, b.Bytes()[i:i+len(chunk)], "at %d", i)
	}
	s := p.Stats()
	assert.Equal(t, int64(3), s.Idle, "1, 2 and 4 MiB idle while the Buffer holds 256 MiB")
	assert.Equal(t, int64(7<<20), s.IdleBytes)
	assert.Equal(t, uint64(5), s.Unmaps)

	require.NoError(t, b.Release())
	s = p.Stats()
	assert.Equal(t, int64(4), s.Idle, "the final storage and the three kept")
	assert.Equal(t, int64(total+7<<20), s.IdleBytes)
	assert.Equal(t, s.IdleBytes, s.MappedBytes, "nothing else stays mapped")
	assert.Zero(t, s.InUse)
	assert.Zero(t, s.Rejected)
	assert.Equal(t, s.Gets, s.Puts, "every storage was put back, released or kept")
}

// Storage the Buffer grew out of that was kept idle is reused by the next Buffer's growth.
func TestBufferGrowthReusesKeptStorage(t *testing.T) {
	// One P, so that the second growth runs on the P whose caches the first filled.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := testPool(t, pool.Config{})
	chunk := make([]byte, 64<<10)
	grow := func() {
		b := p.NewBuffer(0)
		for range 64 { // to 4 MiB
			_, err := b.Write(chunk)
			require.NoError(t, err)
		}
		require.NoError(t, b.Release())
	}
	grow()
	misses := p.Stats().Misses
	grow()
	assert.Equal(t, misses, p.Stats().Misses, "the second growth found every storage idle")
}

// A reader that says how much it holds gets storage of that size at once: one Get, no copy,
// and no growth at the end. Readers that cannot say get the doubling.
func TestBufferReadFromUsesSizeHint(t *testing.T) {
	const n = 3<<20 + 17
	data := bytes.Repeat([]byte("zeropool"), n/8+1)[:n]
	name := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(name, data, 0o600))
	open := func(t *testing.T) *os.File {
		f, err := os.Open(name)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	for _, tc := range []struct {
		name   string
		reader func(t *testing.T, skip int) io.Reader
		gets   uint64 // 0: more than one
	}{
		{"bytes.Reader", func(t *testing.T, skip int) io.Reader { return bytes.NewReader(data[skip:]) }, 1},
		{"strings.Reader", func(t *testing.T, skip int) io.Reader { return strings.NewReader(string(data[skip:])) }, 1},
		{"bytes.Buffer", func(t *testing.T, skip int) io.Reader { return bytes.NewBuffer(data[skip:]) }, 1},
		{"os.File", func(t *testing.T, skip int) io.Reader {
			f := open(t)
			_, err := f.Seek(int64(skip), io.SeekStart)
			require.NoError(t, err)
			return f
		}, 1},
		{"io.SectionReader", func(t *testing.T, skip int) io.Reader {
			r := io.NewSectionReader(open(t), 0, n)
			_, err := r.Seek(int64(skip), io.SeekStart)
			require.NoError(t, err)
			return r
		}, 1},
		{"reader without a size", func(t *testing.T, skip int) io.Reader { return readerOnly{bytes.NewReader(data[skip:])} }, 0},
	} {
		for _, skip := range []int{0, 1000} {
			t.Run(fmt.Sprintf("%s/skip=%d", tc.name, skip), func(t *testing.T) {
				p := testPool(t, pool.Config{})
				b := p.NewBuffer(0)
				defer b.Release()
				got, err := b.ReadFrom(tc.reader(t, skip))
				require.NoError(t, err)
				require.Equal(t, int64(n-skip), got)
				require.True(t, bytes.Equal(data[skip:], b.Bytes()), "the bytes read")
				requirePoolStorage(t, p, b)
				s := p.Stats()
				if tc.gets != 0 {
					assert.Equal(t, tc.gets, s.Gets, "storage of the right size at once")
					assert.LessOrEqual(t, b.Cap(), (n-skip)+(n-skip)/4+4096, "a class of the size read")
				} else {
					assert.Greater(t, s.Gets, uint64(1), "no hint: the storage doubled")
				}
			})
		}
	}
}

// Data that fill the storage exactly make no growth at the end: ReadFrom reads one byte
// into the Buffer's spare byte to learn that the reader is done. When the reader has more,
// that byte is the first of the new storage's share.
func TestBufferReadFromFullStorage(t *testing.T) {
	p := testPool(t, pool.Config{})
	for _, extra := range []int{0, 1, 600} {
		t.Run(fmt.Sprintf("extra=%d", extra), func(t *testing.T) {
			b := p.NewBuffer(4096)
			defer b.Release()
			require.Equal(t, 4096, b.Cap())
			data := make([]byte, 4096+extra)
			for i := range data {
				data[i] = byte(i * 7)
			}
			gets := p.Stats().Gets
			n, err := b.ReadFrom(readerOnly{bytes.NewReader(data)})
			require.NoError(t, err)
			assert.Equal(t, int64(len(data)), n)
			assert.Equal(t, data, b.Bytes())
			if extra == 0 {
				assert.Equal(t, gets, p.Stats().Gets, "the Buffer grew at EOF")
				assert.Equal(t, 4096, b.Cap())
			} else {
				assert.Equal(t, gets+1, p.Stats().Gets, "one growth for the rest")
			}
		})
	}
	// The probe's error is ReadFrom's, with what was read kept.
	b := p.NewBuffer(4096)
	defer b.Release()
	boom := errors.New("boom")
	n, err := b.ReadFrom(io.MultiReader(bytes.NewReader(make([]byte, 4096)), errReader{boom}))
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, int64(4096), n)
	assert.Equal(t, 4096, b.Len())
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// A growth the pool refuses after the probe found more: the error says why, the Buffer keeps
// what it read before, and the pool keeps serving.
func TestBufferReadFromRefusedGrowth(t *testing.T) {
	p := testPool(t, pool.Config{MaxMappedBytes: 8 << 20})
	b := p.NewBuffer(4 << 20)
	defer b.Release()
	data := make([]byte, 4<<20+1)
	n, err := b.ReadFrom(readerOnly{bytes.NewReader(data)})
	assert.ErrorIs(t, err, pool.ErrExhausted)
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	assert.Equal(t, int64(4<<20), n)
	assert.Equal(t, 4<<20, b.Len())
	require.NoError(t, p.Put(p.Get(64)))
}

// NewBufferFor gives storage for a known length, so that reading it needs no growth: an
// HTTP handler reads a request body of ContentLength bytes with one Get, from a real
// server. Unknown and empty lengths give no storage; lengths the pool cannot serve are
// errors, not panics.
func TestBufferNewBufferFor(t *testing.T) {
	p := testPool(t, pool.Config{MaxMappedBytes: 64 << 20})
	for _, n := range []int64{1, 4096, 1 << 20, 1<<20 + 3, 5 << 20} {
		b, err := p.NewBufferFor(n)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, b.Cap(), int(n))
		assert.Zero(t, b.Len())
		requirePoolStorage(t, p, b)
		require.NoError(t, b.Release())
	}
	for _, n := range []int64{-1, 0} {
		gets := p.Stats().Gets
		b, err := p.NewBufferFor(n)
		require.NoError(t, err)
		assert.Zero(t, b.Cap(), "no storage for length %d", n)
		assert.Equal(t, gets, p.Stats().Gets)
		_, err = b.WriteString("later")
		require.NoError(t, err)
		require.NoError(t, b.Release())
	}
	_, err := p.NewBufferFor(128 << 20)
	assert.ErrorIs(t, err, pool.ErrExhausted, "beyond MaxMappedBytes")
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	_, err = p.NewBufferFor(math.MaxInt64)
	assert.ErrorIs(t, err, pool.ErrInvalidSize)
	assert.ErrorIs(t, err, bytes.ErrTooLarge)
	var nilPool *pool.BufferPool
	assert.Panics(t, func() { _, _ = nilPool.NewBufferFor(1) })

	const body = 1 << 20 // exactly a class: the data fill the storage
	type result struct {
		gets, puts uint64
		cap        int
		ok         bool
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := p.Stats()
		b, err := p.NewBufferFor(r.ContentLength)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		defer b.Release()
		_, err = b.ReadFrom(r.Body)
		after := p.Stats()
		results <- result{after.Gets - before.Gets, after.Puts - before.Puts, b.Cap(), err == nil && b.Len() == body && b.Bytes()[body-1] == 0xab}
	}))
	defer srv.Close()
	payload := bytes.Repeat([]byte{0xab}, body)
	resp, err := http.Post(srv.URL, "application/octet-stream", bytes.NewReader(payload))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	got := <-results
	assert.True(t, got.ok, "the handler read the body whole")
	assert.Equal(t, uint64(1), got.gets, "one Get for the body")
	assert.Zero(t, got.puts, "no storage replaced")
	assert.Equal(t, body, got.cap)
}

// BenchmarkBufferGrow256MiB reads 256 MiB into a Buffer that starts empty, against the
// floor of one TryGet of the right size and io.ReadFull. cold: a new pool per op (every
// buffer mapped and faulted in afresh, as for the first such request); warm: one pool for
// every op (what growth left idle is reused). The idle-buffers and idle-MiB metrics are the
// pool's after the op's Release or Put.
func BenchmarkBufferGrow256MiB(b *testing.B) {
	const n = 256 << 20
	src := bytes.Repeat([]byte("zeropool"), n/8)
	ways := []struct {
		name string
		read func(p *pool.BufferPool) error
	}{
		{"way=unknown-length", func(p *pool.BufferPool) error {
			buf := p.NewBuffer(0)
			if _, err := buf.ReadFrom(readerOnly{bytes.NewReader(src)}); err != nil {
				return err
			}
			return buf.Release()
		}},
		{"way=length-hint", func(p *pool.BufferPool) error {
			buf := p.NewBuffer(0)
			if _, err := buf.ReadFrom(bytes.NewReader(src)); err != nil {
				return err
			}
			return buf.Release()
		}},
		{"way=tryget-readfull", func(p *pool.BufferPool) error {
			buf, err := p.TryGet(n)
			if err != nil {
				return err
			}
			if _, err := io.ReadFull(readerOnly{bytes.NewReader(src)}, buf); err != nil {
				return err
			}
			return p.Put(buf)
		}},
	}
	for _, pools := range []string{"cold", "warm"} {
		for _, w := range ways {
			b.Run("pool="+pools+"/"+w.name, func(b *testing.B) {
				var p *pool.BufferPool
				newPool := func() {
					var err error
					if p, err = pool.NewWithConfig(pool.Config{}); err != nil {
						b.Fatal(err)
					}
				}
				newPool()
				if pools == "warm" {
					if err := w.read(p); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(n)
				var s pool.Stats
				for b.Loop() {
					if pools == "cold" {
						b.StopTimer()
						_ = p.Close()
						newPool()
						b.StartTimer()
					}
					if err := w.read(p); err != nil {
						b.Fatal(err)
					}
					s = p.Stats()
				}
				b.ReportMetric(float64(s.Idle), "idle-buffers")
				b.ReportMetric(float64(s.IdleBytes)/(1<<20), "idle-MiB")
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
