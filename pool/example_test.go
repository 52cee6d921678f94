package pool_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/zeropool-go/zeropool/pool"
)

// The quick start of the README: one pool for the process, Get a buffer, use it, Put it back.
// The README shows this body word for word (TestReadmeExampleIsThePoolExample in cmd/zeropool).
func Example() {
	p := pool.New()
	defer p.Close()

	buf := p.Get(1 << 20) // 1 MiB, outside the Go heap; not zeroed when reused
	n := copy(buf, "hello, off-heap world")
	fmt.Println(len(buf), string(buf[:n]))

	if err := p.Put(buf); err != nil {
		log.Fatal(err)
	}
	fmt.Println("idle buffers:", p.Len())
	// Output:
	// 1048576 hello, off-heap world
	// idle buffers: 1
}

// A configured pool. Zero fields keep their defaults.
func ExampleNewWithConfig() {
	p, err := pool.NewWithConfig(pool.Config{
		MinBufferSize:      512 << 10, // the shared depot keeps buffers >= 512 KiB
		LocalCacheSize:     8,         // 8 buffers per P per size class
		MaxBuffersPerShard: 32,        // up to 32 buffers per shard
		NumShards:          16,        // override the CPU-based default
		Pinned:             true,      // mlock, best effort
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	buf := p.GetZeroed(4 << 20)
	fmt.Println(len(buf), buf[0])
	if err := p.Put(buf); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Config().NumShards, p.Config().LocalCacheSize)
	// Output:
	// 4194304 0
	// 16 8
}

// Put refuses what it did not hand out, and a buffer it already took back; the pool is
// unchanged either way.
func ExampleBufferPool_Put() {
	p := pool.New()
	defer p.Close()

	buf := p.Get(64 << 10)
	fmt.Println(errors.Is(p.Put(make([]byte, 10)), pool.ErrNotOwned)) // heap memory
	fmt.Println(errors.Is(p.Put(buf[1:]), pool.ErrNotOwned))          // interior slice
	fmt.Println(p.Put(buf[:0]))                                       // len and cap may differ
	fmt.Println(errors.Is(p.Put(buf), pool.ErrDoublePut))

	empty := p.Get(0)
	fmt.Println(len(empty), p.Put(empty))
	// Output:
	// true
	// true
	// <nil>
	// true
	// 0 <nil>
}
