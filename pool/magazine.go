package pool

import "strconv"

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

// Its bound, 0 <= n <= len(items), is kept by these methods; zeropool_checks asserts it.
// The fast paths in pool.go push and pop written out (one unsigned compare both bounds n and
// proves the index in range): through a call the compiler emits more instructions.

// full reports whether m has no room; noMag and outMag are both full and empty.
func (m *magazine) full() bool { return m.n == len(m.items) }

// empty reports whether m holds no buffer.
func (m *magazine) empty() bool { return m.n == 0 }

// len is how many buffers m holds.
func (m *magazine) len() int { return m.n }

// push adds e on top of m, which has room.
func (m *magazine) push(e entry) {
	if invariantChecks && uint(m.n) >= uint(len(m.items)) {
		throw("push onto a full magazine: " + strconv.Itoa(m.n) + " of " + strconv.Itoa(len(m.items)))
	}
	m.items[m.n] = e
	m.n++
}

// pop takes the buffer on top of m, which is not empty.
func (m *magazine) pop() entry {
	if invariantChecks && uint(m.n-1) >= uint(len(m.items)) {
		throw("pop from an empty magazine: " + strconv.Itoa(m.n) + " of " + strconv.Itoa(len(m.items)))
	}
	m.n--
	return m.items[m.n]
}

// fill makes m hold the first n of its items, written there by the caller.
func (m *magazine) fill(n int) {
	if invariantChecks && uint(n) > uint(len(m.items)) {
		throw("magazine filled with " + strconv.Itoa(n) + " of " + strconv.Itoa(len(m.items)))
	}
	m.n = n
}

// held is the buffers m holds, bottom first; they stay in m.
func (m *magazine) held() []entry { return m.items[:m.n] }

// drainInto appends every buffer of m to out and empties m.
func (m *magazine) drainInto(out []entry) []entry {
	out = append(out, m.items[:m.n]...)
	m.n = 0
	return out
}

// check asserts m's bound under zeropool_checks, for the fast paths that keep it by hand.
func (m *magazine) check() {
	if invariantChecks && uint(m.n) > uint(len(m.items)) {
		throw("magazine holds " + strconv.Itoa(m.n) + " of " + strconv.Itoa(len(m.items)))
	}
}

// entry is an idle buffer: its address and the address of its state byte.
type entry struct{ addr, state addr }

// noMag stands in a P's cache for a magazine it does not have (not yet made, or a class the
// P caches do not hold); outMag for one that a slow path has taken out and will put back.
// Both hold nothing and have room for nothing, so the fast paths pass them by without a
// check of their own. They are never written.
var noMag, outMag = &magazine{}, &magazine{}
