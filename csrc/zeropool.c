/*
 * zeropool.c - the native mapping recipe; see zeropool.h for the contract.
 *
 * zp_map does what offheap's syscall backend does in mapRegion, step for step, so that the
 * backends stay interchangeable: check the spec, open the secret file (ZP_SECRETMEM), over-map
 * to find an aligned start, trim the slack, map the secret file, install guard pages, apply
 * advice, populate, lock. The public functions are thin wrappers around
 * static helpers, so that zp_map's own calls cannot be interposed by another zp_* symbol in
 * the same process (a Go binary can hold the cgo copy and dlopen the shared one).
 */
#define _GNU_SOURCE
#include "zeropool.h"

#include <errno.h>
#include <fcntl.h>
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
#if !defined(SYS_memfd_secret) && (defined(__x86_64__) || defined(__aarch64__) || defined(__riscv))
#define SYS_memfd_secret 447
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

/*
 * One run of the mapping recipe: the layout a spec asks for, then where it landed. The steps
 * are those of the syscall backend's mapRegion in offheap/backend_syscall_linux.go, one function
 * each, so that the backends stay interchangeable.
 */
struct recipe {
	struct zp_map_spec *s;
	uint64_t guard;  /* bytes of each guard page: a page, or 0 */
	uint64_t slack;  /* extra bytes mapped so that an aligned start exists inside the mapping */
	uint64_t length; /* bytes mapped at first: the usable range, the guards and the slack */
	uint64_t addr;   /* first usable byte */
	uint64_t base, end; /* what is mapped now: the raw mapping less the slack trimmed off */
	int fd;             /* ZP_SECRETMEM: the memfd_secret file, else -1 */
	int reserved;       /* the raw mapping is a PROT_NONE reservation for the secret pages */
};

/* Clears the outputs and checks the spec; every backend refuses the same specs the same way. */
static int check_spec(struct zp_map_spec *s, struct recipe *r)
{
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

	memset(r, 0, sizeof *r);
	r->s = s;
	r->fd = -1;
	r->guard = (s->flags & ZP_GUARD) ? pg : 0;
	r->slack = s->align - pg;
	if (s->size > SIZE_MAX - 2 * r->guard - r->slack)
		return -ENOMEM;
	r->length = s->size + 2 * r->guard + r->slack;
	return 0;
}

/* Opens the memfd_secret file of a ZP_SECRETMEM spec, as long as the usable range. */
static int open_secret(struct recipe *r)
{
	if ((r->s->flags & ZP_SECRETMEM) == 0)
		return 0;
#ifdef SYS_memfd_secret
	long fd = syscall(SYS_memfd_secret, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate((int)fd, (off_t)r->s->size) != 0) {
		int rc = -errno;
		(void)close((int)fd);
		return rc;
	}
	r->fd = (int)fd;
	return 0;
#else
	return -ENOSYS;
#endif
}

/* Closes the memfd_secret file: the mapping keeps the memory. */
static void close_secret(struct recipe *r)
{
	if (r->fd >= 0) {
		(void)close(r->fd);
		r->fd = -1;
	}
}

/*
 * Maps the whole length and finds the aligned start in it. For ZP_SECRETMEM it maps the secret
 * file itself when there is neither slack nor guard, and else reserves the whole length
 * PROT_NONE, for map_secret to map the file into at the aligned start.
 */
static int map_raw(struct recipe *r)
{
	int prot = PROT_READ | PROT_WRITE, mflags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
	if (r->fd >= 0 && r->slack == 0 && r->guard == 0) {
		mflags = MAP_SHARED;
		fd = r->fd;
	} else if (r->fd >= 0) {
		prot = PROT_NONE;
		mflags |= MAP_NORESERVE;
		r->reserved = 1;
	} else if ((r->s->flags & ZP_POPULATE) && r->slack == 0) {
		mflags |= MAP_POPULATE;
	}
	void *raw = mmap(NULL, r->length, prot, mflags, fd, 0);
	if (raw == MAP_FAILED)
		return -errno;
	r->base = (uint64_t)(uintptr_t)raw;
	r->end = r->base + r->length;
	r->addr = (r->base + r->guard + r->s->align - 1) & ~(r->s->align - 1);
	return 0;
}

/*
 * Unmaps the slack before and after the mapping proper. The kernel can refuse (ENOMEM at
 * vm.max_map_count, when the fresh mapping merged with a neighbour and the trim falls in the
 * middle of the merged run): then the slack stays part of the mapping, so that whoever unmaps
 * the mapping unmaps it.
 */
static void trim_slack(struct recipe *r)
{
	const uint64_t lo = r->addr - r->guard, hi = r->addr + r->s->size + r->guard;
	if (lo > r->base && do_unmap(at(r->base), lo - r->base) == 0)
		r->base = lo;
	if (r->end > hi && do_unmap(at(hi), r->end - hi) == 0)
		r->end = hi;
}

