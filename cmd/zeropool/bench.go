package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"

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
	secure, err := pool.NewWithConfig(pool.Config{Secure: true})
	if err != nil {
		return err
	}
	defer secure.Close()

	t := &table{header: []string{"workload", "op", "pool", "allocs/op", "reference", "ratio (ref/pool)"}}
	for _, w := range workloads() {
		if !only.MatchString(w.name) {
			continue
		}
		p := plain
		if w.secure {
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

// workloads lists the headline workloads in the order of DESIGN.md.
func workloads() []workload {
	var ws []workload
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 4 << 20} {
		ws = append(ws, workload{
			name: "hot path " + compactBytes(size), unit: "Get+Put",
			pool: func(b *testing.B, p *pool.BufferPool) {
				b.ReportAllocs()
				for b.Loop() {
					buf := p.Get(size)
					buf[0] = 1
					_ = p.Put(buf)
				}
			},
			refTag: "sync.Pool", ref: func(b *testing.B) {
				sp := sync.Pool{New: func() any { s := make([]byte, size); return &s }}
				for b.Loop() {
					buf := sp.Get().(*[]byte)
					(*buf)[0] = 1
					sp.Put(buf)
				}
			},
		})
	}
	ws = append(ws, workload{
		name: "parallel hot path 64K", unit: "Get+Put",
		pool: func(b *testing.B, p *pool.BufferPool) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buf := p.Get(64 << 10)
					buf[0] = 1
					_ = p.Put(buf)
				}
			})
		},
		refTag: "sync.Pool", ref: func(b *testing.B) {
			sp := sync.Pool{New: func() any { s := make([]byte, 64<<10); return &s }}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buf := sp.Get().(*[]byte)
					(*buf)[0] = 1
					sp.Put(buf)
				}
			})
		},
	})
	sizes := zipfSizes(4096)
	ws = append(ws, workload{
		name: "zipf mixed 1K..256K", unit: "Get+Put",
		pool: func(b *testing.B, p *pool.BufferPool) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf := p.Get(sizes[i&(len(sizes)-1)])
				buf[0] = 1
				_ = p.Put(buf)
				i++
			}
		},
		refTag: "make", ref: func(b *testing.B) {
			i := 0
			for b.Loop() {
				buf := make([]byte, sizes[i&(len(sizes)-1)])
				buf[0] = 1
				runtime.KeepAlive(buf)
				i++
			}
		},
	})
	for _, n := range []int{10, 100, 1000} {
		ws = append(ws, workload{
			name: fmt.Sprintf("burst %d x 4K", n), unit: "burst",
			pool: func(b *testing.B, p *pool.BufferPool) {
				held := make([][]byte, n)
				b.ReportAllocs()
				for b.Loop() {
					for i := range held {
						held[i] = p.Get(4 << 10)
						held[i][0] = 1
					}
					for _, buf := range held {
						_ = p.Put(buf)
					}
				}
			},
			refTag: "make", ref: func(b *testing.B) {
				held := make([][]byte, n)
				for b.Loop() {
					for i := range held {
						held[i] = make([]byte, 4<<10)
						held[i][0] = 1
					}
					runtime.KeepAlive(held)
				}
			},
		})
	}
	const huge = 512 << 20
	ws = append(ws, workload{
		name: "512M get-touch-put", unit: "round",
		pool: func(b *testing.B, p *pool.BufferPool) {
			// The first mapping and its first touch are not what reuse costs.
			warm := p.Get(huge)
			touch(warm)
			_ = p.Put(warm)
			for b.Loop() {
				buf := p.Get(huge)
				touch(buf)
				_ = p.Put(buf)
			}
		},
		refTag: "resident", ref: func(b *testing.B) {
			buf := make([]byte, huge)
			touch(buf)
			for b.Loop() {
				touch(buf)
			}
			runtime.KeepAlive(buf)
		},
	})
	ws = append(ws, workload{
		name: "512M get-touch-put, make", unit: "round",
		pool: func(b *testing.B, _ *pool.BufferPool) {
			for b.Loop() {
				buf := make([]byte, huge)
				touch(buf)
				runtime.KeepAlive(buf)
			}
		},
	})
	ws = append(ws, workload{
		name: "GC survival 64 x 64K", unit: "2 GCs",
		pool: func(b *testing.B, p *pool.BufferPool) {
			held := make([][]byte, 64)
			survived := 0.0
			for b.Loop() {
				for i := range held {
					held[i] = p.Get(64 << 10)
				}
				for _, buf := range held {
					_ = p.Put(buf)
				}
				// Idle buffers kept, not hits: a buffer idle in another P's cache survives
				// as well, though a Get on this P does not see it.
				idle := p.Stats().Idle
				runtime.GC()
				runtime.GC()
				survived += float64(p.Stats().Idle) / float64(idle)
			}
			b.ReportMetric(100*survived/float64(b.N), "survived-%")
		},
		refTag: "sync.Pool", ref: func(b *testing.B) {
			sp := sync.Pool{}
			held := make([]*[]byte, 64)
			survived := 0.0
			for b.Loop() {
				for i := range held {
					s := make([]byte, 64<<10)
					held[i] = &s
				}
				seen := make(map[*[]byte]bool, len(held))
				for _, buf := range held {
					seen[buf] = true
					sp.Put(buf)
				}
				runtime.GC()
				runtime.GC()
				n := 0
				for range held {
					if x, ok := sp.Get().(*[]byte); ok && seen[x] {
						n++
					}
				}
				survived += float64(n) / float64(len(held))
			}
			b.ReportMetric(100*survived/float64(b.N), "survived-%")
		},
	})
	ws = append(ws, workload{
		name: "secure 32B", unit: "Get+copy+Put", secure: true,
		pool: func(b *testing.B, p *pool.BufferPool) {
			key := []byte("0123456789abcdef0123456789abcdef")
			b.ReportAllocs()
			for b.Loop() {
				buf := p.Get(32)
				copy(buf, key)
				_ = p.Put(buf)
			}
		},
	})
	return ws
}

// zipfSizes returns n request sizes (n a power of two) drawn with the weights of DESIGN.md:
// 1K:50, 4K:25, 16K:15, 64K:7, 256K:3, from a fixed seed so every run sees the same sequence.
func zipfSizes(n int) []int {
	weights := []struct{ size, w int }{{1 << 10, 50}, {4 << 10, 25}, {16 << 10, 15}, {64 << 10, 7}, {256 << 10, 3}}
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]int, n)
	for i := range out {
		x := r.IntN(100)
		for _, w := range weights {
			if x < w.w {
				out[i] = w.size
				break
			}
			x -= w.w
		}
	}
	return out
}
