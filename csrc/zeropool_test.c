/*
 * zeropool_test.c - tests of the native mapping recipe, meant to run under
 * -fsanitize=address,undefined (make ctest).
 *
 * Properties the kernel applied are read back from /proc/self/smaps (VmFlags) and mincore;
 * faults are provoked only in forked children, whose exit status the parent checks, so the
 * sanitizers never see a deliberate SIGSEGV in the test process itself.
 */
#define _GNU_SOURCE
#include "zeropool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Let a forked child install its own SIGSEGV handler (the sanitizers keep theirs otherwise). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allow_user_segv_handler=1";
}

static uint64_t pg;
static int failures_in_case;

/*
 * munmap is interposed so that a test can make the next calls fail with ENOMEM, as the kernel
 * does at vm.max_map_count when the range is in the middle of a merged run of mappings (a
 * fresh mapping never is, so the kernel cannot be made to refuse on demand).
 */
static int refuse_munmaps;

int munmap(void *addr, size_t len)
{
	if (refuse_munmaps > 0) {
		refuse_munmaps--;
		errno = ENOMEM;
		return -1;
	}
	return (int)syscall(SYS_munmap, addr, len);
}

static void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "    %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures_in_case++;
}

/* Prints the optional detail of a failed CHECK; an empty format prints nothing. */
static void detail(const char *fmt, ...)
{
	if (fmt[0] == '\0')
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("      ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fail(__FILE__, __LINE__, "check failed: %s", #cond);   \
			detail("" __VA_ARGS__);                                 \
		}                                                               \
	} while (0)
#define CHECK_RC(got, want)                                                        \
	do {                                                                       \
		long g_ = (long)(got), w_ = (long)(want);                          \
		if (g_ != w_)                                                      \
			fail(__FILE__, __LINE__, "%s = %ld, want %ld", #got, g_, w_); \
	} while (0)

/* Returns 1 when the VMA holding addr lists flag in its VmFlags, 0 when not, -1 on error. */
static int has_vmflag(uint64_t addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (f == NULL)
		return -1;
	char line[1024];
	int inside = 0, found = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long lo, hi;
		char c;
		if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3) {
			inside = addr >= lo && addr < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			found = 0;
			for (char *tok = strtok(line + 8, " \n"); tok; tok = strtok(NULL, " \n"))
				if (strcmp(tok, flag) == 0)
					found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Returns how many of the pages in [addr, addr+len) are resident. */
static size_t resident_pages(uint64_t addr, uint64_t len)
{
	size_t n = len / pg, count = 0;
	unsigned char *vec = calloc(n, 1);
	if (vec == NULL || mincore((void *)(uintptr_t)addr, len, vec) != 0) {
		free(vec);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

/* Writes one byte at addr in a forked child; returns 1 if that faulted, 0 if not, -1 on error. */
static int write_faults(uint64_t addr)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_segv;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		*(volatile unsigned char *)(uintptr_t)addr = 1;
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 42)
		return 1;
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
		return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -1;
}

static int all_zero(uint64_t addr, uint64_t len)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)addr;
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static struct zp_map_spec spec(uint64_t size, uint64_t align, uint32_t flags)
{
	struct zp_map_spec s;
	memset(&s, 0, sizeof s);
	s.size = size;
	s.align = align;
	s.flags = flags;
	return s;
}

static int thp_available(void)
{
	return access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0;
}

/* ---- cases ---- */

static void test_abi_version(void)
{
	CHECK_RC(zp_abi_version(), ZP_ABI_VERSION);
}

static void test_map_basic(void)
{
	uint64_t sizes[] = {pg, 3 * pg, 1 << 20, (5 << 20) + pg};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct zp_map_spec s = spec(sizes[i], pg, 0);
		CHECK_RC(zp_map(&s), 0);
		CHECK(s.addr % pg == 0);
		CHECK(s.base == s.addr && s.total == s.size, "(no guards: the mapping is the range)");
		CHECK_RC(s.result, 0);
		CHECK_RC(s.lock_err, 0);
		CHECK(all_zero(s.addr, s.size));
		memset((void *)(uintptr_t)s.addr, 0xa5, s.size);
		CHECK_RC(has_vmflag(s.addr, "rd"), 1);
		CHECK_RC(has_vmflag(s.addr, "wr"), 1);
		CHECK_RC(has_vmflag(s.addr, "lo"), 0);
		CHECK_RC(has_vmflag(s.addr, "dd"), 0);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
	}
}

static void test_map_aligned(void)
{
	uint64_t aligns[] = {2 * pg, 64 << 10, 2 << 20, 16 << 20};
	for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
		struct zp_map_spec s = spec(3 * pg, aligns[i], ZP_GUARD);
		CHECK_RC(zp_map(&s), 0);
		CHECK(s.addr % aligns[i] == 0, "(align %lu)", (unsigned long)aligns[i]);
		CHECK(s.base == s.addr - pg && s.total == s.size + 2 * pg);
		CHECK(all_zero(s.addr, s.size));
		memset((void *)(uintptr_t)s.addr, 1, s.size);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
	}
}

static void test_map_bad_arguments(void)
{
	struct {
		uint64_t size, align;
		uint32_t flags;
		int want;
	} cases[] = {
		{0, pg, 0, -EINVAL},                    /* empty */
		{pg - 1, pg, 0, -EINVAL},               /* not whole pages */
		{pg + 1, pg, 0, -EINVAL},               /* not whole pages */
		{pg, 0, 0, -EINVAL},                    /* no alignment */
		{pg, pg / 2, 0, -EINVAL},               /* below the page size */
		{pg, 3 * pg, 0, -EINVAL},               /* not a power of two */
		{pg, pg, ZP_ALL_FLAGS + 1, -EINVAL},    /* unknown flag */
		{pg, pg, 1u << 31, -EINVAL},            /* unknown flag */
		{UINT64_MAX & ~(pg - 1), pg, 0, -ENOMEM}, /* no address space holds it */
		{UINT64_MAX & ~(pg - 1), pg, ZP_GUARD, -ENOMEM},
		{pg, UINT64_C(1) << 62, 0, -ENOMEM},    /* the slack alone is too big */
		{UINT64_C(1) << 50, pg, 0, -ENOMEM},    /* the kernel refuses */
	};
	CHECK_RC(zp_map(NULL), -EINVAL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct zp_map_spec s = spec(cases[i].size, cases[i].align, cases[i].flags);
		s.result = 7;
		s.base = s.total = s.addr = 1;
		s.lock_err = 1;
		int rc = zp_map(&s);
		CHECK(rc == cases[i].want, "(case %zu: rc %d, want %d)", i, rc, cases[i].want);
		CHECK(s.result == 0 && s.base == 0 && s.total == 0 && s.addr == 0 && s.lock_err == 0,
		      "(case %zu: outputs not cleared)", i);
	}
}

static void test_map_advice_flags(void)
{
	struct {
		uint32_t flag;
		const char *vmflag;
	} cases[] = {
		{ZP_NODUMP, "dd"},
		{ZP_WIPEONFORK, "wf"},
		{ZP_DONTFORK, "dc"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct zp_map_spec s = spec(16 * pg, pg, cases[i].flag);
		CHECK_RC(zp_map(&s), 0);
		CHECK(has_vmflag(s.addr, cases[i].vmflag) == 1, "(%s)", cases[i].vmflag);
		CHECK(has_vmflag(s.addr + s.size - 1, cases[i].vmflag) == 1, "(%s at the end)",
		      cases[i].vmflag);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
	}
	/* All at once, with guards: the advice covers the usable range only. */
	struct zp_map_spec s = spec(4 * pg, pg, ZP_NODUMP | ZP_WIPEONFORK | ZP_DONTFORK | ZP_GUARD | ZP_NO_GUARD_MADVISE);
	CHECK_RC(zp_map(&s), 0);
	CHECK_RC(has_vmflag(s.addr, "dd"), 1);
	CHECK_RC(has_vmflag(s.addr, "wf"), 1);
	CHECK_RC(has_vmflag(s.addr, "dc"), 1);
	CHECK_RC(has_vmflag(s.base, "dd"), 0);
	CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
}

static void test_map_huge(void)
{
	if (!thp_available()) {
		printf("    skip: no transparent huge pages in this kernel\n");
		return;
	}
	struct zp_map_spec s = spec(4 << 20, 2 << 20, ZP_HUGE);
	CHECK_RC(zp_map(&s), 0);
	CHECK(s.addr % (2 << 20) == 0);
	CHECK_RC(has_vmflag(s.addr, "hg"), 1);
	CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
}

static void test_map_populate(void)
{
	/* Page alignment takes MAP_POPULATE, a larger one MADV_POPULATE_WRITE. */
	uint64_t aligns[] = {pg, 64 << 10};
	for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
		struct zp_map_spec s = spec(32 * pg, aligns[i], 0);
		CHECK_RC(zp_map(&s), 0);
		CHECK_RC(resident_pages(s.addr, s.size), 0);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);

		s = spec(32 * pg, aligns[i], ZP_POPULATE);
		CHECK_RC(zp_map(&s), 0);
		CHECK_RC(resident_pages(s.addr, s.size), 32);
		CHECK(all_zero(s.addr, s.size));
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
	}
}

