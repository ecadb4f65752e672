/* SPDX-License-Identifier: MIT */
/*
 * What estimator.c (deltas, origins, attribution, windows) and prio.c (the
 * priority-path stand-ins) share: the estimator's state, the per-origin
 * memory, the constants both sides use, and the arithmetic. Internal to
 * src/lib/estimator/.
 */
#ifndef VMP_ESTIMATOR_INTERNAL_H
#define VMP_ESTIMATOR_INTERNAL_H

#include "estimator/estimator.h"

#include <stdbool.h>
#include <stdint.h>

/* The least a successful reclaim call frees: SWAP_CLUSTER_MAX, the floor of
 * nr_to_reclaim in try_to_free_mem_cgroup_pages() / try_to_free_pages(). */
#define EST_BATCH 32u
/* The onset of a failure episode: its first injections each meet a batch
 * of real pages, the last ones freed before it (held back for this), if
 * those are this recent; a failure this long after the last one starts a
 * new episode. */
#define EST_ONSET_WINDOWS 4u
#define EST_ONSET_PAGES (EST_ONSET_WINDOWS * EST_BATCH)
#define EST_EPISODE_NS 1000000000u
/* A memory.high reclaim call's target: the pages charged over the limit, a
 * charge batch (MEMCG_CHARGE_BATCH) at a time. */
#define EST_HIGH_TARGET 64u
/* The mask that reclaim on behalf of a user allocation carries
 * (GFP_HIGHUSER_MOVABLE, as in the captures): passes the filter. */
#define EST_GFP 0x100ccau

/* Per origin: what the windows and the stand-in remember. */
struct est_origin {
	uint64_t res_s, res_r; /* fed to the engine, below a window */
	int64_t credit;        /* <= 0: pages short of 32 per call, unexplained */
	double avg_ok;         /* pages per call without failure */
	uint64_t unclaimed;    /* failed calls not yet explained by an oom */
	uint64_t last_fail_ns;
	uint64_t prepaid;      /* failed calls injected ahead (after a kill), not yet seen */
	uint64_t prepaid_ns;
	bool had_fail;         /* last_fail_ns is set */
	uint64_t pend_s, pend_r; /* the latest real pages, held back for an onset */
	uint64_t pend_ns;      /* when they were freed (the step that saw them) */
	bool called_last;      /* root: allocstall grew in the last step */
	/* GRACE: the last interval's calls and pages, held for one interval */
	bool held;
	bool held_stalled;
	uint64_t held_calls, held_R;
};

struct est_scratch;

/* What the steps remember of a cgroup seen within EST_FORGET_NS. */
struct est_memory {
	uint64_t last_seen_ns;
	bool have_prev;
	struct vmp_est_cgroup prev;
	int64_t calls_carry, oom_carry; /* derived local events, negative */
	int64_t scan_carry, steal_carry; /* attributed pages, negative */
	struct est_origin o;
};

/* A cgroup the estimator follows (estimator.h): its place in the caller's
 * tree, for as long as the cgroup is followed, and what the steps
 * remember of it, for as long as it is seen. */
struct vmp_est_node {
	struct vmp_est *est;
	vmp_group *g;
	struct vmp_est_node *parent; /* the node of g's parent; NULL: the root's */
	struct vmp_est_node *prev, *next; /* the estimator's nodes */
	struct vmp_est_node *newer, *older; /* those with a memory, last seen first */
	size_t children;       /* nodes whose parent this is */
	uint64_t mark;         /* the step (attempt) that holds it ... */
	uint32_t idx;          /* ... at this index */
	bool remembered;       /* in the newer/older list */
	uint64_t seen_step;    /* the last step that held it; 0: none */
	struct est_memory *mem; /* NULL: nothing remembered */
};

struct vmp_est {
	vmp_ctx *ctx;
	struct vmp_est_config cfg;
	unsigned window;

	struct vmp_est_node *nodes; /* every node, newest first */
	struct vmp_est_node *newest, *oldest; /* those with a memory, by last seen */
	uint64_t attempt;    /* steps begun (marks nodes) */
	uint64_t last_step;  /* the attempt of the last step taken */

	bool have_mprev;
	struct vmp_est_machine mprev;
	struct est_origin root;

