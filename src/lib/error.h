/* SPDX-License-Identifier: MIT */
/* Internal: filling a caller's struct vmp_error (the one error-detail
 * style of include/vmpressure.h). Every helper accepts err NULL. */
#ifndef VMP_ERROR_H
#define VMP_ERROR_H

#include "vmpressure.h"

/* Clear *err (what a public function does on entry). */
void vmp__error_clear(struct vmp_error *err);
/* Set msg and line (0: not about a line); path is left as it is. */
void vmp__errorf(struct vmp_error *err, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Name the file the error is about; a path too long keeps its end. */
void vmp__error_path(struct vmp_error *err, const char *path);

#endif
