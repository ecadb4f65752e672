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
/* "byte OFF: " and fmt, whose "%s%s" shows the alen bytes at a (at most
 * 40, then "...", anything not printable ASCII as '?': the text goes back
 * to whoever sent it). Returns -EINVAL. */
int vmp__error_at(struct vmp_error *err, size_t off, const char *fmt, const char *a, size_t alen);

/* A "key=value,..." text (the debounce and forecast configs): each call
 * gives the next item, its key one of keys (at most 32), each at most
 * once. Malformed (-EINVAL, err naming the byte): an empty item, no '=',
 * an unknown key (the message lists `what`), a key given twice, a trailing
 * comma (reported after the last item's value, as a reader meets it). */
struct vmp__kvlist {
	const char *s;
	size_t len, i;
	const char *const *keys;
	unsigned nkeys;
	const char *what;
	unsigned seen;
	bool done, trailing;
};
struct vmp__kv {
	unsigned key;      /* index in keys */
	const char *v;     /* the value: vn bytes, not NUL-terminated */
	size_t vn;
	size_t off, voff;  /* byte offsets of the item and of its value */
};
void vmp__kv_init(struct vmp__kvlist *l, const char *s, const char *const *keys, unsigned nkeys,
		  const char *what);
/* 1 and *kv: an item; 0: no more; -EINVAL. */
int vmp__kv_next(struct vmp__kvlist *l, struct vmp__kv *kv, struct vmp_error *err);

#endif
