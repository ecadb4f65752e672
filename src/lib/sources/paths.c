/* SPDX-License-Identifier: MIT */
/* Cgroup path handling: every path a client names is relative to the
 * source's cgroup root and may not climb out of it; one rule for the
 * library and vmpressured (vmp_cgroup_normalize). */
#include "sources/source.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>

VMP_EXPORT int vmp_cgroup_normalize(const char *path, size_t len, char *out, size_t cap,
				    struct vmp_error *err)
{
	vmp__error_clear(err);
	if ((!path && len) || !out || !cap)
		return -EINVAL;
	size_t o = 0, i = 0;
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		size_t s = i;
		while (i < len && path[i] != '/') {
			unsigned char c = (unsigned char)path[i];
			if (c < 0x20 || c == 0x7f) {
				vmp__errorf(err, 0, "byte %zu: a control character (0x%02x) is in no cgroup name", i, c);
				return -EINVAL;
			}
			i++;
		}
		size_t n = i - s;
		if ((n == 1 && path[s] == '.') || (n == 2 && path[s] == '.' && path[s + 1] == '.')) {
			vmp__errorf(err, 0, "byte %zu: a '%.*s' component (paths are below the cgroup root, as written)",
				    s, (int)n, path + s);
			return -EINVAL;
		}
		if (n > 255) {
			vmp__errorf(err, 0, "byte %zu: a component of %zu bytes (a cgroup name has at most 255)", s, n);
			return -EINVAL;
		}
		if (o + (o ? 1 : 0) + n + 1 > cap) {
			vmp__errorf(err, 0, "longer than %zu bytes", cap - 1);
			return -ENAMETOOLONG;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, path + s, n);
		o += n;
	}
	if (!o) {
		if (cap < 2)
			return -ENAMETOOLONG;
		out[o++] = '/';
	}
	out[o] = 0;
	return 0;
}

char *vmp__cgroup_normalize(const char *path)
{
	if (!path)
		return NULL;
	size_t n = strlen(path);
	if (n > 4096)
		return NULL;
	char *out = malloc(n + 2);
	if (out && vmp_cgroup_normalize(path, n, out, n + 2, NULL) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

char *vmp__path_join(const char *root, const char *rel, const char *file)
{
	size_t rl = strlen(root), l2 = strlen(rel), l3 = file ? strlen(file) : 0;
	char *p = malloc(rl + l2 + l3 + 3);
	if (!p)
		return NULL;
	memcpy(p, root, rl);
	size_t o = rl;
	if (strcmp(rel, "/") != 0) {
		p[o++] = '/';
		memcpy(p + o, rel, l2);
		o += l2;
	}
	if (file) {
		p[o++] = '/';
		memcpy(p + o, file, l3);
		o += l3;
	}
	p[o] = 0;
	return p;
}
