package pool

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/zeropool-go/zeropool/offheap"
)

// BufferPool hands out []byte buffers that live outside the Go heap and takes them back for
// reuse. It is safe for concurrent use by any number of goroutines. Its zero value is not
// usable: build one with New or NewWithConfig, and Close it to give all its memory back.
type BufferPool struct {
	// Read by every Get and Put; written only while the pool is built.
	locals      []local
	classes     []sizeClass
	strideShift int // log2 of the items per class in a P's cache (LocalCacheSize rounded up)
	maxClass    int // size of the largest pooled class
	minKeep     int // lowest class that Put keeps
	shardMask   int
	minClass    int // lowest class that holds buffers (Debug pools: a page)
	cfg         Config
	canary      uint64 // Secure pools: the secret behind every canary

	// active is the number of P caches in use: len(locals), or 0 while Trim or Close empties
	// them (and forever after Close), so that Get and Put then leave them alone.
	active       atomic.Int32
	closed       atomic.Bool
	localBase    unsafe.Pointer // &locals[0]
	sharedBudget int64

	// Everything below is written while the pool runs: keep it off the cache lines that every
	// Get and Put reads on every P.
	_ [128]byte

	drainMu    sync.Mutex   // serializes Trim and Close
	sharedIdle atomic.Int64 // bytes idle in shards
	// emptyIdle is the bytes of slabs kept mapped with no slot idle or out, so that a burst
	// larger than the caches finds its memory again. With sharedIdle it stays within
	// sharedBudget.
	emptyIdle atomic.Int64

	// Counters off the hot path.
	notOwned, doublePuts, closedPuts atomic.Uint64
	trims, pinFailures, canaries     atomic.Uint64
	peakInUse                        atomic.Int64
	maps, unmaps                     atomic.Uint64
	oversizeGets, oversizePuts       atomic.Uint64
	mapped, pinnedBytes, oversizeOut atomic.Int64
	spill                            classCounters // for Ps beyond len(locals)

	unmapFailures atomic.Uint64
	nextID        atomic.Uint64 // the last Region.ID handed out

	growMu  sync.Mutex // guards regions, stuck and writes to pages
	regions map[*region]struct{}
	stuck   [][]byte // mappings the kernel refused to unmap; tried again by Trim and Close
	pages   pageMap
}

// layout is how the buffers of a class are mapped.
type layout uint8

const (
	layoutSlab    layout = iota // slots in slabs (classes up to maxSlabClassSize)
	layoutCanary                // Secure, below a page: slabs fenced by guard pages, slots two sizes apart with a canary after each
	layoutMapping               // one mapping per buffer; Secure pools add a guard page on each side
)

// sizeClass is the shared part of one size class.
type sizeClass struct {
	size     int
	layout   layout
	localCap uint32 // buffers of this class a P's cache may hold (0: none)
	shards   []shard

	slabMu  sync.Mutex // guards partial and the bookkeeping of this class's slabs
	partial []*region  // slabs with a free or new slot
}

// New returns a pool with the defaults for this machine (DefaultConfig(runtime.NumCPU())).
// It panics only if ZEROPOOL_BACKEND names a backend that cannot be used.
func New() *BufferPool {
	p, err := NewWithConfig(Config{})
	if err != nil {
		panic(err)
	}
	return p
}

