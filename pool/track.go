package pool

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tracking (Config.TrackRate) attributes buffers that are out to the code that got them, as
// a pprof profile and as a list in code. Go's heap profile cannot see the pool's memory, so
// a forgotten Put is otherwise invisible.
//
// A P counts its Gets down per size class (pcache.track): the Get that brings the count to
// zero leaves the fast path, and the slow path tracks it and starts the count again at about
// TrackRate. A tracked Get records its caller's stack in the process-wide profile
// InUseProfile and marks its buffer stateTracked; the buffer's Put, which the fast path
// leaves to the slow path for that state, removes the record. With TrackRate 0 the count
// starts at 2^32-1 and the slow path starts it again without tracking; pools that do not
// track (BufferPool.tracking) do not count at all: the fast path pays a test and a branch.
//
// A tracked Get costs what the profile's own stack walk costs (pprof.Profile.Add runs
// runtime.Callers, which decodes every frame's tables) and little more: the pool's record
// is a frame-pointer walk (walkStack) into an array of the record, put in the form
// runtime.Callers gives only when Tracked asks for it, and Add is called from the slow
// path serving the Get itself, so that its walk decodes no frame of ours more than it must.

// InUseProfile is the name of the process-wide runtime/pprof profile of tracked buffers that
// are out: pprof.Lookup(InUseProfile) once a pool with TrackRate set has tracked a Get;
// net/http/pprof serves it at /debug/pprof/zeropool.inuse, and `go tool pprof` reads it.
// Each sample is one buffer, with the stack of the Get that handed it out.
const InUseProfile = "zeropool.inuse"

var (
	profileOnce sync.Once
	profile     *pprof.Profile
)

// inUseProfile makes the profile at the first tracked Get of the process: importing the
// package registers nothing.
func inUseProfile() *pprof.Profile {
	profileOnce.Do(func() {
		if profile = pprof.Lookup(InUseProfile); profile == nil {
			profile = pprof.NewProfile(InUseProfile)
		}
	})
	return profile
}

// TrackedBuffer is one tracked buffer that is out: see Tracked.
type TrackedBuffer struct {
	Size  int           // its capacity
	Age   time.Duration // since its Get
	Stack []uintptr     // the Get's caller first (runtime.CallersFrames reads it)
}

// Caller is the first frame of the stack outside package pool: "pkg.Func (file.go:42)".
func (t TrackedBuffer) Caller() string { return callerOf(t.Stack) }

// trackRecord is a tracked buffer's entry in its pool's tracker and in the profile. A
// record does not change once made.
type trackRecord struct {
	size  int
	start time.Time
	stack []uintptr // pcs[:n]: physical frames' return PCs (walkStack); the pool's own may come first
	pcs   [maxTrackedFrames]uintptr
}

// maxTrackedFrames is the depth of the stacks recorded, as the profile's.
const maxTrackedFrames = 32

// tracker holds a pool's tracked buffers that are out, by address.
type tracker struct {
	rate  int
	other atomic.Int64 // the countdown of Gets that have no P cache (above MaxBufferSize, caches off)
	mu    sync.Mutex
	recs  map[addr]*trackRecord
}

func newTracker(rate int) *tracker { return &tracker{rate: rate, recs: make(map[addr]*trackRecord)} }

// next is how many Gets to let by before the next tracked one: TrackRate on average,
// spread from 1 to 2*TrackRate-1 so that a loop of a fixed period is still sampled fairly;
// 1 when every Get is tracked, and "never" (2^32-1) with tracking off.
func (t *tracker) next() uint32 {
	switch {
	case t.rate <= 0:
		return math.MaxUint32 // never reached in practice; if it is, the slow path starts it again
	case t.rate == 1:
		return 1
	}
	return uint32(1 + rand.IntN(2*t.rate-1))
}

// record makes the pool's record of a buffer at a that was just handed out, and returns it
// with the profile for the caller to add it to: Add's walk of the stack starts at the
// function that calls it, and that frame of ours is best the slow path's own. The record's
// stack skips skip physical frames above record's caller (getSlow and get, for one): the
// first is then Get's, or its caller's where Get is inlined; list drops the pool's own.
//
//go:noinline
func (t *tracker) record(a addr, size, skip int) (*trackRecord, *pprof.Profile) {
	rec := &trackRecord{size: size, start: time.Now()}
	rec.stack = rec.pcs[:walkStack(skip+1, rec.pcs[:])]
	t.mu.Lock()
	old := t.recs[a]
	t.recs[a] = rec
	t.mu.Unlock()
	if old != nil { // cannot happen: the buffer was put back first
		inUseProfile().Remove(old)
	}
	return rec, inUseProfile()
}

