//go:build race

package procfs

import "errors"

// errFiller says why a MapFiller cannot be used in this build.
var errFiller = errors.New("map count filler: the race detector's runtime maps memory of its own at any time, and dies at vm.max_map_count")
