/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vmpressured's --exec option text
 * (src/daemon/exec_spec.c, vmpd_exec_spec_parse()) on arbitrary bytes.
 *
 * The input is NUL-terminated, as an argv string is. Checked: the result
 * is 0 or -EINVAL; an error has a message naming a byte offset inside the
 * text; a success has a normalised cgroup (no empty, "." or ".."
 * component, no doubled slash), a level and mode in range whose canonical
 * args parse back to them with vmp_parse_args(), and a command that is a
 * non-empty suffix of the input starting with a non-space byte.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vmpd_exec_spec spec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	char msg[256] = "";
	int rc = vmpd_exec_spec_parse(s, &spec, msg, sizeof(msg));
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc) {
		unsigned long off;
		if (sscanf(msg, "byte %lu:", &off) != 1 || off > strlen(s))
			abort();
	} else {
		size_t len = strlen(s);
		if (!spec.command || spec.command < s || spec.command >= s + len || *spec.command == ' ' ||
		    *spec.command == '\t')
			abort();
		const char *c = spec.cgroup;
		if (strcmp(c, "/") != 0) {
			if (c[0] == '/' || !c[0] || c[strlen(c) - 1] == '/' || strstr(c, "//"))
				abort();
			for (const char *p = c; *p;) {
				size_t n = strcspn(p, "/");
				if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
					abort();
				p += n + (p[n] == '/');
			}
		}
		vmp_level lv;
		vmp_mode md;
		/* A forecast action has no level[,mode]: its ARGS is forecast[=S]. */
		if (!spec.forecast &&
		    ((unsigned)spec.level > VMP_LEVEL_CRITICAL || (unsigned)spec.mode > VMP_MODE_LOCAL ||
		     vmp_parse_args(spec.args, &lv, &md) != 0 || lv != spec.level || md != spec.mode))
			abort();
	}
	free(s);
	return 0;
}
