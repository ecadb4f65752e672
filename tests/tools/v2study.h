/* SPDX-License-Identifier: MIT */
/*
 * The v2-study harness, shared by tests/unit/test_estimator.c and
 * bench/v2_fidelity.c: find the recorded cgroup v2 runs of a directory
 * (v2s_list), load one (tests/data/v2/ and its vm/, vm2/: the kernel's
 * vmptrace with hypothetical listeners, the 100 ms counter samples, the
 * PSI trigger log), replay the kernel's truth, drive the estimator (or the naive
 * baseline of the study's README) with the samples into a context with the
 * same listeners, and judge the result against the fidelity goals as the
 * VM suite does (v2s_judge).
 */
#ifndef VMP_V2STUDY_H
#define VMP_V2STUDY_H

#include "estimator/estimator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define V2S_MAXG 16 /* groups of a run, the root excluded */
#define V2S_MAXL 16 /* listeners */

struct v2s_listener {
	unsigned id;
	char group[128]; /* "/" or "a/b" */
	char args[32];
	vmp_level min_level;
	bool has_expect;
	uint64_t expect;
};

struct v2s_sample {
	double t;
	struct vmp_est_machine m;
	struct vmp_est_sched sched; /* schedstat.*: cpus 0 where not sampled */
	struct vmp_est_cgroup c[V2S_MAXG]; /* by group index; valid if sampled */
};

struct v2s_run {
	char name[64];
	char *vmpt;
	size_t vmpt_len;
	size_t ngroups;
	char group[V2S_MAXG][128];  /* "a/b", declaration order (parents first) */
	char parent[V2S_MAXG][128]; /* "/" for a top-level group */
	size_t nlisten;
	struct v2s_listener l[V2S_MAXL];
	size_t nsamples;
	struct v2s_sample *s;
	size_t npsi;
	double *psi_t;      /* PSI trigger firings */
	double oom_kill_t;  /* printk time of the OOM kill; < 0: none */
};

/* Per listener: the count, by the level of each notification, and the
 * first notification at each level, in seconds from the first sample (< 0:
 * never). As in the VM suite (tests/vm/vmsuite.py): a level is "reached"
 * when a notification of that level arrived, so a listener that got only
 * critical ones has not reached medium. */
struct v2s_lres {
	uint64_t count;
	uint64_t by_level[3];
	double first[3];
};

struct v2s_result {
	size_t n; /* = run->nlisten */
	struct v2s_lres l[V2S_MAXL];
	struct vmp_est_stats st; /* estimator runs only */
	size_t samples_used;
};

/* The runs under dir: every <name>.vmpt with a <name>.samples beside it,
 * sorted by name; then, with subdirs, those of each subdirectory (one
 * level, sorted), named "<sub>/<name>" (tests/data/v2/vm/: the VM suite's
 * runs). The list is NULL-terminated; free with v2s_list_free(). -errno. */
int v2s_list(const char *dir, bool subdirs, char ***names, size_t *n);
void v2s_list_free(char **names);

/* Load <dir>/<name>.{vmpt,samples,psi}. -errno, with a message in err. */
int v2s_load(const char *dir, const char *name, struct v2s_run **out, char *err,
	     size_t errlen);
void v2s_free(struct v2s_run *run);

/* The kernel's truth: replay of the vmptrace (its counts are checked
 * against the file's expect records: -EPROTO if they differ). */
int v2s_kernel(const struct v2s_run *run, struct v2s_result *out);
/* The same, calling fn for every notification: the listener's index, its
 * time (s from the first sample) and level. */
typedef void (*v2s_kevent_fn)(size_t listener, double t, vmp_level level, void *arg);
int v2s_kernel_events(const struct v2s_run *run, struct v2s_result *out, v2s_kevent_fn fn,
		      void *arg);

/* The estimator with cfg (NULL: defaults) on every sample, or, with
 * idle_ms > 0, on the samples that an adaptive sampler would have taken:
 * vmp__est_next_interval_ms(idle_ms, busy_ms) after each one, woken early
 * by a PSI trigger firing. */
int v2s_estimate(const struct v2s_run *run, const struct vmp_est_config *cfg,
		 unsigned idle_ms, unsigned busy_ms, struct v2s_result *out);

/* The same, calling fn for every notification: the listener's index, the
 * sample's time (s from the first), the event, and the PSI avg10 of the
 * listener's group in that sample (the machine's for "/"; -1: unknown). */
typedef void (*v2s_event_fn)(size_t listener, double t, const struct vmp_event *ev,
			     double psi_some, double psi_full, void *arg);
int v2s_estimate_events(const struct v2s_run *run, const struct vmp_est_config *cfg,
			unsigned idle_ms, unsigned busy_ms, struct v2s_result *out,
			v2s_event_fn fn, void *arg);

/* The naive estimator of the study's README: the origin is the group whose
 * memory.events max grew; one window per whole 512 pages of its
 * hierarchical pgscan delta in each interval, at the interval's ratio; a
 * 512/0 (critical) window on an oom event. */
int v2s_naive(const struct v2s_run *run, struct v2s_result *out);

/*
 * The same run with samples synthesised every period_s from the kernel's
 * own trace instead of the recorded ones: pgscan/pgsteal from the per-memcg
 * (tree=0) records, `max` from the reclaim calls (their priority-12
 * record); oom, oom_kill and PSI from the recorded sample in force. For
 * measuring the effect of the sampling interval; free with v2s_free().
 */
int v2s_synth(const struct v2s_run *run, double period_s, struct v2s_run **out);

/* The goals, per listener, as the VM suite judges them
 * (tests/vm/vmsuite.py, GOALS): the same levels notified as the kernel's;
 * the count of each level within its tolerance (a level the kernel never
 * notified must stay at 0); the first medium and the first critical
 * notification at most 1 s after the kernel's, where the kernel had one. */
#define V2S_TOL_LOW 0.25       /* low notifications: within 25 % */
#define V2S_TOL_MEDCRIT 0.50   /* medium and critical notifications: 50 % */
#define V2S_MAX_LATE_S 1.0     /* first medium/critical at most 1 s late */

/* The goals one by one, in the VM suite's order and with its names. */
enum v2s_goal {
	V2S_G_LEVELS,      /* "levels" */
	V2S_G_LOW,         /* "low_25" */
	V2S_G_MEDIUM,      /* "medium_50" */
	V2S_G_CRITICAL,    /* "critical_50" */
	V2S_G_FIRST_MED,   /* "first_medium_1s": only where the kernel had a medium */
	V2S_G_FIRST_CRIT,  /* "first_critical_1s": only where it had a critical */
	V2S_NGOALS
};
extern const char *const v2s_goal_name[V2S_NGOALS];

struct v2s_lverdict {
	bool applies[V2S_NGOALS];
	bool met[V2S_NGOALS];   /* true where it does not apply */
	bool levels;            /* = met[V2S_G_LEVELS] */
	bool count;             /* all three counts */
	bool timing;            /* both first-notification goals */
	bool all;
	double rel_err[3];      /* per level: (est - kernel) / kernel; 0 if both 0 */
	double late[3];         /* est first - kernel first, s; 0 when not both */
};

struct v2s_verdict {
	bool levels, counts, timing, all; /* all listeners */
	struct v2s_lverdict l[V2S_MAXL];
};

void v2s_judge(const struct v2s_run *run, const struct v2s_result *kernel,
	       const struct v2s_result *est, struct v2s_verdict *v);

#endif
