package zeropoolprom_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	zeropoolprom "github.com/zeropool-go/zeropool/contrib/prometheus"
	"github.com/zeropool-go/zeropool/pool"
)

func newPool(t *testing.T) *pool.BufferPool {
	t.Helper()
	p, err := pool.NewWithConfig(pool.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// twoPools are pools with known traffic: "io" has one 4 KiB buffer out of three got, a Trim
// and two refused Puts; "spare" took one 1 MiB buffer back and refused one Put after Close.
func twoPools(t *testing.T) map[string]*pool.BufferPool {
	io, spare := newPool(t), newPool(t)
	a, b := io.Get(4096), io.Get(4096)
	_ = io.Get(4096)
	require.NoError(t, io.Put(a))
	require.NoError(t, io.Put(b))
	assert.ErrorIs(t, io.Put(b), pool.ErrDoublePut)
	assert.ErrorIs(t, io.Put(make([]byte, 10)), pool.ErrNotOwned)
	io.Trim()

	require.NoError(t, spare.Put(spare.Get(1<<20)))
	require.NoError(t, spare.Close())
	assert.ErrorIs(t, spare.Put(make([]byte, 10)), pool.ErrClosed)
	return map[string]*pool.BufferPool{"io": io, "spare": spare}
}

func TestCollectAndCompare(t *testing.T) {
	c := zeropoolprom.NewCollector(twoPools(t))
	const want = `
# HELP zeropool_gets_total Buffers handed out by Get.
# TYPE zeropool_gets_total counter
zeropool_gets_total{pool="io"} 3
zeropool_gets_total{pool="spare"} 1
# HELP zeropool_puts_total Buffers taken back by Put.
# TYPE zeropool_puts_total counter
zeropool_puts_total{pool="io"} 2
zeropool_puts_total{pool="spare"} 1
# HELP zeropool_in_use_buffers Buffers out now.
# TYPE zeropool_in_use_buffers gauge
zeropool_in_use_buffers{pool="io"} 1
zeropool_in_use_buffers{pool="spare"} 0
# HELP zeropool_in_use_bytes Bytes of the buffers out now (whole size classes).
# TYPE zeropool_in_use_bytes gauge
zeropool_in_use_bytes{pool="io"} 4096
zeropool_in_use_bytes{pool="spare"} 0
# HELP zeropool_trims_total Calls of Trim.
# TYPE zeropool_trims_total counter
zeropool_trims_total{pool="io"} 1
zeropool_trims_total{pool="spare"} 0
# HELP zeropool_rejected_puts_total Puts refused, by reason: not_owned (memory the pool did not hand out), double_put, closed (after Close).
# TYPE zeropool_rejected_puts_total counter
zeropool_rejected_puts_total{pool="io",reason="closed"} 0
zeropool_rejected_puts_total{pool="io",reason="double_put"} 1
zeropool_rejected_puts_total{pool="io",reason="not_owned"} 1
zeropool_rejected_puts_total{pool="spare",reason="closed"} 1
zeropool_rejected_puts_total{pool="spare",reason="double_put"} 0
zeropool_rejected_puts_total{pool="spare",reason="not_owned"} 0
# HELP zeropool_class_gets_total Buffers of the size class handed out by Get.
# TYPE zeropool_class_gets_total counter
zeropool_class_gets_total{class="1048576",pool="spare"} 1
zeropool_class_gets_total{class="4096",pool="io"} 3
# HELP zeropool_class_puts_total Buffers of the size class taken back by Put.
# TYPE zeropool_class_puts_total counter
zeropool_class_puts_total{class="1048576",pool="spare"} 1
zeropool_class_puts_total{class="4096",pool="io"} 2
# HELP zeropool_class_in_use_buffers Buffers of the size class out now.
# TYPE zeropool_class_in_use_buffers gauge
zeropool_class_in_use_buffers{class="1048576",pool="spare"} 0
zeropool_class_in_use_buffers{class="4096",pool="io"} 1
# HELP zeropool_class_in_use_bytes Bytes of the size class's buffers out now.
# TYPE zeropool_class_in_use_bytes gauge
zeropool_class_in_use_bytes{class="1048576",pool="spare"} 0
zeropool_class_in_use_bytes{class="4096",pool="io"} 4096
`
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"zeropool_gets_total", "zeropool_puts_total", "zeropool_in_use_buffers", "zeropool_in_use_bytes",
		"zeropool_trims_total", "zeropool_rejected_puts_total",
		"zeropool_class_gets_total", "zeropool_class_puts_total", "zeropool_class_in_use_buffers", "zeropool_class_in_use_bytes"))
}

