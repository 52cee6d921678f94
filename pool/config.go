package pool

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"

	"github.com/zeropool-go/zeropool/offheap"
)

// Config sets a pool's sizes and bounds. A zero field means the default, which DefaultConfig
// gives for this machine; New() is NewWithConfig(Config{}).
type Config struct {
	// MinBufferSize: the shared depot keeps no buffer whose size class is smaller than this;
	// the per-P caches keep every size, as the Rust crate's thread-local caches do, and what
	// they cannot hold goes back to its slab. The default, 0, keeps every size.
	MinBufferSize int
	// MaxBufferSize is the largest pooled size class, rounded up to a power of two. Larger
	// requests get a mapping of their own that Put unmaps. Default 1 GiB. It may not be
	// below MinBufferSize.
	MaxBufferSize int
	// LocalCacheSize is the capacity of a P's magazines: each P keeps, per size class, a
	// loaded and a previous magazine of up to LocalCacheSize buffers, lock-free, and trades
	// whole magazines with the shared depot; for the classes the depot keeps (not below
	// MinBufferSize) it holds one buffer more apart, as sync.Pool's private, so that a
	// Get+Put cycle touches no magazine. Classes too big for the P caches' share of
	// MaxIdleBytes get smaller magazines, or none.
	LocalCacheSize int
	// NumShards is the number of shards of each size class's depot, rounded up to a power of
	// two; a P uses shard P mod NumShards first and takes from the others when it is empty.
	NumShards int
	// MaxBuffersPerShard bounds the buffers a depot shard holds one by one, for the classes
	// too big for the P caches' magazines; whole magazines are bounded by MaxIdleBytes only,
	// so that a burst of any size finds its buffers again.
	MaxBuffersPerShard int
	// MaxIdleBytes bounds the bytes held idle: the per-P caches' magazines (which may take a
	// fifth of it, counted at their full capacity from a P's first use of a class), the
	// depots, and slabs kept mapped with nothing in use; a Put beyond it gives the buffer's
	// memory back to the system. (Free slots of slabs that still have buffers out are not
	// counted: Trim gives their pages back.) The default, 1.25 times MaxBufferSize and at
	// least DefaultMaxIdleBytes, keeps a buffer of every pooled class for reuse, a 1 GiB one
	// with the default MaxBufferSize.
	MaxIdleBytes int64
	// Pinned locks every slab and mapping into RAM (mlock2 with MLOCK_ONFAULT), best effort:
	// where the kernel refuses, the pool works unpinned and counts Stats.PinFailures.
	Pinned bool
	// Secure is for secrets. Every buffer is wiped on Put before anyone else can get it; every
	// mapping is left out of core dumps (MADV_DONTDUMP), reads as zeros in a forked child
	// (MADV_WIPEONFORK) and is pinned. Buffers of a page or more have guard pages on both
	// sides; smaller ones are packed into slabs fenced by guard pages, with a canary after
	// each buffer that Put checks (ErrCanary).
	Secure bool
	// Debug makes every idle buffer inaccessible (PROT_NONE), so that a read or write after
	// Put faults at once instead of corrupting the next holder's data. Sub-page sizes get a
	// page each; every Get and Put makes a system call. For tests, not production.
	Debug bool
	// RequirePinned makes a failure to pin memory (Pinned or Secure) an error from TryGet
	// instead of a count in Stats.PinFailures.
	RequirePinned bool
	// Backend names the offheap backend: "" (the default: ZEROPOOL_BACKEND, else the best
	// compiled in), "syscall", "cgo" or "purego". See offheap.Backends.
	Backend string

	// OnMap, when set, is called synchronously after a region (a slab of same-size slots, or
	// one buffer's own mapping) is mapped and before any of its buffers is handed out. An
	// error fails the Get that needed the region (TryGet returns it wrapped; Get panics) and
	// the region is unmapped again without an OnUnmap call. A panic in OnMap is the same
	// refusal, after which the panic goes on to the caller of Get (or TryGet, Preallocate)
	// with OnMap's own value; the pool's counters and caches are as before the call.
	//
	// OnMap runs with no lock of the pool held, so it may call the pool back: Get and Put
	// (of any class: the region is not the pool's until OnMap returns, so a Get of its class
	// maps another region and calls OnMap again), Trim, and Close (the Get then fails with
	// ErrClosed and the region is announced gone). Counted in Stats.HookPanics.
	//
	// With OnMap or OnUnmap set, the pool never changes the pages behind a live region: it
	// gives no free slot's pages back (no MADV_DONTNEED) and remaps nothing; Trim and the idle
	// bounds release whole regions only, each after its OnUnmap has returned. That is what
	// keeps a registration of the region (io_uring fixed buffers, RDMA memory regions) valid.
	OnMap func(Region) error
	// OnUnmap, when set, is called synchronously before a region is unmapped (by Trim, the
	// idle bounds, the Put of an oversize buffer, Close). No buffer of the region is out or
	// cached when it runs, and after it returns the region is no longer the pool's: Regions
	// does not list it and no buffer of it is handed out again. Its memory is unmapped then,
	// or, where the kernel refuses (ENOMEM at vm.max_map_count), kept mapped and unused,
	// counted in Stats.UnmapFailures and MappedBytes, until a Trim or Close unmaps it.
	//
	// OnUnmap runs with no lock of the pool held: Trim, Close and a Get that makes room under
	// MaxMappedBytes announce the regions they release after releasing their own locks,
	// before they return. So OnUnmap may call the pool back (Get, Put, Trim, Close). A panic
	// in OnUnmap does not stop the unmap nor the rest of the call that unmaps: the region is
	// unmapped all the same, and the panic goes on, with OnUnmap's own value, to the caller
	// of that method (Put, Get, Trim, Close, Preallocate) once its work is done; where
	// several calls unmap at the same moment, one of them raises it. Counted in
	// Stats.HookPanics.
	OnUnmap func(Region)
	// MaxMappedBytes bounds the bytes the pool maps at once (slabs and single-buffer
	// mappings, guard pages included, as Stats.MappedBytes counts them, which never reads
	// above the bound). A Get, Preallocate or Buffer growth that would map beyond it first
	// gives back the pool's idle memory (as Trim, whole regions only), then fails with
	// ErrExhausted if there is still no room. 0 means no bound. NewWithConfig refuses a bound
	// smaller than the region the smallest Get maps (a 2 MiB slab for the small classes).
	MaxMappedBytes int64
	// Populate faults in every page of a region when it is mapped (MAP_POPULATE), so the
	// first use of a buffer, by the CPU or by a device, does not fault. With Pinned the pages
	// are locked as well, so VmLck counts them at once.
	Populate bool
	// DontFork leaves every region out of a forked child (MADV_DONTFORK): fork copies none of
	// the pool's memory, and the physical pages behind a registered region stay put.
	DontFork bool
	// SecretMem backs every region of a Secure pool with memfd_secret(2): the pages are
	// removed from the kernel's direct map, so neither /proc/PID/mem, ptrace nor the kernel
	// itself can read them (a read gets EIO). NewWithConfig returns an error wrapping
	// ErrInvalidConfig without Secure, and one wrapping offheap.ErrSecretMem where the kernel
	// lacks memfd_secret or secretmem is disabled. Secret memory is always locked and charged
	// to RLIMIT_MEMLOCK (a Get beyond it fails, wrapping offheap.ErrPinFailed); it is shared
	// memory, so a forked child gets no mapping of it at all (MADV_DONTFORK instead of
	// MADV_WIPEONFORK), and the kernel does not let Trim discard its free slots (they count
	// in Stats.UnreleasedBytes). Secret memory cannot be registered with io_uring.
	SecretMem bool

	// TrackRate attributes buffers that are out to the code that got them: 0 tracks nothing
	// (the default, except in Debug pools, which track every Get); 1 tracks every Get; N
	// tracks about one Get in N, counted per P and size class (no shared counter). A tracked
	// Get records its caller's stack in the process-wide runtime/pprof profile named
	// InUseProfile ("zeropool.inuse"), which net/http/pprof serves and `go tool pprof` reads;
	// its Put removes it, by whatever path the buffer comes back (Owner, Buffer.Release,
	// SizedPool). Tracked lists them in code, and Close's ErrBuffersOut names the call sites
	// that hold the most. Tracking off costs the fast paths two instructions; 1 in 1024 costs
	// a Get a stack walk once in about 1024 Gets.
	TrackRate int
	// OnLeak receives the pool's leak reports: a Buffer collected without Release, and the
	// pool itself collected (dropped without Close, or closed) with buffers still out. Where
	// it is nil, reports go to the log/slog default logger at level Warn, so that a leak
	// nobody asked about is still seen. It runs on a runtime cleanup goroutine: it must not
	// block for long, and it must not refer to the pool (a pool that its own OnLeak, OnMap or
	// OnUnmap refers to is never collected).
	OnLeak func(Leak)
}

