// Package zeropoolprom exports the counters of zeropool pools to Prometheus: a
// prometheus.Collector that reads each pool's Stats at every scrape. Its import path ends in
// prometheus but the package is named zeropoolprom, so that it never collides with
// client_golang's prometheus package in a file that imports both:
//
//	import (
//		"github.com/prometheus/client_golang/prometheus"
//		zeropoolprom "github.com/zeropool-go/zeropool/contrib/prometheus"
//	)
//
//	reg.MustRegister(zeropoolprom.NewCollector(map[string]*pool.BufferPool{"io": ioPool, "secrets": secrets}))
//
// Every series carries the label pool, valued by the map's keys. Counters end in _total;
// gauges in _buffers or _bytes. The zeropool_class_* families repeat the counts per size
// class, with the label class valued by the class's buffer size in bytes ("4096",
// "83886080"), for the classes Stats lists (those that were ever used); buffers above
// MaxBufferSize have no class and count in the pool's totals only. A pool has at most about
// 60 classes (13 slab classes, then four per power of two up to MaxBufferSize: 48 more with
// the default 1 GiB), so a pool adds at most 8 series per class it uses. A scrape costs one
// Stats call per pool, which takes no lock and never stops Gets and Puts.
package zeropoolprom

import (
	"maps"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zeropool-go/zeropool/pool"
)

// metric is one series family: how to read its value from Stats.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pool.Stats) float64
}

func counter(name, help string, value func(*pool.Stats) uint64) metric {
	return metric{
		desc:  prometheus.NewDesc("zeropool_"+name+"_total", help, []string{"pool"}, nil),
		kind:  prometheus.CounterValue,
		value: func(s *pool.Stats) float64 { return float64(value(s)) },
	}
}

func gauge(name, help string, value func(*pool.Stats) int64) metric {
	return metric{
		desc:  prometheus.NewDesc("zeropool_"+name, help, []string{"pool"}, nil),
		kind:  prometheus.GaugeValue,
		value: func(s *pool.Stats) float64 { return float64(value(s)) },
	}
}

// The series of one pool, in the order of Stats' fields.
var metrics = []metric{
	counter("gets", "Buffers handed out by Get.", func(s *pool.Stats) uint64 { return s.Gets }),
	counter("puts", "Buffers taken back by Put.", func(s *pool.Stats) uint64 { return s.Puts }),
	counter("hits", "Gets served by memory the pool had used before.", func(s *pool.Stats) uint64 { return s.Hits }),
	counter("misses", "Gets served by fresh memory.", func(s *pool.Stats) uint64 { return s.Misses }),
	counter("canary_failures", "Puts of secure buffers whose canary was overwritten (a write past the end).",
		func(s *pool.Stats) uint64 { return s.CanaryFailures }),
	gauge("in_use_buffers", "Buffers out now.", func(s *pool.Stats) int64 { return s.InUse }),
	gauge("in_use_bytes", "Bytes of the buffers out now (whole size classes).", func(s *pool.Stats) int64 { return s.InUseBytes }),
	gauge("peak_in_use_bytes", "Highest in-use bytes the pool has seen.", func(s *pool.Stats) int64 { return s.PeakInUseBytes }),
	gauge("idle_buffers", "Buffers held idle for reuse.", func(s *pool.Stats) int64 { return s.Idle }),
	gauge("idle_bytes", "Bytes of the buffers held idle.", func(s *pool.Stats) int64 { return s.IdleBytes }),
	gauge("mapped_bytes", "Bytes mapped now, outside the Go heap.", func(s *pool.Stats) int64 { return s.MappedBytes }),
	gauge("pinned_bytes", "Bytes of those mappings locked into RAM.", func(s *pool.Stats) int64 { return s.PinnedBytes }),
	counter("pin_failures", "Mappings that could not be locked into RAM.", func(s *pool.Stats) uint64 { return s.PinFailures }),
	counter("maps", "Mappings made.", func(s *pool.Stats) uint64 { return s.Maps }),
	counter("unmaps", "Mappings given back to the system.", func(s *pool.Stats) uint64 { return s.Unmaps }),
	counter("trims", "Calls of Trim.", func(s *pool.Stats) uint64 { return s.Trims }),
	counter("unmap_failures", "Unmaps the kernel refused; the mapping is tried again by the next Trim and by Close.",
		func(s *pool.Stats) uint64 { return s.UnmapFailures }),
	gauge("unreleased_bytes", "Bytes the last Trim could not give back: free slots of pinned slabs the kernel refused to unlock or discard.",
		func(s *pool.Stats) int64 { return s.UnreleasedBytes }),
	counter("hook_panics", "Panics of the pool's OnMap and OnUnmap hooks.", func(s *pool.Stats) uint64 { return s.HookPanics }),
	counter("retains", "References added by Retain to buffers that are out.", func(s *pool.Stats) uint64 { return s.Retains }),
	counter("ref_puts", "Puts that only dropped a reference Retain added (the buffer stays out).",
		func(s *pool.Stats) uint64 { return s.RefPuts }),
	counter("leaked_buffers", "pool.Buffers collected without Release: their storage stays out for good.",
		func(s *pool.Stats) uint64 { return s.LeakedBuffers }),
	gauge("tracked_buffers", "Buffers out now whose Get was tracked (Config.TrackRate; see the zeropool.inuse profile).",
		func(s *pool.Stats) int64 { return s.TrackedBuffers }),
}

