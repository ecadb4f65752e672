/* SPDX-License-Identifier: MIT */
/*
 * The recording tap (internal): the engine calls a source makes, seen on
 * their way in. Sources call the engine through these wrappers; with no
 * tap set they are the plain calls. `vmpressure record` sets one
 * (record.c) and turns each call into a vmptrace record, so that the
 * engine itself stays free of I/O and of any notion of recording.
 */
#ifndef VMP_TAP_H
#define VMP_TAP_H

#include "vmpressure.h"

enum vmp_tap_kind {
	VMP_TAP_ACCOUNT, /* vmp_account() */
	VMP_TAP_PRIO,    /* vmp_account_prio() */
	VMP_TAP_WORK,    /* vmp_group_run_job() */
};

struct vmp_tap_call {
	enum vmp_tap_kind kind;
	uint64_t t_ns;  /* the source's time of the call (its sample, its trace record) */
	vmp_group *g;   /* never NULL: the wrappers resolve NULL to the root */
	uint32_t gfp;
	bool tree;
	uint64_t scanned, reclaimed;
	int prio;
};

struct vmp_est_machine;
struct vmp_est_sched;
struct vmp_est_cgroup;

struct vmp_tap {
	/* Called before the engine sees the call, so that a record always
	 * precedes the notifications it causes. */
	void (*call)(void *arg, const struct vmp_tap_call *c);
	/* Optional: the estimator's inputs of one vmp__est_step() that it
	 * accepted, before its first engine call (samples.h), and a group the
	 * live source dropped (its cgroup vanished or is no longer watched). */
	void (*sample)(void *arg, uint64_t t_ns, const struct vmp_est_machine *m,
		       const struct vmp_est_sched *s, size_t n, vmp_group *const *groups,
		       const struct vmp_est_cgroup *c);
	void (*gone)(void *arg, vmp_group *g);
	/* Optional: one line of how the estimator is set up (the kernel it
	 * stands in for), when the tap is set; recorded as a comment. */
	void (*note)(void *arg, const char *text);
	void *arg;
};

static inline void vmp__tap_account(const struct vmp_tap *tap, uint64_t t_ns, vmp_ctx *ctx,
				   vmp_group *g, uint32_t gfp, bool tree, uint64_t s, uint64_t r)
{
	if (tap && tap->call) {
		struct vmp_tap_call c = {.kind = VMP_TAP_ACCOUNT, .t_ns = t_ns, .g = g ? g : vmp_ctx_root(ctx),
					 .gfp = gfp, .tree = tree, .scanned = s, .reclaimed = r};
		tap->call(tap->arg, &c);
	}
	vmp_account(ctx, g, gfp, tree, s, r);
}

static inline void vmp__tap_prio(const struct vmp_tap *tap, uint64_t t_ns, vmp_ctx *ctx,
				vmp_group *g, uint32_t gfp, int prio)
{
	if (tap && tap->call) {
		struct vmp_tap_call c = {.kind = VMP_TAP_PRIO, .t_ns = t_ns, .g = g ? g : vmp_ctx_root(ctx),
					 .gfp = gfp, .prio = prio};
		tap->call(tap->arg, &c);
	}
	vmp_account_prio(ctx, g, gfp, prio);
}

static inline int vmp__tap_run_job(const struct vmp_tap *tap, uint64_t t_ns, vmp_group *g)
{
	if (tap && tap->call) {
		struct vmp_tap_call c = {.kind = VMP_TAP_WORK, .t_ns = t_ns, .g = g};
		tap->call(tap->arg, &c);
	}
	return vmp_group_run_job(g);
}

#endif
