// Package grpcpool gives gRPC a buffer pool whose buffers live outside the Go heap: a
// google.golang.org/grpc/mem.BufferPool backed by a zeropool pool.BufferPool.
//
// gRPC takes a buffer from its pool for every DATA frame it receives (16 KiB each, so 4096 for
// a 64 MiB message) and for the messages it assembles, and puts each back when the message is
// freed. From grpc's default pool those are sync.Pool buffers on the Go heap, which every
// garbage collection empties; from this one they are the pool's memory, which the collector
// never scans nor frees, and which is reused, pages and all, from one RPC to the next.
//
//	p := pool.New()
//	bp := grpcpool.New(p)
//	srv := grpc.NewServer(experimental.BufferPool(bp))
//	conn, err := grpc.NewClient(addr, experimental.WithBufferPool(bp), ...)
//
// experimental.SetDefaultBufferPool(grpcpool.New(p)), called from an init function, makes it
// the pool of every client and server of the process and of grpc's proto codec.
//
// # What it saves depends on the codec
//
// The pool holds the frames gRPC reads; what the codec makes of them decides the heap cost.
// With grpc's proto codec (the default, and what generated code uses) proto.Unmarshal copies
// every message into fresh Go heap slices, and the codec's own buffers come from
// mem.DefaultBufferPool whatever pool the server and client were given: a protobuf service
// allocates as much Go heap per RPC with this pool as without it (SetDefaultBufferPool hands
// the codec this pool too, but Unmarshal's copies stay on the heap). The gain needs a codec that
// keeps a message in the buffers gRPC read it into (an encoding.CodecV2 over mem.BufferSlice,
// such as the rawcodec package of this module for raw bytes). Measured with bench/'s gRPC
// workload, one unary RPC on loopback carrying 64 MiB each way, client and server in one
// process (cd bench && go test -run '^$' -bench GRPC -benchtime 6x -count 5; medians of 5,
// Go heap allocated by the whole process per RPC):
//
//	codec  pool                Go heap per RPC  GCs per RPC
//	raw    grpc's default      33.1 MiB         0.17
//	raw    grpcpool            1.1 MiB          0
//	proto  grpc's default      172.0 MiB        0.67
//	proto  grpcpool            172.0 MiB        0.83
//
// # Versions
//
// Memory that gRPC (or code holding a mem.Buffer) never frees is not collected either: it
// stays out, counted in the pool's Stats().InUse, until the process ends. grpc 1.66.0 is such
// a case (its server never frees the request of a unary RPC; 1.66.3 does): use grpc 1.66.3 or
// later, and watch InUse. The module requires grpc 1.66.3, and its tests pass against 1.66.3
// and 1.85.0. Close the pool only after the servers and connections using it have shut down.
package grpcpool

import (
	"runtime"
	"sync"

	"google.golang.org/grpc/mem"

	"github.com/zeropool-go/zeropool/pool"
)

// Options tune a BufferPool made by NewWithOptions. The zero Options are New's.
type Options struct {
	// Zero makes every Get return zeroed memory whose capacity is its length, as grpc's default
	// pool clears every buffer it hands out again. Without it, a reused buffer holds what its
	// last holder left there, as with grpc's dirty pools (NewDirtyBinaryTieredBufferPool) and
	// the pool's own Get: gRPC overwrites every byte it reads. Memory fresh from the system is
	// zero already and is not written either way.
	Zero bool
	// Fallback is where Gets that the pool cannot serve (closed, Config.MaxMappedBytes
	// reached, memory the system refuses) are served from, and where Puts of memory the pool
	// does not own go. nil means mem.DefaultBufferPool() as it is when the BufferPool is made.
	Fallback mem.BufferPool
}

// New returns a mem.BufferPool whose buffers are p's, not zeroed on reuse (see Options). It
// panics for a nil pool.
func New(p *pool.BufferPool) mem.BufferPool { return NewWithOptions(p, Options{}) }

// NewWithOptions returns a mem.BufferPool whose buffers are p's, tuned by o. It panics for a
// nil pool.
//
// Get(n) returns a slice of len n from p (cap n with Options.Zero, else the buffer's whole
// capacity). Gets of 1 KiB or less (mem.IsBelowBufferPoolingThreshold) are Options.Fallback's:
// gRPC wraps such a buffer in a mem.SliceBuffer that no Free puts back, which the collector
// frees but which pool memory would never come back from. Put takes back any slice of a buffer that Get returned, even one that no longer
// starts where the buffer does (the pool's Owner finds the buffer); memory that is not the
// pool's goes to Options.Fallback, and a second Put of the pool's memory is refused and counted
// in p.Stats(), never passed on. The *[]byte headers are recycled, so Get and Put allocate
// nothing once warm.
func NewWithOptions(p *pool.BufferPool, o Options) mem.BufferPool {
	if p == nil {
		panic("grpcpool: New called with a nil *pool.BufferPool")
	}
	if o.Fallback == nil {
		// Read now, not at each Put: after experimental.SetDefaultBufferPool(this pool),
		// mem.DefaultBufferPool() is this pool itself.
		o.Fallback = mem.DefaultBufferPool()
	}
	return &bufferPool{p: p, zero: o.Zero, fallback: o.Fallback}
}

type bufferPool struct {
	p        *pool.BufferPool
	zero     bool
	fallback mem.BufferPool
	// headers holds empty *[]byte, as grpc's own pools keep their slices behind pointers: a
	// Get that needs none fresh allocates nothing.
	headers sync.Pool
}

func (b *bufferPool) Get(length int) *[]byte {
	if mem.IsBelowBufferPoolingThreshold(length) {
		// gRPC wraps a buffer of 1 KiB or less in a mem.SliceBuffer, which no Free ever puts
		// back: from the pool it would stay out for good, from the heap the collector frees it.
		return b.fallback.Get(length)
	}
	var buf []byte
	var err error
	if b.zero {
		buf, err = b.getZeroed(length)
	} else {
		buf, err = b.p.TryGet(length)
	}
	if err != nil {
		return b.fallback.Get(length)
	}
	if b.zero {
		buf = buf[:length:length] // nothing past len to clear, or to read
	}
	h, _ := b.headers.Get().(*[]byte)
	if h == nil {
		h = new([]byte)
	}
	*h = buf
	return h
}

// getZeroed is GetZeroed, which leaves fresh memory untouched, with its panic turned into the
// error TryGet would return: the pool has no TryGetZeroed.
func (b *bufferPool) getZeroed(length int) (buf []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if _, bug := r.(runtime.Error); !ok || bug {
				panic(r)
			}
			buf, err = nil, e
		}
	}()
	return b.p.GetZeroed(length), nil
}

func (b *bufferPool) Put(h *[]byte) {
	buf := *h
	if cap(buf) == 0 { // an empty slice: no memory to give back
		b.fallback.Put(h)
		return
	}
	if whole, err := b.p.Owner(buf); err == nil {
		// A buffer of the pool that is out, put back whole even if gRPC resliced its front.
		// Put cannot refuse it unless another Put of it races this one; the pool counts that.
		_ = b.p.Put(whole)
		b.recycle(h)
		return
	}
	if _, _, err := b.p.RegionOf(buf); err == nil {
		// The pool's memory, but no buffer that is out: a second Put. Let the pool count the
		// refusal; grpc's pool must never get memory that the pool will hand out again.
		_ = b.p.Put(buf)
		return
	}
	b.fallback.Put(h)
}

func (b *bufferPool) recycle(h *[]byte) {
	*h = nil
	b.headers.Put(h)
}
