//go:build !race

package procfs

// errFiller says why a MapFiller cannot be used in this build: nil, it can.
var errFiller error
