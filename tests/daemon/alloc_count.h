/* SPDX-License-Identifier: MIT */
/* The counters alloc_count.so keeps in $VMP_ALLOC_COUNT (a file of at least
 * sizeof(struct alloc_count) bytes, mapped shared). */
#ifndef VMPD_ALLOC_COUNT_H
#define VMPD_ALLOC_COUNT_H

#include <stdint.h>

#define ALLOC_COUNT_RING 64u

struct alloc_count {
	uint64_t allocs, opens;
	uint64_t nring; /* calls noted; the last ALLOC_COUNT_RING are in ring */
	struct {
		uint64_t ra; /* the caller's return address */
		uint32_t open;
		uint32_t pad;
	} ring[ALLOC_COUNT_RING];
};

#endif
