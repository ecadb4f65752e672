/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vmp__error_clear(struct vmp_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

void vmp__errorf(struct vmp_error *err, unsigned long line, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	err->line = line;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void vmp__error_path(struct vmp_error *err, const char *path)
{
	if (!err || !path)
		return;
	size_t n = strlen(path), cap = sizeof(err->path);
	if (n < cap)
		memcpy(err->path, path, n + 1);
	else /* the end names the file; "..." says the start is missing */
		snprintf(err->path, cap, "...%s", path + n - (cap - 4));
}

int vmp__error_at(struct vmp_error *err, size_t off, const char *fmt, const char *a, size_t alen)
{
	if (err) {
		char tmp[64];
		size_t n = alen < 40 ? alen : 40;
		memcpy(tmp, a, n);
		tmp[n] = 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)tmp[i] < 0x20 || (unsigned char)tmp[i] > 0x7e)
				tmp[i] = '?';
		int at = snprintf(err->msg, sizeof(err->msg), "byte %zu: ", off);
		snprintf(err->msg + at, sizeof(err->msg) - (size_t)at, fmt, tmp, alen > 40 ? "..." : "");
	}
	return -EINVAL;
}

void vmp__kv_init(struct vmp__kvlist *l, const char *s, const char *const *keys, unsigned nkeys,
		  const char *what)
{
	*l = (struct vmp__kvlist){.s = s, .len = strlen(s), .keys = keys, .nkeys = nkeys, .what = what};
	l->done = l->len == 0;
}

int vmp__kv_next(struct vmp__kvlist *l, struct vmp__kv *kv, struct vmp_error *err)
{
	if (l->trailing)
		return vmp__error_at(err, l->len - 1, "trailing comma%s%s", "", 0);
	if (l->done)
		return 0;
	size_t start = l->i, i = start;
	while (i < l->len && l->s[i] != ',')
		i++;
	const char *item = l->s + start;
	size_t n = i - start;
	if (!n)
		return vmp__error_at(err, start, "empty item%s%s", "", 0);
	const char *eq = memchr(item, '=', n);
	if (!eq)
		return vmp__error_at(err, start, "'%s%s' is not key=value", item, n);
	size_t kn = (size_t)(eq - item);
	unsigned k = l->nkeys;
	for (unsigned j = 0; j < l->nkeys && j < 32; j++)
		if (strlen(l->keys[j]) == kn && !memcmp(l->keys[j], item, kn))
			k = j;
	if (k == l->nkeys) {
		char fmt[160];
		snprintf(fmt, sizeof(fmt), "unknown key '%%s%%s' (%s)", l->what);
		return vmp__error_at(err, start, fmt, item, kn);
	}
	if (l->seen & (1u << k))
		return vmp__error_at(err, start, "key '%s%s' given twice", item, kn);
	l->seen |= 1u << k;
	*kv = (struct vmp__kv){.key = k, .v = eq + 1, .vn = n - kn - 1, .off = start, .voff = start + kn + 1};
	if (i == l->len)
		l->done = true;
	else if (i + 1 == l->len)
		l->trailing = true;
	l->i = i + 1;
	return 1;
}
