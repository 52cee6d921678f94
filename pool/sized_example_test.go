package pool_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/zeropool-go/zeropool/pool"
)

// httputil.ReverseProxy copies each response body through a buffer of its BufferPool, which
// takes no size: Sized gives it one. The proxy's copy buffers then live outside the Go heap
// and are reused from one response to the next.
func ExampleBufferPool_Sized() {
	p := pool.New()
	defer p.Close()

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100<<10)) // 100 KiB
	}))
	defer backend.Close()
	target, err := url.Parse(backend.URL)
	if err != nil {
		log.Fatal(err)
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		BufferPool: p.Sized(32 << 10),
	})

	for range 3 {
		resp, err := http.Get(proxy.URL)
		if err != nil {
			log.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.Status, n, "bytes")
	}
	proxy.Close() // waits for the handlers, and so for their Puts

	s := p.Stats()
	fmt.Println("gets:", s.Gets, "puts:", s.Puts, "out:", s.InUse, "refused:", s.Rejected)
	// Output:
	// 200 OK 102400 bytes
	// 200 OK 102400 bytes
	// 200 OK 102400 bytes
	// gets: 3 puts: 3 out: 0 refused: 0
}
