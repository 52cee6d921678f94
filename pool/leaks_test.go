package pool

import (
	"bytes"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect runs the collector until done reports true or a bound of cycles passes; cleanups
// run on their own goroutine after the cycle that finds their object unreachable.
func collect(done func() bool) bool {
	for range 200 {
		runtime.GC()
		if done() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// leakLog collects the leak reports of a pool.
type leakLog struct {
	mu    sync.Mutex
	leaks []Leak
}

func (l *leakLog) onLeak(k Leak) {
	l.mu.Lock()
	l.leaks = append(l.leaks, k)
	l.mu.Unlock()
}

func (l *leakLog) all() []Leak {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Leak(nil), l.leaks...)
}

func TestLeakString(t *testing.T) {
	assert.Equal(t, "zeropool: pool dropped without Close with buffers out: 3 buffers (192 KiB)",
		Leak{What: LeakPoolDropped, Buffers: 3, Bytes: 3 << 16}.String())
	assert.Equal(t, "zeropool: pool.Buffer dropped without Release: 1 buffers (4 KiB); held by 1 x main.f (m/f.go:3)",
		Leak{What: LeakBufferDropped, Buffers: 1, Bytes: 4096, Holders: []string{"1 x main.f (m/f.go:3)"}}.String())
}

// Without Config.OnLeak a report goes to the default slog logger, at Warn.
func TestReportWithoutOnLeakLogs(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	report(nil, Leak{What: LeakPoolDropped, Buffers: 2, Bytes: 8192})
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), `what="pool dropped without Close with buffers out" buffers=2 bytes=8192`)

	var got leakLog
	buf.Reset()
	report(got.onLeak, Leak{What: LeakBufferDropped, Buffers: 1})
	assert.Empty(t, buf.String(), "OnLeak receives it instead")
	require.Len(t, got.all(), 1)
	assert.Equal(t, LeakBufferDropped, got.all()[0].What)
}
