/* SPDX-License-Identifier: MIT */
/*
 * Registration arguments, "level[,mode]" (spec R-14). The kernel copies at
 * most 19 bytes (len("critical") + len("hierarchy") + 2) before parsing, so
 * a long string is cut first and judged after: "medium,hierarchy,xyz" is
 * accepted, "critical,hierarchyXYZ" is not. Tokens match exactly, case and
 * all; a second comma ends the mode and what follows it is ignored.
 */
#include "engine/engine.h"

#include <errno.h>
#include <string.h>

static int match(const char *tok, size_t len, const char *const *names,
		 int n)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], tok, len) == 0)
			return i;
	return -1;
}

VMP_EXPORT int vmp_parse_args(const char *args, vmp_level *level, vmp_mode *mode)
{
	static const char *const levels[] = {"low", "medium", "critical"};
	static const char *const modes[] = {"default", "hierarchy", "local"};

	if (!args)
		return -EINVAL;
	size_t len = strnlen(args, VMP_MAX_ARGS_LEN);
	const char *end = args + len;
	const char *comma = memchr(args, ',', len);
	const char *tok_end = comma ? comma : end;

	int lv = match(args, (size_t)(tok_end - args), levels, 3);
	if (lv < 0)
		return -EINVAL;
	int md = VMP_MODE_DEFAULT;
	if (comma) {
		const char *m = comma + 1;
		const char *m_end = memchr(m, ',', (size_t)(end - m));
		if (!m_end)
			m_end = end;
		md = match(m, (size_t)(m_end - m), modes, 3);
		if (md < 0)
			return -EINVAL;
	}
	*level = (vmp_level)lv;
	*mode = (vmp_mode)md;
	return 0;
}
