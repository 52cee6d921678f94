package zeropoolprom_test

import (
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	zeropoolprom "github.com/zeropool-go/zeropool/contrib/prometheus"
	"github.com/zeropool-go/zeropool/pool"
)

// The process collector exports every field of pool.ProcessStats, with the values Process
// reports, and passes promlint and a pedantic registry.
func TestProcessCollector(t *testing.T) {
	p := newPool(t)
	b := p.Get(1 << 20)
	c := zeropoolprom.NewProcessCollector()
	assert.Equal(t, reflect.TypeFor[pool.ProcessStats]().NumField(), testutil.CollectAndCount(c), "a series per field")
	mapped := float64(pool.Process().MappedBytes)
	assert.Equal(t, mapped, testutil.ToFloat64(collectOne(t, c, "zeropool_process_mapped_bytes")))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	_, err = reg.Gather()
	require.NoError(t, err)
	require.NoError(t, p.Put(b))
}

// collectOne is the collector's series of one name, as a collector of its own.
func collectOne(t *testing.T, c prometheus.Collector, name string) prometheus.Collector {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return mf.GetMetric()[0].GetGauge().GetValue() })
		}
	}
	require.Failf(t, "no series", "%s", name)
	return nil
}
