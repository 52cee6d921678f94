package main

import (
	"strings"
	"testing"
)

// rawIntegrations is go test -bench output of the gRPC and ReverseProxy rows.
const rawIntegrations = `cpu-model: Test CPU
cores: 2
BenchmarkGRPC/size=64MiB/codec=raw/impl=grpc-default-2   3   250000000 ns/op   536.87 MB/s   0.5000 GCs/op   67108864 B/op   5873 allocs/op
BenchmarkGRPC/size=64MiB/codec=raw/impl=zeropool-2       3   200000000 ns/op   671.09 MB/s   0 GCs/op        1048576 B/op    5521 allocs/op
BenchmarkReverseProxy/size=256KiB/impl=make-2        400   500000 ns/op   524.29 MB/s   0.02 GCs/op   45206 B/op   155 allocs/op
BenchmarkReverseProxy/size=256KiB/impl=sync.Pool-2   600   330000 ns/op   794.38 MB/s   0.006 GCs/op  12508 B/op   155 allocs/op
BenchmarkReverseProxy/size=256KiB/impl=zeropool-2    600   380000 ns/op   689.86 MB/s   0.005 GCs/op  12409 B/op   154 allocs/op
`

func TestReportIntegrationRows(t *testing.T) {
	rs, err := parse(strings.NewReader(rawIntegrations), "raw")
	if err != nil {
		t.Fatal(err)
	}
	md := renderTable(rs)
	for _, want := range []string{
		"| GRPC size=64MiB codec=raw | ns/op | 200.00 ms | grpc-default | 250.00 ms | 0.80 ~ | 5521 |",
		"throughput 671 MB/s vs 537 MB/s; GCs per request 0 vs 0.5; heap per request 1 MiB vs 64 MiB",
		"| ReverseProxy size=256KiB | ns/op | 380.00 µs | sync.Pool | 330.00 µs | 1.15 ~ | 154 |",
		"heap per request 12.1 KiB vs 12.2 KiB",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "| GRPC") > strings.Index(md, "| ReverseProxy") {
		t.Error("GRPC is not listed before ReverseProxy")
	}
}