// Each size class the pool's Stats lists has its series, labelled class="its buffer size in
// bytes", with the values of its row; classes never used have none.
func TestClassSeries(t *testing.T) {
	p := newPool(t)
	small := p.Get(64)
	require.NoError(t, p.Put(p.Get(64)))
	page := p.Get(4096)
	require.NoError(t, p.Put(p.Get(300_000))) // class 320 KiB: 5/4 of 256 KiB
	big := p.Get(5 << 20)                     // class 5 MiB: 5/4 of 4 MiB
	defer func() {
		for _, b := range [][]byte{small, page, big} {
			assert.NoError(t, p.Put(b))
		}
	}()
	c := zeropoolprom.NewCollector(map[string]*pool.BufferPool{"p": p})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)

	// family -> class -> value
	got := map[string]map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "zeropool_class_") {
			continue
		}
		got[mf.GetName()] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			require.Equal(t, "p", labels["pool"])
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[mf.GetName()][labels["class"]] = v
		}
	}
	require.Len(t, got, 8, "eight families per class")
	want := map[string]struct{ gets, puts, inUse float64 }{
		"64": {2, 1, 1}, "4096": {1, 0, 1}, "327680": {1, 1, 0}, "5242880": {1, 0, 1},
	}
	for class, w := range want {
		assert.Equal(t, w.gets, got["zeropool_class_gets_total"][class], "gets of class %s", class)
		assert.Equal(t, w.puts, got["zeropool_class_puts_total"][class], "puts of class %s", class)
		assert.Equal(t, w.inUse, got["zeropool_class_in_use_buffers"][class], "in use of class %s", class)
	}
	s := p.Stats()
	require.Len(t, s.Classes, len(want), "the classes used, and no others")
	for _, cs := range s.Classes {
		class := strconv.Itoa(cs.Size)
		require.Contains(t, want, class, "Stats lists a class the test did not use")
		for name, v := range map[string]float64{
			"gets_total": float64(cs.Gets), "puts_total": float64(cs.Puts),
			"hits_total": float64(cs.Hits), "misses_total": float64(cs.Misses),
			"in_use_buffers": float64(cs.InUse), "idle_buffers": float64(cs.Idle),
			"in_use_bytes": float64(cs.InUse * int64(cs.Size)), "idle_bytes": float64(cs.Idle * int64(cs.Size)),
		} {
			fam := got["zeropool_class_"+name]
			assert.Len(t, fam, len(want), "zeropool_class_%s: one series per class", name)
			assert.Equal(t, v, fam[class], "zeropool_class_%s{class=%q}", name, class)
		}
	}
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// The collector passes promlint, and a pedantic registry (which checks that what Collect
// sends matches what Describe announced) takes it.
func TestLintAndPedanticRegistry(t *testing.T) {
	c := zeropoolprom.NewCollector(twoPools(t))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	problems, err = testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	assert.Equal(t, n, testutil.CollectAndCount(c))
	const classFamilies = 8
	perPool := len(mfs) - classFamilies - 1 + 3 // every pool family once, rejected_puts_total once per reason
	assert.Equal(t, 2*(perPool+classFamilies), n, "and each of the two pools used one size class")
}

