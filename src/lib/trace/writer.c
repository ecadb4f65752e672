/* SPDX-License-Identifier: MIT */
/*
 * vmptrace v1 writer: one record as the text reader.c accepts, into a
 * caller's buffer. Used by the recording tap (sources/record.c). Times
 * are written as seconds with microseconds; names that the format cannot
 * hold (empty, or with a space, a control character or DEL, which would
 * split or end the field) are refused rather than written wrong.
 */
#include "trace/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool vmp__trace_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static int done(int n, size_t cap)
{
	if (n < 0)
		return -EINVAL;
	return (size_t)n < cap ? n : -ENOBUFS;
}

#define T_ARGS(t) (t) / 1000000000u, (t) / 1000u % 1000000u

int vmp__trace_fmt_group(char *buf, size_t cap, const char *path, const char *parent)
{
	if (!vmp__trace_name_ok(path) || (parent && !vmp__trace_name_ok(parent)))
		return -EINVAL;
	return done(snprintf(buf, cap, "group %s %s\n", path, parent ? parent : "-"), cap);
}

int vmp__trace_fmt_listen(char *buf, size_t cap, unsigned id, const char *group, vmp_level level,
			 vmp_mode mode)
{
	const char *l = vmp_level_name(level), *m = vmp_mode_name(mode);
	if (!vmp__trace_name_ok(group) || !l || !m || id > VMP_TRACE_MAX_ID)
		return -EINVAL;
	/* The kernel's syntax: the default mode is the bare level. */
	if (mode == VMP_MODE_DEFAULT)
		return done(snprintf(buf, cap, "listen %u %s %s\n", id, group, l), cap);
	return done(snprintf(buf, cap, "listen %u %s %s,%s\n", id, group, l, m), cap);
}

int vmp__trace_fmt_vmpressure(char *buf, size_t cap, uint64_t t_ns, const char *group, bool tree,
			     uint64_t scanned, uint64_t reclaimed, uint32_t gfp)
{
	if (!vmp__trace_name_ok(group))
		return -EINVAL;
	return done(snprintf(buf, cap, "vmpressure %" PRIu64 ".%06" PRIu64 " %s %d %" PRIu64 " %" PRIu64 " 0x%" PRIx32 "\n",
			     T_ARGS(t_ns), group, tree ? 1 : 0, scanned, reclaimed, gfp), cap);
}

int vmp__trace_fmt_prio(char *buf, size_t cap, uint64_t t_ns, const char *group, int prio, uint32_t gfp)
{
	if (!vmp__trace_name_ok(group))
		return -EINVAL;
	return done(snprintf(buf, cap, "prio %" PRIu64 ".%06" PRIu64 " %s %d 0x%" PRIx32 "\n", T_ARGS(t_ns), group,
			     prio, gfp), cap);
}

int vmp__trace_fmt_work(char *buf, size_t cap, uint64_t t_ns, const char *group)
{
	if (!vmp__trace_name_ok(group))
		return -EINVAL;
	return done(snprintf(buf, cap, "work %" PRIu64 ".%06" PRIu64 " %s\n", T_ARGS(t_ns), group), cap);
}

int vmp__trace_fmt_expect(char *buf, size_t cap, unsigned id, uint64_t count)
{
	if (id > VMP_TRACE_MAX_ID)
		return -EINVAL;
	return done(snprintf(buf, cap, "expect %u %" PRIu64 "\n", id, count), cap);
}
