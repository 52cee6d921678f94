//go:build !zeropool_portable

package iouring

import (
	"testing"

	"github.com/zeropool-go/zeropool/pool"
)

// BenchmarkIndex looks a buffer up among 64 registered regions, as an I/O path does before
// every fixed operation.
func BenchmarkIndex(b *testing.B) {
	r := newRing(b)
	tb := newTable(b, r, 128)
	p := hooked(b, tb, pool.Config{})
	var bufs [][]byte
	for range 64 {
		bufs = append(bufs, p.Get(1<<20))
	}
	b.ReportAllocs()
	var sink uint16
	for i := 0; b.Loop(); i++ {
		idx, ok := tb.Index(bufs[i&63])
		if !ok {
			b.Fatal("not registered")
		}
		sink += idx
	}
	_ = sink
	b.StopTimer()
	for _, buf := range bufs {
		if err := p.Put(buf); err != nil {
			b.Fatal(err)
		}
	}
}
