package offheap

// Flags of mapSpec.flags. The values are part of the C ABI in csrc/zeropool.h.
const (
	specNoDump         = 1 << 0 // MADV_DONTDUMP
	specWipeOnFork     = 1 << 1 // MADV_WIPEONFORK
	specDontFork       = 1 << 2 // MADV_DONTFORK
	specHuge           = 1 << 3 // MADV_HUGEPAGE
	specPopulate       = 1 << 4 // MAP_POPULATE
	specGuard          = 1 << 5 // one inaccessible page on each side
	specLock           = 1 << 6 // mlock2(MLOCK_ONFAULT), falling back to mlock
	specLockRequired   = 1 << 7 // fail the mapping when locking fails
	specNoGuardMadvise = 1 << 8 // use PROT_NONE guard pages even where MADV_GUARD_INSTALL exists
	specSecretMem      = 1 << 9 // back the usable range with memfd_secret(2)

	specAllFlags = 1<<10 - 1
)

// Bits of mapSpec.result.
const (
	resultLocked       = 1 << 0 // the usable range is locked
	resultGuardMadvise = 1 << 1 // guards are MADV_GUARD_INSTALL markers, not PROT_NONE pages
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
