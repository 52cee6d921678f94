package pool

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON renders every field of the Stats with its name in snake_case (gets,
// not_owned, peak_in_use_bytes, ...), the classes as an array of objects (size, gets, puts,
// hits, misses, in_use, idle), and "hit_rate", HitRate() as a fraction of 1. It is what
// expvar shows of
//
//	expvar.Publish("zeropool", expvar.Func(func() any { return p.Stats() }))
func (s Stats) MarshalJSON() ([]byte, error) {
	type fields Stats // the names come from Stats' tags; fields has no MarshalJSON of its own
	if s.Classes == nil {
		s.Classes = []ClassStats{} // [], never null
	}
	b, err := json.Marshal(fields(s))
	if err != nil {
		return nil, err
	}
	rate, err := json.Marshal(s.HitRate())
	if err != nil {
		return nil, err
	}
	// hit_rate, which is no field, goes after misses, where it has always been. Every value
	// before "rejected" is a number: its first match is the key.
	at := bytes.Index(b, []byte(`,"rejected":`))
	out := make([]byte, 0, len(b)+len(`,"hit_rate":`)+len(rate))
	out = append(out, b[:at]...)
	out = append(out, `,"hit_rate":`...)
	out = append(out, rate...)
	return append(out, b[at:]...), nil
}
