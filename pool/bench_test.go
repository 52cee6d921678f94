package pool

import (
	"fmt"
	"sync"
	"testing"
)

// The hot path against sync.Pool in the same run: the ratio is what counts, not the absolute
// times (the machines are shared and noisy). bench/ compares against more peers.
func BenchmarkHotPath(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("size=%s/impl=zeropool", FormatBytes(int64(size))), func(b *testing.B) {
			p := New()
			defer p.Close()
			p.Put(p.Get(size))
			b.ReportAllocs()
			for b.Loop() {
				buf := p.Get(size)
				buf[0] = 1
				_ = p.Put(buf)
			}
		})
		b.Run(fmt.Sprintf("size=%s/impl=sync.Pool", FormatBytes(int64(size))), func(b *testing.B) {
			sp := sync.Pool{New: func() any { s := make([]byte, size); return &s }}
			b.ReportAllocs()
			for b.Loop() {
				buf := sp.Get().(*[]byte)
				(*buf)[0] = 1
				sp.Put(buf)
			}
		})
	}
}

func BenchmarkHotPathParallel(b *testing.B) {
	const size = 64 << 10
	b.Run("impl=zeropool", func(b *testing.B) {
		p := New()
		defer p.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				buf := p.Get(size)
				buf[0] = 1
				_ = p.Put(buf)
			}
		})
	})
	b.Run("impl=sync.Pool", func(b *testing.B) {
		sp := sync.Pool{New: func() any { s := make([]byte, size); return &s }}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				buf := sp.Get().(*[]byte)
				(*buf)[0] = 1
				sp.Put(buf)
			}
		})
	})
}

// A secret's round trip: Get 32 bytes from a Secure pool, copy a key in, Put (which checks
// the canary and wipes).
func BenchmarkSecureGetPut32(b *testing.B) {
	p, err := NewWithConfig(Config{Secure: true})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	_ = p.Put(p.Get(32))
	b.ReportAllocs()
	for b.Loop() {
		buf := p.Get(32)
		copy(buf, key)
		if err := p.Put(buf); err != nil {
			b.Fatal(err)
		}
	}
}