static void test_map_lock(void)
{
	struct zp_map_spec s = spec(16 * pg, pg, ZP_LOCK | ZP_LOCK_REQUIRED);
	int rc = zp_map(&s);
	if (rc != 0) {
		/* Only a process that may lock (root, or a roomy RLIMIT_MEMLOCK) gets here. */
		CHECK(rc == -ENOMEM || rc == -EPERM || rc == -EAGAIN, "(rc %d)", rc);
		printf("    skip: this process may not lock 16 pages (%s)\n", strerror(-rc));
		return;
	}
	CHECK(s.result & ZP_RESULT_LOCKED);
	CHECK_RC(s.lock_err, 0);
	CHECK_RC(has_vmflag(s.addr, "lo"), 1);
	CHECK_RC(zp_unlock((void *)(uintptr_t)s.addr, s.size), 0);
	CHECK_RC(has_vmflag(s.addr, "lo"), 0);
	CHECK_RC(zp_lock((void *)(uintptr_t)s.addr, s.size), 0);
	CHECK_RC(has_vmflag(s.addr, "lo"), 1);
	CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
}

/* fork_memlock_child forks a child that runs as uid/gid 65534 (when started as root) and may
 * lock no more than 64 KiB. It returns the child's pid in the parent, 0 in the child, and -1
 * (the failure counted) when fork fails. A child whose setup fails exits with 10 or 11. */
