package pool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// The misuse catalogue: every bad input the pool must refuse, each with its exact error, its
// effect on the counters, and proof that the pool serves correctly afterwards. Rows run
// against pools that take buffers back by different paths, and the rows about one buffer run
// for buffers of every layout: a slab slot (100 B, 4 KiB, 64 KiB), a mapping of its own
// (1 MiB) and an oversize mapping above MaxBufferSize (6 MiB).

const catalogueMaxBuffer = 4 << 20

var catalogueKinds = []struct {
	name string
	cfg  Config
}{
	{"default", Config{MaxBufferSize: catalogueMaxBuffer}},
	// magazines of one buffer and one depot shard: Puts overflow into the depot and the slabs
	{"tiny", Config{MaxBufferSize: catalogueMaxBuffer, LocalCacheSize: 1, NumShards: 1, MaxBuffersPerShard: 1}},
	// classes below 2 MiB are not kept: Put sends them back to their slab or unmaps them
	{"MinBufferSize", Config{MaxBufferSize: catalogueMaxBuffer, MinBufferSize: 2 << 20}},
	{"Secure", Config{MaxBufferSize: catalogueMaxBuffer, Secure: true}},
	{"Debug", Config{MaxBufferSize: catalogueMaxBuffer, Debug: true}},
}

var catalogueSizes = []int{100, 4096, 64 << 10, 1 << 20, 6 << 20}

// misuseFixture is one row's pool, with a stamped buffer held out for the whole row so that
// the pool has memory mapped and a holder whose data no refused call may touch.
type misuseFixture struct {
	t        *testing.T
	kind     string
	cfg      Config
	p        *BufferPool
	other    *BufferPool
	n        int    // the size the row works with
	held     []byte // a buffer of n bytes, out during the whole row
	cleanups []func()
}

func (f *misuseFixture) otherPool() *BufferPool {
	if f.other == nil {
		f.other = newPool(f.t, f.cfg)
	}
	return f.other
}

// later registers work to do once the row's checks are done (before the final ones).
func (f *misuseFixture) later(fn func()) { f.cleanups = append(f.cleanups, fn) }

// stamp writes a value unique to b's address at both ends of b; stamped checks it.
func stamp(b []byte) {
	binary.LittleEndian.PutUint64(b, uint64(addrOf(b)))
	binary.LittleEndian.PutUint64(b[len(b)-8:], ^uint64(addrOf(b)))
}

func stamped(b []byte) bool {
	return binary.LittleEndian.Uint64(b) == uint64(addrOf(b)) &&
		binary.LittleEndian.Uint64(b[len(b)-8:]) == ^uint64(addrOf(b))
}

// ownMapping reports whether a buffer of n bytes has a mapping of its own in this pool.
func (f *misuseFixture) ownMapping() bool {
	c := classFor(f.n)
	return f.n > catalogueMaxBuffer || c > maxSlabClassSize ||
		(f.cfg.Secure && !f.cfg.Debug && c >= offheap.PageSize())
}

// unmappedOnPut reports whether Put of a buffer of n bytes gives its memory back to the system
// at once: an oversize buffer. (Buffers below MinBufferSize stay in the P caches, which keep
// every size.) A second Put then finds no memory of the pool there (ErrNotOwned).
func (f *misuseFixture) unmappedOnPut() bool { return f.n > catalogueMaxBuffer }

// goneOrDouble is the refusal of a second Put: ErrDoublePut while the pool still has the
// buffer's memory, ErrNotOwned once it was unmapped.
func (f *misuseFixture) goneOrDouble(unmapped bool) error {
	if unmapped {
		return ErrNotOwned
	}
	return ErrDoublePut
}

// effect is how a row's call moves the counters. Gets, Idle and MappedBytes never move.
type effect struct {
	rejected, puts, canaries uint64
	inUse                    int64
}

var (
	refused  = effect{rejected: 1}
	harmless = effect{}
)

