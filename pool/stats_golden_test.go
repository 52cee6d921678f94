package pool_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

func populatedStats() pool.Stats {
	return pool.Stats{
		Gets: 1, Puts: 2, Hits: 3, Misses: 4, Rejected: 5, NotOwned: 6, DoublePuts: 7, ClosedPuts: 8,
		Retains: 9, RefPuts: 10, CanaryFailures: 11, InUse: 12, InUseBytes: 13, PeakInUseBytes: 14,
		Idle: 15, IdleBytes: 16, MappedBytes: 17, PinnedBytes: 18, PinFailures: 19, Maps: 20,
		Unmaps: 21, Trims: 22, UnmapFailures: 23, UnreleasedBytes: -24, HookPanics: 25,
		LeakedBuffers: 26, TrackedBuffers: 27,
		Classes: []pool.ClassStats{
			{Size: 64, Gets: 28, Puts: 29, Hits: 30, Misses: 31, InUse: 32, Idle: 33},
			{Size: 1 << 30, Gets: 1 << 40, InUse: -1},
		},
	}
}

// The JSON of a Stats, byte for byte as it has always been (an exporter's parser, a stored
// dashboard query, a diff of two snapshots rely on it): names, order, hit_rate after
// misses, an empty class list as [].
func TestStatsJSONBytes(t *testing.T) {
	b, err := json.Marshal(populatedStats())
	require.NoError(t, err)
	require.Equal(t, `{"gets":1,"puts":2,"hits":3,"misses":4,"hit_rate":3,"rejected":5,"not_owned":6,"double_puts":7,"closed_puts":8,"retains":9,"ref_puts":10,"canary_failures":11,"in_use":12,"in_use_bytes":13,"peak_in_use_bytes":14,"idle":15,"idle_bytes":16,"mapped_bytes":17,"pinned_bytes":18,"pin_failures":19,"maps":20,"unmaps":21,"trims":22,"unmap_failures":23,"unreleased_bytes":-24,"hook_panics":25,"leaked_buffers":26,"tracked_buffers":27,"classes":[{"size":64,"gets":28,"puts":29,"hits":30,"misses":31,"in_use":32,"idle":33},{"size":1073741824,"gets":1099511627776,"puts":0,"hits":0,"misses":0,"in_use":-1,"idle":0}]}`, string(b))

	s := populatedStats()
	s.Gets, s.Hits = 3, 1
	b, err = json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"misses":4,"hit_rate":0.3333333333333333,"rejected":5,`)

	b, err = json.Marshal(pool.Stats{})
	require.NoError(t, err)
	require.Equal(t, `{"gets":0,"puts":0,"hits":0,"misses":0,"hit_rate":0,"rejected":0,"not_owned":0,"double_puts":0,"closed_puts":0,"retains":0,"ref_puts":0,"canary_failures":0,"in_use":0,"in_use_bytes":0,"peak_in_use_bytes":0,"idle":0,"idle_bytes":0,"mapped_bytes":0,"pinned_bytes":0,"pin_failures":0,"maps":0,"unmaps":0,"trims":0,"unmap_failures":0,"unreleased_bytes":0,"hook_panics":0,"leaked_buffers":0,"tracked_buffers":0,"classes":[]}`, string(b))

	b, err = json.Marshal(&pool.Stats{Gets: 1})
	require.NoError(t, err)
	require.Contains(t, string(b), `{"gets":1,`, "a *Stats marshals as a Stats")
}