// forget drops the record of a tracked buffer that is put back.
func (t *tracker) forget(a addr) {
	t.mu.Lock()
	rec := t.recs[a]
	delete(t.recs, a)
	t.mu.Unlock()
	if rec != nil {
		inUseProfile().Remove(rec)
	}
}

// lookup returns the record of the tracked buffer at a, or nil.
func (t *tracker) lookup(a addr) *trackRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recs[a]
}

// count is how many tracked buffers are out.
func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recs)
}

// list returns the tracked buffers that are out, oldest first.
func (t *tracker) list() []TrackedBuffer {
	now := time.Now()
	t.mu.Lock()
	out := make([]TrackedBuffer, 0, len(t.recs))
	for _, r := range t.recs {
		out = append(out, TrackedBuffer{Size: r.size, Age: now.Sub(r.start), Stack: r.stack})
	}
	t.mu.Unlock()
	for i := range out {
		out[i].Stack = callersForm(out[i].Stack)
	}
	slices.SortFunc(out, func(a, b TrackedBuffer) int { return cmp.Compare(b.Age, a.Age) })
	return out
}

// holders names the call sites that hold the most tracked buffers, at most n of them, as
// "3 x pkg.Func (file.go:42), 1 x ...": for Close's error and leak reports.
func (t *tracker) holders(n int) []string {
	counts := map[string]int{}
	for _, b := range t.list() {
		counts[b.Caller()]++
	}
	sites := make([]string, 0, len(counts))
	for s := range counts {
		sites = append(sites, s)
	}
	slices.SortFunc(sites, func(a, b string) int {
		if d := counts[b] - counts[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	if len(sites) > n {
		sites = sites[:n]
	}
	for i, s := range sites {
		sites[i] = fmt.Sprintf("%d x %s", counts[s], s)
	}
	return sites
}

// callerOf is the first frame of stack outside this package.
func callerOf(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		if !inPool(f) {
			return fmt.Sprintf("%s (%s:%d)", f.Function, shortFile(f.File), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// isWrapper reports whether f is a function the compiler made that runtime.Callers leaves
// out: a method wrapper ("<autogenerated>"), or the closure of a go or defer statement.
func isWrapper(f runtime.Frame) bool {
	return f.File == "<autogenerated>" || strings.Contains(f.Function, ".gowrap") || strings.Contains(f.Function, ".deferwrap")
}

// inPool reports whether f is a frame of this package (its tests excepted).
func inPool(f runtime.Frame) bool {
	return strings.HasPrefix(f.Function, "github.com/zeropool-go/zeropool/pool.") && !strings.HasSuffix(f.File, "_test.go")
}

// callersForm is a stack of physical frames' return PCs (walkStack's) as runtime.Callers
// gives it, without the leading frames of this package: one PC per frame, inlined frames
// included (runtime.CallersFrames reads either form, a frame's PC + 1 is Callers' own PC
// for it), and the compiler's wrappers left out, as Callers leaves them out.
func callersForm(stack []uintptr) []uintptr {
	out := make([]uintptr, 0, len(stack)+4)
	frames := runtime.CallersFrames(stack)
	for more := len(stack) > 0; more; {
		var f runtime.Frame
		f, more = frames.Next()
		switch {
		case len(out) == 0 && inPool(f), isWrapper(f):
		default:
			out = append(out, f.PC+1)
		}
	}
	return out
}

// shortFile keeps the last directory and the file name of a path.
func shortFile(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		if j := strings.LastIndexByte(path[:i], '/'); j >= 0 {
			return path[j+1:]
		}
	}
	return path
}

// Tracked returns the pool's tracked buffers that are out (Config.TrackRate), oldest first:
// for tests and logs. With tracking off it returns nothing.
func (p *BufferPool) Tracked() []TrackedBuffer {
	p.ensure()
	return p.tracks.list()
}

// sampleSlow counts down a Get that a slow path serves (class ci, or -1 for a size with no
// class) and reports whether to track it.
func (p *BufferPool) sampleSlow(ci int) bool {
	if p.tracks.rate == 0 {
		return false
	}
	if ci >= 0 {
		pc, l, _ := p.pinCache(ci)
		if pc != nil && pc.state != pcNew {
			// The fast path counted this Get already if it sent it here at zero.
			hit := pc.track <= 1
			if hit {
				pc.track = p.tracks.next()
			} else {
				pc.track--
			}
			unpin(l)
			return hit
		}
		unpin(l)
	}
	if p.tracks.other.Add(-1) > 0 {
		return false
	}
	p.tracks.other.Store(int64(p.tracks.next()))
	return true
}
