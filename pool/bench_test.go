package pool_test

import (
	"errors"
	"strconv"
	"testing"

	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// The headline workloads of the package against sync.Pool in the same run (the ratio is what
// counts, not the absolute times: the machines are shared and noisy). The loops are defined
// once, in internal/workloads, which bench/ (more peers) and `zeropool bench` run too.

func BenchmarkHotPath(b *testing.B) {
	for _, size := range wl.HotPathSizes {
		b.Run("size="+wl.SizeName(size)+"/impl=zeropool", func(b *testing.B) {
			p := pool.New()
			defer p.Close()
			b.ReportAllocs()
			wl.HotPath(b, p, size)
		})
		b.Run("size="+wl.SizeName(size)+"/impl=sync.Pool", func(b *testing.B) {
			b.ReportAllocs()
			wl.HotPathSyncPool(b, size)
		})
	}
}

func BenchmarkHotPathParallel(b *testing.B) {
	for _, size := range wl.ParallelSizes {
		b.Run("size="+wl.SizeName(size)+"/impl=zeropool", func(b *testing.B) {
			p := pool.New()
			defer p.Close()
			b.ReportAllocs()
			wl.HotPathParallel(b, p, size)
		})
		b.Run("size="+wl.SizeName(size)+"/impl=sync.Pool", func(b *testing.B) {
			b.ReportAllocs()
			wl.HotPathParallelSyncPool(b, size)
		})
	}
}

func BenchmarkBurst(b *testing.B) {
	for _, size := range wl.BurstSizes {
		for _, n := range wl.BurstNs {
			name := "size=" + wl.SizeName(size) + "/n=" + strconv.Itoa(n)
			b.Run(name+"/impl=zeropool", func(b *testing.B) {
				p := pool.New()
				defer p.Close()
				b.ReportAllocs()
				wl.Burst(b, p, size, n)
			})
			b.Run(name+"/impl=sync.Pool", func(b *testing.B) {
				b.ReportAllocs()
				wl.BurstSyncPool(b, size, n)
			})
		}
	}
}

// A secret's round trip: Get 32 bytes from a Secure pool, copy a key in, Put (which checks
// the canary and wipes).
func BenchmarkSecureGetPut32(b *testing.B) {
	p, err := pool.NewWithConfig(pool.Config{Secure: true})
	if errors.Is(err, errors.ErrUnsupported) {
		b.Skip(err) // Secure pools are Linux's
	}
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ReportAllocs()
	wl.Secret(b, p)
}
