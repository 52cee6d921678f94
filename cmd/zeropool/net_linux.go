//go:build !zeropool_portable

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

func runNet(args []string, stdout, stderr io.Writer) int {
	size := sizeFlag{16 << 10}
	budget := sizeFlag{256 << 20}
	fs := flag.NewFlagSet("net", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&size, "size", "bytes per message the clients write, and per receive buffer: 4KiB, 16KiB, 64KiB, ...")
	fs.Var(&budget, "bytes", "bytes the clients send per run (all connections together), echoed back")
	conns := fs.Int("conns", 4, "`n` connections")
	limit := fs.Duration("time", 10*time.Second, "the most a run's clients keep sending")
	rounds := fs.Int("rounds", 3, "`n` runs of each echo, interleaved")
	count := fs.Int("count", 256, "`n` buffers in the io_uring echo's buffer ring (a power of two)")
	only := fs.String("run", "", "run only the echoes whose name matches this `regexp`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: zeropool net [-conns 4] [-size 16KiB] [-bytes 256MiB] [-time 10s] [-rounds 3] [-count 256]

A TCP echo over 127.0.0.1, served four ways to the same clients (net.Conn, in this process):

  io_uring + SENDMSG_ZC  one ring on one thread: a multishot receive per connection into an
                         iouring.BufRing of pooled buffers; each message is detached (kept
                         without a copy) and sent back as it is: the messages waiting on a
                         connection in one IORING_OP_SENDMSG_ZC (SEND_ZC with an iovec per
                         buffer), each buffer held by an iouring.ZeroCopySends (pool.Retain)
                         until the notification
  io_uring + SENDMSG     the same with IORING_OP_SENDMSG (the kernel copies); each message is
                         put back once the kernel has taken it
  net.Conn + heap        a goroutine reads each message into a new make([]byte) and hands it to
                         the connection's writer goroutine (a message kept without a copy, Go's
                         way)
  net.Conn + reuse       one goroutine per connection reads into one buffer and writes it back

Each run is bounded by -bytes and -time. Reports throughput, garbage collections, Go heap
allocated per MiB echoed, and the process's CPU time per GiB echoed (clients included: the
same in every row).

