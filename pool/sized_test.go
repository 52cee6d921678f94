package pool_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

var _ httputil.BufferPool = (*pool.SizedPool)(nil)

func TestSizedGet(t *testing.T) {
	p := testPool(t, pool.Config{})
	for _, size := range []int{1, 100, 32 << 10, 1 << 20} {
		s := p.Sized(size)
		assert.Equal(t, size, s.Size())
		b := s.Get()
		assert.Len(t, b, size)
		assert.GreaterOrEqual(t, cap(b), size)
		_, _, err := p.RegionOf(b)
		assert.NoError(t, err, "Get(%d) is not the pool's memory", size)
		s.Put(b)
	}
	empty := p.Sized(0).Get()
	assert.Empty(t, empty)
	p.Sized(0).Put(empty)
	st := p.Stats()
	assert.Zero(t, st.InUse)
	assert.Zero(t, st.Rejected)
	assert.Equal(t, st.Gets, st.Puts)
}

// Put never panics and never returns an error, so what the pool refuses shows in its
// refusal counters, each for its own reason; a buffer of the pool got with another size is
// the pool's all the same and is taken back.
func TestSizedPutRefusalsAreCounted(t *testing.T) {
	p := testPool(t, pool.Config{})
	s := p.Sized(32 << 10)
	other := p.Get(1 << 20)
	twice := s.Get()
	interior := s.Get()
	s.Put(twice)
	for _, tc := range []struct {
		name                   string
		b                      []byte
		puts, notOwned, double uint64
	}{
		{"nil", nil, 0, 0, 0},
		{"heap slice of the same size", make([]byte, 32<<10), 0, 1, 0},
		{"buffer of the pool got with another size", other, 1, 0, 0},
		{"interior slice", interior[1:], 0, 1, 0},
		{"second Put", twice, 0, 0, 1},
		{"shortened buffer", interior[:10], 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.Stats()
			assert.NotPanics(t, func() { s.Put(tc.b) })
			after := p.Stats()
			assert.Equal(t, tc.puts, after.Puts-before.Puts, "Puts")
			assert.Equal(t, tc.notOwned, after.NotOwned-before.NotOwned, "NotOwned")
			assert.Equal(t, tc.double, after.DoublePuts-before.DoublePuts, "DoublePuts")
		})
	}
	assert.Zero(t, p.Stats().InUse)

	out := s.Get()
	require.ErrorIs(t, p.Close(), pool.ErrBuffersOut)
	s.Put(out) // taken back after Close
	s.Put(make([]byte, 8))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.ClosedPuts, "a refusal after Close")
	assert.Zero(t, st.InUse)
}

// Where the pool cannot serve a Get, a server behind an interface without errors keeps
// serving: Get returns heap memory and counts it; Put of it is counted as a refusal.
func TestSizedFallsBackToHeap(t *testing.T) {
	t.Run("exhausted", func(t *testing.T) {
		p := testPool(t, pool.Config{MaxMappedBytes: 4 << 20})
		s := p.Sized(3 << 20)
		first := s.Get()
		second := s.Get() // a second 4 MiB class buffer does not fit
		assert.Len(t, second, 3<<20)
		assert.Equal(t, uint64(1), s.Fallbacks())
		_, _, err := p.RegionOf(second)
		assert.ErrorIs(t, err, pool.ErrNotOwned, "the fallback is heap memory")
		s.Put(second)
		s.Put(first)
		st := p.Stats()
		assert.Equal(t, uint64(1), st.NotOwned)
		assert.Zero(t, st.InUse)
	})
	t.Run("closed", func(t *testing.T) {
		p := testPool(t, pool.Config{})
		s := p.Sized(100)
		require.NoError(t, p.Close())
		b := s.Get()
		assert.Len(t, b, 100)
		assert.Equal(t, uint64(1), s.Fallbacks())
		s.Put(b)
		assert.Equal(t, uint64(1), p.Stats().ClosedPuts)
	})
}

func TestSizedBadInput(t *testing.T) {
	var nilPool *pool.BufferPool
	assert.Panics(t, func() { nilPool.Sized(10) })
	p := testPool(t, pool.Config{})
	v := func() (v any) {
		defer func() { v = recover() }()
		p.Sized(-1)
		return nil
	}()
	err, ok := v.(error)
	require.True(t, ok, "Sized(-1) panicked with %v, want an error", v)
	assert.ErrorIs(t, err, pool.ErrInvalidSize)
}

// httputil.ReverseProxy copies every response body through the SizedPool's buffers: the body
// arrives whole, the pool reuses its buffers from one request to the next, and none is left
// out, with requests in parallel.
func TestSizedReverseProxy(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	target, err := url.Parse(backend.URL)
	require.NoError(t, err)

	p := testPool(t, pool.Config{})
	rp := &httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		BufferPool: p.Sized(32 << 10),
	}
	front := httptest.NewServer(rp)
	defer front.Close()

	const workers, each = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				resp, err := front.Client().Get(front.URL)
				if err != nil {
					errs <- err
					continue
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && !bytes.Equal(got, body) {
					err = fmt.Errorf("body of %d bytes differs from the backend's", len(got))
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	front.Close() // every handler has returned, and with it every buffer
	st := p.Stats()
	assert.Equal(t, uint64(workers*each), st.Gets, "one buffer per proxied response")
	assert.Equal(t, st.Gets, st.Puts)
	assert.Positive(t, st.Hits, "the pool reused its buffers")
	assert.Zero(t, st.InUse)
	assert.Zero(t, st.Rejected)
}
