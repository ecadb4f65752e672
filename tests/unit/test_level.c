/* SPDX-License-Identifier: MIT */
/* The level formula: every vector of spec §12, the 32-bit and pre-v4.11
 * variants, the defined divide-by-zero, and the R-3c claim about how often
 * the kernel's double truncation disagrees with the naive formula. */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>

#define P64 (UINT64_C(1) << 63)
#define P62 (UINT64_C(1) << 62)

struct vec {
	uint64_t s, r, p;
	vmp_level lv;
	unsigned flags;
};

static const struct vec vectors[] = {
	{1, 0, 100, VMP_LEVEL_CRITICAL, 0},
	{1, 1, 0, VMP_LEVEL_LOW, 0},
	{2, 1, 66, VMP_LEVEL_MEDIUM, 0},
	{3, 1, 75, VMP_LEVEL_MEDIUM, 0},
	{3, 2, 40, VMP_LEVEL_LOW, 0},
	{7, 3, 60, VMP_LEVEL_MEDIUM, 0},
	{10, 3, 76, VMP_LEVEL_MEDIUM, 0},
	{10, 4, 64, VMP_LEVEL_MEDIUM, 0},
	{20, 2, 90, VMP_LEVEL_MEDIUM, 0},
	{100, 5, 95, VMP_LEVEL_CRITICAL, 0},
	{100, 6, 94, VMP_LEVEL_MEDIUM, 0},
	{100, 40, 60, VMP_LEVEL_MEDIUM, 0},
	{512, 0, 100, VMP_LEVEL_CRITICAL, 0},
	{512, 25, 95, VMP_LEVEL_CRITICAL, 0},
	{512, 26, 94, VMP_LEVEL_MEDIUM, 0},
	{512, 204, 60, VMP_LEVEL_MEDIUM, 0},
	{512, 205, 59, VMP_LEVEL_LOW, 0},
	{512, 256, 50, VMP_LEVEL_LOW, 0},
	{512, 512, 0, VMP_LEVEL_LOW, 0},
	{512, 600, 0, VMP_LEVEL_LOW, 0},
	{514, 26, 95, VMP_LEVEL_CRITICAL, 0},
	{514, 206, 60, VMP_LEVEL_MEDIUM, 0},
	{600, 250, 58, VMP_LEVEL_LOW, 0},
	{612, 90, 85, VMP_LEVEL_MEDIUM, 0},
	{1000, 50, 95, VMP_LEVEL_CRITICAL, 0},
	{1000, 51, 94, VMP_LEVEL_MEDIUM, 0},
	{1000, 400, 60, VMP_LEVEL_MEDIUM, 0},
	{1000, 401, 59, VMP_LEVEL_LOW, 0},
	{1512, 1000, 33, VMP_LEVEL_LOW, 0},
	{4096, 4095, 0, VMP_LEVEL_LOW, 0},
	{5000, 100, 98, VMP_LEVEL_CRITICAL, 0},
	{8192, 410, 95, VMP_LEVEL_CRITICAL, 0},
	{1000000, 999999, 0, VMP_LEVEL_LOW, 0},
	{UINT64_C(1) << 32, 0, 100, VMP_LEVEL_CRITICAL, 0},
	{4000000000u, 3000000000u, 90, VMP_LEVEL_MEDIUM, 0}, /* r*scale wraps */
	{P64, P62, 0, VMP_LEVEL_LOW, 0},                     /* wraps */
	{UINT64_MAX - 99, 50, 0, VMP_LEVEL_LOW, 0},          /* wraps */
	/* scale == 0: the kernel divides by zero; we define 100, critical */
	{UINT64_MAX, 1, 100, VMP_LEVEL_CRITICAL, 0},
	{UINT64_MAX - 511, 512, 100, VMP_LEVEL_CRITICAL, 0},
	/* 32-bit unsigned long */
	{100000, 50000, 78, VMP_LEVEL_MEDIUM, VMP_CALC_UL32},
	{100000, 50000, 50, VMP_LEVEL_LOW, 0},
	{65536, 32768, 50, VMP_LEVEL_LOW, VMP_CALC_UL32},
	{UINT32_MAX, 1, 100, VMP_LEVEL_CRITICAL, VMP_CALC_UL32}, /* scale == 0 */
	{UINT32_MAX, 1, 99, VMP_LEVEL_CRITICAL, 0},
	/* before v4.11 there was no r >= s guard (R-3a) */
	{512, 600, UINT64_C(16588798627436629), VMP_LEVEL_CRITICAL, VMP_CALC_NO_GUARD},
	{512, 512, 0, VMP_LEVEL_LOW, VMP_CALC_NO_GUARD},
};

