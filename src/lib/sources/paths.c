/* SPDX-License-Identifier: MIT */
/* Cgroup path handling: every path a client names is relative to the
 * source's cgroup root and may not climb out of it. */
#include "sources/source.h"

#include <stdlib.h>
#include <string.h>

char *vmp__cgroup_normalize(const char *path)
{
	if (!path)
		return NULL;
	size_t n = strlen(path);
	if (n > 4096)
		return NULL;
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.') || len > 255) {
			free(out);
			return NULL;
		}
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
				free(out);
				return NULL;
			}
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	if (!o)
		out[o++] = '/';
	out[o] = 0;
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
