/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the benchmarks: sleeping, medians and
 * percentiles, CPU pinning, an optimisation barrier, and the verdict line.
 * Header-only; every benchmark is one C file.
 *
 * Exit status: benchmarks exit non-zero only for real errors (a library
 * call failing, a file missing). A missed goal is reported, never fatal:
 * these run on shared, noisy machines.
 */
#ifndef VMP_BENCH_UTIL_H
#define VMP_BENCH_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* Times: the library's own CLOCK_MONOTONIC, vmp__mono_ns() (util/clock.h). */

static inline void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Make the compiler assume x is read and may have changed: keeps
 * arguments and results of the measured operations alive. */
#define bench_opaque(x) __asm__ volatile("" : "+r"(x))
#define bench_clobber() __asm__ volatile("" ::: "memory")

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Median of n values; sorts v in place. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The q-quantile (0..1) of sorted values, nearest rank. */
static inline uint64_t bench_quantile_sorted(const uint64_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static inline int bench_ncpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return CPU_COUNT(&set);
}

/* Pin the calling thread to the idx-th CPU it may run on (mod the count).
 * Best effort: returns the CPU number, or -1 if pinning failed. */
static inline int bench_pin(int idx)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	int n = CPU_COUNT(&set);
	if (n <= 0)
		return -1;
	int want = idx % n, seen = 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (seen++ == want) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0)
				return -1;
			return c;
		}
	}
	return -1;
}

/* One line on how busy the machine was: figures from a loaded, shared
 * machine should be read with that in mind. */
static inline void bench_print_load(void)
{
	double l1 = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l1) != 1)
			l1 = -1;
		fclose(f);
	}
	if (l1 >= 0)
		printf("  machine: %d CPU(s) usable, 1-min load average %.2f at start%s\n", bench_ncpus(), l1,
		       l1 > 0.5 * bench_ncpus() ? " (busy: expect noise)" : "");
	else
		printf("  machine: %d CPU(s) usable\n", bench_ncpus());
}

/* VMP_BENCH_SCALE (a positive number, default 1) scales run lengths and
 * sample counts: 0.2 for a smoke run, 5 for steadier figures. */
static inline double bench_scale(void)
{
	const char *s = getenv("VMP_BENCH_SCALE");
	double v = s ? strtod(s, NULL) : 1.0;
	return v > 0 && v < 1000 ? v : 1.0;
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* Print to stdout and, when `also` is set, to that file too (a benchmark's
 * markdown report beside its console output). */
__attribute__((format(printf, 2, 3)))
static inline void bench_tee(FILE *also, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (also) {
		va_start(ap, fmt);
		vfprintf(also, fmt, ap);
		va_end(ap);
	}
}

/* "verdict: goal: ...; measured ...: met" -- printed, never fatal. */
__attribute__((format(printf, 2, 3)))
static inline void bench_verdict(int met, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("verdict: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputs(met < 0 ? ": n/a\n" : met ? ": met\n" : ": not met\n", stdout);
	va_end(ap);
	fflush(stdout);
}

#endif
