package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"testing"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// httputil.ReverseProxy: one GET through a proxy on loopback to a backend that answers with
// 256 KiB, the body read to the end. The proxy copies every response body through a buffer of
// its BufferPool (32 KiB):
//
//   - impl=make: no BufferPool, so the proxy makes a 32 KiB buffer per response;
//   - impl=sync.Pool: the BufferPool users write, a sync.Pool of 32 KiB slices;
//   - impl=zeropool: p.Sized(32 << 10).
//
// Metrics: ns/op, B/op and allocs/op of the whole process (client, proxy, backend), and
// GCs/op. Most of the time and the heap go to HTTP itself, the same for every impl: the
// difference between impls is what the copy buffer costs.

const (
	proxyBody   = 256 * kib
	proxyBufLen = 32 * kib
)

// syncPoolBuffers is an httputil.BufferPool over a sync.Pool, as users write it.
type syncPoolBuffers struct{ p sync.Pool }

func (s *syncPoolBuffers) Get() []byte {
	if b, ok := s.p.Get().([]byte); ok {
		return b
	}
	return make([]byte, proxyBufLen)
}

// Put boxes the slice header in an interface, one small allocation per Put (staticcheck's
// SA6002): httputil.BufferPool hands out []byte, not *[]byte, so users write it this way.
//
//lint:ignore SA6002 the peer is measured as users write it (see above)
func (s *syncPoolBuffers) Put(b []byte) { s.p.Put(b) }

var proxyImpls = []struct {
	name string
	// pool returns the proxy's BufferPool (nil: none) and what to do once done with it.
	pool func() (httputil.BufferPool, func() error)
}{
	{implMake, func() (httputil.BufferPool, func() error) { return nil, func() error { return nil } }},
	{implSyncPool, func() (httputil.BufferPool, func() error) { return new(syncPoolBuffers), func() error { return nil } }},
	{implZeropool, func() (httputil.BufferPool, func() error) {
		p := pool.New()
		return p.Sized(proxyBufLen), p.Close
	}},
}

// proxyRig is a backend, a ReverseProxy in front of it, and a client of the proxy.
type proxyRig struct {
	backend, front *httptest.Server
	client         *http.Client
	body           []byte
}

func newProxyRig(bp httputil.BufferPool, size int) (*proxyRig, error) {
	body := bytes.Repeat([]byte("zeropool"), size/8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	target, err := url.Parse(backend.URL)
	if err != nil {
		backend.Close()
		return nil, err
	}
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		BufferPool: bp,
	})
	return &proxyRig{backend: backend, front: front, client: front.Client(), body: body}, nil
}

// get makes one request through the proxy and reads the body into sink (reused); check
// compares it with the backend's.
func (r *proxyRig) get(sink *bytes.Buffer, check bool) error {
	resp, err := r.client.Get(r.front.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sink.Reset()
	if _, err := sink.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || sink.Len() != len(r.body) || (check && !bytes.Equal(sink.Bytes(), r.body)) {
		return fmt.Errorf("proxy: status %d, %d bytes, want 200 and the backend's %d", resp.StatusCode, sink.Len(), len(r.body))
	}
	return nil
}

// close waits for the handlers (and so the proxy's Puts) and shuts both servers.
func (r *proxyRig) close() {
	r.front.Close()
	r.backend.Close()
}

func BenchmarkReverseProxy(b *testing.B) {
	for _, im := range proxyImpls {
		b.Run(fmt.Sprintf("size=%s/impl=%s", wl.SizeName(proxyBody), im.name), func(b *testing.B) {
			bp, done := im.pool()
			rig, err := newProxyRig(bp, proxyBody)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { must(b, done()) }()
			defer rig.close()
			sink := bytes.NewBuffer(make([]byte, 0, 2*proxyBody))
			must(b, rig.get(sink, true)) // warm: connections, pools
			settle()
			b.Cleanup(settle)
			b.SetBytes(proxyBody)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				if err := rig.get(sink, false); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
		})
	}
}

// Every impl proxies the body intact; zeropool's buffers all come back. No timing.
func TestReverseProxyImpls(t *testing.T) {
	for _, im := range proxyImpls {
		t.Run(im.name, func(t *testing.T) {
			bp, done := im.pool()
			rig, err := newProxyRig(bp, proxyBody)
			if err != nil {
				t.Fatal(err)
			}
			var sink bytes.Buffer
			for range 3 {
				if err := rig.get(&sink, true); err != nil {
					t.Fatal(err)
				}
			}
			rig.close()
			if sp, ok := bp.(*pool.SizedPool); ok {
				if sp.Size() != proxyBufLen || sp.Fallbacks() != 0 {
					t.Errorf("SizedPool of %d bytes with %d fallbacks", sp.Size(), sp.Fallbacks())
				}
			}
			if err := done(); err != nil {
				t.Error(err) // Close reports buffers still out
			}
		})
	}
}
