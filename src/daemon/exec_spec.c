/* SPDX-License-Identifier: MIT */
/*
 * The text of a `vmpressured --exec SPEC` option, pure (fuzzed by
 * fuzz/fuzz_exec_spec.c):
 *
 *   CGROUP LEVEL[,MODE] [debounce[=CONFIG]] COMMAND...
 *
 * Fields are separated by one or more spaces; CGROUP is a path as in a
 * subscribe request (normalised the same way), LEVEL and MODE are the
 * kernel's words, exactly (low medium critical; default hierarchy local),
 * an optional `debounce` or `debounce=CONFIG` field (CONFIG as in a
 * subscribe request, vmp_debounce_parse()) makes the action run per level
 * transition, and the rest of the text, from its first non-space byte, is
 * the shell command, taken as it is. (A command whose first word is
 * "debounce" must be written otherwise, e.g. `./debounce`.)
 * `forecast` or `forecast=SECONDS` in place of LEVEL[,MODE] makes the
 * action run per OOM forecast event of the cgroup (docs/forecast.md), its
 * warning threshold SECONDS (0.1 to 86400, default 30). Stricter than the kernel's own args parser on
 * purpose: a configuration that the kernel would read after cutting it at
 * 19 bytes, or after ignoring a third field, is a typo here, and is
 * better refused at startup than obeyed differently from what it says.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *msg, size_t cap, const char *fmt, size_t off, const char *what)
{
	snprintf(msg, cap, fmt, off, what);
	return -EINVAL;
}

/* One word of a level[,mode] pair: its index in names, or -1. */
static int word(const char *s, size_t n, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == n && !memcmp(s, names[i], n))
			return i;
	return -1;
}

int vmpd_exec_spec_parse(const char *text, struct vmpd_exec_spec *out, char *msg, size_t msgcap)
{
	static const char *const levels[] = {"low", "medium", "critical"};
	static const char *const modes[] = {"default", "hierarchy", "local"};
	const char *p = text;
	for (const char *q = text; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return fail(msg, msgcap, "byte %zu: a control character (%s)", (size_t)(q - text),
				    "one line, please");
	if (*p == ' ' || *p == '\t' || !*p)
		return fail(msg, msgcap, "byte %zu: %s", 0, "expected CGROUP LEVEL[,MODE] COMMAND");
	size_t cg = strcspn(p, " \t");
	struct vmp_error cerr;
	if (vmp_cgroup_normalize(p, cg, out->cgroup, sizeof(out->cgroup), &cerr) != 0)
	{
		snprintf(msg, msgcap, "byte 0: not a cgroup path (%s)", cerr.msg);
		return -EINVAL;
	}
	p += cg;
	p += strspn(p, " \t");
	size_t off = (size_t)(p - text);
	size_t an = strcspn(p, " \t");
	if (!an)
		return fail(msg, msgcap, "byte %zu: %s", off, "expected LEVEL[,MODE] after the cgroup");
	out->forecast = false;
	out->forecast_s = 0;
	if ((an == 8 && !strncmp(p, "forecast", 8)) || (an > 9 && !strncmp(p, "forecast=", 9))) {
		if (an > 9) {
			char num[32], *end;
			if (an - 9 >= sizeof(num))
				return fail(msg, msgcap, "byte %zu: %s", off + 9, "forecast=SECONDS: 0.1 to 86400");
			memcpy(num, p + 9, an - 9);
			num[an - 9] = 0;
			double v = strtod(num, &end);
			if (*end || !(v >= 0.1 && v <= 86400) || num[0] < '0' || num[0] > '9')
				return fail(msg, msgcap, "byte %zu: %s", off + 9, "forecast=SECONDS: 0.1 to 86400");
			out->forecast_s = v;
		}
		out->forecast = true;
		out->level = VMP_LEVEL_LOW;
		out->mode = VMP_MODE_DEFAULT;
		out->debounce = false;
		snprintf(out->args, sizeof(out->args), "forecast");
		p += an;
		p += strspn(p, " \t");
		if (!*p)
			return fail(msg, msgcap, "byte %zu: %s", (size_t)(p - text), "no command after forecast");
		out->command = p;
		return 0;
	}
	const char *comma = memchr(p, ',', an);
	size_t ln = comma ? (size_t)(comma - p) : an;
	int lv = word(p, ln, levels, 3), md = 0;
	if (lv < 0)
		return fail(msg, msgcap, "byte %zu: %s", off, "the level is low, medium or critical");
	if (comma) {
		size_t mn = an - ln - 1;
		md = word(comma + 1, mn, modes, 3);
		if (md < 0)
			return fail(msg, msgcap, "byte %zu: %s", off + ln + 1,
				    "the mode is default, hierarchy or local (one comma)");
	}
	out->level = (vmp_level)lv;
	out->mode = (vmp_mode)md;
	vmpd_canonical_args(out->level, out->mode, out->args, sizeof(out->args));
	p += an;
	p += strspn(p, " \t");
	out->debounce = false;
	size_t dn = strcspn(p, " \t");
	if ((dn == 8 && !strncmp(p, "debounce", 8)) || !strncmp(p, "debounce=", 9)) {
		char cfg[256];
		struct vmp_error derr;
		off = (size_t)(p - text);
		if (dn - (dn > 8 ? 9 : 8) >= sizeof(cfg))
			return fail(msg, msgcap, "byte %zu: %s", off, "the debounce config is too long");
		memcpy(cfg, p + (dn > 8 ? 9 : 8), dn - (dn > 8 ? 9 : 8));
		cfg[dn - (dn > 8 ? 9 : 8)] = 0;
		if (vmp_debounce_parse(cfg, &out->db, &derr) != 0) {
			snprintf(msg, msgcap, "byte %zu: debounce config: %s", off + 9, derr.msg);
			return -EINVAL;
		}
		out->debounce = true;
		p += dn;
		p += strspn(p, " \t");
	}
	if (!*p)
		return fail(msg, msgcap, "byte %zu: %s", (size_t)(p - text), "no command after LEVEL[,MODE]");
	out->command = p;
	return 0;
}
