/* SPDX-License-Identifier: MIT */
/*
 * An independent reference of spec R-14 for the fuzz targets, written the
 * way the kernel does it: kstrndup() of at most 19 bytes, then strsep() at
 * ',' twice; whatever follows a second comma is never looked at.
 */
#ifndef VMP_FUZZ_REF_ARGS_H
#define VMP_FUZZ_REF_ARGS_H

#include <errno.h>
#include <string.h>

#define REF_MAX_ARGS 19 /* strlen("critical") + strlen("hierarchy") + 2 */

static inline int ref_match(const char *tok, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tok, names[i]) == 0)
			return i;
	return -1;
}

/* 0 and *level, *mode (vmp_level / vmp_mode values), or -EINVAL. */
static inline int ref_parse_args(const char *args, int *level, int *mode)
{
	static const char *const levels[] = {"low", "medium", "critical"};
	static const char *const modes[] = {"default", "hierarchy", "local"};
	char copy[REF_MAX_ARGS + 1];
	size_t n = 0;

	/* 1. at most 19 bytes count */
	while (n < REF_MAX_ARGS && args[n])
		n++;
	memcpy(copy, args, n);
	copy[n] = 0;

	/* 2. token 1, up to the first comma: exactly a level name */
	char *spec = copy;
	char *tok = strsep(&spec, ",");
	int lv = ref_match(tok, levels, 3);
	if (lv < 0)
		return -EINVAL;

	/* 3. token 2, up to the next comma, if there was a comma at all */
	int md = 0;
	tok = strsep(&spec, ",");
	if (tok) {
		md = ref_match(tok, modes, 3);
		if (md < 0)
			return -EINVAL;
	}
	/* 4. whatever is left in spec is ignored */
	*level = lv;
	*mode = md;
	return 0;
}

#endif
