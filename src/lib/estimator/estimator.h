/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v2 estimator core (internal): counter snapshots in, engine
 * calls out. Pure: no file I/O, no clock, no threads of its own. The live
 * glue reads memory.stat / memory.events(.local) / memory.pressure and
 * /proc/vmstat + /proc/pressure/memory into the snapshot structs below and
 * calls vmp__est_step() once per sample; the tests and bench/v2_fidelity.c
 * feed it recorded samples. The theory of operation is at the top of
 * estimator.c.
 */
#ifndef VMP_ESTIMATOR_H
#define VMP_ESTIMATOR_H

#include "vmpressure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One cgroup's counters at one instant. All cgroup v2 counters are
 * hierarchical (they include the descendants'), except the *.local ones.
 * Zero-initialise and fill what you could read: an optional group of
 * fields is used only when its have_ flag is set (in this snapshot and the
 * previous one); PSI totals left at 0 simply never show stall.
 */
struct vmp_est_cgroup {
	/* memory.stat */
	uint64_t pgscan, pgsteal;
	/* memory.stat pgscan_direct / pgsteal_direct: limit reclaim (and
	 * global direct reclaim) only, without kswapd. Preferred when every
	 * group of the step has them. */
	bool have_direct;
	uint64_t pgscan_direct, pgsteal_direct;
	/* memory.stat active_file + inactive_file: the file LRU, which a
	 * reclaim call scans a share of per priority (prio.c, HIGH, DEPTH);
	 * memory.swap.current, where swap is accounted. */
	bool have_lists;
	uint64_t file_lru;
	bool have_swap;
	uint64_t swap;
	/* memory.stat active_anon + inactive_anon (shmem included: it is on
	 * the anonymous LRU), in pages: with the file LRU, what a call that
	 * went all the way down could have scanned (SWEEP). */
	bool have_anon;
	uint64_t anon_lru;
	/* memory.events (hierarchical) */
	uint64_t high, max, oom, oom_kill;
	/* memory.events.local, if the kernel has it (v5.2+) */
	bool have_local;
	uint64_t local_high, local_max, local_oom;
	/* memory.pressure: avg10 in percent, negative if unreadable; totals
	 * in us. Where PSI works (avg10 >= 0, some total > 0), an interval
	 * without `some` stall has no failed reclaim call; unreadable PSI
	 * never vetoes one. */
	double psi_some_avg10, psi_full_avg10;
	uint64_t psi_some_total, psi_full_total;
	/* false: could not be read this time (vanished, shape changed) */
	bool valid;
};

/* The whole machine: /proc/vmstat and /proc/pressure/memory. vmstat's
 * pgscan_* / pgsteal_* count global reclaim only (cgroup limit reclaim is
 * not in them), allocstall is the sum of allocstall_* (one per global
 * direct reclaim call), oom_kill is vmstat's oom_kill (0 if unknown). */
struct vmp_est_machine {
	uint64_t pgscan_kswapd, pgscan_direct, pgsteal_kswapd, pgsteal_direct;
	uint64_t allocstall, oom_kill;
	double psi_some_avg10, psi_full_avg10;
	uint64_t psi_some_total, psi_full_total;
	bool valid;
};

/* The scheduler's view of the machine (/proc/schedstat), for CROWD
 * (prio.c): its CPUs and, summed over them, the time tasks ran plus the
 * time runnable tasks waited for a CPU. Over an interval, the growth of
 * runq_ns over the interval is the mean count of runnable tasks. */
struct vmp_est_sched {
	unsigned cpus;    /* 0: not read; at most VMP_EST_SCHED_MAX_CPUS */
	uint64_t runq_ns;
};
/* The most CPUs a reading may have (what the samples format holds). */
#define VMP_EST_SCHED_MAX_CPUS (1u << 20)

/*
 * Which evidence stands in for the priority path (vmpressure_prio()).
 * The default is DEFICIT | OOM | LEARN | ONSET | GRACE | HIGH | DEPTH_MAX |
 * SWEEP; any other set can be chosen
 * so that bench/v2_fidelity.c can measure the candidates side by side
 * (PSI_FULL is one only).
 */
#define VMP_EST_PRIO_DEFICIT 0x1u  /* reclaim calls that cannot have met their target */
#define VMP_EST_PRIO_OOM 0x2u      /* an oom event implies >= 17 failed calls */
#define VMP_EST_PRIO_LEARN 0x4u    /* refine DEFICIT with the learned pages per call */
#define VMP_EST_PRIO_PSI_FULL 0x8u /* candidate only: a failed call per interval of
				    * >= 7 % full stall (lmkd's critical) */
#define VMP_EST_PRIO_ONSET 0x10u  /* an episode's first injections meet the latest
				    * real pages (medium, as the kernel's first deep calls) */
#define VMP_EST_PRIO_GRACE 0x20u  /* a shortfall that the next interval repays was
				    * pages straddling the sample, not failed calls */
#define VMP_EST_PRIO_HIGH 0x40u   /* memory.high calls that met their target below
				    * priority 4, from the file LRU (DEPTH) */
#define VMP_EST_PRIO_DEPTH_MAX 0x80u /* the same for memory.max calls; in place of
				      * ONSET where the lists are known, classic LRU */
#define VMP_EST_PRIO_SWEEP 0x100u  /* a call that scanned most of the LRU and freed
				     * nothing: its walk one window, and its 4 injections */
#define VMP_EST_PRIO_OWNSTALL 0x400u /* an origin whose stall is all an origin's
				       * below it stalled nobody: no failed call */
#define VMP_EST_PRIO_KILLSEEN 0x800u /* the failed calls after an OOM kill: no
				       * more than the interval's calls show */
#define VMP_EST_PRIO_CROWD 0x1000u /* from 6.6, with tasks waiting for the CPUs:
				     * the kernel's job runs after fewer injections */
#define VMP_EST_PRIO_DEFAULT                                                   \
	(VMP_EST_PRIO_DEFICIT | VMP_EST_PRIO_OOM | VMP_EST_PRIO_LEARN | VMP_EST_PRIO_ONSET | \
	 VMP_EST_PRIO_GRACE | VMP_EST_PRIO_HIGH | VMP_EST_PRIO_DEPTH_MAX | VMP_EST_PRIO_SWEEP | \
	 VMP_EST_PRIO_OWNSTALL | VMP_EST_PRIO_KILLSEEN | VMP_EST_PRIO_CROWD)

/* A kernel version as vmp__est_config_kernel() reads it from a release. */
#define VMP_EST_KERNEL(major, minor) ((unsigned)(major) * 1000u + (unsigned)(minor))

struct vmp_est_config {
	unsigned prio;          /* VMP_EST_PRIO_* */
	/* Pages fed per evaluation window; 0 means VMP_WINDOW (the kernel's). */
	unsigned window_pages;
	/* The kernel whose reclaim is stood in for, where its mechanism
	 * changed between versions (docs/estimator.md, "Kernels each rule
	 * was measured on"): VMP_EST_KERNEL(); 0: unknown, 6.1's rules. */
	unsigned kernel;
	/* Priority loops injected per failed limit reclaim call, 4 windows
	 * each; 0 means 1, the default on every kernel. The kernel runs 1 on
	 * 6.1 and 2 on 6.12 (vmp__est_fail_passes()), but on 6.12 its
	 * deferred work coalesces about a quarter of them, and 1 meets more
	 * goals on the tuning workloads (docs/estimator.md, "PASSES"). */
	unsigned fail_passes;
	/* /sys/kernel/mm/lru_gen/enabled: 1 non-zero (MGLRU), 0 zero or
	 * absent, -1 unknown. Recorded; it changes nothing unless
	 * mglru_silent_root is set. */
	int lru_gen;
	/* With lru_gen 1: no global-reclaim windows at the root, as the
	 * kernel's own vmpressure there (off by default: docs/estimator.md,
	 * "MGLRU"). */
	bool mglru_silent_root;
};

void vmp__est_config_init(struct vmp_est_config *cfg);

/* The failed-call passes of a kernel version (VMP_EST_KERNEL(); 0:
 * unknown): 2 from 6.12 on, else 1. */
unsigned vmp__est_fail_passes(unsigned kernel);

/* Set cfg's kernel from a release string as uname(2) gives it
 * ("6.12.95+deb12-amd64"), and its lru_gen (< 0 unknown, 0 off, > 0 on).
 * -EINVAL if release does not start with MAJOR.MINOR (cfg unchanged). */
int vmp__est_config_kernel(struct vmp_est_config *cfg, const char *release, int lru_gen);

struct vmp_est;

/* What the estimator did since it was created (for tests and evidence). */
struct vmp_est_stats {
	uint64_t steps;
	uint64_t windows;       /* evaluations forced from real scan deltas */
	uint64_t prio_windows;  /* priority-path stand-in injections (512/0) */
	uint64_t failed_calls;  /* estimated reclaim calls that failed */
	uint64_t resets;        /* snapshots re-baselined: a counter went back */
	uint64_t skipped;       /* invalid snapshots skipped */
	uint64_t scanned, reclaimed; /* fed to the engine in windows */
};

/* A new estimator feeding ctx (which must outlive it); cfg NULL or
 * vmp__est_new(): the defaults (vmp__est_config_init). */
int vmp__est_new(struct vmp_est **out, vmp_ctx *ctx);
int vmp__est_new_config(struct vmp_est **out, vmp_ctx *ctx,
		       const struct vmp_est_config *cfg);
void vmp__est_free(struct vmp_est *est);

/*
 * A cgroup the estimator follows: what it remembers of it from step to
 * step (its baseline, its carries, its failure episode), and its place in
 * the tree. The caller keeps nodes as it keeps its cgroups: created when
 * it starts to sample one, freed when the cgroup goes or is no longer
 * watched (before its engine group is destroyed), so that a step costs
 * only the cgroups it samples, whatever the size of the tree. A cgroup
 * seen again gets a new engine group and a new node: it starts afresh.
 *
 * vmp__est_node_new(): g is the engine group standing for the cgroup (path
 * "a/b" relative to the cgroup root; never the root itself), parent the
 * node of g's parent group, NULL when that is the root: a node's
 * ancestors have nodes first. -EINVAL otherwise, -ENOMEM. The nodes belong
 * to the estimator: vmp__est_free() frees those left.
 * vmp__est_node_free(): -EBUSY while nodes below it live (free leaves
 * first); NULL is a no-op.
 */
struct vmp_est_node;
int vmp__est_node_new(struct vmp_est *est, struct vmp_est_node *parent, vmp_group *g,
		     struct vmp_est_node **out);
int vmp__est_node_free(struct vmp_est_node *node);

/*
 * One sample. now_ns: a monotonic time, strictly increasing from step to
 * step (-EINVAL otherwise). m: the machine, NULL if not watched (then the
 * root gets no global-reclaim windows). nodes[i] / c[i]: a cgroup and its
 * counters; each node at most once, and only this estimator's (-EINVAL).
 * Pass every cgroup whose limit may drive reclaim, with its ancestors up
 * to the subtree you watch: without memory.events.local a group's own
 * events are its counters minus those of its children in the step.
 * An invalid snapshot, or a counter lower than before (the cgroup was
 * recreated), loses the cgroup's baseline: it starts again from the next
 * valid snapshot. A cgroup merely missing from a step keeps its baseline
 * for 10 s (sample only the busy ones: the delta on return covers the
 * gap). Returns 0, -EINVAL or -ENOMEM (then no counter was consumed). Not
 * thread-safe: one caller at a time.
 */
int vmp__est_step(struct vmp_est *est, uint64_t now_ns,
		 const struct vmp_est_machine *m, size_t n,
		 struct vmp_est_node *const *nodes, const struct vmp_est_cgroup *c);

/* The scheduler reading taken with the next vmp__est_step()'s snapshots
 * (NULL, or cpus 0: none); that step uses it and drops it. Without two
 * readings of the same CPUs in a row CROWD assumes nobody waits. */
void vmp__est_set_sched(struct vmp_est *est, const struct vmp_est_sched *s);

/* A cgroup absent from the steps keeps its baseline this long: the live
 * glue samples only the cgroups that are busy, and the delta on return
 * covers what woke them up. */
#define VMP_EST_FORGET_NS 10000000000u

/* When to sample next: busy_ms while reclaim or stall was seen in the last
 * VMP_EST_BUSY_HOLD_MS (and before the first delta), else idle_ms. */
#define VMP_EST_BUSY_HOLD_MS 2000u
unsigned vmp__est_next_interval_ms(const struct vmp_est *est, unsigned idle_ms,
				  unsigned busy_ms);

void vmp__est_stats(const struct vmp_est *est, struct vmp_est_stats *out);

/* The kernel-dependent settings as one line, "kernel=6.12 lru_gen=1
 * fail_passes=1 mglru_silent_root=0" (kernel and lru_gen may be
 * "unknown"): the recording's `# estimator` comment. Its length or
 * -ENOBUFS. */
int vmp__est_config_fmt(const struct vmp_est_config *cfg, char *buf, size_t cap);

/* Route the estimator's engine calls through a recording tap (tap.h);
 * NULL: none. The tap must outlive the estimator or be unset first. A
 * tap with a note callback gets vmp__est_config_fmt() at once. */
struct vmp_tap;
void vmp__est_set_tap(struct vmp_est *est, const struct vmp_tap *tap);

#endif