// snake spells a field name in snake_case: PeakInUseBytes -> peak_in_use_bytes.
func snake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Every counter and gauge of Stats has its series, typed by the field: a uint64 count is a
// counter (_total), an int64 level a gauge (in _bytes, or _buffers for a number of buffers).
// A field added to Stats without a series fails here.
func TestEveryStatsFieldHasASeries(t *testing.T) {
	p := newPool(t)
	require.NoError(t, p.Put(p.Get(4096))) // a class used, so that its series exist
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(zeropoolprom.NewCollector(map[string]*pool.BufferPool{"p": p})))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	types := map[string]dto.MetricType{}
	for _, mf := range mfs {
		types[mf.GetName()] = mf.GetType()
	}
	byReason := map[string]bool{"Rejected": true, "NotOwned": true, "DoublePuts": true, "ClosedPuts": true}
	st := reflect.TypeFor[pool.Stats]()
	for i := range st.NumField() {
		f := st.Field(i)
		if byReason[f.Name] {
			continue // zeropool_rejected_puts_total{reason=...}
		}
		var name string
		var typ dto.MetricType
		switch f.Type.Kind() {
		case reflect.Uint64:
			name, typ = "zeropool_"+snake(f.Name)+"_total", dto.MetricType_COUNTER
		case reflect.Int64:
			name, typ = "zeropool_"+snake(f.Name), dto.MetricType_GAUGE
			if !strings.HasSuffix(name, "_bytes") && !strings.HasSuffix(name, "_buffers") {
				name += "_buffers"
			}
		case reflect.Slice:
			continue // Classes: below
		default:
			t.Fatalf("Stats.%s is a %s: teach this test and the collector about it", f.Name, f.Type)
		}
		got, ok := types[name]
		if assert.True(t, ok, "Stats.%s has no series %s", f.Name, name) {
			assert.Equal(t, typ, got, "type of %s", name)
		}
	}
	// ClassStats: its Size is the label class, every other field has a zeropool_class_ series,
	// and the bytes of its buffer counts are gauges too.
	ct := reflect.TypeFor[pool.ClassStats]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		var name string
		var typ dto.MetricType
		switch {
		case f.Name == "Size":
			continue
		case f.Type.Kind() == reflect.Uint64:
			name, typ = "zeropool_class_"+snake(f.Name)+"_total", dto.MetricType_COUNTER
		case f.Type.Kind() == reflect.Int64:
			name, typ = "zeropool_class_"+snake(f.Name)+"_buffers", dto.MetricType_GAUGE
			bytes := "zeropool_class_" + snake(f.Name) + "_bytes"
			assert.Equal(t, dto.MetricType_GAUGE, types[bytes], "ClassStats.%s has no gauge %s", f.Name, bytes)
		default:
			t.Fatalf("ClassStats.%s is a %s: teach this test and the collector about it", f.Name, f.Type)
		}
		got, ok := types[name]
		if assert.True(t, ok, "ClassStats.%s has no series %s", f.Name, name) {
			assert.Equal(t, typ, got, "type of %s", name)
		}
	}
	assert.Equal(t, dto.MetricType_COUNTER, types["zeropool_rejected_puts_total"])
}

func TestNilAndNoPools(t *testing.T) {
	c := zeropoolprom.NewCollector(map[string]*pool.BufferPool{"none": nil})
	assert.Zero(t, testutil.CollectAndCount(c))
	assert.Zero(t, testutil.CollectAndCount(zeropoolprom.NewCollector(nil)))
	reg := prometheus.NewPedanticRegistry()
	assert.NoError(t, reg.Register(c))
}

// The map is read once, at NewCollector: later changes to it do not change what is collected.
func TestMapReadOnce(t *testing.T) {
	pools := map[string]*pool.BufferPool{"a": newPool(t)}
	c := zeropoolprom.NewCollector(pools)
	n := testutil.CollectAndCount(c)
	pools["b"] = newPool(t)
	assert.Equal(t, n, testutil.CollectAndCount(c))
}
