package bench

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// Buffers that move between Ps, each against sync.Pool as a user with one size writes it
// (impl=sync.Pool-1size: sync.Pool{New: ... &b}, *[]byte) and against ClassPools
// (impl=sync.Pool, one sync.Pool per power-of-two class):
//   - parallel: Get+Put on every P at once after a handoff has mixed the buffers, so the Ps
//     cycle slots of the same slabs (what happens as soon as buffers travel);
//   - handoff: Get on one goroutine, send over a channel, Put on another; one op is one
//     buffer, the channel included;
//   - oversubscribed: the parallel loop at GOMAXPROCS 8 on this machine's cores.

const movingSize = 64 * kib

// movingImpl is one impl's loop of a moving workload.
type movingImpl struct {
	name string
	run  func(b *testing.B, work string)
}

var movingImpls = []movingImpl{
	{implSyncPoolOneSize, func(b *testing.B, work string) {
		sp := &sync.Pool{New: func() any { b := make([]byte, movingSize); return &b }}
		moving(b, work, func() *[]byte { return sp.Get().(*[]byte) }, func(p *[]byte) { sp.Put(p) })
	}},
	{implSyncPool, func(b *testing.B, work string) {
		cp := new(wl.ClassPools)
		moving(b, work, func() *[]byte { return cp.Get(movingSize) }, cp.Put)
	}},
	{implZeropool, func(b *testing.B, work string) {
		p := pool.New()
		defer p.Close()
		moving(b, work, func() []byte { return p.Get(movingSize) }, func(buf []byte) { must(b, p.Put(buf)) })
	}},
	// The configuration docs/configuration.md gives for pipelines: magazines of 64, so the
	// handoff's getting and putting Ps trade with the depot every 64 buffers instead of 4.
	{implZeropool + "-lcs64", func(b *testing.B, work string) {
		p, err := pool.NewWithConfig(pool.Config{LocalCacheSize: 64})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		moving(b, work, func() []byte { return p.Get(movingSize) }, func(buf []byte) { must(b, p.Put(buf)) })
	}},
}

func BenchmarkMoving(b *testing.B) {
	for _, work := range []string{"parallel", "handoff", "oversubscribed"} {
		for _, im := range movingImpls {
			b.Run(fmt.Sprintf("work=%s/size=%s/impl=%s", work, wl.SizeName(movingSize), im.name), func(b *testing.B) {
				settle()
				im.run(b, work)
			})
		}
	}
}

// moving runs one moving workload on an impl's get and put. Every impl's loop is this one,
// instantiated for its buffer type, so each pays the same two closure calls per buffer.
func moving[T any](b *testing.B, work string, get func() T, put func(T)) {
	switch work {
	case "parallel":
		movingParallel(b, get, put, 0)
	case "handoff":
		handoffN(get, put, 1000)
		b.ReportAllocs()
		b.ResetTimer()
		handoffN(get, put, b.N)
	case "oversubscribed":
		movingParallel(b, get, put, 8)
	}
}

// movingParallel mixes the buffers between Ps with a handoff of 1,000, then runs Get+Put on
// every P (at GOMAXPROCS procs when procs > 0).
func movingParallel[T any](b *testing.B, get func() T, put func(T), procs int) {
	if procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	handoffN(get, put, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			put(get())
		}
	})
}

// handoffN gets n buffers on this goroutine and puts them on another, over a channel.
func handoffN[T any](get func() T, put func(T), n int) {
	ch := make(chan T, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for x := range ch {
			put(x)
		}
	}()
	for range n {
		ch <- get()
	}
	close(ch)
	wg.Wait()
}
