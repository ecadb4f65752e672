/* SPDX-License-Identifier: MIT */
/*
 * Kernel counter files: memory.stat, memory.events, /proc/vmstat ("key
 * value" lines), PSI files ("some avg10=... total=...") and
 * /proc/schedstat. Parsers are
 * pure (fuzzed, unit-tested on fixtures); reading is one pread at offset 0
 * on a descriptor kept open, which makes cgroupfs and procfs regenerate the
 * text without a new open().
 */
#ifndef VMP_CGFILES_H
#define VMP_CGFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fill vals[i] for each keys[i] found; *found gets bit i. -EBADMSG if a
 * line is not "key <unsigned decimal>" (the file changed shape). */
int vmp__parse_kv(const char *buf, size_t len, const char *const *keys, size_t nkeys,
		 uint64_t *vals, uint64_t *found);

/* A one-value file (memory.current, memory.swap.current, memory.max):
 * an unsigned decimal or "max" (then *out = max_value), with a trailing
 * newline. -EBADMSG otherwise. */
int vmp__parse_value(const char *buf, size_t len, uint64_t max_value, uint64_t *out);

struct vmp_psi {
	double some_avg10, full_avg10;
	uint64_t some_total, full_total; /* microseconds */
	bool have_full;
};

/* -EBADMSG if the text is not PSI. */
int vmp__parse_psi(const char *buf, size_t len, struct vmp_psi *out);

/* /proc/schedstat: its "cpu<N>" lines, each at least 9 unsigned decimals
 * of which the 7th is the time tasks ran on that CPU and the 8th the time
 * runnable tasks waited for it (ns; schedstat versions 15 to 17). *cpus
 * gets the count of such lines and *runq_ns the sum of both times over
 * them. -EBADMSG if there is none, or one is short or not decimal. */
int vmp__parse_schedstat(const char *buf, size_t len, unsigned *cpus, uint64_t *runq_ns);

/* openat(dirfd, name, flags) with O_NONBLOCK and O_CLOEXEC, of a regular
 * file only: a FIFO in a fixture tree would block open() (and read())
 * for ever. The descriptor, or -errno; -EINVAL for what is not a regular
 * file (closed again). dirfd may be AT_FDCWD. */
int vmp__open_regular(int dirfd, const char *name, int flags);

/* Read a whole small file from offset 0 into buf (NUL-terminated).
 * -EFBIG if it does not fit; -errno otherwise (-ENODEV/-ENOENT: gone). */
int vmp__pread_all(int fd, char *buf, size_t cap, size_t *len);

#endif