/* Maps the secret file over the usable range of a reservation. */
static int map_secret(struct recipe *r)
{
	if (!r->reserved)
		return 0;
	void *p = mmap(at(r->addr), r->s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r->fd, 0);
	return p == MAP_FAILED ? -errno : 0;
}

/*
 * Makes the page on each side of the usable range inaccessible: MADV_GUARD_INSTALL markers
 * where the kernel has them (and the spec allows), PROT_NONE pages elsewhere. A ZP_SECRETMEM
 * reservation's guard pages are PROT_NONE already.
 */
static int install_guards(struct recipe *r)
{
	if (r->guard == 0 || r->reserved)
		return 0;
	const uint64_t lo = r->addr - r->guard, hi = r->addr + r->s->size;
	if ((r->s->flags & ZP_NO_GUARD_MADVISE) == 0) {
		int e1 = do_advise(at(lo), r->guard, MADV_GUARD_INSTALL);
		int e2 = do_advise(at(hi), r->guard, MADV_GUARD_INSTALL);
		if (e1 == 0 && e2 == 0) {
			r->s->result |= ZP_RESULT_GUARD_MADVISE;
			return 0;
		}
	}
	int rc = do_protect(at(lo), r->guard, PROT_NONE);
	return rc != 0 ? rc : do_protect(at(hi), r->guard, PROT_NONE);
}

/*
 * Gives the usable range the advice the spec's flags ask for. Secret memory is shared, and the
 * kernel wipes on fork only private memory: it is left out of the child instead.
 */
static int apply_advice(struct recipe *r)
{
	for (size_t i = 0; i < sizeof advices / sizeof advices[0]; i++) {
		if ((r->s->flags & advices[i].flag) == 0)
			continue;
		int advice = advices[i].advice;
		if (advice == MADV_WIPEONFORK && r->fd >= 0)
			advice = MADV_DONTFORK;
		int rc = do_advise(at(r->addr), r->s->size, advice);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Faults the usable range in where MAP_POPULATE could not (an aligned mapping is populated
 * after its trim, so that the slack never is). Best effort: MADV_POPULATE_WRITE needs Linux
 * 5.14; without it pages fault in on use. Secret memory is faulted in by touching it: the
 * kernel's own population skips it.
 */
static void populate(struct recipe *r)
{
	if ((r->s->flags & ZP_POPULATE) == 0)
		return;
	if (r->fd >= 0) {
		const uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
		for (uint64_t off = 0; off < r->s->size; off += pg)
			*(volatile unsigned char *)at(r->addr + off) = 0;
	} else if (r->slack != 0) {
		(void)do_advise(at(r->addr), r->s->size, MADV_POPULATE_WRITE);
	}
}

/*
 * Locks as the spec asks: a best-effort lock that fails leaves its -errno in the spec. Secret
 * memory is locked by the kernel from the start (and it refuses mlock of it).
 */
static int lock_range(struct recipe *r)
{
	if (r->fd >= 0) {
		r->s->result |= ZP_RESULT_LOCKED;
		return 0;
	}
	if ((r->s->flags & ZP_LOCK) == 0)
		return 0;
	int rc = do_lock(at(r->addr), r->s->size);
	if (rc == 0)
		r->s->result |= ZP_RESULT_LOCKED;
	else if (r->s->flags & ZP_LOCK_REQUIRED)
		return rc;
	else
		r->s->lock_err = rc;
	return 0;
}

/*
 * Undoes a mapping whose recipe failed at a later step and returns rc. When the kernel refuses
 * to unmap it, the spec says what stays mapped, so that the caller keeps it and unmaps it later.
 */
static int fail(struct recipe *r, int rc)
{
	r->s->result = 0;
	r->s->lock_err = 0;
	if (do_unmap(at(r->base), r->end - r->base) != 0) {
		r->s->base = r->base;
		r->s->total = r->end - r->base;
	}
	return rc;
}

int zp_map(struct zp_map_spec *s)
{
	if (s == NULL)
		return -EINVAL;
	struct recipe r;
	int rc = check_spec(s, &r);
	if (rc != 0)
		return rc;
	if ((rc = open_secret(&r)) != 0)
		return rc;
	if ((rc = map_raw(&r)) != 0)
		goto out;
	trim_slack(&r);
	if ((rc = map_secret(&r)) != 0 || (rc = install_guards(&r)) != 0 ||
	    (rc = apply_advice(&r)) != 0) {
		rc = fail(&r, rc);
		goto out;
	}
	populate(&r);
	if ((rc = lock_range(&r)) != 0) {
		rc = fail(&r, rc);
		goto out;
	}
	s->base = r.base;
	s->total = r.end - r.base;
	s->addr = r.addr;
out:
	close_secret(&r);
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
