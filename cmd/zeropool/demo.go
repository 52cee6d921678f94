package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/offheap"
	"github.com/zeropool-go/zeropool/pool"
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	size := sizeFlag{512 << 20}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&size, "size", "buffer `size`: 4096, 64KiB, 512MiB, 1GiB, ...")
	rounds := fs.Int("rounds", 20, "`n` rounds per run")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: zeropool demo [-size 512MiB] [-rounds 20]

The headline workload: get a buffer, write one byte in every 4 KiB page, give it back;
once with the pool (Get/Put), once with make([]byte) (dropped at the end of each round),
and once touching a buffer that is already resident (the floor no pool can beat).
Each run starts with one warm-up round, shown on its own and left out of the total and
the median: it pays what a process pays once (the pool maps its buffer and the kernel
faults in every page, perhaps compacting memory for huge pages first; the Go heap grows),
and its time swings from run to run. Progress goes to stderr, the table and the pool's
Stats to stdout.

`)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args, stderr); !ok {
		return code
	}
	switch {
	case size.n <= 0:
		fmt.Fprintln(stderr, "zeropool demo: -size must be at least 1 byte")
		return exitUsage
	case *rounds <= 0:
		fmt.Fprintln(stderr, "zeropool demo: -rounds must be at least 1")
		return exitUsage
	}
	if err := demo(size.n, *rounds, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "zeropool demo:", err)
		return exitFail
	}
	return exitOK
}

// phaseResult is what one run of the workload measured.
type phaseResult struct {
	name      string
	warmup    time.Duration   // the round before the measured ones
	rounds    []time.Duration // the measured rounds
	gcs       uint32
	heapAlloc uint64 // Go heap at the end of the run
	heapSys   uint64
	startRSS  int64 // VmRSS when the run started: what earlier work left resident
	peakRSS   int64 // VmHWM during the run (of the process, when it could not be reset)
	peakOwn   bool  // peakRSS is this run's own peak
	peakErr   error
}

func (r *phaseResult) total() time.Duration {
	var t time.Duration
	for _, d := range r.rounds {
		t += d
	}
	return t
}

func (r *phaseResult) median() time.Duration {
	s := slices.Clone(r.rounds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// demo runs the three phases and writes the table and the pool's Stats to stdout.
func demo(size, rounds int, stdout, stderr io.Writer) error {
	p, note, err := demoPool(size)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	fmt.Fprintf(stderr, "a warm-up round, then %d rounds of: get %s → write one byte per 4 KiB page → put\n", rounds, pool.FormatBytes(int64(size)))

	var getErr error
	withPool := measure("pool", rounds, stderr, func() {
		b, err := p.TryGet(size)
		if err != nil {
			getErr = err
			return
		}
		touch(b)
		if err := p.Put(b); err != nil {
			getErr = err
		}
	})
	if getErr != nil {
		p.Close()
		return getErr
	}
	stats := p.Stats()
	// The pool's idle buffer would count in the next phases' RSS.
	if err := p.Close(); err != nil {
		return err
	}

	withMake := measure("make", rounds, stderr, func() {
		b := make([]byte, size)
		touch(b)
		runtime.KeepAlive(b) // reachable until the round ends, as a request's buffer would be
	})

	res, err := offheap.Alloc(size)
	if err != nil {
		return err
	}
	touch(res)
	resident := measure("resident", rounds, stderr, func() { touch(res) })
	if err := offheap.Free(res); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "get %s → touch every 4 KiB page → put, a warm-up round and %d measured rounds (GOMAXPROCS %d)\n\n",
		pool.FormatBytes(int64(size)), rounds, runtime.GOMAXPROCS(0))
	t := resultTable(withPool, []*phaseResult{&withPool, &withMake, &resident})
	if err := t.render(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\npool:     pool.Get, touch, pool.Put (the warm-up maps the buffer, every measured round reuses it)")
	fmt.Fprintln(stdout, "make:     make([]byte), touch, drop (the garbage collector reclaims it)")
	fmt.Fprintln(stdout, "resident: touch a buffer that is already mapped and resident (no Get or Put: the floor)")
	fmt.Fprintln(stdout, "warm-up:  the round before the measured ones, left out of total and median: it pays the")
	fmt.Fprintln(stdout, "          one-time costs (mapping, first page faults, huge-page compaction where THP defrag")
	fmt.Fprintln(stdout, "          is on, heap growth), which swing from run to run; a service pays them once")
	fmt.Fprintln(stdout, "× pool:   median measured round time relative to the pool's")
	fmt.Fprintln(stdout, "peak RSS: the process's peak resident memory during the run (+ the growth over its start)")
	if !withPool.peakOwn || !withMake.peakOwn {
		fmt.Fprintln(stdout, "peak RSS: marked * where the peak could not be reset per run: the process's peak so far")
	}
	fmt.Fprintf(stdout, "\npool.Stats() after the pool run (warm-up included):\n%s\n", stats)
	if stats.Hits == 0 {
		fmt.Fprintln(stdout, "note: the pool reused no buffer in this run (hits=0)")
	}
	return nil
}

// demoPool returns the pool pool.New() would (as an error rather than New's panic when, say,
// ZEROPOOL_BACKEND names no usable backend), or, when size is beyond what the defaults keep
// idle, a pool whose bounds fit it: the demo is about reuse.
func demoPool(size int) (*pool.BufferPool, string, error) {
	d := pool.DefaultConfig(runtime.NumCPU())
	if size <= d.MaxBufferSize && 2*int64(size) <= d.MaxIdleBytes {
		p, err := pool.NewWithConfig(pool.Config{})
		return p, "", err
	}
	cfg := pool.Config{MaxBufferSize: max(d.MaxBufferSize, size), MaxIdleBytes: max(d.MaxIdleBytes, 2*int64(size))}
	p, err := pool.NewWithConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	note := fmt.Sprintf("%s is beyond the defaults' bounds: using MaxBufferSize %s, MaxIdleBytes %s",
		pool.FormatBytes(int64(size)), pool.FormatBytes(int64(p.Config().MaxBufferSize)), pool.FormatBytes(p.Config().MaxIdleBytes))
	return p, note, nil
}

// measure runs round once to warm up, then rounds times, after a collection, timing each
// round and reporting it on progress, and records the collections and memory the run cost
// (the warm-up's included: its page faults and heap growth are part of what the run holds).
func measure(name string, rounds int, progress io.Writer, round func()) phaseResult {
	r := phaseResult{name: name}
	runtime.GC()
	r.peakErr = resetPeakRSS()
	r.peakOwn = r.peakErr == nil
	r.startRSS, _ = currentRSS()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	round()
	r.warmup = time.Since(start)
	fmt.Fprintf(progress, "  %-8s %-*s  %9s\n", name, len("round ")+2*digits(rounds)+1, "warm-up", formatDuration(r.warmup))
	for i := range rounds {
		start := time.Now()
		round()
		d := time.Since(start)
		r.rounds = append(r.rounds, d)
		fmt.Fprintf(progress, "  %-8s round %*d/%d  %9s\n", name, digits(rounds), i+1, rounds, formatDuration(d))
	}
	runtime.ReadMemStats(&after)
	r.gcs = after.NumGC - before.NumGC
	r.heapAlloc, r.heapSys = after.HeapAlloc, after.HeapSys
	if rss, err := peakRSS(); err != nil {
		r.peakErr = err
		r.peakOwn = false
	} else {
		r.peakRSS = rss
	}
	return r
}

func resultTable(base phaseResult, runs []*phaseResult) *table {
	t := &table{header: []string{"run", "warm-up", "total", "median/round", "× pool", "GCs", "Go heap (alloc / sys)", "peak RSS"}}
	for _, r := range runs {
		ratio := "-"
		if bm := base.median(); bm > 0 {
			ratio = formatRatio(float64(r.median()) / float64(bm))
		}
		rss := "n/a"
		if r.peakRSS > 0 {
			rss = pool.FormatBytes(r.peakRSS)
			if r.startRSS > 0 && r.peakOwn {
				rss += " (+" + pool.FormatBytes(max(r.peakRSS-r.startRSS, 0)) + ")"
			}
			if !r.peakOwn {
				rss += " *"
			}
		}
		t.add(r.name, formatDuration(r.warmup), formatDuration(r.total()), formatDuration(r.median()), ratio,
			fmt.Sprint(r.gcs), pool.FormatBytes(int64(r.heapAlloc))+" / "+pool.FormatBytes(int64(r.heapSys)), rss)
	}
	return t
}

// touch writes one byte in every 4 KiB page of b, as the huge workload does, so that every
// page of the buffer is faulted in (or found resident) once per round.
func touch(b []byte) { wl.TouchPages(b, 1) }

// formatDuration keeps three significant digits: 1.23s, 45.6ms, 789µs.
func formatDuration(d time.Duration) string {
	switch {
	case d >= 1000*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	case d >= time.Microsecond:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}

// formatRatio keeps three significant digits where they mean something: 0.98x, 12.3x, 286x.
func formatRatio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0fx", x)
	case x >= 10:
		return fmt.Sprintf("%.1fx", x)
	}
	return fmt.Sprintf("%.2fx", x)
}

func digits(n int) int { return len(fmt.Sprint(n)) }
