/* SPDX-License-Identifier: MIT */
/* Internal: CLOCK_MONOTONIC in nanoseconds, for the library's own timing
 * (executor back-off, live sampling, recordings, action rate limits). The
 * engine's notion of "now" is the context's clock (vmp__now_ns), whose
 * default this is. */
#ifndef VMP_CLOCK_H
#define VMP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t vmp__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
