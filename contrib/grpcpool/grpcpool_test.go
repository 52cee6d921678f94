package grpcpool_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"

	"github.com/zeropool-go/zeropool/contrib/grpcpool"
	"github.com/zeropool-go/zeropool/pool"
)

func newPool(t testing.TB, cfg pool.Config) *pool.BufferPool {
	t.Helper()
	p, err := pool.NewWithConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// recorder is a fallback pool that serves from the heap and records what it is given.
type recorder struct {
	mu   sync.Mutex
	gets []int
	puts [][]byte
}

func (r *recorder) Get(n int) *[]byte {
	r.mu.Lock()
	r.gets = append(r.gets, n)
	r.mu.Unlock()
	b := make([]byte, n)
	return &b
}

func (r *recorder) Put(b *[]byte) {
	r.mu.Lock()
	r.puts = append(r.puts, *b)
	r.mu.Unlock()
}

func ours(p *pool.BufferPool, b []byte) bool {
	_, _, err := p.RegionOf(b)
	return err == nil
}

// From grpc's TestBufferPool and TestBinaryBufferPool: Get(n) has len n, and cap at least n:
// the pool's class for the plain pool, exactly n with Zero. Sizes of 1 KiB or less come from
// the fallback (gRPC never puts them back).
func TestGetLengthAndCapacity(t *testing.T) {
	for _, zero := range []bool{false, true} {
		t.Run(fmt.Sprintf("zero=%v", zero), func(t *testing.T) {
			p := newPool(t, pool.Config{})
			fb := &recorder{}
			bp := grpcpool.NewWithOptions(p, grpcpool.Options{Zero: zero, Fallback: fb})
			for _, tc := range []struct {
				n, cap int
				pooled bool
			}{
				{0, 0, false}, {1, 1, false}, {4, 4, false}, {64, 64, false}, {1024, 1024, false},
				{1025, 2048, true}, {4096, 4096, true}, {16 << 10, 16 << 10, true},
				{(16 << 10) + 1, 32 << 10, true}, {1 << 20, 1 << 20, true}, {3 << 20, 3 << 20, true},
				{(3 << 20) + 1, 3<<20 + 512<<10, true}, // above 256 KiB: classes a quarter of a power of two apart
			} {
				b := bp.Get(tc.n)
				assert.Len(t, *b, tc.n)
				want := tc.cap
				if zero || !tc.pooled {
					want = tc.n
				}
				assert.Equal(t, want, cap(*b), "cap of Get(%d)", tc.n)
				if tc.n > 0 {
					assert.Equal(t, tc.pooled, ours(p, *b), "Get(%d) is the pool's memory", tc.n)
				}
				bp.Put(b)
			}
			s := p.Stats()
			assert.Zero(t, s.InUse)
			assert.Equal(t, uint64(7), s.Gets)
			assert.Equal(t, s.Gets, s.Puts)
			assert.Zero(t, s.Rejected)
			assert.Len(t, fb.gets, 5, "the sizes of 1 KiB or less")
			assert.Len(t, fb.puts, 5, "and only those go back to the fallback")
		})
	}
}

// getReused gets a buffer of n bytes, marks it, puts it back and gets n bytes again until the
// second Get returns the same memory (the pool may serve a Get on another P from elsewhere),
// then returns the second buffer, what it held first, and whether it was reused at all.
func getReused(t *testing.T, bp mem.BufferPool, n int) (*[]byte, bool) {
	t.Helper()
	for range 100 {
		b1 := bp.Get(n)
		copy(*b1, "1234")
		addr := unsafe.SliceData(*b1)
		bp.Put(b1)
		b2 := bp.Get(n)
		if unsafe.SliceData(*b2) == addr {
			return b2, true
		}
		bp.Put(b2)
	}
	return nil, false
}

// From grpc's TestBufferPoolClears: with Zero a reused buffer reads as zeros, as from grpc's
// default pool; without it, as from grpc's dirty pools, it holds what its last holder left.
func TestZeroClearsReusedBuffers(t *testing.T) {
	for _, n := range []int{4096, 4097, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPool(t, pool.Config{})
			b, ok := getReused(t, grpcpool.NewWithOptions(p, grpcpool.Options{Zero: true}), n)
			require.True(t, ok, "the pool never reused a buffer")
			assert.Equal(t, make([]byte, n), *b, "a reused buffer was not cleared")
			assert.Equal(t, n, cap(*b), "capacity past len would hold old bytes")

			dirty, ok := getReused(t, grpcpool.New(p), n)
			require.True(t, ok, "the pool never reused a buffer")
			assert.Equal(t, []byte("1234"), (*dirty)[:4], "New's Get clears nothing")
		})
	}
}

// From grpc's TestBufferPoolIgnoresShortBuffers: a foreign slice put into the pool never
// comes out of a Get; it goes to the fallback, and the pool counts no refusal for it.
func TestPutOfForeignMemoryGoesToFallback(t *testing.T) {
	p := newPool(t, pool.Config{})
	fb := &recorder{}
	bp := grpcpool.NewWithOptions(p, grpcpool.Options{Fallback: fb})
	short := make([]byte, 1)
	bp.Put(&short)
	big := make([]byte, 64<<10)
	bp.Put(&big)
	require.Len(t, fb.puts, 2)
	assert.Same(t, &short[0], &fb.puts[0][0])
	assert.Same(t, &big[0], &fb.puts[1][0])
	b := bp.Get(2048)
	assert.Len(t, *b, 2048)
	assert.True(t, ours(p, *b))
	bp.Put(b)
	assert.Zero(t, p.Stats().Rejected)
}

