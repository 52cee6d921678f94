package procfs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MapFiller brings the process to vm.max_map_count, for tests of what happens there. Lowering
// the limit would change it for the whole system; the filler instead holds many map entries
// of its own: one mapping whose every other page has another protection, so that no two
// neighbouring pages merge into one entry. Only a test's child process should use it: at the
// limit, a Go runtime that needs a new mapping dies.
type MapFiller struct {
	base  uintptr // the filler's mapping
	pages int
	pg    int
	first int // first page still mapped after page 0: Release unmaps from the front
	next  int // next page to split off: Fill protects odd pages from here on
	// The collector's setting while Fill has turned it off.
	gcPercent int
	gcOff     bool
}

// CanFillMapCount reports why this build cannot use a MapFiller (under the race detector), or
// nil. A test that needs one skips with that reason.
func CanFillMapCount() error { return errFiller }

// NewMapFiller reserves enough address space (never touched: it costs no memory) to fill the
// process's map count, without filling it yet. It also readies the Go runtime for life at the
// limit: it grows the heap and starts threads now, since at the limit the runtime could map
// neither a heap arena nor a thread stack.
func NewMapFiller() (*MapFiller, error) {
	if err := CanFillMapCount(); err != nil {
		return nil, err
	}
	limit, err := MaxMapCount()
	if err != nil {
		return nil, err
	}
	count, err := MapCount()
	if err != nil {
		return nil, err
	}
	// Page 0 may merge with a neighbour; every page from 1 on is an entry of its own once split.
	f := &MapFiller{pg: os.Getpagesize(), first: 1, next: 1}
	f.pages = limit - count + 4096 // a split page makes two entries; the rest allows refills
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(f.pages*f.pg), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("map count filler: %w", err)
	}
	f.base = uintptr(p)
	readyRuntime()
	return f, nil
}

// readyRuntime makes the runtime map now what it would otherwise map at the limit: heap
// arenas, by allocating a big object and letting it go (its pages stay mapped, free for
// later allocations), and threads (with cgo, a thread's stack is a new mapping).
func readyRuntime() {
	ballast := make([]byte, 256<<20)
	runtime.KeepAlive(ballast)
	ballast = nil
	runtime.GC()
	startThreads(8 + 4*runtime.GOMAXPROCS(0))
}

// startThreads makes the runtime start about n more threads, which it then keeps idle for
// later use. Goroutines blocked in system calls hold their threads while the runtime hands
// their Ps to new threads, to run goroutines that have work.
func startThreads(n int) {
	var stop atomic.Bool
	var busy, blocked sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		busy.Go(func() {
			for !stop.Load() {
				runtime.Gosched()
			}
		})
	}
	for range n {
		blocked.Go(func() {
			ts := unix.Timespec{Nsec: 20e6}
			_ = unix.Nanosleep(&ts, nil)
		})
	}
	blocked.Wait()
	stop.Store(true)
	busy.Wait()
}

// Fill splits pages off until the kernel refuses a split: the process is then at
// vm.max_map_count exactly (a refused split of a page from the middle of an entry has made
// the first of its two cuts when one more entry fitted). It turns the garbage collector off
// until the next Release or Close: at the limit the collector cannot map the memory it needs
// for itself, and fails.
func (f *MapFiller) Fill() error {
	if !f.gcOff {
		f.gcPercent, f.gcOff = debug.SetGCPercent(-1), true // waits for a collection under way
	}
	for ; f.next < f.pages-1; f.next += 2 {
		_, _, e := unix.Syscall(unix.SYS_MPROTECT, f.base+uintptr(f.next*f.pg), uintptr(f.pg), unix.PROT_READ)
		if e == unix.ENOMEM {
			return nil
		}
		if e != 0 {
			return fmt.Errorf("map count filler: mprotect: %w", e)
		}
	}
	return errors.New("map count filler: out of pages before the limit")
}

// Release gives back at least n map entries (fewer if fewer are filled), from the front, and
// turns the garbage collector back on.
func (f *MapFiller) Release(n int) error {
	defer f.gcOn()
	k := min(2*n, f.next-f.first) // every page from first to next-1 is an entry of its own
	if k <= 0 {
		return errors.New("map count filler: nothing filled to release")
	}
	if err := f.unmap(f.first, k); err != nil {
		return err
	}
	f.first += k
	return nil
}

// Close unmaps what is left of the filler and turns the garbage collector back on.
func (f *MapFiller) Close() error {
	defer f.gcOn()
	if f.first == f.pages {
		return nil
	}
	err := errors.Join(f.unmap(0, 1), f.unmap(f.first, f.pages-f.first))
	f.first = f.pages
	return err
}

func (f *MapFiller) unmap(from, n int) error {
	_, _, e := unix.Syscall(unix.SYS_MUNMAP, f.base+uintptr(from*f.pg), uintptr(n*f.pg), 0)
	if e != 0 {
		return fmt.Errorf("map count filler: munmap: %w", e)
	}
	return nil
}

func (f *MapFiller) gcOn() {
	if f.gcOff {
		debug.SetGCPercent(f.gcPercent)
		f.gcOff = false
	}
}
