/* SPDX-License-Identifier: MIT */
/* A minimal test harness: TAP output, one process per test file. */
#ifndef VMP_CHECK_H
#define VMP_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed, check_count;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		check_count++;                                                 \
		if (!(cond)) {                                                 \
			check_failed++;                                        \
			printf("not ok %d - %s:%d: %s: ", check_count,         \
			       __FILE__, __LINE__, #cond);                     \
		} else                                                         \
			printf("ok %d - ", check_count);                       \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
	} while (0)

#define CHECK_EQ_U64(a, b, ...)                                                \
	do {                                                                   \
		uint64_t a_ = (a), b_ = (b);                                   \
		check_count++;                                                 \
		if (a_ != b_) {                                                \
			check_failed++;                                        \
			printf("not ok %d - %s:%d: %s == %" PRIu64             \
			       ", expected %" PRIu64 ": ",                     \
			       check_count, __FILE__, __LINE__, #a, a_, b_);   \
		} else                                                         \
			printf("ok %d - ", check_count);                       \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
	} while (0)

/* Abort the test file: the rest depends on this. */
#define REQUIRE(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("Bail out! %s:%d: %s: ", __FILE__, __LINE__,    \
			       #cond);                                         \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
			exit(99);                                              \
		}                                                              \
	} while (0)

/* A whole file (a fixture) in memory; the test file aborts if it cannot
 * be read. Free the result. */
static inline char *check_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	REQUIRE(b && fread(b, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Text handed over in pieces (a recording's callback, vmp_record_fn),
 * kept whole and NUL-terminated in p. Free p. */
struct check_text {
	char *p;
	size_t n, cap;
};

static inline void check_text_add(const char *t, size_t len, void *arg)
{
	struct check_text *x = arg;
	if (x->n + len + 1 > x->cap) {
		x->cap = (x->n + len + 1) * 2;
		x->p = realloc(x->p, x->cap);
		REQUIRE(x->p, "out of memory");
	}
	memcpy(x->p + x->n, t, len);
	x->n += len;
	x->p[x->n] = 0;
}

static inline int check_done(const char *name)
{
	printf("1..%d\n# %s: %d checks, %d failed\n", check_count, name,
	       check_count, check_failed);
	return check_failed ? 1 : 0;
}

#endif
