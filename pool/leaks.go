package pool

import (
	"fmt"
	"log/slog"
	"strings"
)

// Leak is a report of memory nothing can give back to the pool any more (Config.OnLeak).
type Leak struct {
	What    string   // LeakBufferDropped, LeakPoolDropped or LeakPoolClosedDropped
	Buffers int64    // how many buffers
	Bytes   int64    // their bytes
	Holders []string // with Config.TrackRate, the call sites whose Gets hold the most ("3 x pkg.Func (file.go:42)")
}

// What a Leak reports.
const (
	// LeakBufferDropped: a pool.Buffer became unreachable without Release. Its storage is
	// not reused (a slice that Bytes returned may still refer to it): it stays out of the
	// pool, counted in Stats.LeakedBuffers.
	LeakBufferDropped = "pool.Buffer dropped without Release"
	// LeakPoolDropped: a pool became unreachable without Close while buffers were out. Its
	// idle memory was given back; the buffers out stay mapped and valid for good, counted in
	// ProcessStats.DroppedBuffersOut.
	LeakPoolDropped = "pool dropped without Close with buffers out"
	// LeakPoolClosedDropped: a closed pool became unreachable before every buffer out was
	// put back; those stay mapped for good.
	LeakPoolClosedDropped = "closed pool dropped with buffers out"
)

func (l Leak) String() string {
	s := fmt.Sprintf("zeropool: %s: %d buffers (%s)", l.What, l.Buffers, FormatBytes(l.Bytes))
	if len(l.Holders) > 0 {
		s += "; held by " + strings.Join(l.Holders, ", ")
	}
	return s
}

// report hands a leak to onLeak, or to the default logger.
func report(onLeak func(Leak), l Leak) {
	if onLeak != nil {
		onLeak(l)
		return
	}
	slog.Warn("zeropool: leak", "what", l.What, "buffers", l.Buffers, "bytes", l.Bytes, "holders", l.Holders)
}
