/* SPDX-License-Identifier: MIT */
#include "error.h"

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