`)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args, stderr); !ok {
		return code
	}
	switch {
	case size.n < 1 || size.n > 1<<20:
		fmt.Fprintln(stderr, "zeropool net: -size must be 1 byte to 1 MiB")
		return exitUsage
	case *conns < 1 || *conns > 1024:
		fmt.Fprintln(stderr, "zeropool net: -conns must be 1 to 1024")
		return exitUsage
	case budget.n < size.n:
		fmt.Fprintln(stderr, "zeropool net: -bytes must be at least -size")
		return exitUsage
	case *limit <= 0:
		fmt.Fprintln(stderr, "zeropool net: -time must be positive")
		return exitUsage
	case *rounds < 1:
		fmt.Fprintln(stderr, "zeropool net: -rounds must be at least 1")
		return exitUsage
	case *count < 1 || *count > iouring.MaxBufRingCount || *count&(*count-1) != 0:
		fmt.Fprintf(stderr, "zeropool net: -count must be a power of two from 1 to %d\n", iouring.MaxBufRingCount)
		return exitUsage
	}
	var es []echo
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(stderr, "zeropool net: -run:", err)
		return exitUsage
	}
	for _, e := range echoes() {
		if re.MatchString(e.name) {
			es = append(es, e)
		}
	}
	if len(es) == 0 {
		fmt.Fprintf(stderr, "zeropool net: -run %q matches no echo\n", *only)
		return exitUsage
	}
	cfg := echoConfig{conns: *conns, size: size.n, budget: int64(budget.n), limit: *limit, count: *count}
	if err := netDemo(cfg, es, *rounds, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "zeropool net:", err)
		return exitFail
	}
	return exitOK
}

// echoConfig is what every run of every echo shares.
type echoConfig struct {
	conns, size int
	budget      int64
	limit       time.Duration
	count       int // buffers of the io_uring echo's BufRing
}

// echoRun is what one run measured.
type echoRun struct {
	elapsed  time.Duration
	bytes    int64         // echoed: sent by the clients and read back by them, checked
	gcs      uint32        // garbage collections during the run
	alloc    uint64        // Go heap allocated during the run
	cpu      time.Duration // user + system time of the process during the run
	zcSends  int           // SEND_ZC notifications
	zcCopied int           // of them, those that said the kernel copied the data
}

func (r echoRun) mbps() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }

// heapPerMiB is the Go heap allocated per MiB echoed.
func (r echoRun) heapPerMiB() float64 { return float64(r.alloc) / (float64(r.bytes) / (1 << 20)) }

// cpuPerGiB is the process's CPU seconds per GiB echoed.
func (r echoRun) cpuPerGiB() float64 { return r.cpu.Seconds() / (float64(r.bytes) / (1 << 30)) }

// echo is one way to serve the echo: it serves the accepted connections until every client
// has closed its side and every byte went back, then closes them.
type echo struct {
	name, how string
	serve     func(cfg echoConfig, conns []*net.TCPConn, run *echoRun) error
}

func echoes() []echo {
	return []echo{
		{"io_uring + SENDMSG_ZC", "multishot receive into a pooled BufRing, Detach, SENDMSG_ZC of the waiting messages, each held until the notification", func(cfg echoConfig, c []*net.TCPConn, r *echoRun) error {
			return serveURing(cfg, c, true, r)
		}},
		{"io_uring + SENDMSG", "the same with SENDMSG (the kernel copies): each message put back once sent", func(cfg echoConfig, c []*net.TCPConn, r *echoRun) error {
			return serveURing(cfg, c, false, r)
		}},
		{"net.Conn + heap", "make([]byte) per read, handed to a writer goroutine", serveHeap},
		{"net.Conn + reuse", "one buffer per connection, read then write", serveReuse},
	}
}

func netDemo(cfg echoConfig, es []echo, rounds int, stdout, stderr io.Writer) error {
	if err := uring.Unavailable(); err != nil {
		return err
	}
	ring, err := uring.New(8)
	if err != nil {
		return err
	}
	ok, err := ring.Supports(uring.OpSendZC)
	err = errors.Join(err, ring.Close())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the kernel lacks IORING_OP_SEND_ZC and multishot receives (Linux 6.0)")
	}
	pattern := newPattern(cfg.size)
	runs := make([][]echoRun, len(es))
	fmt.Fprintf(stderr, "echoing up to %s or %v per run over %d connections, %s messages, %d rounds\n",
		pool.FormatBytes(cfg.budget), cfg.limit, cfg.conns, pool.FormatBytes(int64(cfg.size)), rounds)
	for round := range rounds {
		for i, e := range es {
			r, err := measureEcho(cfg, e, pattern)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			runs[i] = append(runs[i], r)
			fmt.Fprintf(stderr, "  round %d  %-21s %8.1f MB/s  %3d GCs  %9.1f B heap/MiB  %5.2f CPU s/GiB\n",
				round+1, e.name, r.mbps(), r.gcs, r.heapPerMiB(), r.cpuPerGiB())
		}
	}

	fmt.Fprintf(stdout, "TCP echo over 127.0.0.1: %d connections, %s messages, up to %s or %v per run, %d rounds (GOMAXPROCS %d)\n\n",
		cfg.conns, pool.FormatBytes(int64(cfg.size)), pool.FormatBytes(cfg.budget), cfg.limit, rounds, runtime.GOMAXPROCS(0))
	t := &table{header: []string{"echo", "median MB/s", "GCs/run", "Go heap/MiB", "CPU s/GiB", "echoed/run"}}
	for i, e := range es {
		rs := runs[i]
		var gcs uint64
		var moved int64
		for _, r := range rs {
			gcs += uint64(r.gcs)
			moved += r.bytes
		}
		n := len(rs)
		t.add(e.name, fmt.Sprintf("%.1f", median(rs, echoRun.mbps)), fmt.Sprintf("%.1f", float64(gcs)/float64(n)),
			pool.FormatBytes(int64(median(rs, echoRun.heapPerMiB))), fmt.Sprintf("%.2f", median(rs, echoRun.cpuPerGiB)),
			pool.FormatBytes(moved/int64(n)))
	}
	if err := t.render(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, e := range es {
		fmt.Fprintf(stdout, "%-22s  %s\n", e.name+":", e.how)
	}
	fmt.Fprintln(stdout, "median MB/s, Go heap/MiB, CPU s/GiB: medians of the runs; CPU is the whole process's (the clients' share is the same in every row)")
	var zc, copied int
	for _, rs := range runs {
		for _, r := range rs {
			zc += r.zcSends
			copied += r.zcCopied
		}
	}
	if zc > 0 {
		fmt.Fprintf(stdout, "SEND_ZC: %d notifications, %d of them say the kernel copied the data (loopback delivers by copying)\n", zc, copied)
	}
	return nil
}

// median returns the median of f over runs.
func median(runs []echoRun, f func(echoRun) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// measureEcho connects the clients, serves them with e, and measures the run from the
// clients' first write until every byte is back and the server has finished.
func measureEcho(cfg echoConfig, e echo, pattern []byte) (echoRun, error) {
	server, clients, err := connectPairs(cfg.conns)
	if err != nil {
		return echoRun{}, err
	}
	var run echoRun
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, err := processCPU()
	if err != nil {
		return run, err
	}
	start := time.Now()
	served := make(chan error, 1)
	go func() { served <- e.serve(cfg, server, &run) }()
	moved, cerr := runClients(clients, cfg, pattern, start.Add(cfg.limit))
	serr := <-served
	run.elapsed = time.Since(start)
	cpu1, err := processCPU()
	runtime.ReadMemStats(&after)
	run.bytes = moved
	run.gcs = after.NumGC - before.NumGC
	run.alloc = after.TotalAlloc - before.TotalAlloc
	run.cpu = cpu1 - cpu0
	return run, errors.Join(cerr, serr, err)
}

// processCPU is the user and system time this process has used.
func processCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// connectPairs makes n loopback TCP connections and returns both ends of each. The listener
// is plain TCP: Go's listeners are Multipath TCP by default (Go 1.24), and the connections
// they accept refuse SEND_ZC (EOPNOTSUPP) even when the client speaks plain TCP.
func connectPairs(n int) (server, client []*net.TCPConn, err error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	ln := l.(*net.TCPListener)
	defer ln.Close()
	closeAll := func() {
		for _, c := range append(server, client...) {
			_ = c.Close()
		}
	}
	for range n {
		c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		client = append(client, c)
		s, err := ln.AcceptTCP()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		server = append(server, s)
	}
	return server, client, nil
}

// patternPeriod is the period of the bytes the clients send: not a multiple of any message
// size, so that a message echoed to the wrong place or twice shows.
const patternPeriod = 1<<20 + 4099

// newPattern returns the clients' bytes: one period and a message more, so that a message
// starting anywhere in the period is one slice of it.
func newPattern(size int) []byte {
	p := make([]byte, patternPeriod+size)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	copy(p[patternPeriod:], p) // the extra message repeats the start
	return p
}

// runClients runs one client per connection: a goroutine writes messages of cfg.size from
// the pattern until its share of cfg.budget is sent or the deadline has passed, then closes
// its side; another reads the echo until the server closes, checking every byte against what
// was sent. It returns the bytes echoed.
func runClients(conns []*net.TCPConn, cfg echoConfig, pattern []byte, deadline time.Time) (int64, error) {
	share := cfg.budget / int64(len(conns))
	type result struct {
		sent, got int64
		err       error
	}
	results := make(chan result, 2*len(conns))
	for _, c := range conns {
		sentc := make(chan int64, 1)
		go func() {
			var sent int64
			var err error
			for sent < share && time.Now().Before(deadline) {
				n := int64(cfg.size)
				n = min(n, share-sent)
				o := sent % patternPeriod
				if _, err = c.Write(pattern[o : o+n]); err != nil {
					break
				}
				sent += n
			}
			err = errors.Join(err, c.CloseWrite())
			sentc <- sent
			results <- result{sent: sent, err: err}
		}()
		go func() {
			buf := make([]byte, cfg.size)
			var got int64
			var err error
			for {
				n, rerr := c.Read(buf)
				if n > 0 {
					o := got % patternPeriod
					if !bytes.Equal(buf[:n], pattern[o:o+int64(n)]) {
						err = fmt.Errorf("the echo of bytes %d to %d differs from what was sent", got, got+int64(n))
						break
					}
					got += int64(n)
				}
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					err = rerr
					break
				}
			}
			if sent := <-sentc; err == nil && got != sent {
				err = fmt.Errorf("%d bytes echoed of %d sent", got, sent)
			}
			results <- result{got: got, err: errors.Join(err, c.Close())}
		}()
	}
	var moved int64
	var errs []error
	for range 2 * len(conns) {
		r := <-results
		moved += r.got
		errs = append(errs, r.err)
	}
	return moved, errors.Join(errs...)
}