// NewWithConfig returns a pool configured by cfg; zero fields take their defaults. It returns
// an error wrapping ErrInvalidConfig for values it cannot honour. No memory is mapped until the
// first Get.
func NewWithConfig(cfg Config) (*BufferPool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	nlocal := max(runtime.GOMAXPROCS(0), runtime.NumCPU())
	nclass := classOf(cfg.MaxBufferSize) + 1
	p := &BufferPool{
		cfg:         cfg,
		strideShift: bits.Len(uint(nextPow2(cfg.LocalCacheSize)) - 1),
		maxClass:    cfg.MaxBufferSize,
		shardMask:   cfg.NumShards - 1,
		regions:     make(map[*region]struct{}),
	}
	p.pages.init()
	if cfg.MinBufferSize > 0 {
		p.minKeep = classOf(cfg.MinBufferSize)
		if classSize(p.minKeep) < cfg.MinBufferSize {
			p.minKeep++
		}
	}
	// The P caches together may hold a quarter of MaxIdleBytes, the shards the rest, so the
	// two never exceed MaxIdleBytes.
	localBudget := cfg.MaxIdleBytes / int64(4*nlocal)
	p.sharedBudget = cfg.MaxIdleBytes - localBudget*int64(nlocal)
	p.locals = make([]local, nlocal)
	for i := range p.locals {
		l := &p.locals[i]
		l.items = make([]entry, nclass<<p.strideShift)
		for c := range nclass {
			l.stack[c] = uintptr(unsafe.Pointer(&l.items[c<<p.strideShift]))
		}
	}
	p.localBase = unsafe.Pointer(&p.locals[0])
	p.active.Store(int32(nlocal))
	pg := offheap.PageSize()
	if cfg.Debug {
		p.minClass = classOf(pg)
	}
	if cfg.Secure {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("zeropool: canary secret: %w", err)
		}
		p.canary = binary.LittleEndian.Uint64(b[:])
	}
	p.classes = make([]sizeClass, nclass)
	caps := localCaps(localBudget, cfg.LocalCacheSize, nclass, max(p.minKeep, p.minClass))
	for c := range p.classes {
		sc := &p.classes[c]
		sc.size = classSize(c)
		switch {
		case cfg.Secure && !cfg.Debug && sc.size < pg:
			sc.layout = layoutCanary
		case cfg.Secure || sc.size > maxSlabClassSize:
			sc.layout = layoutMapping
		}
		if !cfg.Debug { // a Debug pool's every Get and Put changes protections: no P caches
			sc.localCap = caps[c]
		}
		sc.shards = make([]shard, cfg.NumShards)
	}
	return p, nil
}

// localCaps splits a P's byte budget over the classes: each class up to LocalCacheSize
// buffers, what small classes cannot use going to larger ones, and the whole never more than
// budget. A fixed split keeps a byte count off the hot path.
func localCaps(budget int64, perClass, nclass, minKeep int) []uint32 {
	caps := make([]uint32, nclass)
	for c := minKeep; c < nclass; c++ {
		// Share what is left among the classes, this one and larger, that could still hold
		// one buffer.
		k := 0
		for d := c; d < nclass && int64(classSize(d)) <= budget; d++ {
			k++
		}
		if k == 0 {
			break
		}
		n := min(int64(perClass), budget/int64(k)/int64(classSize(c)))
		caps[c] = uint32(n)
		budget -= n * int64(classSize(c))
	}
	return caps
}

// Config returns the pool's configuration with every default filled in.
func (p *BufferPool) Config() Config { return p.cfg }

// zeroBuf is where Get(0)'s slice points: len and cap 0, so nobody can append into it in
// place (append copies to the heap), and Put of it does nothing.
var zeroBuf [1]byte

// Get returns a buffer of len size (cap at least size) that lives outside the Go heap. A
// reused buffer holds whatever its last holder left in it; a fresh one is zeroed. Buffers of
// 4 KiB or more start on a page boundary, smaller ones on a multiple of their size class.
// Get panics where TryGet would return an error.
func (p *BufferPool) Get(size int) []byte {
	b, err := p.get(size, false)
	if err != nil {
		panic(err)
	}
	return b
}

// GetZeroed is Get with the contents zeroed. Memory the pool maps afresh is zero already and
// is not touched, so a large fresh buffer costs no page faults here.
func (p *BufferPool) GetZeroed(size int) []byte {
	b, err := p.get(size, true)
	if err != nil {
		panic(err)
	}
	return b
}

// TryGet is Get returning an error instead of panicking: ErrInvalidSize for a negative or
// impossible size, ErrClosed after Close, or the system's refusal to map memory.
func (p *BufferPool) TryGet(size int) ([]byte, error) { return p.get(size, false) }