	/* CROWD: the reading for the next step, the previous step's, and the
	 * mean tasks waiting for a CPU, per CPU, over the step's interval. */
	struct vmp_est_sched sched, sched_prev;
	uint64_t sched_prev_ns;
	double crowd_wait;

	bool stepped;
	uint64_t last_ns;
	bool have_delta;
	bool active_ever;
	uint64_t last_active_ns;

	/* scratch, grown as needed */
	struct est_scratch *scr;
	vmp_group **groups;  /* the step's groups, for the tap */
	size_t scr_cap;

	struct vmp_est_stats st;

	/* vmpressure record: the engine calls, seen on their way in (tap.h);
	 * now_ns is the current step's time, which the calls carry. */
	const struct vmp_tap *tap;
	uint64_t now_ns;
};

/* ---- arithmetic ---------------------------------------------------------- */

/* floor(a * b / c) for b <= c, c > 0. */
static inline uint64_t vmp__est_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
#ifdef __SIZEOF_INT128__
	__extension__ typedef unsigned __int128 u128;
	return (uint64_t)((u128)a * b / c);
#else
	return (uint64_t)((long double)a * (long double)b / (long double)c);
#endif
}

/* a - b as a signed quantity, saturated. */
static inline int64_t vmp__est_sdiff(uint64_t a, uint64_t b)
{
	if (a >= b)
		return a - b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(a - b);
	return b - a > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(b - a);
}

static inline int64_t vmp__est_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < -INT64_MAX - b)
		return -INT64_MAX;
	return a + b;
}

/* ---- estimator.c --------------------------------------------------------- */

/* Run g's evaluation now (through the tap), waiting for a worker that is
 * running it, so that no two pieces coalesce. */
void vmp__est_run_job(struct vmp_est *e, vmp_group *g);
/* Feed S scanned / R reclaimed at g in window-sized pieces at the ratio
 * R/S, running g's job at each full window; the rest stays in o's
 * residue. */
void vmp__est_feed_windows(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t S,
			   uint64_t R);

/* ---- prio.c: the priority-path stand-ins --------------------------------- */

/* The failed reclaim calls of one interval at a memcg origin: calls its
 * own limit events, R the pages it kept, ooms its own OOM invocations,
 * kills the OOM kills in its subtree, full its PSI full share, stalled
 * whether PSI shows (or cannot rule out) stall. */
uint64_t vmp__est_memcg_fails(struct vmp_est *e, struct est_origin *o, uint64_t now, uint64_t calls,
			 uint64_t R, uint64_t ooms, uint64_t kills, double full, bool stalled);
/* The same for the root: calls are allocstall, R vmstat's pgsteal_direct,
 * ooms the global OOM kills. */
uint64_t vmp__est_global_fails(struct vmp_est *e, struct est_origin *o, uint64_t now, uint64_t calls,
			  uint64_t R, uint64_t ooms, double full, bool stalled);
/* No failure for EST_EPISODE_NS (or ever): the next one starts an episode. */
bool vmp__est_episode_over(const struct est_origin *o, uint64_t now);
/* Inject fails failed calls at g, passes priority loops of 4 windows
 * each; onset: the first ones meet the held-back pages. */
void vmp__est_feed_prio(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t now,
		   uint64_t fails, bool onset, unsigned passes);

/* DEPTH: calls successful reclaim calls with a target of target pages,
 * which scanned S and freed R pages in all, at an origin whose file LRU
 * went from f0 to f1 pages over the interval: how many met their target
 * only below priority 4, by the lowest priority they injected at
 * (at[p], p = 0 .. 3). false where the rule does not apply (MGLRU, reclaim
 * mostly swap-out: swapout pages). */
bool vmp__est_deep_calls(const struct vmp_est *e, uint64_t calls, uint64_t S, uint64_t R, uint64_t f0,
			 uint64_t f1, uint64_t swapout, unsigned target, uint64_t at[4]);
/* Feed calls such calls at g, with S and R their pages: each call's pages
 * in the shares its priorities scan, an injection at each priority from 3
 * down to pmin between them. */
void vmp__est_feed_deep(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t calls,
			uint64_t S, uint64_t R, int pmin);

#endif
