//go:build !linux || zeropool_portable

package offheap

// adviceDiscard is the portable backend's advice to discard a range: fresh zero pages in
// place of the old, the range's access unchanged. It is the only advice it takes.
const adviceDiscard = 1

func discardOp(be backend, addr, n uintptr) error { return be.advise(addr, n, adviceDiscard) }

// guardOp returns the guard operation and where it reports the kind of guard it installed:
// always PROT_NONE pages here (MADV_GUARD_INSTALL is Linux's).
func guardOp() (func(be backend, addr, n uintptr) error, *string) {
	kind := guardMprotect
	return func(be backend, addr, n uintptr) error { return be.protect(addr, n, int(ProtNone)) }, &kind
}