type misuseRow struct {
	name    string
	perSize bool                                // once per buffer size, else once per pool kind
	when    func(f *misuseFixture) bool         // nil: always; sees only kind, cfg and n
	closes  bool                                // the row closes the pool
	want    func(f *misuseFixture) error        // the error, or errors, the call must return (errors.Is)
	effect  effect                              // on the counters
	prepare func(f *misuseFixture) func() error // sets the misuse up and returns it
}

func wants(errs ...error) func(*misuseFixture) error {
	return func(*misuseFixture) error { return errors.Join(errs...) }
}

// sentinels are the errors a row's error is checked against: it must match exactly the
// wanted ones.
var sentinels = map[string]error{
	"ErrNotOwned": ErrNotOwned, "ErrDoublePut": ErrDoublePut, "ErrClosed": ErrClosed,
	"ErrCanary": ErrCanary, "ErrInvalidSize": ErrInvalidSize, "ErrInvalidConfig": ErrInvalidConfig,
}

// put returns a misuse that puts b.
func put(f *misuseFixture, b []byte) func() error { return func() error { return f.p.Put(b) } }

// interior is the row of a Put of held[k:].
func interior(label string, k func(n int) int) misuseRow {
	return misuseRow{
		name: "interior slice " + label, perSize: true, want: wants(ErrNotOwned), effect: refused,
		when:    func(f *misuseFixture) bool { return k(f.n) < f.n },
		prepare: func(f *misuseFixture) func() error { return put(f, f.held[k(f.n):]) },
	}
}

// badSize is the row of TryGet(n) for a size no buffer can have. Get and GetZeroed must
// panic with the same error.
func badSize(n int) misuseRow {
	return misuseRow{
		name: fmt.Sprintf("TryGet(%d)", n), want: wants(ErrInvalidSize), effect: harmless,
		prepare: func(f *misuseFixture) func() error {
			return func() error {
				b, err := f.p.TryGet(n)
				assert.True(f.t, b == nil, "TryGet(%d) returned %d bytes", n, len(b))
				err1 := mustPanicWith(f.t, func() { f.p.Get(n) })
				err2 := mustPanicWith(f.t, func() { f.p.GetZeroed(n) })
				assert.True(f.t, errors.Is(err1, ErrInvalidSize), "Get(%d) panics with %v", n, err1)
				assert.True(f.t, errors.Is(err2, ErrInvalidSize), "GetZeroed(%d) panics with %v", n, err2)
				return err
			}
		},
	}
}

// badConfig is the row of NewWithConfig(cfg) for a Config it cannot honour; the error names
// every bad field.
func badConfig(name string, cfg Config, fields ...string) misuseRow {
	return misuseRow{
		name: "Config " + name, want: wants(ErrInvalidConfig), effect: harmless,
		when: func(f *misuseFixture) bool { return f.kind == "default" },
		prepare: func(f *misuseFixture) func() error {
			return func() error {
				p, err := NewWithConfig(cfg)
				if !assert.True(f.t, p == nil, "NewWithConfig returned a pool") {
					_ = p.Close()
				}
				if err != nil {
					for _, field := range fields {
						assert.Contains(f.t, err.Error(), field, "the error names the bad field")
					}
				}
				return err
			}
		},
	}
}

// missingBackend returns a backend name this binary does not have compiled in, or "".
func missingBackend() string {
	for _, name := range []string{"cgo", "purego", "syscall"} {
		if !slices.Contains(offheap.Backends(), name) {
			return name
		}
	}
	return ""
}

