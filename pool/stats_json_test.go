package pool_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

// snake spells a Go field name in snake_case: NotOwned -> not_owned, PeakInUseBytes ->
// peak_in_use_bytes, and an initialism as one word (NUMANodes -> numa_nodes).
func snake(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) &&
			(unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"Gets": "gets", "NotOwned": "not_owned", "PeakInUseBytes": "peak_in_use_bytes",
		"InUse": "in_use", "NUMANodes": "numa_nodes", "HitRate": "hit_rate",
	} {
		assert.Equal(t, want, snake(in))
	}
}

// fillDistinct gives every exported integer field of the struct v points to its own value,
// from next on, and returns the next unused value.
func fillDistinct(t *testing.T, v reflect.Value, next int64) int64 {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32:
			f.SetInt(next)
		case reflect.Uint64, reflect.Uint32, reflect.Uint:
			f.SetUint(uint64(next))
		case reflect.Slice: // Classes: filled by the caller
			continue
		default:
			t.Fatalf("field %s of kind %s: teach this test (and MarshalJSON) about it", v.Type().Field(i).Name, f.Kind())
		}
		next++
	}
	return next
}

// checkFields checks that the JSON object got has every exported field of the struct v in
// snake_case with its value, and nothing else but the keys in extra.
func checkFields(t *testing.T, what string, v reflect.Value, got map[string]any, extra ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, k := range extra {
		want[k] = true
	}
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		key := snake(sf.Name)
		want[key] = true
		raw, ok := got[key]
		if !assert.True(t, ok, "%s: field %s has no %q in the JSON", what, sf.Name, key) {
			continue
		}
		if sf.Type.Kind() == reflect.Slice {
			continue
		}
		n, isNum := raw.(json.Number)
		if !assert.True(t, isNum, "%s: %q is %T, want a number", what, key, raw) {
			continue
		}
		assert.Equal(t, fmtNumber(v.Field(i)), n.String(), "%s: value of %q (field %s)", what, key, sf.Name)
	}
	for k := range got {
		assert.True(t, want[k], "%s: %q in the JSON matches no field", what, k)
	}
}

func fmtNumber(v reflect.Value) string {
	b, _ := json.Marshal(v.Interface())
	return string(b)
}

// Every exported field of Stats and of ClassStats appears in the JSON under its snake_case
// name with its value, plus hit_rate: a field added to Stats without JSON fails here.
func TestStatsMarshalJSONHasEveryField(t *testing.T) {
	var s pool.Stats
	next := fillDistinct(t, reflect.ValueOf(&s).Elem(), 1)
	s.Classes = make([]pool.ClassStats, 2)
	for i := range s.Classes {
		next = fillDistinct(t, reflect.ValueOf(&s.Classes[i]).Elem(), next)
	}
	data, err := json.Marshal(s)
	require.NoError(t, err)
	t.Logf("%s", data)

	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var got map[string]any
	require.NoError(t, dec.Decode(&got))
	checkFields(t, "Stats", reflect.ValueOf(s), got, "hit_rate")

	rate, err := got["hit_rate"].(json.Number).Float64()
	require.NoError(t, err)
	assert.InDelta(t, s.HitRate(), rate, 1e-12)
	assert.NotZero(t, rate)

	classes, ok := got["classes"].([]any)
	require.True(t, ok, "classes is %T, want an array", got["classes"])
	require.Len(t, classes, len(s.Classes))
	for i, c := range classes {
		obj, ok := c.(map[string]any)
		require.True(t, ok, "class %d is %T, want an object", i, c)
		checkFields(t, "ClassStats", reflect.ValueOf(s.Classes[i]), obj)
	}
}

// A live pool's Stats round-trip, and a pool without classes in use gives an empty array,
// not null.
func TestStatsMarshalJSONLive(t *testing.T) {
	p := testPool(t, pool.Config{})
	data, err := json.Marshal(p.Stats())
	require.NoError(t, err)
	assert.Contains(t, string(data), `"classes":[]`)
	assert.Contains(t, string(data), `"hit_rate":0`)

	for range 3 {
		require.NoError(t, p.Put(p.Get(4096)))
	}
	var got struct {
		Gets, Puts uint64
		HitRate    float64 `json:"hit_rate"`
		InUse      int64   `json:"in_use"`
		Classes    []struct{ Size, Gets int }
	}
	data, err = json.Marshal(p.Stats())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &got))
	s := p.Stats()
	assert.Equal(t, uint64(3), got.Gets)
	assert.Equal(t, uint64(3), got.Puts)
	assert.InDelta(t, s.HitRate(), got.HitRate, 1e-12)
	require.Len(t, got.Classes, 1)
	assert.Equal(t, 4096, got.Classes[0].Size)
	assert.Equal(t, 3, got.Classes[0].Gets)
}
