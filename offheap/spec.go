package offheap

// The C ABI of csrc/zeropool.h, as Go sees it. Each constant's comment starts with the name of
// its C counterpart: abi_test.go reads this file and the header and checks every pair in every
// build mode (and the cgo backend checks the whole set again at compile time), so a new flag
// is declared here and in the header, and nowhere else.

// abiVersion is the ZP_ABI_VERSION this package was written against: the purego backend
// refuses a library of any other.
const abiVersion = 3 // ZP_ABI_VERSION

// Flags of mapSpec.flags.
const (
	specNoDump         = 1 << 0 // ZP_NODUMP: MADV_DONTDUMP
	specWipeOnFork     = 1 << 1 // ZP_WIPEONFORK: MADV_WIPEONFORK
	specDontFork       = 1 << 2 // ZP_DONTFORK: MADV_DONTFORK
	specHuge           = 1 << 3 // ZP_HUGE: MADV_HUGEPAGE
	specPopulate       = 1 << 4 // ZP_POPULATE: MAP_POPULATE
	specGuard          = 1 << 5 // ZP_GUARD: one inaccessible page on each side
	specLock           = 1 << 6 // ZP_LOCK: mlock2(MLOCK_ONFAULT), falling back to mlock
	specLockRequired   = 1 << 7 // ZP_LOCK_REQUIRED: fail the mapping when locking fails
	specNoGuardMadvise = 1 << 8 // ZP_NO_GUARD_MADVISE: PROT_NONE guard pages even where MADV_GUARD_INSTALL exists
	specSecretMem      = 1 << 9 // ZP_SECRETMEM: back the usable range with memfd_secret(2)

	specAllFlags = 1<<10 - 1 // ZP_ALL_FLAGS
)

// Bits of mapSpec.result.
const (
	resultLocked       = 1 << 0 // ZP_RESULT_LOCKED: the usable range is locked
	resultGuardMadvise = 1 << 1 // ZP_RESULT_GUARD_MADVISE: guards are MADV_GUARD_INSTALL markers, not PROT_NONE pages
)

// mapSpec is one mapping request and its outcome. Its layout is shared with struct
// zp_map_spec in csrc/zeropool.h so that a native backend does the whole recipe in one call.
type mapSpec struct {
	size    uint64 // usable bytes, a multiple of the page size, > 0
	align   uint64 // alignment of the usable range: a power of two >= the page size
	flags   uint32
	result  uint32 // out
	base    uint64 // out: start of the whole mapping, guards included
	total   uint64 // out: length of the whole mapping
	addr    uint64 // out: first usable byte
	lockErr int64  // out: -errno of a best-effort lock that failed, else 0
}
