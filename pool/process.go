package pool

import "runtime/debug"

// ProcessStats are figures over every pool of the process: the pool's memory is invisible to
// Go's own memory statistics (runtime/metrics, GOMEMLIMIT, the heap profile), so exporters
// and limits read it here.
type ProcessStats struct {
	Pools       int64 // pools set up and not yet collected
	MappedBytes int64 // bytes every pool maps now, dropped ones' leftovers included
	IdleBytes   int64 // bytes held idle by the live pools
	InUseBytes  int64 // bytes of the live pools' buffers out
	// DroppedPools counts pools the garbage collector found unreachable (closed or not):
	// each one's idle memory was given back by its cleanup.
	DroppedPools uint64
	// DroppedBuffersOut and DroppedBytesOut are the buffers that were out when their pool
	// was dropped: they stay mapped and valid for good, since nothing can put them back.
	DroppedBuffersOut, DroppedBytesOut int64
	// LeakedBuffers counts pool.Buffers of every pool collected without Release.
	LeakedBuffers uint64
	// HookPanics counts panics of OnUnmap in the cleanups of dropped pools (they have no
	// caller to reach).
	HookPanics uint64
}

// Process returns the figures over every pool of the process. It reads each live pool's
// Stats: call it as often as an exporter scrapes, not per Get.
func Process() ProcessStats {
	s := ProcessStats{
		MappedBytes:       process.mapped.Load(),
		DroppedPools:      process.droppedPools.Load(),
		DroppedBuffersOut: process.droppedOut.Load(),
		DroppedBytesOut:   process.droppedOutB.Load(),
		LeakedBuffers:     process.leakedBuffers.Load(),
		HookPanics:        process.hookPanics.Load(),
	}
	process.mu.Lock()
	pools := make([]*BufferPool, 0, len(process.live))
	for _, w := range process.live {
		if p := w.Value(); p != nil {
			pools = append(pools, p)
		}
	}
	process.mu.Unlock()
	for _, p := range pools {
		ps := p.Stats()
		s.Pools++
		s.IdleBytes += ps.IdleBytes
		s.InUseBytes += ps.InUseBytes
	}
	return s
}

// GoMemoryLimit is the memory limit to give the Go runtime in a process whose memory as a
// whole must stay within total bytes (a container's or cgroup's limit): total less what the
// pools map now, and never below minHeap. Go's GOMEMLIMIT counts only memory the runtime
// maps, so under a cgroup limit a runtime limit of total lets the heap grow into the room the
// pools' memory already takes, and the kernel kills the process before the collector works
// harder. Set it, and set it again as the pools grow or shrink (after a Preallocate, or from
// a ticker):
//
//	debug.SetMemoryLimit(pool.GoMemoryLimit(total, 64<<20))
//
// SetGoMemoryLimit does both steps.
func GoMemoryLimit(total, minHeap int64) int64 {
	return max(total-process.mapped.Load(), minHeap)
}

// SetGoMemoryLimit sets the Go runtime's memory limit to GoMemoryLimit(total, minHeap) and
// returns it.
func SetGoMemoryLimit(total, minHeap int64) int64 {
	l := GoMemoryLimit(total, minHeap)
	debug.SetMemoryLimit(l)
	return l
}
