/* SPDX-License-Identifier: MIT */
/*
 * The level formula (spec §4, R-3).
 *
 * The kernel computes the pressure of a window as
 *
 *     scale = s + r;  q = r * scale / s;  p = (scale - q) * 100 / scale
 *
 * in unsigned long, truncating each division and wrapping each product.
 * That is close to, but not the same as, 100 * (1 - r/s): small windows
 * are biased upward and the level boundaries move (R-3c), and huge or
 * underflowed counts wrap (R-3d). We reproduce every step in the same
 * width, so a replay classifies every window as the kernel did.
 *
 * scale == 0 (s + r wraps to zero) makes the kernel divide by zero inside
 * its work item (R-3e, the CVE-2024-42316 class). We define it instead:
 * pressure 100, CRITICAL. Both counts are then garbage from an underflow
 * somewhere upstream, and telling listeners "critical" errs on the side
 * that makes them look, where "low" would hide it.
 */
#include "engine/engine.h"

#include <errno.h>

VMP_EXPORT const char *vmp_level_name(vmp_level level)
{
	static const char *const names[] = {"low", "medium", "critical"};
	return (unsigned)level < 3 ? names[level] : NULL;
}

VMP_EXPORT const char *vmp_mode_name(vmp_mode mode)
{
	static const char *const names[] = {"default", "hierarchy", "local"};
	return (unsigned)mode < 3 ? names[mode] : NULL;
}

vmp_level vmp__level_of(uint64_t pressure)
{
	if (pressure >= VMP_CRIT_THRESHOLD)
		return VMP_LEVEL_CRITICAL;
	if (pressure >= VMP_MED_THRESHOLD)
		return VMP_LEVEL_MEDIUM;
	return VMP_LEVEL_LOW;
}

uint64_t vmp__pressure_of(uint64_t s, uint64_t r, unsigned flags)
{
	/* Unsigned long of the emulated kernel: every result is reduced to it. */
	const uint64_t m = (flags & VMP_CALC_UL32) ? UINT32_MAX : UINT64_MAX;

	s &= m;
	r &= m;
	if (!(flags & VMP_CALC_NO_GUARD) && r >= s)
		return 0;
	uint64_t scale = (s + r) & m;
	if (scale == 0)
		return 100;
	uint64_t q = ((r * scale) & m) / s;
	uint64_t p1 = (scale - q) & m;
	return ((p1 * 100) & m) / scale;
}

VMP_EXPORT int vmp_calc(uint64_t scanned, uint64_t reclaimed, unsigned flags,
	     uint64_t *pressure, vmp_level *level)
{
	uint64_t m = (flags & VMP_CALC_UL32) ? UINT32_MAX : UINT64_MAX;

	if ((scanned & m) == 0)
		return -EINVAL;
	uint64_t p = vmp__pressure_of(scanned, reclaimed, flags);
	if (pressure)
		*pressure = p;
	if (level)
		*level = vmp__level_of(p);
	return 0;
}
