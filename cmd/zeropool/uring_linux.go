//go:build !zeropool_portable

package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/iouring"
	"github.com/zeropool-go/zeropool/pool"
)

func runURing(args []string, stdout, stderr io.Writer) int {
	size := sizeFlag{1 << 20}
	fs := flag.NewFlagSet("uring", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&size, "size", "bytes per read: 4KiB, 64KiB, 1MiB, ... (a multiple of 4 KiB for O_DIRECT)")
	depth := fs.Int("depth", 8, "`n` reads in flight")
	rounds := fs.Int("rounds", 3, "`n` runs of each kind, alternating")
	direct := fs.Bool("direct", true, "open FILE with O_DIRECT (off for filesystems that refuse it, such as tmpfs)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: zeropool uring [-size 1MiB] [-depth 8] [-rounds 3] [-direct=true] FILE
       (the flags may also follow FILE)

Reads FILE from start to end through io_uring, twice per round: into pooled buffers with
READ_FIXED (a pool with Populate and Pinned whose regions are registered with the ring by an
iouring.Table), and into fresh heap buffers (make([]byte) per read) with IORING_OP_READ.
Reports throughput, garbage collections and Go heap allocation of each, and VmPin/VmLck
(pinned and locked memory, as the kernel counts them) before, while and after.

`)
		fs.PrintDefaults()
	}
	files, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(files) != 1:
		fmt.Fprintf(stderr, "zeropool uring: want one FILE to read, got %d %q (flags go before or after it: zeropool uring FILE -rounds 1)\n", len(files), files)
		return exitUsage
	case size.n <= 0 || size.n > iouring.MaxRegionSize:
		fmt.Fprintf(stderr, "zeropool uring: -size must be 1 byte to %s\n", pool.FormatBytes(iouring.MaxRegionSize))
		return exitUsage
	case *direct && size.n%4096 != 0:
		fmt.Fprintln(stderr, "zeropool uring: with O_DIRECT, -size must be a multiple of 4 KiB")
		return exitUsage
	case *depth <= 0 || *depth > 1024:
		fmt.Fprintln(stderr, "zeropool uring: -depth must be 1 to 1024")
		return exitUsage
	case *rounds <= 0:
		fmt.Fprintln(stderr, "zeropool uring: -rounds must be at least 1")
		return exitUsage
	}
	if err := uringDemo(files[0], size.n, *depth, *rounds, *direct, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "zeropool uring:", err)
		return exitFail
	}
	return exitOK
}

// uringRun is what one pass over the file measured.
type uringRun struct {
	elapsed  time.Duration
	bytes    int64
	gcs      uint32
	alloc    uint64 // Go heap bytes allocated during the pass
	checksum uint64
}

func (r uringRun) mbps() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }

// memCounts is VmPin and VmLck at one moment.
type memCounts struct{ pin, lck int64 }

func readMemCounts() (memCounts, error) {
	pin, err := procfs.StatusBytes("VmPin")
	if err != nil {
		return memCounts{}, err
	}
	lck, err := procfs.StatusBytes("VmLck")
	return memCounts{pin, lck}, err
}

func (m memCounts) String() string {
	return pool.FormatBytes(m.pin) + " / " + pool.FormatBytes(m.lck)
}

func uringDemo(path string, size, depth, rounds int, direct bool, stdout, stderr io.Writer) (err error) {
	if err := uring.Unavailable(); err != nil {
		return err
	}
	flags := os.O_RDONLY
	if direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0)
	if errors.Is(err, unix.EINVAL) && direct {
		return fmt.Errorf("%w: the filesystem of %s refuses O_DIRECT; run with -direct=false", err, path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return fmt.Errorf("%s: want a regular file that is not empty", path)
	}

	before, err := readMemCounts()
	if err != nil {
		return err
	}
	ring, err := uring.New(uint32(depth))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ring.Close()) }()
	// Regions: one per buffer for classes above 256 KiB, 2 MiB slabs below; a few more slots
	// than in flight leave room for a slab of another class.
	tbl, err := iouring.NewTable(ring.FD(), min(iouring.MaxSlots, depth+16))
	if err != nil {
		return err
	}
	p, err := pool.NewWithConfig(pool.Config{
		Populate: true, Pinned: true, DontFork: true,
		OnMap: tbl.OnMap, OnUnmap: tbl.OnUnmap,
		MaxBufferSize: max(size, pool.DefaultMaxBufferSize),
		MaxIdleBytes:  max(int64(2*depth*size), pool.DefaultMaxIdleBytes),
	})
	if err != nil {
		return errors.Join(err, tbl.Close())
	}
	closed := false
	closeAll := func() error {
		if closed {
			return nil
		}
		closed = true
		return errors.Join(p.Close(), tbl.Close())
	}
	defer func() { err = errors.Join(err, closeAll()) }()
	if err := p.Preallocate(size, depth); err != nil {
		return fmt.Errorf("%w (registered buffers count against RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK; try a smaller -depth or -size)", err)
	}
	ready, err := readMemCounts()
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "reading %s (%s) %d times each way, %s per read, %d in flight\n",
		path, pool.FormatBytes(st.Size()), rounds, pool.FormatBytes(int64(size)), depth)
	var pooled, heap []uringRun
	for i := range rounds {
		r, err := readAll(ring, int(f.Fd()), st.Size(), size, depth, fixedReader(p, tbl, size))
		if err != nil {
			return fmt.Errorf("pool + READ_FIXED: %w", err)
		}
		pooled = append(pooled, r)
		fmt.Fprintf(stderr, "  round %d  pool + READ_FIXED  %8.1f MB/s  %4d GCs\n", i+1, r.mbps(), r.gcs)
		r, err = readAll(ring, int(f.Fd()), st.Size(), size, depth, heapReader(size))
		if err != nil {
			return fmt.Errorf("heap + READ: %w", err)
		}
		heap = append(heap, r)
		fmt.Fprintf(stderr, "  round %d  heap + READ        %8.1f MB/s  %4d GCs\n", i+1, r.mbps(), r.gcs)
	}
	for _, r := range append(pooled[1:], heap...) {
		if r.checksum != pooled[0].checksum {
			return fmt.Errorf("the runs read different bytes (checksums %#x and %#x): was the file changed meanwhile?", pooled[0].checksum, r.checksum)
		}
	}
	during, err := readMemCounts()
	if err != nil {
		return err
	}
	stats := p.Stats()
	if err := closeAll(); err != nil {
		return err
	}
	after, err := readMemCounts()
	if err != nil {
		return err
	}

	mode := "O_DIRECT"
	if !direct {
		mode = "buffered (page cache)"
	}
	fmt.Fprintf(stdout, "read %s (%s), %s, %s per read, %d in flight, %d rounds (GOMAXPROCS %d)\n\n",
		path, pool.FormatBytes(st.Size()), mode, pool.FormatBytes(int64(size)), depth, rounds, runtime.GOMAXPROCS(0))
	t := &table{header: []string{"run", "median MB/s", "best MB/s", "GCs/round", "Go heap allocated/round", "checksum"}}
	for _, row := range []struct {
		name string
		runs []uringRun
	}{{"pool + READ_FIXED", pooled}, {"heap + READ", heap}} {
		med, best := rates(row.runs)
		var gcs, alloc uint64
		for _, r := range row.runs {
			gcs += uint64(r.gcs)
			alloc += r.alloc
		}
		n := uint64(len(row.runs))
		t.add(row.name, fmt.Sprintf("%.1f", med), fmt.Sprintf("%.1f", best), fmt.Sprintf("%.1f", float64(gcs)/float64(n)),
			pool.FormatBytes(int64(alloc/n)), fmt.Sprintf("%#016x", row.runs[0].checksum))
	}
	if err := t.render(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\npool + READ_FIXED: pool.Get, READ_FIXED through the iouring.Table's slot, read, pool.Put")
	fmt.Fprintln(stdout, "heap + READ:       make([]byte), IORING_OP_READ, read, drop (with O_DIRECT the kernel pins and unpins the buffer's pages per read)")
	fmt.Fprintln(stdout, "checksum:          of one word per 4 KiB read: the same for both when they read the same bytes")
	fmt.Fprintln(stdout, "GCs, Go heap:      mean per round")
	fmt.Fprintf(stdout, "\nVmPin / VmLck: before %s; pool ready (%d × %s preallocated) %s; after the runs %s; after Close %s\n",
		before, depth, pool.FormatBytes(int64(size)), ready, during, after)
	fmt.Fprintf(stdout, "pool: %d regions mapped, %d Gets, %d hits, pin failures %d\n", stats.Maps, stats.Gets, stats.Hits, stats.PinFailures)
	return nil
}

// rates returns the median and best throughput of runs.
func rates(runs []uringRun) (median, best float64) {
	r := make([]float64, len(runs))
	for i, run := range runs {
		r[i] = run.mbps()
	}
	slices.Sort(r)
	median = r[len(r)/2]
	if len(r)%2 == 0 {
		median = (r[len(r)/2-1] + r[len(r)/2]) / 2
	}
	return median, r[len(r)-1]
}

// reader hands out a buffer and the submission that reads into it, and takes the buffer back
// once its completion has been consumed.
type reader struct {
	get  func(fd int, off int64) (uring.SQE, error)
	done func(buf []byte) error
}

func fixedReader(p *pool.BufferPool, tbl *iouring.Table, size int) reader {
	return reader{
		get: func(fd int, off int64) (uring.SQE, error) {
			b, err := p.TryGet(size)
			if err != nil {
				return uring.SQE{}, err
			}
			idx, ok := tbl.Index(b)
			if !ok {
				return uring.SQE{}, errors.Join(errors.New("a pooled buffer is in no registered region"), p.Put(b))
			}
			return uring.SQE{Op: uring.OpReadFixed, FD: fd, Off: uint64(off), Buf: b, BufIndex: idx}, nil
		},
		done: p.Put, // only after the completion: the kernel is done with the buffer
	}
}

func heapReader(size int) reader {
	return reader{
		get: func(fd int, off int64) (uring.SQE, error) {
			return uring.SQE{Op: uring.OpRead, FD: fd, Off: uint64(off), Buf: make([]byte, size)}, nil
		},
		done: func([]byte) error { return nil },
	}
}

// readAll reads the file from start to end, depth reads in flight, and consumes each buffer
// (a checksum of one word per 4 KiB) before giving it back.
func readAll(ring *uring.Ring, fd int, fileSize int64, size, depth int, rd reader) (uringRun, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	inflight := map[uint64][]byte{} // user data (the offset) → buffer
	var next int64
	var run uringRun
	var failure error
	for next < fileSize || len(inflight) > 0 {
		var batch []uring.SQE
		for failure == nil && next < fileSize && len(inflight)+len(batch) < depth {
			sqe, err := rd.get(fd, next)
			if err != nil {
				failure = err
				break
			}
			sqe.UserData = uint64(next)
			batch = append(batch, sqe)
			next += int64(size)
		}
		if len(batch) > 0 {
			if err := ring.Submit(batch...); err != nil {
				// The batch's buffers are not given back: the kernel may have taken some of its
				// entries, and a buffer must not go back before its completion.
				return run, errors.Join(err, failure, drain(ring, inflight, rd))
			}
			for _, s := range batch {
				inflight[s.UserData] = s.Buf
			}
		}
		if len(inflight) == 0 {
			break // only after a failure to get a buffer
		}
		cqes, err := ring.Wait(1)
		if err != nil {
			return run, errors.Join(err, failure)
		}
		c := cqes[0]
		buf := inflight[c.UserData]
		delete(inflight, c.UserData)
		switch want := min(int64(size), fileSize-int64(c.UserData)); {
		case c.Res < 0:
			failure = errors.Join(failure, fmt.Errorf("read at %d: %w", c.UserData, c.Err()))
		case int64(c.Res) != want:
			failure = errors.Join(failure, fmt.Errorf("read at %d: %d bytes, want %d", c.UserData, c.Res, want))
		default:
			run.bytes += int64(c.Res)
			run.checksum += sum(buf[:c.Res], c.UserData)
		}
		failure = errors.Join(failure, rd.done(buf))
	}
	run.elapsed = time.Since(start)
	runtime.ReadMemStats(&after)
	run.gcs = after.NumGC - before.NumGC
	run.alloc = after.TotalAlloc - before.TotalAlloc
	return run, failure
}

// drain waits for the reads in flight and gives their buffers back.
func drain(ring *uring.Ring, inflight map[uint64][]byte, rd reader) error {
	var errs []error
	for len(inflight) > 0 {
		cqes, err := ring.Wait(1)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, rd.done(inflight[cqes[0].UserData]))
		delete(inflight, cqes[0].UserData)
	}
	return errors.Join(errs...)
}

// sum reads one word in every 4 KiB of b, mixed with the file offset so that the order of
// completions does not matter but their placement does.
func sum(b []byte, off uint64) uint64 {
	var s uint64
	for i := 0; i+8 <= len(b); i += 4096 {
		s += binary.LittleEndian.Uint64(b[i:]) * (off + uint64(i) + 1)
	}
	return s
}
