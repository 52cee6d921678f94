/*
 * zeropool.h - the native mapping recipe of zeropool-go's offheap package.
 *
 * One source serves two backends: the cgo backend compiles it into the Go binary, and the
 * purego backend loads it as a shared library (build/libzeropool.so). Both pass struct
 * zp_map_spec straight from Go memory, so its layout is fixed here and asserted at compile
 * time; offheap's tests read these lines and compare them with the Go side.
 *
 * Every function returns 0 on success or -errno on failure: purego cannot read errno on
 * Linux, so the error travels in the return value. Nothing here allocates or keeps state.
 */
#ifndef ZEROPOOL_H
#define ZEROPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature, the struct layout or a flag value changes. */
#define ZP_ABI_VERSION 3

/* Bits of zp_map_spec.flags; equal to the spec* constants of offheap/spec.go. */
#define ZP_NODUMP           (1u << 0) /* MADV_DONTDUMP */
#define ZP_WIPEONFORK       (1u << 1) /* MADV_WIPEONFORK */
#define ZP_DONTFORK         (1u << 2) /* MADV_DONTFORK */
#define ZP_HUGE             (1u << 3) /* MADV_HUGEPAGE */
#define ZP_POPULATE         (1u << 4) /* MAP_POPULATE, or MADV_POPULATE_WRITE when aligned */
#define ZP_GUARD            (1u << 5) /* one inaccessible page on each side */
#define ZP_LOCK             (1u << 6) /* mlock2(MLOCK_ONFAULT), falling back to mlock */
#define ZP_LOCK_REQUIRED    (1u << 7) /* fail the mapping when locking fails */
#define ZP_NO_GUARD_MADVISE (1u << 8) /* PROT_NONE guards even where MADV_GUARD_INSTALL exists */
#define ZP_SECRETMEM        (1u << 9) /* the usable range is memfd_secret(2) memory */
#define ZP_ALL_FLAGS        ((1u << 10) - 1)

/* Bits of zp_map_spec.result; equal to the result* constants of offheap/spec.go. */
#define ZP_RESULT_LOCKED        (1u << 0) /* the usable range is locked */
#define ZP_RESULT_GUARD_MADVISE (1u << 1) /* guards are MADV_GUARD_INSTALL markers */

/* One mapping request and its outcome; the layout of Go's offheap.mapSpec. */
struct zp_map_spec {
	uint64_t size;     /* in: usable bytes, a non-zero multiple of the page size */
	uint64_t align;    /* in: alignment of the usable range, a power of two >= the page size */
	uint32_t flags;    /* in: ZP_* flags */
	uint32_t result;   /* out: ZP_RESULT_* bits */
	uint64_t base;     /* out: start of the whole mapping, guard pages included */
	uint64_t total;    /* out: length of the whole mapping */
	uint64_t addr;     /* out: first usable byte */
	int64_t lock_err;  /* out: -errno of a best-effort lock that failed, else 0 */
};

#ifdef __cplusplus
#define ZP_STATIC_ASSERT static_assert
#else
#define ZP_STATIC_ASSERT _Static_assert
#endif
ZP_STATIC_ASSERT(sizeof(struct zp_map_spec) == 56, "zp_map_spec size");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, size) == 0, "zp_map_spec.size offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, align) == 8, "zp_map_spec.align offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, flags) == 16, "zp_map_spec.flags offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, result) == 20, "zp_map_spec.result offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, base) == 24, "zp_map_spec.base offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, total) == 32, "zp_map_spec.total offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, addr) == 40, "zp_map_spec.addr offset");
ZP_STATIC_ASSERT(offsetof(struct zp_map_spec, lock_err) == 48, "zp_map_spec.lock_err offset");

/* ZP_ABI_VERSION of the compiled library; a loader refuses any other value. */
int zp_abi_version(void);

/*
 * Maps s->size usable bytes aligned to s->align, with guard pages, advice and locking as
 * s->flags ask, in one call. On success fills base, total, addr and result (and lock_err
 * when a best-effort lock failed); total covers any slack the kernel refused to trim off
 * (ENOMEM at vm.max_map_count), so that unmapping base..base+total unmaps everything. On
 * failure the outputs are zero and nothing stays mapped, unless the cleanup itself could not
 * unmap: then base and total say what stays mapped, for the caller to unmap later.
 * -EINVAL for a NULL spec, a zero or unaligned size, a bad alignment or unknown flags;
 * -ENOMEM for a size no address space can hold.
 *
 * With ZP_SECRETMEM the usable range is a MAP_SHARED mapping of a memfd_secret(2) file, inside
 * a PROT_NONE reservation when guards or an alignment beyond a page need one (the guards are
 * then PROT_NONE pages of the reservation). The kernel locks and charges it to RLIMIT_MEMLOCK
 * (-EAGAIN beyond the limit; ZP_RESULT_LOCKED is set, no mlock is made) and leaves it out of
 * core dumps. ZP_WIPEONFORK becomes MADV_DONTFORK (the kernel wipes only private memory on
 * fork) and ZP_POPULATE touches every page (the kernel's population skips secret memory).
 * -ENOSYS (or -EPERM under seccomp) where the kernel has no secret memory.
 */
int zp_map(struct zp_map_spec *s);

/* munmap(addr, len). */
int zp_unmap(void *addr, size_t len);

/* mlock2(addr, len, MLOCK_ONFAULT), or mlock where the kernel lacks mlock2. */
int zp_lock(void *addr, size_t len);

/* munlock(addr, len). */
int zp_unlock(void *addr, size_t len);

/* mprotect(addr, len, prot). */
int zp_protect(void *addr, size_t len, int prot);

/* madvise(addr, len, advice). */
int zp_advise(void *addr, size_t len, int advice);

#ifdef __cplusplus
}
#endif

#endif /* ZEROPOOL_H */
