/* SPDX-License-Identifier: MIT */
/*
 * src/lib/util: small helpers that the library, the CLI and the daemon
 * each needed and had each written (UTF-8 validation, a string hash, a
 * growing text buffer; the clocks in clock.h). The CLI and the daemon may
 * share nothing but the library and the documented protocol, and these
 * are no part of the library's interface (include/vmpressure.h), so they
 * live here as an internal static library, libvmputil.a: compiled into
 * libvmpressure (hidden there) and linked into the vmpressure and
 * vmpressured executables and their tests. Names are vmp__* as every
 * internal name (DEVELOPERS.md). It depends on libc only: nothing of the
 * engine, the sources, the daemon or the CLI.
 */
#ifndef VMP_UTIL_H
#define VMP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the valid UTF-8 sequence at s (n bytes left): 1 for an
 * ASCII byte, 2 to 4, or 0 if it is not valid (overlong forms, surrogates
 * and code points past U+10FFFF are not). */
size_t vmp__utf8_len(const unsigned char *s, size_t n);

/* FNV-1a of a NUL-terminated string, its high bits folded into the low
 * ones (tables index with hash & (cap - 1)). */
size_t vmp__hash_str(const char *s);

/* A growing text buffer, always NUL-terminated once it holds anything.
 * On allocation failure it stops growing and sets oom; the caller checks
 * once at the end. Zero-initialised is the same as vmp__buf_init(). */
struct vmp__buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void vmp__buf_init(struct vmp__buf *b);
void vmp__buf_free(struct vmp__buf *b);
/* Empty it, keeping the memory (and clearing oom). */
void vmp__buf_reset(struct vmp__buf *b);
/* Room for n more bytes and the NUL: true, or false with oom set. */
bool vmp__buf_reserve(struct vmp__buf *b, size_t n);
void vmp__buf_add(struct vmp__buf *b, const char *s, size_t n);
void vmp__buf_puts(struct vmp__buf *b, const char *s);
void vmp__buf_printf(struct vmp__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
