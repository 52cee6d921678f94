// Command icount runs one workload a given number of rounds, so that an instruction counter
// (valgrind's callgrind or cachegrind) can measure it: run it twice with different -rounds and
// divide the difference in instructions by the difference in buffers. Instruction counts do
// not move with the machine's noise, as wall times do.
//
//	valgrind --tool=cachegrind --cache-sim=yes ./icount -impl zeropool -work burst -n 1000 -rounds 20
//
// Workloads: hot (Get+Put of one buffer), burst (Get n buffers, then Put them all), procs
// (hot on a pool built at GOMAXPROCS 1, then run with GOMAXPROCS -procs), retain (zeropool
// only: Get, Retain, then two Puts, the first of which only drops a reference).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/zeropool-go/zeropool/pool"
)

func main() {
	impl := flag.String("impl", "zeropool", "zeropool or sync.Pool")
	work := flag.String("work", "hot", "hot, burst, procs or retain")
	size := flag.Int("size", 4<<10, "buffer size in bytes")
	n := flag.Int("n", 1000, "buffers held at once (burst)")
	rounds := flag.Int("rounds", 1000, "rounds")
	procs := flag.Int("procs", 8, "GOMAXPROCS after New (procs)")
	track := flag.Int("track", 0, "Config.TrackRate of the pool (zeropool)")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	if *work == "procs" {
		// The pool is built at GOMAXPROCS 1 and used at -procs: its later Ps need caches too.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	}
	switch *impl {
	case "zeropool":
		p, err := pool.NewWithConfig(pool.Config{TrackRate: *track})
		if err != nil {
			fmt.Fprintln(os.Stderr, "icount:", err)
			os.Exit(2)
		}
		if *work == "procs" {
			runtime.GOMAXPROCS(*procs)
		}
		if *work == "retain" {
			for range *rounds {
				b := p.Get(*size)
				_ = p.Retain(b)
				_ = p.Put(b)
				_ = p.Put(b)
			}
			return
		}
		run(*work, *n, *rounds, func() []byte { return p.Get(*size) }, func(b []byte) { _ = p.Put(b) })
	case "sync.Pool":
		// As users write it: *[]byte, so that Put does not allocate.
		sp := sync.Pool{New: func() any { b := make([]byte, *size); return &b }}
		if *work == "procs" {
			runtime.GOMAXPROCS(*procs)
		}
		run(*work, *n, *rounds, func() *[]byte { return sp.Get().(*[]byte) }, func(b *[]byte) { sp.Put(b) })
	default:
		fmt.Fprintln(os.Stderr, "icount: unknown -impl", *impl)
		os.Exit(2)
	}
}

func run[T any](work string, n, rounds int, get func() T, put func(T)) {
	held := make([]T, n)
	switch work {
	case "hot", "procs":
		for range rounds {
			put(get())
		}
	case "burst":
		for range rounds {
			for i := range held {
				held[i] = get()
			}
			for _, b := range held {
				put(b)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "icount: unknown -work", work)
		os.Exit(2)
	}
}