// rejected is the one family with a second label: why a Put was refused. Its sum over the
// reasons is Stats.Rejected.
var rejected = prometheus.NewDesc("zeropool_rejected_puts_total",
	"Puts refused, by reason: not_owned (memory the pool did not hand out), double_put, closed (after Close).",
	[]string{"pool", "reason"}, nil)

// classMetric is one per-class series family: how to read its value from a class's row.
type classMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pool.ClassStats) float64
}

func classCounter(name, help string, value func(*pool.ClassStats) uint64) classMetric {
	return classMetric{
		desc:  prometheus.NewDesc("zeropool_class_"+name+"_total", help, []string{"pool", "class"}, nil),
		kind:  prometheus.CounterValue,
		value: func(c *pool.ClassStats) float64 { return float64(value(c)) },
	}
}

func classGauge(name, help string, value func(*pool.ClassStats) int64) classMetric {
	return classMetric{
		desc:  prometheus.NewDesc("zeropool_class_"+name, help, []string{"pool", "class"}, nil),
		kind:  prometheus.GaugeValue,
		value: func(c *pool.ClassStats) float64 { return float64(value(c)) },
	}
}

// The series of one size class (label class: its buffer size in bytes), in the order of
// ClassStats' fields, then the bytes those buffers hold.
var classMetrics = []classMetric{
	classCounter("gets", "Buffers of the size class handed out by Get.", func(c *pool.ClassStats) uint64 { return c.Gets }),
	classCounter("puts", "Buffers of the size class taken back by Put.", func(c *pool.ClassStats) uint64 { return c.Puts }),
	classCounter("hits", "Gets of the size class served by memory the pool had used before.", func(c *pool.ClassStats) uint64 { return c.Hits }),
	classCounter("misses", "Gets of the size class served by fresh memory.", func(c *pool.ClassStats) uint64 { return c.Misses }),
	classGauge("in_use_buffers", "Buffers of the size class out now.", func(c *pool.ClassStats) int64 { return c.InUse }),
	classGauge("idle_buffers", "Buffers of the size class held idle for reuse.", func(c *pool.ClassStats) int64 { return c.Idle }),
	classGauge("in_use_bytes", "Bytes of the size class's buffers out now.", func(c *pool.ClassStats) int64 { return c.InUse * int64(c.Size) }),
	classGauge("idle_bytes", "Bytes of the size class's buffers held idle.", func(c *pool.ClassStats) int64 { return c.Idle * int64(c.Size) }),
}

type collector struct {
	names []string
	pools []*pool.BufferPool
}

// NewCollector returns a collector of the pools in the map, each series labelled pool="key".
// The map is read once, here; nil pools are left out.
func NewCollector(pools map[string]*pool.BufferPool) prometheus.Collector {
	c := &collector{}
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		if p := pools[name]; p != nil {
			c.names = append(c.names, name)
			c.pools = append(c.pools, p)
		}
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- m.desc
	}
	ch <- rejected
	for _, m := range classMetrics {
		ch <- m.desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for i, p := range c.pools {
		s := p.Stats()
		name := c.names[i]
		for _, m := range metrics {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s), name)
		}
		for _, r := range []struct {
			reason string
			n      uint64
		}{{"not_owned", s.NotOwned}, {"double_put", s.DoublePuts}, {"closed", s.ClosedPuts}} {
			ch <- prometheus.MustNewConstMetric(rejected, prometheus.CounterValue, float64(r.n), name, r.reason)
		}
		for i := range s.Classes {
			cs := &s.Classes[i]
			class := strconv.Itoa(cs.Size)
			for _, m := range classMetrics {
				ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(cs), name, class)
			}
		}
	}
}
