package zeropoolprom_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	zeropoolprom "github.com/zeropool-go/zeropool/contrib/prometheus"
	"github.com/zeropool-go/zeropool/pool"
)

// Two pools on one /metrics endpoint, told apart by the pool label.
func ExampleNewCollector() {
	ioPool, secrets := pool.New(), pool.New()
	defer ioPool.Close()
	defer secrets.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(zeropoolprom.NewCollector(map[string]*pool.BufferPool{"io": ioPool, "secrets": secrets}))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	for range 3 {
		if err := ioPool.Put(ioPool.Get(64 << 10)); err != nil {
			log.Fatal(err)
		}
	}
	_ = ioPool.Put(make([]byte, 8)) // refused: counted under reason="not_owned"

	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "zeropool_gets_total") ||
			strings.HasPrefix(line, `zeropool_rejected_puts_total{pool="io",reason="not_owned"}`) {
			fmt.Println(line)
		}
	}
	// Output:
	// zeropool_gets_total{pool="io"} 3
	// zeropool_gets_total{pool="secrets"} 0
	// zeropool_rejected_puts_total{pool="io",reason="not_owned"} 1
}