static pid_t fork_memlock_child(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		CHECK(pid >= 0, "(fork: %s)", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(10);
		struct rlimit rl = {64 << 10, 64 << 10};
		if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
			_exit(11);
	}
	return pid;
}

/* In a child that may not lock more than 64 KiB, locking fails as the flags say. */
static void test_map_lock_refused(void)
{
	pid_t pid = fork_memlock_child();
	if (pid < 0)
		return;
	if (pid == 0) {
		struct zp_map_spec s = spec(1 << 20, pg, ZP_LOCK | ZP_LOCK_REQUIRED);
		int rc = zp_map(&s);
		if (rc != -ENOMEM && rc != -EPERM && rc != -EAGAIN)
			_exit(12);
		if (s.addr != 0)
			_exit(13);
		s = spec(1 << 20, pg, ZP_LOCK); /* best effort: mapped, unlocked, reason kept */
		if (zp_map(&s) != 0)
			_exit(14);
		if ((s.result & ZP_RESULT_LOCKED) != 0 || s.lock_err >= 0)
			_exit(15);
		if (has_vmflag(s.addr, "lo") != 0)
			_exit(16);
		s = spec(pg, pg, ZP_LOCK | ZP_LOCK_REQUIRED); /* within the limit */
		if (zp_map(&s) != 0 || (s.result & ZP_RESULT_LOCKED) == 0)
			_exit(17);
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "(child status %#x)", status);
}

