/* SPDX-License-Identifier: MIT */
/*
 * The samples line format, version 1 (docs/vmptrace.md, "Samples"): the
 * counter snapshots an estimator source stepped with (vmp__est_step()'s
 * inputs), kept in a vmptrace file as `#` comment lines, so that replay
 * still reads the file unchanged and `vmpressure estimate` can run the
 * estimator again over the same input with other settings.
 *
 *   # samples 1
 *   # sample <t> <n> -|invalid|machine <machine fields> [sched=<cpus>/<ns>]
 *   # sample-cg <path> invalid|<cgroup fields>     (n of them, right after)
 *   # sample-gone <path>
 *
 * Writing (record.c) and strict reading (estimate.c, the fuzz target).
 */
#ifndef VMP_SAMPLES_H
#define VMP_SAMPLES_H

#include "estimator/estimator.h"
#include "trace/trace.h"

#define VMP_SAMPLES_VERSION 1u

/* One line each, ending in '\n': the length, -ENOBUFS if it does not fit,
 * -EINVAL for a path the format cannot hold. Times in ns (written with 9
 * decimals: the estimator's time, exactly). m NULL: no machine; s NULL or
 * cpus 0: no scheduler reading (cpus over VMP_EST_SCHED_MAX_CPUS: -EINVAL). */
int vmp__samples_fmt_header(char *buf, size_t cap);
int vmp__samples_fmt_step(char *buf, size_t cap, uint64_t t_ns, size_t n,
			 const struct vmp_est_machine *m, const struct vmp_est_sched *s);
int vmp__samples_fmt_cgroup(char *buf, size_t cap, const char *path, const struct vmp_est_cgroup *c);
int vmp__samples_fmt_gone(char *buf, size_t cap, const char *path);

enum vmp_samples_kind {
	VMP_SAMPLES_STEP, /* one vmp__est_step() */
	VMP_SAMPLES_GONE, /* the source dropped the cgroup's engine group */
};

struct vmp_samples_rec {
	enum vmp_samples_kind kind;
	unsigned long line;           /* of the `# sample` / `# sample-gone` line */
	uint64_t t_ns;                /* step */
	const struct vmp_est_machine *m; /* step: NULL if none */
	const struct vmp_est_sched *sched; /* step: NULL if none */
	size_t n;                     /* step: cgroups */
	const struct vmp_span *paths; /* step: n paths inside the buffer */
	const struct vmp_est_cgroup *c; /* step: n snapshots */
	struct vmp_span path;         /* gone */
};

/* Returns 0, or a negative value to stop the parse (err already set). */
typedef int (*vmp_samples_fn)(const struct vmp_samples_rec *rec, void *arg,
			      struct vmp_error *err);

/*
 * Parse the sample lines of a vmptrace buffer (every other line is left
 * alone, vmptrace records and other comments alike), calling fn for each
 * step (once its cgroup lines are read) and each gone line, in order. *steps gets
 * the number of steps (may be NULL). -EINVAL with *err naming the line and
 * the byte on a malformed sample line, -ENOMEM, or what fn returned.
 */
int vmp__samples_parse(const char *buf, size_t len, vmp_samples_fn fn, void *arg,
		      size_t *steps, struct vmp_error *err);

#endif
