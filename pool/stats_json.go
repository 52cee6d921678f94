package pool

import "encoding/json"

// MarshalJSON renders every field of the Stats with its name in snake_case (gets,
// not_owned, peak_in_use_bytes, ...), the classes as an array of objects (size, gets, puts,
// hits, misses, in_use, idle), and "hit_rate", HitRate() as a fraction of 1. It is what
// expvar shows of
//
//	expvar.Publish("zeropool", expvar.Func(func() any { return p.Stats() }))
func (s Stats) MarshalJSON() ([]byte, error) {
	classes := make([]classJSON, len(s.Classes))
	for i, c := range s.Classes {
		classes[i] = classJSON{
			Size: c.Size, Gets: c.Gets, Puts: c.Puts, Hits: c.Hits, Misses: c.Misses,
			InUse: c.InUse, Idle: c.Idle,
		}
	}
	return json.Marshal(statsJSON{
		Gets:           s.Gets,
		Puts:           s.Puts,
		Hits:           s.Hits,
		Misses:         s.Misses,
		HitRate:        s.HitRate(),
		Rejected:       s.Rejected,
		NotOwned:       s.NotOwned,
		DoublePuts:     s.DoublePuts,
		ClosedPuts:     s.ClosedPuts,
		Retains:        s.Retains,
		RefPuts:        s.RefPuts,
		CanaryFailures: s.CanaryFailures,
		InUse:          s.InUse,
		InUseBytes:     s.InUseBytes,
		PeakInUseBytes: s.PeakInUseBytes,
		Idle:           s.Idle,
		IdleBytes:      s.IdleBytes,
		MappedBytes:    s.MappedBytes,
		PinnedBytes:    s.PinnedBytes,
		PinFailures:    s.PinFailures,
		Maps:           s.Maps,
		Unmaps:         s.Unmaps,
		Trims:          s.Trims,
		UnmapFailures:  s.UnmapFailures,
		Unreleased:     s.UnreleasedBytes,
		HookPanics:     s.HookPanics,
		LeakedBuffers:  s.LeakedBuffers,
		TrackedBuffers: s.TrackedBuffers,
		Classes:        classes,
	})
}

// statsJSON is Stats with the JSON names; a field of Stats missing here fails the test that
// reflects over Stats.
type statsJSON struct {
	Gets           uint64      `json:"gets"`
	Puts           uint64      `json:"puts"`
	Hits           uint64      `json:"hits"`
	Misses         uint64      `json:"misses"`
	HitRate        float64     `json:"hit_rate"`
	Rejected       uint64      `json:"rejected"`
	NotOwned       uint64      `json:"not_owned"`
	DoublePuts     uint64      `json:"double_puts"`
	ClosedPuts     uint64      `json:"closed_puts"`
	Retains        uint64      `json:"retains"`
	RefPuts        uint64      `json:"ref_puts"`
	CanaryFailures uint64      `json:"canary_failures"`
	InUse          int64       `json:"in_use"`
	InUseBytes     int64       `json:"in_use_bytes"`
	PeakInUseBytes int64       `json:"peak_in_use_bytes"`
	Idle           int64       `json:"idle"`
	IdleBytes      int64       `json:"idle_bytes"`
	MappedBytes    int64       `json:"mapped_bytes"`
	PinnedBytes    int64       `json:"pinned_bytes"`
	PinFailures    uint64      `json:"pin_failures"`
	Maps           uint64      `json:"maps"`
	Unmaps         uint64      `json:"unmaps"`
	Trims          uint64      `json:"trims"`
	UnmapFailures  uint64      `json:"unmap_failures"`
	Unreleased     int64       `json:"unreleased_bytes"`
	HookPanics     uint64      `json:"hook_panics"`
	LeakedBuffers  uint64      `json:"leaked_buffers"`
	TrackedBuffers int64       `json:"tracked_buffers"`
	Classes        []classJSON `json:"classes"`
}

type classJSON struct {
	Size   int    `json:"size"`
	Gets   uint64 `json:"gets"`
	Puts   uint64 `json:"puts"`
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	InUse  int64  `json:"in_use"`
	Idle   int64  `json:"idle"`
}
