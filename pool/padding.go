package pool

import "unsafe"

// Padding computed from the sizes of the fields it pads, so that a field added or removed
// cannot silently move a line boundary; the assertions below fail to compile where a padded
// type does not come out at its intended size (an array of negative length). Only sizes are
// taken here: nothing is converted with unsafe.

// depotShardPad puts each depot shard on 128 bytes of its own: no false sharing between
// shards (nor with the adjacent line the prefetcher pairs with each).
const depotShardPad = 128 - unsafe.Sizeof(depotShardFields{})%128

// pcachePad makes a pcache one cache line: a line each, and an index is a shift.
const pcachePad = 64 - unsafe.Sizeof(pcacheFields{})

// localHeadPad puts a P's pcaches on lines of their own, after its last-Get fields.
const localHeadPad = 64 - unsafe.Sizeof(localHead{})

var (
	_ [unsafe.Sizeof(depotShard{}) - 128]byte
	_ [128 - unsafe.Sizeof(depotShard{})]byte
	_ [unsafe.Sizeof(pcache{}) - 64]byte
	_ [64 - unsafe.Sizeof(pcache{})]byte
	_ [unsafe.Offsetof(local{}.c) - 64]byte
	_ [64 - unsafe.Offsetof(local{}.c)]byte
)