// Defaults that do not depend on the machine.
const (
	DefaultMaxBufferSize = 1 << 30
	DefaultMaxIdleBytes  = DefaultMaxBufferSize + DefaultMaxBufferSize/4
)

// Bounds that NewWithConfig enforces.
const (
	maxMaxBufferSize      = 1 << 40
	maxLocalCacheSize     = 1024
	maxNumShards          = 1 << 12
	maxMaxBuffersPerShard = 1 << 20
)

// DefaultConfig returns the defaults for a machine with cpus CPUs. For 4, 8, 16, 32, 64 and
// 128 CPUs it reproduces the Rust crate's table exactly; between and beyond those rows every
// value is monotone in cpus (1 and 2 CPUs get the 4-CPU row; shards stop at 128).
func DefaultConfig(cpus int) Config {
	cpus = max(cpus, 1)
	c := Config{MaxBufferSize: DefaultMaxBufferSize, MaxIdleBytes: DefaultMaxIdleBytes}
	switch {
	case cpus < 5:
		c.LocalCacheSize = 4
	case cpus < 32:
		c.LocalCacheSize = 6
	default:
		c.LocalCacheSize = 8
	}
	switch {
	case cpus < 5:
		c.NumShards = 4
	case cpus < 9:
		c.NumShards = 8
	default:
		c.NumShards = min(nextPow2(cpus)/2, 128)
	}
	switch {
	case cpus < 9:
		c.MaxBuffersPerShard = 16
	case cpus < 17:
		c.MaxBuffersPerShard = 32
	default:
		c.MaxBuffersPerShard = 64
	}
	return c
}

