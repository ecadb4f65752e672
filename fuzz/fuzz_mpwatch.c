/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the outside input of the memory-pressure endpoints
 * (src/daemon/mpwatch/mpwatch_parse.c, pure): the PSI trigger a client writes
 * after connecting, and the --memory-pressure-endpoint option.
 *
 * The first byte picks the parser, the rest is the input. Checked,
 * aborting on any violation:
 *  - a trigger parses to 0 or -EINVAL, with an error message when it
 *    fails; an accepted one has the kernel's bounds (0 < threshold <=
 *    window, 500 ms <= window <= 10 s) and prints back to exactly the
 *    input bytes ("some|full T W");
 *  - an option (cut at its first NUL) parses to 0 or -EINVAL; an accepted
 *    one has an absolute path without "//", "/./" or "/../" that fits a
 *    socket address, canonical args that vmp_parse_args() reads back to
 *    the same level and mode, a mode <= 0777, and parsing its canonical
 *    text again gives the same result;
 *  - the log escaping always ends in a NUL within its buffer and holds only
 *    printable ASCII.
 */
#include "mpwatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escape(const char *s, size_t n)
{
	char out[64];
	memset(out, 'x', sizeof(out));
	vmpd_mpw_escape(s, n, out, sizeof(out));
	size_t len = strnlen(out, sizeof(out));
	if (len == sizeof(out))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	char err[256];
	check_escape(s, n);
	if (data[0] & 1) {
		struct vmpd_mpw_trigger t;
		err[0] = 0;
		int rc = vmpd_mpw_parse_trigger(s, n, &t, err, sizeof(err));
		if (rc != 0 && rc != -EINVAL)
			abort();
		if (rc) {
			if (!err[0])
				abort();
			return 0;
		}
		if (!t.threshold_us || t.threshold_us > t.window_us || t.window_us < 500000 ||
		    t.window_us > 10000000)
			abort();
		char back[96];
		int k = snprintf(back, sizeof(back), "%s %llu %llu", t.full ? "full" : "some",
				 (unsigned long long)t.threshold_us, (unsigned long long)t.window_us);
		if (k < 0 || (size_t)k != n || memcmp(back, s, n))
			abort();
		return 0;
	}
	char *z = malloc(n + 1);
	if (!z)
		return 0;
	memcpy(z, s, n);
	z[n] = 0;
	struct vmpd_mpw_spec *sp = malloc(sizeof(*sp)), *again = malloc(sizeof(*again));
	if (!sp || !again) {
		free(z);
		free(sp);
		free(again);
		return 0;
	}
	err[0] = 0;
	int rc = vmpd_mpw_parse_spec(z, sp, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc && !err[0])
		abort();
	if (!rc) {
		size_t pl = strlen(sp->path);
		if (sp->path[0] != '/' || pl > VMPD_MPW_PATH_MAX || strstr(sp->path, "//") ||
		    strstr(sp->path, "/./") || strstr(sp->path, "/../") || sp->path[pl - 1] == '/' ||
		    sp->sockmode > 0777)
			abort();
		vmp_level l;
		vmp_mode m;
		/* A forecast endpoint has no level[,mode]: its ARGS is forecast[=S]. */
		if (!sp->forecast && (vmp_parse_args(sp->args, &l, &m) || l != sp->level || m != sp->mode))
			abort();
		char *canon = malloc(VMPD_MPW_CGROUP_MAX + 256);
		if (canon) {
			snprintf(canon, VMPD_MPW_CGROUP_MAX + 256, "%s %s %s %o", sp->path, sp->cgroup, sp->args,
				 (unsigned)sp->sockmode);
			if (vmpd_mpw_parse_spec(canon, again, err, sizeof(err)) || strcmp(again->path, sp->path) ||
			    strcmp(again->cgroup, sp->cgroup) || strcmp(again->args, sp->args) ||
			    again->sockmode != sp->sockmode)
				abort();
			free(canon);
		}
	}
	free(z);
	free(sp);
	free(again);
	return 0;
}
