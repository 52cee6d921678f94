//go:build zeropool_linecheck

package pool

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Built with -tags zeropool_linecheck (make test runs it so), the Get and Put fast paths
// record every cache line they write (see noteWrite). These tests move buffers between Ps the
// way servers do (a handoff from a getting goroutine to a putting one), then record a steady
// state of two Ps cycling those buffers and of the handoff itself, and check the layout rule
// without timing anything:
//   - a line holding a buffer's state is written for that buffer only: any two buffers can be
//     on two Ps, so two buffers' states in one line would be a line two Ps write on every Get
//     and Put (the state line moves between Ps only with its buffer, as the buffer's data does);
//   - a P's cache line is written by that P only.
//
// Magazines are left out of the rule: a magazine moves between Ps whole, through the depot,
// once per magazine of buffers. Classes below 4 KiB are left out too: their state lines are
// shared by the buffers of one 4 KiB of slab (see stateGap).

func TestFastPathsWriteNoLineOfTwoPs(t *testing.T) {
	for _, size := range []int{4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			prev := runtime.GOMAXPROCS(2)
			defer runtime.GOMAXPROCS(prev)
			p := newPool(t, Config{})
			const n = 2000
			handoff(t, p, size, n) // the buffers move between Ps first
			startLineCheck()
			cycle(t, p, size, n)
			handoff(t, p, size, n)
			recs, full := stopLineCheck()
			require.False(t, full, "the line table is too small for this test")

			var writes, stateWrites, sharedWrites, stateLines, sharedState, sharedPCache uint64
			for _, r := range recs {
				writes += r.writes
				switch r.kind {
				case lineState:
					stateLines++
					stateWrites += r.writes
					if r.multiBuf {
						sharedState++
						sharedWrites += r.writes
						assert.Fail(t, "a state line holds two buffers' states",
							"line %#x written for buffer %#x and another (Ps %b, %d writes)", r.line, r.buf, r.pids, r.writes)
					}
				case linePCache:
					if bits.OnesCount64(r.pids) > 1 {
						sharedPCache++
						assert.Fail(t, "a P's cache line was written by two Ps", "line %#x (Ps %b)", r.line, r.pids)
					}
				}
			}
			require.NotZero(t, stateLines, "no state write recorded: the recorder is not wired to the fast paths")
			// The model for many cores: every Get and Put writes its buffer's state line once, so
			// the share of state writes that land on a line of several buffers is the number of
			// lines per op that Ps holding buffers of one slab contend for.
			t.Logf("%d lines, %d writes; state lines %d, shared between buffers %d; shared state lines written per Get or Put %.2f; P cache lines written by two Ps %d",
				len(recs), writes, stateLines, sharedState, float64(sharedWrites)/float64(max(stateWrites, 1)), sharedPCache)
		})
	}
}

// handoff gets n buffers on one goroutine and puts them on another, over a channel.
func handoff(t *testing.T, p *BufferPool, size, n int) {
	ch := make(chan []byte, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range ch {
			assert.NoError(t, p.Put(b))
		}
	}()
	for range n {
		ch <- p.Get(size)
	}
	close(ch)
	wg.Wait()
}

// cycle runs two goroutines that each get three buffers and put them back, n times.
func cycle(t *testing.T, p *BufferPool, size, n int) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held [3][]byte
			for i := range n {
				for j := range held {
					held[j] = p.Get(size)
				}
				for _, b := range held {
					assert.NoError(t, p.Put(b))
				}
				if i%64 == 0 {
					runtime.Gosched() // let the scheduler move the goroutines between Ps
				}
			}
		}()
	}
	wg.Wait()
}
