package zeropoolprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zeropool-go/zeropool/pool"
)

// processMetric is one series of the process-wide figures.
type processMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pool.ProcessStats) float64
}

func processSeries(name, help string, kind prometheus.ValueType, value func(*pool.ProcessStats) float64) processMetric {
	return processMetric{prometheus.NewDesc("zeropool_process_"+name, help, nil, nil), kind, value}
}

var processMetrics = []processMetric{
	processSeries("pools", "Pools set up and not yet collected.", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.Pools) }),
	processSeries("mapped_bytes", "Bytes every pool of the process maps now, outside the Go heap (dropped pools' leftovers included).", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.MappedBytes) }),
	processSeries("idle_bytes", "Bytes the live pools hold idle.", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.IdleBytes) }),
	processSeries("in_use_bytes", "Bytes of the live pools' buffers out now.", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.InUseBytes) }),
	processSeries("dropped_pools_total", "Pools the garbage collector found unreachable; their idle memory was given back.", prometheus.CounterValue,
		func(s *pool.ProcessStats) float64 { return float64(s.DroppedPools) }),
	processSeries("dropped_out_buffers", "Buffers that were out when their pool was dropped: mapped for good.", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.DroppedBuffersOut) }),
	processSeries("dropped_out_bytes", "Bytes of the buffers that were out when their pool was dropped.", prometheus.GaugeValue,
		func(s *pool.ProcessStats) float64 { return float64(s.DroppedBytesOut) }),
	processSeries("leaked_buffers_total", "pool.Buffers of every pool collected without Release.", prometheus.CounterValue,
		func(s *pool.ProcessStats) float64 { return float64(s.LeakedBuffers) }),
	processSeries("hook_panics_total", "OnUnmap panics in the cleanups of dropped pools.", prometheus.CounterValue,
		func(s *pool.ProcessStats) float64 { return float64(s.HookPanics) }),
}

type processCollector struct{}

// NewProcessCollector returns a collector of the figures over every pool of the process
// (pool.Process): mapped, idle and in-use bytes, and the leaks of dropped pools and Buffers,
// which no pool's own series can report once the pool is gone. It holds no pool: register
// it once per process.
func NewProcessCollector() prometheus.Collector { return processCollector{} }

func (processCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range processMetrics {
		ch <- m.desc
	}
}

func (processCollector) Collect(ch chan<- prometheus.Metric) {
	s := pool.Process()
	for _, m := range processMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s))
	}
}