// gRPC may put back a slice whose front it moved; the pool's Owner finds the buffer.
func TestPutOfInteriorSliceRecoversBuffer(t *testing.T) {
	p := newPool(t, pool.Config{})
	fb := &recorder{}
	bp := grpcpool.NewWithOptions(p, grpcpool.Options{Fallback: fb})
	b := bp.Get(64 << 10)
	*b = (*b)[100:200]
	bp.Put(b)
	s := p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, uint64(1), s.Puts)
	assert.Zero(t, s.Rejected)
	assert.Empty(t, fb.puts)
}

// A second Put of the pool's memory is refused and counted; grpc's pool never gets it, since
// the pool hands that memory out again.
func TestDoublePutIsCountedNotPassedOn(t *testing.T) {
	p := newPool(t, pool.Config{})
	fb := &recorder{}
	bp := grpcpool.NewWithOptions(p, grpcpool.Options{Fallback: fb})
	b := bp.Get(64 << 10)
	again := *b
	bp.Put(b)
	bp.Put(&again)
	assert.Empty(t, fb.puts, "pool memory was handed to the fallback")
	s := p.Stats()
	assert.Equal(t, uint64(1), s.DoublePuts)
	assert.Zero(t, s.InUse)
}

// Where the pool cannot serve a Get, the fallback does, and gets its memory back.
func TestGetFallsBackWhenThePoolCannot(t *testing.T) {
	p := newPool(t, pool.Config{MaxMappedBytes: 2 << 20})
	fb := &recorder{}
	for _, zero := range []bool{false, true} {
		bp := grpcpool.NewWithOptions(p, grpcpool.Options{Zero: zero, Fallback: fb})
		b := bp.Get(8 << 20) // more than MaxMappedBytes
		assert.Len(t, *b, 8<<20)
		assert.False(t, ours(p, *b))
		bp.Put(b)
	}
	assert.Equal(t, []int{8 << 20, 8 << 20}, fb.gets)
	assert.Len(t, fb.puts, 2)
	require.NoError(t, p.Close())
	bp := grpcpool.NewWithOptions(p, grpcpool.Options{Fallback: fb})
	b := bp.Get(4096)
	assert.Len(t, *b, 4096)
	bp.Put(b)
	assert.Len(t, fb.puts, 3, "after Close")
}

func TestNewPanicsOnNilPool(t *testing.T) {
	assert.Panics(t, func() { grpcpool.New(nil) })
}

func TestDefaultFallbackIsGRPCs(t *testing.T) {
	p := newPool(t, pool.Config{})
	bp := grpcpool.New(p)
	b := mem.DefaultBufferPool().Get(64 << 10) // from grpc's pool
	bp.Put(b)                                  // back to grpc's pool, not refused by ours
	assert.Zero(t, p.Stats().Rejected)
}

// Through mem.Buffer, as gRPC uses it: NewBuffer over a Get, split twice, freed; the
// buffer is back in the pool once the last reference is gone.
func TestMemBufferRoundTrip(t *testing.T) {
	p := newPool(t, pool.Config{})
	bp := grpcpool.New(p)
	data := bytes.Repeat([]byte("grpc"), 16<<10)
	buf := mem.Copy(data, bp)
	assert.True(t, ours(p, buf.ReadOnlyData()))
	left, right := mem.SplitUnsafe(buf, 110)
	part, tail := mem.SplitUnsafe(right, 10)
	left.Free()
	tail.Free()
	assert.Equal(t, int64(1), p.Stats().InUse, "a slice still refers to the buffer")
	assert.Equal(t, data[110:120], part.ReadOnlyData())
	part.Free()
	assert.Zero(t, p.Stats().InUse)

	var out mem.BufferSlice
	w := mem.NewWriter(&out, bp)
	_, err := w.Write(data)
	require.NoError(t, err)
	assert.Equal(t, data, out.Materialize())
	out.Free()
	assert.Zero(t, p.Stats().InUse)
	assert.Zero(t, p.Stats().Rejected)
}

// Get and Put allocate nothing once the headers are warm, as grpc's own pools.
func TestGetPutAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	p := newPool(t, pool.Config{})
	for _, zero := range []bool{false, true} {
		bp := grpcpool.NewWithOptions(p, grpcpool.Options{Zero: zero})
		bp.Put(bp.Get(16 << 10))
		allocs := testing.AllocsPerRun(1000, func() {
			a := bp.Get(16 << 10)
			b := bp.Get(64 << 10)
			bp.Put(a)
			bp.Put(b)
		})
		assert.Zero(t, allocs, "zero=%v", zero)
	}
}

func BenchmarkGetPut(b *testing.B) {
	p := newPool(b, pool.Config{})
	for _, impl := range []struct {
		name string
		bp   mem.BufferPool
	}{
		{"grpcpool", grpcpool.New(p)},
		{"grpcpool-zero", grpcpool.NewWithOptions(p, grpcpool.Options{Zero: true})},
		{"grpc-default", mem.DefaultBufferPool()},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.bp.Put(impl.bp.Get(16 << 10))
			}
		})
	}
}
