package pool

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bothStacks walks the stack from its caller both ways: walkStack's physical frames and
// runtime.Callers' logical ones.
//
//go:noinline
func bothStacks() (walked, callers []uintptr) {
	walked = make([]uintptr, 64)
	walked = walked[:walkStack(1, walked)]
	callers = make([]uintptr, 64)
	callers = callers[:runtime.Callers(2, callers)]
	return walked, callers
}

//go:noinline
func stackChain3() ([]uintptr, []uintptr) { w, c := bothStacks(); return w, c }

//go:noinline
func stackChain2() ([]uintptr, []uintptr) { w, c := stackChain3(); return w, c }

//go:noinline
func stackChain1() ([]uintptr, []uintptr) { w, c := stackChain2(); return w, c }

// inlinedStackChain is inlined into its callers: runtime.Callers gives it a PC of its own,
// walkStack none.
func inlinedStackChain() ([]uintptr, []uintptr) { return stackChain1() }

// walkStack's PCs are runtime.Callers' where no function is inlined (the chain of
// functions marked noinline), and in runtime.Callers' form (callersForm) they are all of
// runtime.Callers' PCs, inlined frames and the testing package's and runtime's frames
// above the test included; so on a goroutine of its own, whose stack ends in goexit.
func TestWalkStackMatchesCallers(t *testing.T) {
	check := func(t *testing.T, walked, callers []uintptr) {
		t.Helper()
		require.GreaterOrEqual(t, len(callers), 5)
		require.Less(t, len(callers), 64, "the whole stack fits")
		assert.Equal(t, callers[:3], walked[:3], "stackChain3, stackChain2, stackChain1: the same return PCs")
		assert.Equal(t, callers, callersForm(walked), "every frame, in runtime.Callers' form")
		assert.Equal(t, "runtime.goexit", lastFunction(walked), "the walk reaches the top of the goroutine")
	}
	t.Run("noinline", func(t *testing.T) {
		walked, callers := stackChain1()
		check(t, walked, callers)
	})
	t.Run("inlined", func(t *testing.T) {
		walked, callers := inlinedStackChain()
		check(t, walked, callers)
		assert.Contains(t, functions(callersForm(walked)), "github.com/zeropool-go/zeropool/pool.inlinedStackChain")
	})
	t.Run("goroutine", func(t *testing.T) {
		var walked, callers []uintptr
		done := make(chan struct{})
		go func() {
			defer close(done)
			walked, callers = stackChain1()
		}()
		<-done
		check(t, walked, callers)
	})
}

// walkStack(skip) leaves out exactly skip physical frames, and stops where pcs is full.
func TestWalkStackSkipsAndFills(t *testing.T) {
	all := walkAt(0, 64)
	skipped := walkAt(2, 64)
	require.Greater(t, len(all), 2)
	assert.Equal(t, all[2:], skipped, "the same frames above the two skipped")
	two := walkAt(0, 2)
	require.Len(t, two, 2)
	assert.Equal(t, all[1], two[1], "above this function's own frame (another call of walkAt)")
}

// walkAt is walkStack from its caller into a fresh buffer of n PCs.
//
//go:noinline
func walkAt(skip, n int) []uintptr {
	pcs := make([]uintptr, n)
	return pcs[:walkStack(skip+1, pcs)]
}

// A tracked buffer's Stack is the Get's caller's stack as runtime.Callers gives it: the
// caller first, with the line of its Get, and above it the same PCs.
func TestTrackedStackIsCallersForm(t *testing.T) {
	p := newPool(t, Config{TrackRate: 1})
	b, line, callers := getAndCallers(p)
	defer func() { require.NoError(t, p.Put(b)) }()
	tracked := p.Tracked()
	require.Len(t, tracked, 1)
	stack := tracked[0].Stack
	require.NotEmpty(t, stack)
	f, _ := runtime.CallersFrames(stack[:1]).Next()
	assert.Equal(t, "github.com/zeropool-go/zeropool/pool.getAndCallers", f.Function)
	assert.Equal(t, line, f.Line)
	assert.Equal(t, callers, stack[1:])
}

// getAndCallers gets a buffer from p, and returns it with the line of the Get and
// runtime.Callers from its caller.
//
//go:noinline
func getAndCallers(p *BufferPool) ([]byte, int, []uintptr) {
	b := p.Get(4096)
	_, _, line, _ := runtime.Caller(0) // the line after the Get
	callers := make([]uintptr, 64)
	return b, line - 1, callers[:runtime.Callers(2, callers)]
}

// functions names the frames of a stack.
func functions(stack []uintptr) []string {
	var out []string
	frames := runtime.CallersFrames(stack)
	for more := len(stack) > 0; more; {
		var f runtime.Frame
		f, more = frames.Next()
		out = append(out, f.Function)
	}
	return out
}

// lastFunction names the last frame of a stack.
func lastFunction(stack []uintptr) string {
	names := functions(stack)
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1]
}