/* Returns how many bytes of [addr, addr+len) are mapped (mincore fails with ENOMEM on holes). */
static uint64_t mapped_bytes(uint64_t addr, uint64_t len)
{
	unsigned char v;
	uint64_t n = 0;
	for (uint64_t a = addr; a < addr + len; a += pg)
		if (mincore((void *)(uintptr_t)a, pg, &v) == 0)
			n += pg;
	return n;
}

/* Slack the kernel refuses to trim stays part of the mapping, so that unmapping it unmaps all. */
static void test_trim_refused(void)
{
	const uint64_t align = 64 << 10;
	struct {
		int refusals;
		uint64_t want_total; /* at least */
	} cases[] = {
		{1, 2 * pg},          /* the first trim (head or tail) kept: at least a page more */
		{2, pg + align - pg}, /* head and tail kept: the whole raw mapping */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct zp_map_spec s = spec(pg, align, 0);
		refuse_munmaps = cases[i].refusals;
		int rc = zp_map(&s);
		int left = refuse_munmaps;
		refuse_munmaps = 0;
		CHECK_RC(rc, 0);
		CHECK(s.addr % align == 0);
		CHECK(s.total >= cases[i].want_total, "(case %zu: total %lu)", i, (unsigned long)s.total);
		CHECK(s.base <= s.addr && s.addr + s.size <= s.base + s.total);
		CHECK_RC(mapped_bytes(s.base, s.total), s.total);
		if (cases[i].refusals == 2 && left == 0)
			CHECK_RC(s.total, pg + align - pg);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
		CHECK_RC(mapped_bytes(s.base, s.total), 0);
	}
}

/* In a child that may not lock, a required lock fails the mapping; when its cleanup cannot
 * unmap, base and total say what stays mapped. */
static void test_cleanup_refused(void)
{
	pid_t pid = fork_memlock_child();
	if (pid < 0)
		return;
	if (pid == 0) {
		struct zp_map_spec s = spec(1 << 20, pg, ZP_LOCK | ZP_LOCK_REQUIRED | ZP_GUARD);
		refuse_munmaps = 1;
		int rc = zp_map(&s);
		refuse_munmaps = 0;
		if (rc != -ENOMEM && rc != -EPERM && rc != -EAGAIN)
			_exit(12);
		if (s.addr != 0 || s.result != 0)
			_exit(13);
		if (s.base == 0 || s.total != (1 << 20) + 2 * pg)
			_exit(14);
		if (mapped_bytes(s.base, s.total) != s.total)
			_exit(15);
		if (zp_unmap((void *)(uintptr_t)s.base, s.total) != 0)
			_exit(16);
		if (mapped_bytes(s.base, s.total) != 0)
			_exit(17);
		s = spec(1 << 20, pg, ZP_LOCK | ZP_LOCK_REQUIRED); /* a cleanup that works leaves nothing */
		if (zp_map(&s) == 0 || s.base != 0 || s.total != 0)
			_exit(18);
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "(child status %#x)", status);
}

/* Reads one byte at addr through /proc/self/mem; returns 0 or -errno. */
static int read_proc_mem(uint64_t addr)
{
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unsigned char b;
	ssize_t n = pread(fd, &b, 1, (off_t)addr);
	int rc = n == 1 ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	return rc;
}