static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		uint64_t p = 12345;
		vmp_level lv = 99;
		int rc = vmp_calc(v->s, v->r, v->flags, &p, &lv);
		CHECK(rc == 0, "vector %zu: rc %d", i, rc);
		CHECK_EQ_U64(p, v->p, "vector %zu (%" PRIu64 ", %" PRIu64 ", flags %u)", i, v->s, v->r,
			     v->flags);
		CHECK(lv == v->lv, "vector %zu: level %d, expected %d", i, lv, v->lv);
	}
}

static void test_errors(void)
{
	uint64_t p = 7;
	vmp_level lv = VMP_LEVEL_MEDIUM;
	CHECK(vmp_calc(0, 5, 0, &p, &lv) == -EINVAL, "scanned 0 is not a window");
	CHECK(p == 7 && lv == VMP_LEVEL_MEDIUM, "outputs untouched on error");
	/* 2^32 scanned is 0 in a 32-bit unsigned long */
	CHECK(vmp_calc(UINT64_C(1) << 32, 0, VMP_CALC_UL32, &p, &lv) == -EINVAL, "2^32 is 0 on 32-bit");
	CHECK(vmp_calc(1, 0, 0, NULL, NULL) == 0, "NULL outputs allowed");
}

/* R-3c: over s in [512, 2048], r < s, the level differs from the naive
 * floor(100 (s - r) / s) for exactly 1240 pairs. */
static void test_naive_disagreement(void)
{
	unsigned differ = 0;
	for (uint64_t s = 512; s <= 2048; s++)
		for (uint64_t r = 0; r < s; r++) {
			vmp_level lv;
			vmp_calc(s, r, 0, NULL, &lv);
			uint64_t naive = 100 * (s - r) / s;
			vmp_level nl = naive >= 95 ? VMP_LEVEL_CRITICAL
				       : naive >= 60 ? VMP_LEVEL_MEDIUM
						     : VMP_LEVEL_LOW;
			differ += lv != nl;
		}
	CHECK(differ == 1240, "level differs from naive for %u pairs, spec says 1240", differ);
}

/* R-3f: 0 <= pressure <= 100 whenever nothing overflows. */
static void test_range(void)
{
	unsigned bad = 0;
	uint64_t x = 88172645463325252u;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t s = (x >> 20) % 100000000 + 1, r = (x & 0xfffff) % (s + 1000);
		uint64_t p;
		vmp_calc(s, r, 0, &p, NULL);
		bad += p > 100;
	}
	CHECK(bad == 0, "%u samples out of [0, 100]", bad);
}

static void test_names(void)
{
	CHECK(strcmp(vmp_level_name(VMP_LEVEL_LOW), "low") == 0, "low");
	CHECK(strcmp(vmp_level_name(VMP_LEVEL_MEDIUM), "medium") == 0, "medium");
	CHECK(strcmp(vmp_level_name(VMP_LEVEL_CRITICAL), "critical") == 0, "critical");
	CHECK(vmp_level_name((vmp_level)3) == NULL, "out of range");
	CHECK(strcmp(vmp_mode_name(VMP_MODE_HIERARCHY), "hierarchy") == 0, "hierarchy");
	CHECK(vmp_mode_name((vmp_mode)-1) == NULL, "out of range");
	CHECK(vmp_version() == VMP_VERSION_HEX, "run-time version matches the header");
}

int main(void)
{
	test_vectors();
	test_errors();
	test_naive_disagreement();
	test_range();
	test_names();
	return check_done("level");
}
