package pool

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Stats is a snapshot of a pool's counters. Under concurrent use its fields are read one after
// another, not at one instant, so they may disagree by the operations in flight.
type Stats struct {
	Gets       uint64 `json:"gets"`        // successful Gets
	Puts       uint64 `json:"puts"`        // accepted Puts
	Hits       uint64 `json:"hits"`        // Gets served by memory the pool had used before
	Misses     uint64 `json:"misses"`      // Gets served by fresh memory
	Rejected   uint64 `json:"rejected"`    // Puts refused: NotOwned + DoublePuts + ClosedPuts
	NotOwned   uint64 `json:"not_owned"`   // Puts refused with ErrNotOwned while the pool was open
	DoublePuts uint64 `json:"double_puts"` // Puts refused with ErrDoublePut while the pool was open
	ClosedPuts uint64 `json:"closed_puts"` // Puts refused after Close (the error wraps ErrClosed too)
	// Retains counts references added by Retain; RefPuts the Puts that only dropped one of
	// them (the buffer stayed out). RefPuts are not in Puts: InUse stays Gets - Puts.
	Retains uint64 `json:"retains"`
	RefPuts uint64 `json:"ref_puts"`
	// CanaryFailures counts Puts of Secure buffers whose canary was overwritten (ErrCanary);
	// they count as Puts too, since the buffer is taken back.
	CanaryFailures uint64 `json:"canary_failures"`
	InUse          int64  `json:"in_use"`       // buffers out now
	InUseBytes     int64  `json:"in_use_bytes"` // their bytes (whole size classes)
	// PeakInUseBytes is the highest InUseBytes the pool has seen, sampled where a Get or Put
	// leaves the per-P caches and at every Stats call: it can miss a peak by at most what the
	// P caches hold.
	PeakInUseBytes int64  `json:"peak_in_use_bytes"`
	Idle           int64  `json:"idle"`         // buffers held idle for reuse
	IdleBytes      int64  `json:"idle_bytes"`   // their bytes
	MappedBytes    int64  `json:"mapped_bytes"` // bytes mapped now: slabs and single-buffer mappings
	PinnedBytes    int64  `json:"pinned_bytes"` // bytes of those mappings locked into RAM
	PinFailures    uint64 `json:"pin_failures"` // mappings that Config.Pinned could not lock
	Maps           uint64 `json:"maps"`         // mappings made
	Unmaps         uint64 `json:"unmaps"`       // mappings given back
	Trims          uint64 `json:"trims"`        // calls of Trim
	// UnmapFailures counts unmaps the kernel refused (ENOMEM at vm.max_map_count). Such a
	// mapping stays in MappedBytes and is tried again by the next Trim and by Close.
	UnmapFailures uint64 `json:"unmap_failures"`
	// UnreleasedBytes is what the last Trim could not give back: free slots of pinned slabs
	// the kernel refused to unlock or discard.
	UnreleasedBytes int64 `json:"unreleased_bytes"`
	// HookPanics counts panics of Config.OnMap and Config.OnUnmap. Each reached the caller
	// of the method that ran the hook, after the pool had put itself in order (see OnMap).
	HookPanics uint64 `json:"hook_panics"`
	// LeakedBuffers counts pool.Buffers that became unreachable without Release: their
	// storage stays out of the pool for good (see Leak).
	LeakedBuffers uint64 `json:"leaked_buffers"`
	// TrackedBuffers is how many buffers out now were tracked (Config.TrackRate; Tracked
	// lists them).
	TrackedBuffers int64        `json:"tracked_buffers"`
	Classes        []ClassStats `json:"classes"`
}

// ClassStats are the counters of one size class, in Stats.Classes; classes never used are
// left out. Buffers above MaxBufferSize have no class; they count in the totals only.
type ClassStats struct {
	Size   int    `json:"size"` // bytes of a buffer of this class
	Gets   uint64 `json:"gets"`
	Puts   uint64 `json:"puts"`
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	InUse  int64  `json:"in_use"`
	Idle   int64  `json:"idle"`
}

// HitRate is the share of Gets served by an idle buffer, 0 when there were none.
func (s Stats) HitRate() float64 {
	if s.Gets == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Gets)
}

// String renders the totals on one line, then one line per class.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gets=%d puts=%d hits=%d misses=%d hit-rate=%.1f%% rejected=%d (not-owned=%d double=%d closed=%d) retains=%d ref-puts=%d canary-failures=%d in-use=%d (%s, peak %s) idle=%d (%s) mapped=%s pinned=%s pin-failures=%d maps=%d unmaps=%d unmap-failures=%d trims=%d",
		s.Gets, s.Puts, s.Hits, s.Misses, 100*s.HitRate(), s.Rejected, s.NotOwned, s.DoublePuts, s.ClosedPuts, s.Retains, s.RefPuts, s.CanaryFailures, s.InUse, FormatBytes(s.InUseBytes), FormatBytes(s.PeakInUseBytes),
		s.Idle, FormatBytes(s.IdleBytes), FormatBytes(s.MappedBytes), FormatBytes(s.PinnedBytes),
		s.PinFailures, s.Maps, s.Unmaps, s.UnmapFailures, s.Trims)
	for _, c := range s.Classes {
		fmt.Fprintf(&b, "\n  %8s gets=%d puts=%d hits=%d misses=%d in-use=%d idle=%d",
			FormatBytes(int64(c.Size)), c.Gets, c.Puts, c.Hits, c.Misses, c.InUse, c.Idle)
	}
	return b.String()
}

