package main

import (
	"bytes"
	"strings"
	"testing"
)

// raw is go test -bench -v output as the suite prints it, with a skipped zeropool side.
const raw = `cpu-model: Test CPU @ 1.00GHz
cores: 2
memory: 24 GiB
kernel: 6.1.0
go: go1.26.0 linux/amd64
goos: linux
goarch: amd64
pkg: github.com/zeropool-go/zeropool/bench
cpu: Test CPU
BenchmarkHotPath
BenchmarkHotPath/size=4KiB/impl=sync.Pool
BenchmarkHotPath/size=4KiB/impl=sync.Pool-2   	1000	20.0 ns/op	0 B/op	0 allocs/op
BenchmarkHotPath/size=4KiB/impl=zeropool
BenchmarkHotPath/size=4KiB/impl=zeropool-2    	1000	10.0 ns/op	0 B/op	0 allocs/op
BenchmarkHotPath/size=4KiB/impl=sync.Pool-2   	1000	22.0 ns/op	0 B/op	0 allocs/op
BenchmarkHotPath/size=4KiB/impl=zeropool-2    	1000	12.0 ns/op	0 B/op	0 allocs/op
BenchmarkHuge/size=512MiB/impl=make-2     	8	300000000 ns/op	1.0 ns/page
BenchmarkHuge/size=512MiB/impl=resident-2 	8	3000000 ns/op	1.0 ns/page
BenchmarkHuge/size=512MiB/impl=zeropool-2 	8	3300000 ns/op	1.0 ns/page
BenchmarkGCSurvival/size=64KiB/n=16/impl=sync.Pool-2	20	5000000 ns/op	0 survived-%
BenchmarkGCSurvival/size=64KiB/n=16/impl=zeropool-2	20	5000000 ns/op	100.0 idle-kept-%	95.0 survived-%
BenchmarkSecret/size=32B/impl=memguard-NewBuffer-2	1000	50000 ns/op
BenchmarkSecret/size=32B/impl=zeropool
    secret_test.go:63: Secure pools are not available yet: unsupported operation
--- SKIP: BenchmarkSecret/size=32B/impl=zeropool
PASS
`

func TestReportTable(t *testing.T) {
	rs, err := parse(strings.NewReader(raw), "raw")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.workloads) != 4 {
		t.Fatalf("%d workloads, want 4", len(rs.workloads))
	}
	md := renderTable(rs)
	for _, want := range []string{
		"Machine: Test CPU @ 1.00GHz, 2 cores, 24 GiB memory, Linux 6.1.0, go1.26.0 linux/amd64.",
		"| HotPath size=4KiB | ns/op | 11.0 ns",  // median of 10 and 12
		"| sync.Pool | 21.0 ns",                  // the best (only) peer
		"| 0.52 ~ | 0 | ≤ sync.Pool: 0.52× ✓",    // 11/21, two runs: not significant
		"| Huge size=512MiB | ns/op | 3.30 ms |", // resident is a floor, not the best peer
		"| make | 300.00 ms |",
		"≤ 1.2× resident: 1.10× ✓",
		"| GCSurvival size=64KiB n=16 | survived-% | 95% | sync.Pool | 0% | — |",
		"100% of idle buffers survive GC: 100% ✓; reused by the Gets after GC: 95%",
		"| Secret size=32B | ns/op | not run |",
		"zeropool skipped: Secure pools are not available yet: unsupported operation",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "| HotPath") > strings.Index(md, "| Huge") {
		t.Error("HotPath is not listed before Huge")
	}
}

func TestReportChart(t *testing.T) {
	rs, err := parse(strings.NewReader(raw), "raw")
	if err != nil {
		t.Fatal(err)
	}
	var png bytes.Buffer
	if err := drawChart(rs, &png); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("the chart is not a PNG")
	}
}

func TestSplitName(t *testing.T) {
	rs, err := parse(strings.NewReader("BenchmarkBurst/size=4KiB/n=100/impl=mcache-2\t10\t5 ns/op\n"), "raw")
	if err != nil {
		t.Fatal(err)
	}
	w := rs.workloads[0]
	if w.name != "Burst/size=4KiB/n=100" || w.family != "Burst" || len(w.params) != 2 || w.impls[0] != "mcache" {
		t.Errorf("got %q %q %q %q", w.name, w.family, w.params, w.impls)
	}
}
