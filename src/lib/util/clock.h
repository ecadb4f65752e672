/* SPDX-License-Identifier: MIT */
/* Internal (src/lib/util, see util.h): the two clocks in nanoseconds, and
 * CLOCK_MONOTONIC in seconds for the CLI's and the daemon's deadlines.
 * In the library: CLOCK_MONOTONIC for
 * its own timing (executor back-off, live sampling, playback, recordings,
 * action rate limits, events' mono_ns); the engine's notion of "now" is
 * the context's clock (vmp__now_ns), whose default this is. CLOCK_REALTIME
 * only for what is shown to people (events' time_ns). */
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

static inline double vmp__mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t vmp__realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