// FormatBytes renders n bytes with a binary unit: 512 B, 64 KiB, 1.5 GiB.
func FormatBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/1024, 0
	for (f >= 1024 || f <= -1024) && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i:i+1] + "iB"
}

// Stats returns a snapshot of the pool's counters. It takes no lock and never stops Gets
// and Puts.
func (p *BufferPool) Stats() Stats {
	p.ensure()
	s := Stats{
		NotOwned:        p.notOwned.Load(),
		DoublePuts:      p.doublePuts.Load(),
		ClosedPuts:      p.closedPuts.Load(),
		Retains:         p.refs.retains.Load(),
		RefPuts:         p.refs.refPuts.Load(),
		CanaryFailures:  p.canaryFailures.Load(),
		MappedBytes:     p.mapped.Load(),
		PinnedBytes:     p.pinnedBytes.Load(),
		PinFailures:     p.pinFailures.Load(),
		Maps:            p.maps.Load(),
		Unmaps:          p.unmaps.Load(),
		Trims:           p.trims.Load(),
		UnmapFailures:   p.unmapFailures.Load(),
		UnreleasedBytes: p.unreleased.Load(),
		HookPanics:      p.hookPanics.Load(),
		LeakedBuffers:   p.leakedBuffers.Load(),
		TrackedBuffers:  int64(p.tracks.count()),
	}
	for ci := range p.classes {
		cs := p.classStats(ci)
		s.Gets += cs.Gets
		s.Puts += cs.Puts
		s.Hits += cs.Hits
		s.Misses += cs.Misses
		s.InUse += cs.InUse
		s.InUseBytes += cs.InUse * int64(cs.Size)
		s.Idle += cs.Idle
		s.IdleBytes += cs.Idle * int64(cs.Size)
		if cs.Gets != 0 || cs.Idle != 0 {
			s.Classes = append(s.Classes, cs)
		}
	}
	og, op := p.oversizeGets.Load(), p.oversizePuts.Load()
	s.Gets += og
	s.Misses += og
	s.Puts += op
	s.InUse += int64(og) - int64(op)
	s.InUseBytes += p.oversizeOut.Load()
	s.Rejected = s.NotOwned + s.DoublePuts + s.ClosedPuts
	s.PeakInUseBytes = p.notePeak(s.InUseBytes)
	return s
}

// classStats adds up the counters of class ci over every P.
func (p *BufferPool) classStats(ci int) ClassStats {
	cs := ClassStats{Size: p.classes[ci].size}
	cs.Hits = p.uncached.hits[ci].Load()
	cs.Misses = p.uncached.misses[ci].Load()
	cs.Puts = p.uncached.puts[ci].Load()
	for _, l := range p.allLocals.Load().l {
		pc := &l.c[ci]
		cs.Hits += atomic.LoadUint64(&pc.hits)
		cs.Misses += atomic.LoadUint64(&l.misses[ci])
		cs.Puts += atomic.LoadUint64(&pc.puts)
	}
	cs.Gets = cs.Hits + cs.Misses
	cs.InUse = int64(cs.Gets) - int64(cs.Puts)
	// Every buffer that exists is out or idle, so the idle ones need no look into any P's
	// cache. Under concurrent use the two counts are read at different moments.
	cs.Idle = max(p.classes[ci].live.Load()-cs.InUse, 0)
	return cs
}

// inUse returns the buffers of class ci that are out now.
func (p *BufferPool) inUse(ci int) int64 {
	var n int64
	for _, l := range p.allLocals.Load().l {
		pc := &l.c[ci]
		n += int64(atomic.LoadUint64(&pc.hits) + atomic.LoadUint64(&l.misses[ci]) - atomic.LoadUint64(&pc.puts))
	}
	return n + int64(p.uncached.hits[ci].Load()+p.uncached.misses[ci].Load()-p.uncached.puts[ci].Load())
}

// Len returns the number of idle buffers the pool holds.
func (p *BufferPool) Len() int {
	p.ensure()
	var n int64
	for ci := range p.classes {
		n += max(p.classes[ci].live.Load()-p.inUse(ci), 0)
	}
	return int(n)
}

// notePeak raises the in-use high-water mark to n if n is higher, and returns the mark.
func (p *BufferPool) notePeak(n int64) int64 {
	for {
		old := p.peakInUse.Load()
		if n <= old || p.peakInUse.CompareAndSwap(old, n) {
			return max(old, n)
		}
	}
}

// inUseBytes is Stats().InUseBytes without the rest of Stats.
func (p *BufferPool) inUseBytes() int64 {
	var n int64
	for ci := range p.classes {
		// A class with no buffer carved has none out: its per-P counters, on lines other Ps
		// write, are not read (a class's Gets and Puts count before and after live).
		if p.classes[ci].live.Load() != 0 {
			n += p.inUse(ci) * int64(p.classes[ci].size)
		}
	}
	return n + p.oversizeOut.Load()
}
