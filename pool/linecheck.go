package pool

// lineKind says what a fast-path write that noteWrite records is: the line of a buffer's
// state byte (per buffer: any two buffers may be on two Ps), of a P's cache of a class (per
// P), or of a magazine (it moves between Ps whole, through the depot, once per magazine of
// buffers). Tests built with zeropool_linecheck use it to tell which lines may never be
// written by two Ps.
type lineKind uint8

const (
	lineState lineKind = iota
	linePCache
	lineMagazine
)
