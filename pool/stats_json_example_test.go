package pool_test

import (
	"encoding/json"
	"expvar"
	"fmt"
	"log"
	"sync/atomic"

	"github.com/zeropool-go/zeropool/pool"
)

// exampleLive is the pool ExampleStats_MarshalJSON publishes. expvar names are process-wide
// and Publish panics when a name is taken, so a program publishes once, at start-up; the
// example publishes on its first run only and points the variable at each run's pool.
var exampleLive atomic.Pointer[pool.BufferPool]

// Stats marshal to JSON with every counter and the hit rate, so that expvar can publish a
// pool as it is: /debug/vars then shows the pool's live counters under "zeropool".
func ExampleStats_MarshalJSON() {
	p := pool.New()
	defer p.Close()
	exampleLive.Store(p)
	if expvar.Get("zeropool") == nil {
		// In a program: expvar.Publish("zeropool", expvar.Func(func() any { return p.Stats() }))
		expvar.Publish("zeropool", expvar.Func(func() any { return exampleLive.Load().Stats() }))
	}

	buf := p.Get(64 << 10)
	if err := p.Put(buf); err != nil {
		log.Fatal(err)
	}
	_ = p.Put(make([]byte, 8)) // refused: not the pool's, counted as not_owned

	var vars struct {
		Gets     uint64  `json:"gets"`
		Puts     uint64  `json:"puts"`
		Misses   uint64  `json:"misses"`
		HitRate  float64 `json:"hit_rate"`
		NotOwned uint64  `json:"not_owned"`
		InUse    int64   `json:"in_use"`
		Classes  []struct {
			Size int    `json:"size"`
			Gets uint64 `json:"gets"`
		} `json:"classes"`
	}
	// What /debug/vars serves for the variable: expvar.Get(name).String().
	if err := json.Unmarshal([]byte(expvar.Get("zeropool").String()), &vars); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("gets=%d puts=%d misses=%d hit_rate=%g not_owned=%d in_use=%d\n",
		vars.Gets, vars.Puts, vars.Misses, vars.HitRate, vars.NotOwned, vars.InUse)
	fmt.Printf("classes: %+v\n", vars.Classes)
	// Output:
	// gets=1 puts=1 misses=1 hit_rate=0 not_owned=1 in_use=0
	// classes: [{Size:65536 Gets:1}]
}