static void test_map_secretmem(void)
{
	struct {
		uint64_t align;
		uint32_t flags;
	} cases[] = {
		{pg, 0},
		{pg, ZP_GUARD},
		{64 << 10, ZP_GUARD | ZP_NODUMP | ZP_WIPEONFORK | ZP_POPULATE | ZP_LOCK | ZP_LOCK_REQUIRED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct zp_map_spec s = spec(3 * pg, cases[i].align, ZP_SECRETMEM | cases[i].flags);
		int rc = zp_map(&s);
		if (rc == -ENOSYS) {
			printf("    skip: no memfd_secret in this kernel\n");
			return;
		}
		CHECK(rc == 0, "(case %zu: rc %d)", i, rc);
		if (rc != 0)
			continue;
		CHECK(s.addr % cases[i].align == 0);
		CHECK(s.result & ZP_RESULT_LOCKED, "(case %zu: secret memory is locked)", i);
		CHECK((s.result & ZP_RESULT_GUARD_MADVISE) == 0, "(case %zu: PROT_NONE guards)", i);
		CHECK_RC(resident_pages(s.addr, s.size), (cases[i].flags & ZP_POPULATE) ? 3 : 0);
		CHECK(all_zero(s.addr, s.size));
		memset((void *)(uintptr_t)s.addr, 0x5c, s.size);
		CHECK_RC(read_proc_mem(s.addr), -EIO);
		CHECK_RC(has_vmflag(s.addr, "sh"), 1);
		CHECK_RC(has_vmflag(s.addr, "lo"), 1);
		CHECK_RC(has_vmflag(s.addr, "dd"), 1);
		CHECK_RC(has_vmflag(s.addr, "dc"), (cases[i].flags & ZP_WIPEONFORK) ? 1 : 0);
		if (cases[i].flags & ZP_GUARD) {
			CHECK(s.base == s.addr - pg && s.total == s.size + 2 * pg);
			CHECK_RC(has_vmflag(s.base, "rd"), 0);
			CHECK_RC(write_faults(s.addr + s.size), 1);
			CHECK_RC(write_faults(s.addr - 1), 1);
		}
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
		CHECK_RC(mapped_bytes(s.base, s.total), 0);
	}
	/* An ordinary mapping reads through /proc/self/mem. */
	struct zp_map_spec s = spec(pg, pg, 0);
	CHECK_RC(zp_map(&s), 0);
	CHECK_RC(read_proc_mem(s.addr), 0);
	CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
}

/* In a child that may lock no more than 64 KiB, secret memory beyond that is refused. */
static void test_map_secretmem_memlock(void)
{
	pid_t pid = fork_memlock_child();
	if (pid < 0)
		return;
	if (pid == 0) {
		struct zp_map_spec s = spec(1 << 20, pg, ZP_SECRETMEM | ZP_GUARD);
		int rc = zp_map(&s);
		if (rc == -ENOSYS)
			_exit(0);
		if (rc != -EAGAIN)
			_exit(12);
		if (s.base != 0 || s.total != 0 || s.addr != 0)
			_exit(13);
		s = spec(4 * pg, pg, ZP_SECRETMEM);
		if (zp_map(&s) != 0)
			_exit(14);
		_exit(zp_unmap((void *)(uintptr_t)s.base, s.total) == 0 ? 0 : 15);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "(child status %#x)", status);
}

static void test_guard_pages(void)
{
	uint32_t modes[] = {ZP_GUARD, ZP_GUARD | ZP_NO_GUARD_MADVISE};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct zp_map_spec s = spec(2 * pg, pg, modes[i]);
		CHECK_RC(zp_map(&s), 0);
		CHECK(s.base == s.addr - pg && s.total == s.size + 2 * pg);
		if (modes[i] & ZP_NO_GUARD_MADVISE) {
			CHECK((s.result & ZP_RESULT_GUARD_MADVISE) == 0);
			CHECK_RC(has_vmflag(s.base, "rd"), 0);
			CHECK_RC(has_vmflag(s.addr + s.size, "rd"), 0);
		} else {
			printf("    guards: %s\n", (s.result & ZP_RESULT_GUARD_MADVISE)
							  ? "MADV_GUARD_INSTALL" : "PROT_NONE");
		}
		CHECK_RC(has_vmflag(s.addr, "rd"), 1);
		CHECK_RC(write_faults(s.addr), 0);
		CHECK_RC(write_faults(s.addr + s.size - 1), 0);
		CHECK_RC(write_faults(s.addr + s.size), 1);
		CHECK_RC(write_faults(s.addr - 1), 1);
		CHECK_RC(zp_unmap((void *)(uintptr_t)s.base, s.total), 0);
	}
}