// withDefaults fills the zero fields of c from DefaultConfig(runtime.NumCPU()) and checks the
// rest.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.MinBufferSize < 0 {
		bad("MinBufferSize %d is negative", c.MinBufferSize)
	}
	if c.MaxBufferSize < 0 || c.MaxBufferSize > maxMaxBufferSize {
		bad("MaxBufferSize %d is outside 0..%d", c.MaxBufferSize, maxMaxBufferSize)
	}
	if c.LocalCacheSize < 0 || c.LocalCacheSize > maxLocalCacheSize {
		bad("LocalCacheSize %d is outside 0..%d", c.LocalCacheSize, maxLocalCacheSize)
	}
	if c.NumShards < 0 || c.NumShards > maxNumShards {
		bad("NumShards %d is outside 0..%d", c.NumShards, maxNumShards)
	}
	if c.MaxBuffersPerShard < 0 || c.MaxBuffersPerShard > maxMaxBuffersPerShard {
		bad("MaxBuffersPerShard %d is outside 0..%d", c.MaxBuffersPerShard, maxMaxBuffersPerShard)
	}
	if c.MaxIdleBytes < 0 {
		bad("MaxIdleBytes %d is negative", c.MaxIdleBytes)
	}
	if c.MaxMappedBytes < 0 {
		bad("MaxMappedBytes %d is negative", c.MaxMappedBytes)
	}
	if c.TrackRate < 0 {
		bad("TrackRate %d is negative", c.TrackRate)
	}
	if c.SecretMem && !c.Secure {
		bad("SecretMem needs Secure")
	}
	if err := offheap.CheckBackend(c.Backend); err != nil {
		bad("Backend %q: %w", c.Backend, err)
	}
	errs = append(errs, c.systemRefusals()...)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	d := DefaultConfig(runtime.NumCPU())
	if c.MaxBufferSize == 0 {
		c.MaxBufferSize = d.MaxBufferSize
	}
	c.MaxBufferSize = max(nextPow2(c.MaxBufferSize), minClassSize)
	if c.LocalCacheSize == 0 {
		c.LocalCacheSize = d.LocalCacheSize
	}
	if c.NumShards == 0 {
		c.NumShards = d.NumShards
	}
	c.NumShards = nextPow2(c.NumShards)
	if c.MaxBuffersPerShard == 0 {
		c.MaxBuffersPerShard = d.MaxBuffersPerShard
	}
	if c.MaxIdleBytes == 0 {
		c.MaxIdleBytes = max(d.MaxIdleBytes, int64(c.MaxBufferSize)+int64(c.MaxBufferSize)/4)
	}
	if c.MinBufferSize > c.MaxBufferSize {
		return c, fmt.Errorf("%w: MaxBufferSize %d is below MinBufferSize %d: the shared depot would keep no size",
			ErrInvalidConfig, c.MaxBufferSize, c.MinBufferSize)
	}
	if c.Secure {
		c.Pinned = true
	}
	if c.Debug && c.TrackRate == 0 {
		c.TrackRate = 1
	}
	return c, nil
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
