/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD=alloc_count.so with VMP_ALLOC_COUNT=FILE: counts the
 * process's heap allocations (malloc, calloc, realloc, the aligned ones)
 * and file openings (open, openat, creat, fopen, opendir and their 64 and
 * _2 forms) into FILE, a struct alloc_count shared with the test
 * (alloc_count.h), which reads it while the process runs. Each call's
 * return address goes into a ring, so that a test that sees a count can
 * say where it came from (addr2line -e BINARY, after the load address is
 * taken off: the test prints /proc/PID/maps' base too).
 *
 * glibc no longer exports __libc_malloc: the real functions come from
 * dlsym(RTLD_NEXT), and whatever dlsym allocates before that is served
 * from a static buffer that is never freed.
 */
/* The plain and the 64 names are both defined here: no redirection. */
#undef _FILE_OFFSET_BITS
#include "alloc_count.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc's, without a prototype in its headers (or only with old features) */
void *memalign(size_t al, size_t n);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dir, const char *path, int flags);

static struct alloc_count *shared;
static struct alloc_count local; /* until the file is mapped, or without one */

static void *(*r_malloc)(size_t);
static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t);
static void (*r_free)(void *);
static int (*r_posix_memalign)(void **, size_t, size_t);
static void *(*r_aligned_alloc)(size_t, size_t);
static void *(*r_memalign)(size_t, size_t);
static FILE *(*r_fopen)(const char *, const char *);
static FILE *(*r_fopen64)(const char *, const char *);
static DIR *(*r_opendir)(const char *);

static char boot[64 << 10];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot))
		return NULL;
	void *p = boot + boot_used;
	boot_used += n;
	return p;
}

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void resolve(void)
{
	if (r_malloc || resolving)
		return;
	resolving = 1;
	r_malloc = dlsym(RTLD_NEXT, "malloc");
	r_calloc = dlsym(RTLD_NEXT, "calloc");
	r_realloc = dlsym(RTLD_NEXT, "realloc");
	r_free = dlsym(RTLD_NEXT, "free");
	r_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	r_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	r_memalign = dlsym(RTLD_NEXT, "memalign");
	r_fopen = dlsym(RTLD_NEXT, "fopen");
	r_fopen64 = dlsym(RTLD_NEXT, "fopen64");
	r_opendir = dlsym(RTLD_NEXT, "opendir");
	resolving = 0;
}

static struct alloc_count *ac(void)
{
	return shared ? shared : &local;
}

static void note(int open, void *ra)
{
	struct alloc_count *a = ac();
	uint64_t i = __atomic_fetch_add(open ? &a->opens : &a->allocs, 1, __ATOMIC_RELAXED);
	(void)i;
	uint64_t k = __atomic_fetch_add(&a->nring, 1, __ATOMIC_RELAXED);
	a->ring[k % ALLOC_COUNT_RING].ra = (uint64_t)(uintptr_t)ra;
	a->ring[k % ALLOC_COUNT_RING].open = (uint32_t)open;
}

__attribute__((constructor)) static void setup(void)
{
	resolve();
	const char *path = getenv("VMP_ALLOC_COUNT");
	if (!path)
		return;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	void *p = mmap(NULL, sizeof(struct alloc_count), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		shared = p;
	/* what came before counts as startup, which the test does not look at */
}

void *malloc(size_t n)
{
	if (!r_malloc) {
		resolve();
		if (!r_malloc)
			return boot_alloc(n);
	}
	note(0, __builtin_return_address(0));
	return r_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (!r_calloc) {
		resolve();
		if (!r_calloc)
			return boot_alloc(a * b); /* static: already zero */
	}
	note(0, __builtin_return_address(0));
	return r_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (!r_realloc)
		resolve();
	note(0, __builtin_return_address(0));
	if (in_boot(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < (size_t)(boot + sizeof(boot) - (char *)p) ? n : (size_t)(boot + sizeof(boot) - (char *)p));
		return q;
	}
	return r_realloc(p, n);
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!r_free)
		resolve();
	r_free(p);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	resolve();
	note(0, __builtin_return_address(0));
	return r_posix_memalign(out, al, n);
}

void *aligned_alloc(size_t al, size_t n)
{
	resolve();
	note(0, __builtin_return_address(0));
	return r_aligned_alloc(al, n);
}

void *memalign(size_t al, size_t n)
{
	resolve();
	note(0, __builtin_return_address(0));
	return r_memalign(al, n);
}

/* The opens go straight to the system call: no libc symbol to find. The
 * caller's address is taken in each interposed function itself. */
static int mode_of(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

/* The variadic mode of an open, there only with O_CREAT or O_TMPFILE; a
 * macro, as va_start belongs in the variadic function. */
#define MODE_ARG(flags)                                                        \
	__extension__({                                                        \
		va_list ap_;                                                   \
		va_start(ap_, flags);                                          \
		int m_ = mode_of(flags, ap_);                                  \
		va_end(ap_);                                                   \
		m_;                                                            \
	})

static int counted_openat(int dir, const char *path, int flags, int mode, void *caller)
{
	note(1, caller);
	return (int)syscall(SYS_openat, dir, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	return counted_openat(AT_FDCWD, path, flags, MODE_ARG(flags), __builtin_return_address(0));
}

int openat(int dir, const char *path, int flags, ...)
{
	return counted_openat(dir, path, flags, MODE_ARG(flags), __builtin_return_address(0));
}

int __open_2(const char *path, int flags)
{
	return counted_openat(AT_FDCWD, path, flags, 0, __builtin_return_address(0));
}

int __openat_2(int dir, const char *path, int flags)
{
	return counted_openat(dir, path, flags, 0, __builtin_return_address(0));
}

int creat(const char *path, mode_t mode)
{
	return counted_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, (int)mode, __builtin_return_address(0));
}

/* The 64 forms are the same code (openat takes any offset), so aliases:
 * one body, and __builtin_return_address() still names their caller. */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int openat64(int dir, const char *path, int flags, ...) __attribute__((alias("openat")));
int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

FILE *fopen(const char *path, const char *m)
{
	resolve();
	note(1, __builtin_return_address(0));
	return r_fopen(path, m);
}

FILE *fopen64(const char *path, const char *m)
{
	resolve();
	note(1, __builtin_return_address(0));
	return r_fopen64(path, m);
}

DIR *opendir(const char *path)
{
	resolve();
	note(1, __builtin_return_address(0));
	return r_opendir(path);
}
