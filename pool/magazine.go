package pool

// Per-P caches are magazines (Bonwick and Adams, "Magazines and Vmem", 2001): for each size
// class a P holds a loaded and a previous magazine, each a stack of up to M idle buffers.
// Get pops from the loaded one and Put pushes onto it; when it is empty (Get) or full (Put)
// and the previous one is full (Get) or empty (Put), the two swap, which costs nothing; only
// when both are empty or both full does the P exchange a whole magazine with its class's
// depot, in one short critical section. So a burst of any length costs one lock per M
// buffers, and the shared state is touched once per M buffers, not per buffer.

// magazine is a stack of idle buffers of one class.
type magazine struct {
	n     int
	items []entry // len(items) is the magazine's capacity, M of its class
	size  int     // its class's buffer size: the cap of the slices the fast path makes
}

func newMagazine(sc *sizeClass) *magazine {
	return &magazine{items: make([]entry, sc.mag), size: sc.size}
}

// entry is an idle buffer: its address and the address of its state byte.
type entry struct{ addr, state addr }

// noMag stands in a P's cache for a magazine it does not have (not yet made, or a class the
// P caches do not hold); outMag for one that a slow path has taken out and will put back.
// Both hold nothing and have room for nothing, so the fast paths pass them by without a
// check of their own. They are never written.
var noMag, outMag = &magazine{}, &magazine{}