// get is the fast path of every Get: a pop from the current P's cache. Pinning first keeps
// the values computed below in registers instead of spilling them around the call.
func (p *BufferPool) get(size int, zero bool) ([]byte, error) {
	// Read before pinning: on a nil pool this is a plain, recoverable nil-pointer panic,
	// where the same dereference while pinned would be a fatal error.
	maxClass := p.maxClass
	pid := procPin()
	if l := p.cache(pid); l != nil && uint(size-1) < uint(maxClass) {
		c := classOf(size) & (classSlots - 1)
		raceAcquire(unsafe.Pointer(l))
		if n := l.n[c]; n != 0 {
			n--
			e := *l.item(c, n)
			setN(&l.n[c], n)
			bump(&l.hits[c], 1)
			raceReleaseMerge(unsafe.Pointer(l))
			procUnpin()
			*(*uint8)(ptr(e.state)) = stateOut
			b := makeSlice(e.addr, size, minClassSize<<c)
			if zero {
				clear(b)
			}
			return b, nil
		}
		raceReleaseMerge(unsafe.Pointer(l))
	}
	procUnpin()
	return p.getSlow(size, zero)
}

// makeSlice builds the slice of a buffer at addr without the checks of unsafe.Slice, whose
// arguments are known good here.
func makeSlice(addr uintptr, n, c int) []byte {
	return *(*[]byte)(unsafe.Pointer(&struct {
		addr uintptr
		n, c int
	}{addr, n, c}))
}

// Put gives buf back to the pool. buf must start at the first byte of a buffer from this
// pool's Get that has not been put back yet; its len and cap may differ (buf[:0] is fine).
// Put(nil) does nothing. Anything else is refused, the pool unchanged: ErrNotOwned for a
// slice the pool did not hand out, ErrDoublePut for a buffer already back. After Close every
// refusal also wraps ErrClosed. A second Put of a buffer whose memory the pool has already
// given back to the system (an oversize buffer, or one beyond the idle bounds) finds nothing
// there and gets ErrNotOwned; a second Put after the buffer was handed out again cannot be
// told from the new holder's. After Put the caller must not touch the buffer again: the pool
// may hand it to someone else at once.
func (p *BufferPool) Put(buf []byte) error {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	pages := &p.pages // before pinning: a nil pool panics here, recoverably (see get)
	pid := procPin()
	// The fast path: a buffer that is out, of a class the P caches keep, going into the
	// current P's cache. Anything else (errors included) is sorted out by putSlow.
	if r, l := pages.lookup(addr), p.cache(pid); r != nil && l != nil {
		// region.slot, written out: through the call the compiler emits 9 more instructions.
		if off := addr - r.base; off < r.span && off&r.mask == 0 {
			st := (*uint8)(ptr(r.states + off>>(r.stShift&63)))
			c := r.class & (classSlots - 1)
			raceAcquire(unsafe.Pointer(l))
			if i := l.n[c]; *st == stateOut && i < r.localCap {
				*st = stateIdle
				*l.item(c, i) = entry{addr, uintptr(unsafe.Pointer(st))}
				setN(&l.n[c], i+1)
				bump(&l.puts[c], 1)
				raceReleaseMerge(unsafe.Pointer(l))
				procUnpin()
				return nil
			}
			raceReleaseMerge(unsafe.Pointer(l))
		}
	}
	procUnpin()
	return p.putSlow(addr)
}

// refuseState refuses a Put of a slot in state: a double Put if the slot was handed out
// before, else a slice the pool never handed out.
func (p *BufferPool) refuseState(state uint8) error {
	if state == stateIdle || state == stateFree || state == stateBroken {
		return p.refuse(ErrDoublePut)
	}
	return p.refuse(ErrNotOwned)
}

// refuse counts a refused Put and returns its error, marked ErrClosed too after Close.
func (p *BufferPool) refuse(err error) error {
	if p.closed.Load() {
		p.closedPuts.Add(1)
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if err == ErrDoublePut {
		p.doublePuts.Add(1)
	} else {
		p.notOwned.Add(1)
	}
	return err
}

// putUnknown answers a Put of an address no region of the pool holds.
func (p *BufferPool) putUnknown(addr uintptr) error {
	if addr == 0 || addr == uintptr(unsafe.Pointer(&zeroBuf)) {
		return nil
	}
	return p.refuse(ErrNotOwned)
}