static void test_protect(void)
{
	struct zp_map_spec s = spec(2 * pg, pg, 0);
	CHECK_RC(zp_map(&s), 0);
	void *p = (void *)(uintptr_t)s.addr;
	memset(p, 7, s.size);
	CHECK_RC(zp_protect(p, pg, PROT_NONE), 0);
	CHECK_RC(write_faults(s.addr), 1);
	CHECK_RC(write_faults(s.addr + pg), 0);
	CHECK_RC(zp_protect(p, pg, PROT_READ), 0);
	CHECK_RC(*(volatile unsigned char *)p, 7);
	CHECK_RC(write_faults(s.addr), 1);
	CHECK_RC(zp_protect(p, pg, PROT_READ | PROT_WRITE), 0);
	CHECK_RC(write_faults(s.addr), 0);
	CHECK_RC(zp_protect(p, pg, 0x7fff0000), -EINVAL);
	CHECK_RC(zp_protect((char *)p + 1, pg, PROT_NONE), -EINVAL);
	CHECK_RC(zp_unmap(p, s.size), 0);
}

static void test_advise(void)
{
	struct zp_map_spec s = spec(4 * pg, pg, 0);
	CHECK_RC(zp_map(&s), 0);
	void *p = (void *)(uintptr_t)s.addr;
	memset(p, 9, s.size);
	CHECK_RC(resident_pages(s.addr, s.size), 4);
	CHECK_RC(zp_advise((char *)p + pg, 2 * pg, MADV_DONTNEED), 0);
	CHECK_RC(resident_pages(s.addr, s.size), 2);
	CHECK(all_zero(s.addr + pg, 2 * pg));
	CHECK_RC(((unsigned char *)p)[0], 9);
	CHECK_RC(((unsigned char *)p)[3 * pg], 9);
	CHECK_RC(zp_advise(p, s.size, 12345), -EINVAL);
	CHECK_RC(zp_advise((char *)p + 1, pg, MADV_DONTNEED), -EINVAL);
	CHECK_RC(zp_unmap(p, s.size), 0);
}

static void test_unmap_lock_bad_arguments(void)
{
	struct zp_map_spec s = spec(pg, pg, 0);
	CHECK_RC(zp_map(&s), 0);
	void *p = (void *)(uintptr_t)s.addr;
	CHECK_RC(zp_unmap((char *)p + 1, pg), -EINVAL);
	CHECK_RC(zp_unmap(p, 0), -EINVAL);
	CHECK_RC(zp_unmap(p, pg), 0);
	/* Locking a hole: nothing is mapped there any more. */
	CHECK_RC(zp_lock(p, pg), -ENOMEM);
}

int main(void)
{
	pg = (uint64_t)sysconf(_SC_PAGESIZE);
	struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{"abi_version", test_abi_version},
		{"map_basic", test_map_basic},
		{"map_aligned", test_map_aligned},
		{"map_bad_arguments", test_map_bad_arguments},
		{"map_advice_flags", test_map_advice_flags},
		{"map_huge", test_map_huge},
		{"map_populate", test_map_populate},
		{"map_lock", test_map_lock},
		{"map_lock_refused", test_map_lock_refused},
		{"trim_refused", test_trim_refused},
		{"cleanup_refused", test_cleanup_refused},
		{"map_secretmem", test_map_secretmem},
		{"map_secretmem_memlock", test_map_secretmem_memlock},
		{"guard_pages", test_guard_pages},
		{"protect", test_protect},
		{"advise", test_advise},
		{"unmap_lock_bad_arguments", test_unmap_lock_bad_arguments},
	};
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		failures_in_case = 0;
		cases[i].fn();
		if (failures_in_case == 0) {
			passed++;
			printf("ok   %s\n", cases[i].name);
		} else {
			failed++;
			printf("FAIL %s\n", cases[i].name);
		}
		fflush(stdout);
	}
	printf("ctest: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
