package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"testing"
	"time"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// A workload is one line of zeropool bench: the pool's benchmark and, where one exists, the
// reference it is compared with on this machine (make([]byte), sync.Pool, or the physical
// floor of touching memory that is already resident).
type workload struct {
	name   string
	unit   string // what one op is
	pool   func(b *testing.B, p *pool.BufferPool)
	refTag string
	ref    func(b *testing.B)
	// secure workloads need a Secure pool.
	secure bool
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchTime := fs.Duration("time", time.Second, "how long to run each benchmark")
	only := fs.String("run", "", "run only the workloads whose name matches this `regexp`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: zeropool bench [-time 1s] [-run regexp]

The headline workloads on this machine, the pool against its reference where one exists:
hot path Get+Put (against sync.Pool), parallel hot path, zipf-mixed sizes, bursts, 512 MiB
get → touch every page → put (against make and against a resident buffer), survival of idle
buffers across garbage collections, and secure 32-byte Get+copy+Put. Progress goes to
stderr, the table to stdout. bench/ in the repository compares against other libraries.

`)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args, stderr); !ok {
		return code
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(stderr, "zeropool bench: -run:", err)
		return exitUsage
	}
	if err := bench(re, *benchTime, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "zeropool bench:", err)
		return exitFail
	}
	return exitOK
}

func bench(only *regexp.Regexp, d time.Duration, stdout, stderr io.Writer) error {
	testing.Init()
	if err := flag.Set("test.benchtime", d.String()); err != nil {
		return err
	}
	plain, err := pool.NewWithConfig(pool.Config{})
	if err != nil {
		return err
	}
	defer plain.Close()
	// Secure pools are Linux's: elsewhere their rows say so.
	secure, secureErr := pool.NewWithConfig(pool.Config{Secure: true})
	if secureErr != nil && !errors.Is(secureErr, errors.ErrUnsupported) {
		return secureErr
	}
	if secure != nil {
		defer secure.Close()
	}

	t := &table{header: []string{"workload", "op", "pool", "allocs/op", "reference", "ratio (ref/pool)"}}
	for _, w := range workloads() {
		if !only.MatchString(w.name) {
			continue
		}
		p := plain
		if w.secure {
			if secure == nil {
				fmt.Fprintf(stderr, "  %-28s not run: %v\n", w.name, secureErr)
				t.add(w.name, w.unit, "n/a (Secure pools need Linux)", "-", "-", "-")
				continue
			}
			p = secure
		}
		fmt.Fprintf(stderr, "  %-28s pool ...", w.name)
		res := testing.Benchmark(func(b *testing.B) { w.pool(b, p) })
		fmt.Fprintf(stderr, " %s", formatNs(res))
		row := []string{w.name, w.unit, formatNs(res), fmt.Sprint(res.AllocsPerOp()), "-", "-"}
		if m, ok := res.Extra["survived-%"]; ok {
			row[2] = fmt.Sprintf("%.0f%% survived", m)
		}
		if w.ref != nil {
			fmt.Fprintf(stderr, "  %s ...", w.refTag)
			ref := testing.Benchmark(w.ref)
			fmt.Fprintf(stderr, " %s", formatNs(ref))
			row[4] = w.refTag + " " + formatNs(ref)
			if m, ok := ref.Extra["survived-%"]; ok {
				row[4] = fmt.Sprintf("%s %.0f%% survived", w.refTag, m)
			} else if res.NsPerOp() > 0 {
				row[5] = formatRatio(float64(ref.NsPerOp()) / float64(res.NsPerOp()))
			}
		}
		fmt.Fprintln(stderr)
		t.add(row...)
	}
	fmt.Fprintf(stdout, "%d CPUs, GOMAXPROCS %d, %s, benchtime %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), d)
	if err := t.render(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ratio > 1: the pool is faster than the reference.")
	return nil
}

func formatNs(r testing.BenchmarkResult) string {
	if r.N == 0 {
		return "n/a"
	}
	return formatDuration(time.Duration(r.T.Nanoseconds() / int64(r.N)))
}

// workloads lists the headline workloads in the order of the table in docs/performance.md.
// Each loop is defined once, in internal/workloads, for this command and bench/.
func workloads() []workload {
	return slices.Concat(hotPathWorkloads(), parallelWorkloads(), zipfWorkloads(), burstWorkloads(),
		hugeWorkloads(), survivalWorkloads(), secretWorkloads())
}

func hotPathWorkloads() []workload {
	var ws []workload
	for _, size := range wl.HotPathSizes {
		ws = append(ws, workload{
			name: "hot path " + compactBytes(size), unit: "Get+Put",
			pool:   func(b *testing.B, p *pool.BufferPool) { wl.HotPath(b, p, size) },
			refTag: "sync.Pool", ref: func(b *testing.B) { wl.HotPathSyncPool(b, size) },
		})
	}
	return ws
}

func parallelWorkloads() []workload {
	const size = 64 * wl.KiB
	return []workload{{
		name: "parallel hot path 64K", unit: "Get+Put",
		pool:   func(b *testing.B, p *pool.BufferPool) { wl.HotPathParallel(b, p, size) },
		refTag: "sync.Pool", ref: func(b *testing.B) { wl.HotPathParallelSyncPool(b, size) },
	}}
}

func zipfWorkloads() []workload {
	return []workload{{
		name: "zipf mixed 1K..256K", unit: "Get+Put",
		pool:   wl.Zipf,
		refTag: "make", ref: wl.ZipfMake,
	}}
}

func burstWorkloads() []workload {
	const size = 4 * wl.KiB
	var ws []workload
	for _, n := range wl.BurstNs {
		ws = append(ws, workload{
			name: fmt.Sprintf("burst %d x 4K", n), unit: "burst",
			pool:   func(b *testing.B, p *pool.BufferPool) { wl.Burst(b, p, size, n) },
			refTag: "make", ref: func(b *testing.B) { wl.BurstMake(b, size, n) },
		})
	}
	return ws
}

func hugeWorkloads() []workload {
	const size = wl.HugeSize
	return []workload{{
		name: "512M get-touch-put", unit: "round",
		pool:   func(b *testing.B, p *pool.BufferPool) { wl.Huge(b, p, size) },
		refTag: "resident", ref: func(b *testing.B) { wl.HugeResident(b, size) },
	}, {
		name: "512M get-touch-put, make", unit: "round",
		pool: func(b *testing.B, _ *pool.BufferPool) { wl.HugeMake(b, size) },
	}}
}

// survivalWorkloads: the pool's line counts the idle buffers kept, not hits: a buffer idle in
// another P's cache survives as well, though a Get on this P does not see it.
func survivalWorkloads() []workload {
	const size, k = 64 * wl.KiB, 64
	return []workload{{
		name: "GC survival 64 x 64K", unit: "2 GCs",
		pool: func(b *testing.B, p *pool.BufferPool) {
			cycle := wl.SurvivalCycle(b, p, size, k)
			survived := 0.0
			for b.Loop() {
				s := cycle()
				survived += float64(s.IdleAfter) / float64(s.IdleBefore)
			}
			b.ReportMetric(100*survived/float64(b.N), "survived-%")
		},
		refTag: "sync.Pool", ref: func(b *testing.B) { wl.GCSurvival(b, k, wl.SurvivalSyncPool(size, k)) },
	}}
}

func secretWorkloads() []workload {
	return []workload{{name: "secure 32B", unit: "Get+copy+Put", secure: true, pool: wl.Secret}}
}