var catalogue = []misuseRow{
	// Puts of memory the pool never handed out.
	{
		name: "heap slice", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error { return put(f, make([]byte, 4096)) },
	},
	{
		name: "one-byte heap slice", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error { return put(f, make([]byte, 1)) },
	},
	{
		name: "stack array", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			return func() error {
				var a [64]byte // Put does not keep its argument, so a stays on the stack
				return f.p.Put(a[:])
			}
		},
	},
	{
		name: "foreign mmap", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			m := foreignMmap(f)
			return put(f, m)
		},
	},
	{
		name: "foreign mmap, a page inside", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			m := foreignMmap(f)
			return put(f, m[4096:])
		},
	},
	{
		name: "offheap.Alloc mapping", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			o, err := offheap.Alloc(64 << 10)
			require.NoError(f.t, err)
			f.later(func() { assert.NoError(f.t, offheap.Free(o)) })
			return put(f, o)
		},
	},
	// A pooled 512 KiB buffer has a 2 MiB-aligned mapping of its own; the rest of its 2 MiB
	// granule is free address space, where another mapping can land. The pool's index finds
	// the buffer's mapping for an address there, but the memory is not the pool's.
	{
		name: "foreign mapping beside a pooled buffer", want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			b := f.p.Get(512 << 10)
			f.later(func() { assert.NoError(f.t, f.p.Put(b)) })
			return put(f, foreignMmapAt(f, addrOf(b)+1<<20))
		},
	},
	{
		name: "another pool's buffer", perSize: true, want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			o := f.otherPool().Get(f.n)
			f.later(func() { assert.NoError(f.t, f.other.Put(o), "the buffer still belongs to its pool") })
			return put(f, o)
		},
	},

	// Puts of something that is not the start of a buffer out.
	interior("b[1:]", func(int) int { return 1 }),
	interior("b[64:]", func(int) int { return 64 }),
	interior("b[4096:]", func(int) int { return 4096 }), // page-aligned: looks like a start
	interior("b[n/2:]", func(n int) int { return n / 2 }),
	{
		name: "slice moved by append", perSize: true, want: wants(ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			moved := append(f.held[:cap(f.held):cap(f.held)], 1) // beyond cap: copied to the heap
			require.NotEqual(f.t, addrOf(f.held), addrOf(moved))
			require.True(f.t, onGoHeap(moved))
			return put(f, moved)
		},
	},
	{
		name: "double Put", perSize: true, effect: refused,
		want: func(f *misuseFixture) error { return f.goneOrDouble(f.unmappedOnPut()) },
		prepare: func(f *misuseFixture) func() error {
			b := f.p.Get(f.n)
			require.NoError(f.t, f.p.Put(b))
			return put(f, b)
		},
	},
	{
		name: "double Put of b[:0]", perSize: true, effect: refused,
		want: func(f *misuseFixture) error { return f.goneOrDouble(f.unmappedOnPut()) },
		prepare: func(f *misuseFixture) func() error {
			b := f.p.Get(f.n)
			require.NoError(f.t, f.p.Put(b))
			return put(f, b[:0])
		},
	},
	// A write past the end of a small Secure buffer: Put takes the buffer back, retires it
	// and reports the corruption.
	{
		name: "write past the end (Secure canary)", perSize: true, want: wants(ErrCanary),
		effect: effect{puts: 1, canaries: 1, inUse: -1},
		when:   func(f *misuseFixture) bool { return f.cfg.Secure && classFor(f.n) < offheap.PageSize() },
		prepare: func(f *misuseFixture) func() error {
			b := f.p.Get(f.n)
			unsafe.Slice(unsafe.SliceData(b), cap(b)+1)[cap(b)] ^= 0xff
			return put(f, b)
		},
	},

	// Gets of sizes no buffer can have.
	badSize(-1),
	badSize(-4096),
	badSize(math.MinInt),
	badSize(1 << 50),
	badSize(math.MaxInt),

	// After Close: Gets fail, and every refused Put also wraps ErrClosed. Only buffers out
	// at Close (the held one) go back.
	{
		name: "Put after Close of a buffer put back before", perSize: true, closes: true, effect: refused,
		// its slab stays mapped while the held buffer is out of it
		want: func(f *misuseFixture) error { return errors.Join(ErrClosed, f.goneOrDouble(f.ownMapping())) },
		prepare: func(f *misuseFixture) func() error {
			b := f.p.Get(f.n)
			require.NoError(f.t, f.p.Put(b))
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return put(f, b)
		},
	},
	{
		name: "Put after Close of a heap slice", closes: true, want: wants(ErrClosed, ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return put(f, make([]byte, 64))
		},
	},
	{
		name: "Put after Close of another pool's buffer", closes: true, want: wants(ErrClosed, ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			o := f.otherPool().Get(4096)
			f.later(func() { assert.NoError(f.t, f.other.Put(o)) })
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return put(f, o)
		},
	},
	{
		name: "Put after Close of an interior slice", perSize: true, closes: true, want: wants(ErrClosed, ErrNotOwned), effect: refused,
		prepare: func(f *misuseFixture) func() error {
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return put(f, f.held[1:])
		},
	},
	{
		name: "TryGet after Close", perSize: true, closes: true, want: wants(ErrClosed), effect: harmless,
		prepare: func(f *misuseFixture) func() error {
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return func() error {
				b, err := f.p.TryGet(f.n)
				assert.True(f.t, b == nil, "TryGet returned %d bytes", len(b))
				perr := mustPanicWith(f.t, func() { f.p.Get(f.n) })
				assert.True(f.t, errors.Is(perr, ErrClosed), "Get panics with %v", perr)
				return err
			}
		},
	},
	{
		name: "TryGet(0) after Close", closes: true, want: wants(ErrClosed), effect: harmless,
		prepare: func(f *misuseFixture) func() error {
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return func() error { _, err := f.p.TryGet(0); return err }
		},
	},
	{
		name: "second Close", closes: true, want: wants(ErrClosed), effect: harmless,
		prepare: func(f *misuseFixture) func() error {
			require.ErrorIs(f.t, f.p.Close(), ErrBuffersOut)
			return f.p.Close
		},
	},

	// Configs NewWithConfig cannot honour.
	badConfig("negative MinBufferSize", Config{MinBufferSize: -1}, "MinBufferSize"),
	badConfig("negative MaxBufferSize", Config{MaxBufferSize: -1}, "MaxBufferSize"),
	badConfig("huge MaxBufferSize", Config{MaxBufferSize: maxMaxBufferSize + 1}, "MaxBufferSize"),
	badConfig("MaxBufferSize math.MaxInt", Config{MaxBufferSize: math.MaxInt}, "MaxBufferSize"),
	badConfig("negative LocalCacheSize", Config{LocalCacheSize: -1}, "LocalCacheSize"),
	badConfig("huge LocalCacheSize", Config{LocalCacheSize: maxLocalCacheSize + 1}, "LocalCacheSize"),
	badConfig("negative NumShards", Config{NumShards: -4}, "NumShards"),
	badConfig("huge NumShards", Config{NumShards: maxNumShards + 1}, "NumShards"),
	badConfig("negative MaxBuffersPerShard", Config{MaxBuffersPerShard: -1}, "MaxBuffersPerShard"),
	badConfig("huge MaxBuffersPerShard", Config{MaxBuffersPerShard: maxMaxBuffersPerShard + 1}, "MaxBuffersPerShard"),
	badConfig("negative MaxIdleBytes", Config{MaxIdleBytes: -1}, "MaxIdleBytes"),
	badConfig("MaxIdleBytes math.MinInt64", Config{MaxIdleBytes: math.MinInt64}, "MaxIdleBytes"),
	badConfig("unknown Backend", Config{Backend: "no-such-backend"}, "Backend", "no-such-backend"),
	badConfig("every field bad", Config{
		MinBufferSize: -1, MaxBufferSize: -1, LocalCacheSize: -1, NumShards: -1,
		MaxBuffersPerShard: -1, MaxIdleBytes: -1, Backend: "?",
	}, "MinBufferSize", "MaxBufferSize", "LocalCacheSize", "NumShards", "MaxBuffersPerShard", "MaxIdleBytes", "Backend"),
	func() misuseRow {
		name := missingBackend()
		row := badConfig(fmt.Sprintf("Backend %q not compiled in", name), Config{Backend: name}, "Backend")
		row.when = func(f *misuseFixture) bool { return f.kind == "default" && name != "" }
		return row
	}(),
}

