package pool

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// SizedPool adapts a pool to interfaces whose Get takes no size and whose Put returns no
// error, such as net/http/httputil.BufferPool:
//
//	proxy := &httputil.ReverseProxy{Rewrite: ..., BufferPool: p.Sized(32 << 10)}
//
// Get returns p.Get(size); Put puts a buffer back. Put has nowhere to report a refusal, so it
// leaves that to the pool's counters: a slice the pool did not hand out shows in
// Stats.NotOwned, a second Put in Stats.DoublePuts, a Put after Close in Stats.ClosedPuts.
// A SizedPool is safe for concurrent use.
type SizedPool struct {
	p         *BufferPool
	size      int
	fallbacks atomic.Uint64
}

// Sized returns a SizedPool whose Get returns buffers of len size from p. It panics for a
// nil pool, and with an error wrapping ErrInvalidSize for a negative size.
func (p *BufferPool) Sized(size int) *SizedPool {
	if p == nil {
		panic("zeropool: Sized called on a nil *BufferPool")
	}
	if size < 0 {
		panic(fmt.Errorf("%w: Sized(%d)", ErrInvalidSize, size))
	}
	return &SizedPool{p: p, size: size}
}

// Get returns a buffer of len Size() (cap at least that) from the pool. Where the pool cannot
// serve it (closed, Config.MaxMappedBytes reached, memory the system refuses) Get returns a
// slice of the Go heap instead and counts it in Fallbacks, so that a server keeps serving;
// Put of such a slice is then refused by the pool and counted as any foreign slice is. It
// panics only for a size no memory can hold.
func (s *SizedPool) Get() []byte {
	b, err := s.p.TryGet(s.size)
	if err != nil {
		if errors.Is(err, ErrInvalidSize) {
			panic(err)
		}
		s.fallbacks.Add(1)
		return make([]byte, s.size)
	}
	return b
}

// Put gives b back to the pool. Any slice is accepted without a panic; what the pool refuses
// is counted in its Stats (see SizedPool). A buffer of the same pool got with another size
// is taken back too: the pool knows every buffer's size.
func (s *SizedPool) Put(b []byte) {
	// The error is not dropped unseen: the pool has counted it in Stats already, which is
	// where a caller of an interface without errors can look.
	_ = s.p.Put(b)
}

// Size returns the len of the buffers Get returns.
func (s *SizedPool) Size() int { return s.size }

// Fallbacks returns how many Gets the pool could not serve and that got heap memory instead.
func (s *SizedPool) Fallbacks() uint64 { return s.fallbacks.Load() }
