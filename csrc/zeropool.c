/*
 * zeropool.c - the native mapping recipe; see zeropool.h for the contract.
 *
 * zp_map does what offheap's syscall backend does in mapRegion, step for step, so that the
 * backends stay interchangeable: over-map to find an aligned start, trim the slack, install
 * guard pages, apply advice, populate, lock. The public functions are thin wrappers around
 * static helpers, so that zp_map's own calls cannot be interposed by another zp_* symbol in
 * the same process (a Go binary can hold the cgo copy and dlopen the shared one).
 */
#define _GNU_SOURCE
#include "zeropool.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Values from the kernel's uapi headers, for C libraries whose headers predate them. */
#ifndef MADV_DONTDUMP
#define MADV_DONTDUMP 16
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static int rc_of(int rc)
{
	return rc == 0 ? 0 : -errno;
}

static int do_unmap(void *addr, size_t len)
{
	return rc_of(munmap(addr, len));
}

/*
 * Locking goes through syscall(2) rather than the libc wrappers: sanitizer runtimes intercept
 * mlock and munlock and turn them into no-ops, and a test build must lock for real.
 */
static int do_lock(void *addr, size_t len)
{
#ifdef SYS_mlock2
	if (syscall(SYS_mlock2, addr, len, MLOCK_ONFAULT) == 0)
		return 0;
	/* Kernels before 4.4 lack mlock2; plain mlock faults the whole range in. */
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
#endif
	return syscall(SYS_mlock, addr, len) == 0 ? 0 : -errno;
}

static int do_unlock(void *addr, size_t len)
{
	return syscall(SYS_munlock, addr, len) == 0 ? 0 : -errno;
}

static int do_protect(void *addr, size_t len, int prot)
{
	return rc_of(mprotect(addr, len, prot));
}

static int do_advise(void *addr, size_t len, int advice)
{
	return rc_of(madvise(addr, len, advice));
}

static void *at(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

static const struct {
	uint32_t flag;
	int advice;
} advices[] = {
	{ZP_NODUMP, MADV_DONTDUMP},
	{ZP_WIPEONFORK, MADV_WIPEONFORK},
	{ZP_DONTFORK, MADV_DONTFORK},
	{ZP_HUGE, MADV_HUGEPAGE},
};

int zp_abi_version(void)
{
	return ZP_ABI_VERSION;
}

int zp_map(struct zp_map_spec *s)
{
	if (s == NULL)
		return -EINVAL;
	s->result = 0;
	s->base = s->total = s->addr = 0;
	s->lock_err = 0;

	const uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	if (s->size == 0 || s->size % pg != 0)
		return -EINVAL;
	if (s->align < pg || (s->align & (s->align - 1)) != 0)
		return -EINVAL;
	if ((s->flags & ~ZP_ALL_FLAGS) != 0)
		return -EINVAL;

	const uint64_t guard = (s->flags & ZP_GUARD) ? pg : 0;
	const uint64_t slack = s->align - pg; /* room for an aligned start inside the mapping */
	if (s->size > SIZE_MAX - 2 * guard - slack)
		return -ENOMEM;
	const uint64_t span = s->size + 2 * guard;
	const uint64_t length = span + slack;

	int mflags = MAP_PRIVATE | MAP_ANONYMOUS;
	if ((s->flags & ZP_POPULATE) && slack == 0)
		mflags |= MAP_POPULATE;
	void *raw = mmap(NULL, length, PROT_READ | PROT_WRITE, mflags, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;

	const uint64_t start = (uint64_t)(uintptr_t)raw;
	const uint64_t addr = (start + guard + s->align - 1) & ~(s->align - 1);
	const uint64_t lo = addr - guard, hi = lo + span; /* the mapping proper, guards included */
	/*
	 * Trim the slack. The kernel can refuse (ENOMEM at vm.max_map_count, when the fresh
	 * mapping merged with a neighbour and the trim falls in the middle of the merged run):
	 * then the slack stays part of the mapping, so that whoever unmaps it unmaps the slack.
	 */
	uint64_t base = start, end = start + length;
	if (lo > start && do_unmap(raw, lo - start) == 0)
		base = lo;
	if (end > hi && do_unmap(at(hi), end - hi) == 0)
		end = hi;

	int rc = 0;
	uint32_t result = 0;
	if (guard != 0) {
		int installed = 0;
		if ((s->flags & ZP_NO_GUARD_MADVISE) == 0) {
			int e1 = do_advise(at(lo), guard, MADV_GUARD_INSTALL);
			int e2 = do_advise(at(addr + s->size), guard, MADV_GUARD_INSTALL);
			installed = e1 == 0 && e2 == 0;
		}
		if (installed) {
			result |= ZP_RESULT_GUARD_MADVISE;
		} else {
			if ((rc = do_protect(at(lo), guard, PROT_NONE)) != 0)
				goto fail;
			if ((rc = do_protect(at(addr + s->size), guard, PROT_NONE)) != 0)
				goto fail;
		}
	}
	for (size_t i = 0; i < sizeof advices / sizeof advices[0]; i++) {
		if ((s->flags & advices[i].flag) == 0)
			continue;
		if ((rc = do_advise(at(addr), s->size, advices[i].advice)) != 0)
			goto fail;
	}
	if ((s->flags & ZP_POPULATE) && slack != 0) {
		/* Best effort: MADV_POPULATE_WRITE needs Linux 5.14; without it pages fault in on use. */
		(void)do_advise(at(addr), s->size, MADV_POPULATE_WRITE);
	}
	if (s->flags & ZP_LOCK) {
		int lrc = do_lock(at(addr), s->size);
		if (lrc == 0) {
			result |= ZP_RESULT_LOCKED;
		} else if (s->flags & ZP_LOCK_REQUIRED) {
			rc = lrc;
			goto fail;
		} else {
			s->lock_err = lrc;
		}
	}
	s->base = base;
	s->total = end - base;
	s->addr = addr;
	s->result = result;
	return 0;

fail:
	/* Still mapped after a failed cleanup: say what, so that the caller unmaps it later. */
	if (do_unmap(at(base), end - base) != 0) {
		s->base = base;
		s->total = end - base;
	}
	return rc;
}

int zp_unmap(void *addr, size_t len)
{
	return do_unmap(addr, len);
}

int zp_lock(void *addr, size_t len)
{
	return do_lock(addr, len);
}

int zp_unlock(void *addr, size_t len)
{
	return do_unlock(addr, len);
}

int zp_protect(void *addr, size_t len, int prot)
{
	return do_protect(addr, len, prot);
}

int zp_advise(void *addr, size_t len, int advice)
{
	return do_advise(addr, len, advice);
}

int zp_wipe(void *addr, size_t len)
{
	if (len == 0)
		return 0;
	if (addr == NULL)
		return -EINVAL;
	explicit_bzero(addr, len);
	return 0;
}