func TestMisuseCatalogue(t *testing.T) {
	for _, kind := range catalogueKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, row := range catalogue {
				sizes := []int{4096}
				if row.perSize {
					sizes = catalogueSizes
				}
				for _, n := range sizes {
					if row.when != nil && !row.when(&misuseFixture{kind: kind.name, cfg: kind.cfg, n: n}) {
						continue // the row does not apply to this pool or size
					}
					name := row.name
					if row.perSize {
						name += "/" + FormatBytes(int64(n))
					}
					t.Run(name, func(t *testing.T) {
						runMisuse(t, kind.name, kind.cfg, row, n)
					})
				}
			}
		})
	}
}

func runMisuse(t *testing.T, kind string, cfg Config, row misuseRow, n int) {
	f := &misuseFixture{t: t, kind: kind, cfg: cfg, n: n}
	f.p = newPool(t, cfg)
	// Warm the pool up, so that its magazines, depot and slabs hold buffers of the size.
	var warm [][]byte
	for range 3 {
		warm = append(warm, f.p.Get(n))
	}
	for _, b := range warm {
		require.NoError(t, f.p.Put(b))
	}
	f.held = f.p.Get(n)
	stamp(f.held)

	misuse := row.prepare(f)
	before := f.p.Stats()
	err := misuse()
	after := f.p.Stats()

	// The exact error: every wanted sentinel, no other.
	want := row.want(f)
	require.Error(t, err)
	t.Logf("%v", err)
	for name, s := range sentinels {
		assert.Equal(t, errors.Is(want, s), errors.Is(err, s), "errors.Is(err, %s) for %v", name, err)
	}
	if errors.Is(want, ErrInvalidConfig) && strings.Contains(row.name, "Backend") {
		assert.ErrorIs(t, err, offheap.ErrUnknownBackend)
	}

	// The counters moved as the row says, and only so.
	e := row.effect
	assert.Equal(t, before.Rejected+e.rejected, after.Rejected, "Rejected")
	assert.Equal(t, before.Puts+e.puts, after.Puts, "Puts")
	assert.Equal(t, before.CanaryFailures+e.canaries, after.CanaryFailures, "CanaryFailures")
	assert.Equal(t, before.InUse+e.inUse, after.InUse, "InUse")
	assert.Equal(t, before.Gets, after.Gets, "Gets")
	assert.Equal(t, before.Idle, after.Idle, "Idle")
	assert.Equal(t, before.MappedBytes, after.MappedBytes, "MappedBytes")

	for _, fn := range f.cleanups {
		fn()
	}
	// The pool serves correctly afterwards; the buffer held throughout kept its data.
	if row.closes {
		assert.True(t, stamped(f.held), "the buffer out at Close kept its data")
		assert.NoError(t, f.p.Put(f.held), "a buffer out at Close goes back")
		_, err := f.p.TryGet(n)
		assert.ErrorIs(t, err, ErrClosed)
		s := f.p.Stats()
		assert.Zero(t, s.InUse)
		assert.Zero(t, s.MappedBytes, "once the last buffer is back, a closed pool holds nothing")
		return
	}
	servesCorrectly(t, f.p, n, f.held)
	assert.True(t, stamped(f.held), "no refused call touched the buffer held out")
	require.NoError(t, f.p.Put(f.held))
	assert.Zero(t, f.p.Stats().InUse)
}

// servesCorrectly gets several buffers of n bytes (and of two other sizes) at once, stamps
// them, checks that no two are the same or the held one, and puts them back.
func servesCorrectly(t *testing.T, p *BufferPool, n int, held []byte) {
	t.Helper()
	seen := map[uintptr]bool{addrOf(held): true}
	var bufs [][]byte
	for _, size := range []int{n, n, n, n, 100, 4096} {
		b, err := p.TryGet(size)
		require.NoError(t, err, "TryGet(%d)", size)
		require.Len(t, b, size)
		assert.False(t, seen[addrOf(b)], "buffer %#x handed out twice", addrOf(b))
		seen[addrOf(b)] = true
		stamp(b)
		bufs = append(bufs, b)
	}
	for _, b := range bufs {
		assert.True(t, stamped(b), "buffer %#x lost its stamp: shared with another holder", addrOf(b))
		require.NoError(t, p.Put(b))
	}
}
