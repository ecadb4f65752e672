/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v2 estimator: what plays the part of mm/vmscan.c when the
 * kernel has no memory.pressure_level. It turns counter snapshots into the
 * engine calls that the kernel's reclaim would have made.
 *
 * Theory of operation
 * ===================
 *
 * What the kernel does (spec §11). Limit reclaim of memcg O, and global
 * reclaim for the root, call vmpressure(tree) once per shrink_node() pass
 * with that pass's scanned/reclaimed, accounted to O: the *origin*. Every
 * 512 pages accumulated at O, O's job evaluates one window and walks up.
 * In addition, a reclaim call that goes down to priority <= 3 injects a
 * synthetic 512 scanned / 0 reclaimed window per priority step
 * (vmpressure_prio()).
 *
 * What userspace sees, per cgroup, hierarchical: memory.stat pgscan /
 * pgsteal (pages scanned / stolen from the group's subtree by any
 * reclaimer), memory.events high / max (one per limit reclaim call that the
 * group's own high / max drove: try_charge() and reclaim_high() raise the
 * event, then call try_to_free_mem_cgroup_pages() once), oom (an OOM
 * invocation for the group's limit), oom_kill; memory.events.local has the
 * group's own events; memory.pressure has the stall totals. /proc/vmstat
 * pgscan_* / pgsteal_* count global reclaim only (cgroup reclaim is not in
 * them), allocstall_* one per global direct reclaim call.
 *
 * 1. Deltas. Each step takes the difference to the previous snapshot of the
 *    same cgroup path. A snapshot with any counter lower than before (the
 *    cgroup was recreated under the same name), a replaced engine group or
 *    an invalid snapshot loses the baseline: no delta that step, the next
 *    valid snapshot starts over. Nothing is guessed across a reset, so no
 *    huge bogus window. A path merely absent from a step (the glue samples
 *    only busy cgroups) keeps its baseline for EST_FORGET_NS.
 *
 * 2. Origins. A group's own limit events are memory.events.local when
 *    present, else its hierarchical events minus those of its children in
 *    the step (a negative remainder, from reading the parent before the
 *    child, is carried to the next step rather than dropped, so skew
 *    cancels out instead of inventing origins). A group is an origin when
 *    its own high+max or oom grew in the interval. (Pages of a call that
 *    straddles a sample and lands in an interval without any event of
 *    its origin are dropped: at most one call's worth per episode. Keeping
 *    the origin for one more interval was tried and rejected: it also
 *    takes kswapd's or an ancestor's scanning of the subtree.) The root
 *    is the origin of global reclaim: the machine's vmstat deltas.
 *
 * 3. Attribution. v2 counters are hierarchical, and a limit reclaim scans
 *    the whole subtree of its origin: the pages an origin's calls scanned
 *    are in its pgscan, but so are those of every origin below it, and an
 *    origin below has in its pgscan the pages that the origins above took
 *    from its subtree. Nothing separates them (v2 has no local pgscan).
 *    Taking an origin's subtree minus the subtrees of the origins below it
 *    (the pages no other origin could have scanned) gives the parent too
 *    little and the child too much: on the VM suite's `nested` workload
 *    (nl/a against its own limit while nl/b pushes nl to its limit) nl's
 *    calls freed 2952 pages in an interval, half of them nl/a's, of which
 *    only 1518 lie outside nl/a; 54 calls on 1518 pages looked like failed
 *    calls, critical windows at nl that the kernel never sent. So the
 *    origins of a chain share their pages by calls: a limit reclaim call
 *    frees about the same amount whichever limit drove it (its target,
 *    32 pages, or for memory.high the overage of at most a charge batch,
 *    plus the batch that crosses it; 55 and 57 pages a call for nl and
 *    nl/a in the interval above), so the topmost origin's
 *    subtree pages are shared out per call, and an origin below claims
 *    the share of the calls in its subtree (its own and those of the
 *    origins below it), at most its subtree's pages; each origin keeps
 *    what it claims minus what the origins below it claim (scanned and
 *    reclaimed alike). On `nested` that gives nl 2891 and nl/a 803 pages
 *    (the kernel: 2952 and 855). Scanning explained by no
 *    memcg origin is either global reclaim (already in vmstat: the root's
 *    windows) or proactive reclaim (memory.reclaim, which the kernel keeps
 *    out of vmpressure, R-30): it is dropped. When every group has
 *    pgscan_direct / pgsteal_direct those are used, which keeps kswapd's
 *    scanning of a group's pages out of its limit windows.
 *
 * 4. Windows. One vmp_account() of the whole delta would be one evaluation
 *    where the kernel made one per 512 pages. So each origin's delta
 *    is fed in window-sized pieces, each at the interval's ratio (exact
 *    integer shares, the reclaimed total is preserved), and the group's job
 *    is run after each piece that fills the window: one evaluation per
 *    512 pages, as the kernel's counts. What is left below a window stays
 *    in the engine's accumulator and fills the next interval's first
 *    window, as in the kernel (so an injected 512/0 can meet a residue and
 *    evaluate medium, R-9a). The latest EST_ONSET_PAGES (128) real pages
 *    of each origin are held back, for the onset of a failure episode
 *    (5.); the next real pages push them on into the windows first, so
 *    the windows come 128 pages late and the last 128 pages of a burst
 *    wait for the next one. The kernel's windows run a little over 512
 *    (the pass that crosses overshoots, the job runs a moment later): on
 *    the v2 study 520 and 537 pages on average, so this gives ~2-4 % more
 *    windows than the kernel; kswapd's run much longer (5b.).
 *
 * 5. The priority path. No counter shows the reclaim priority. A limit
 *    reclaim call has a target of max(nr_pages, SWAP_CLUSTER_MAX = 32)
 *    pages and leaves its priority loop (12 down to 0) as soon as it met
 *    it; a call that misses it runs down to priority 0 and injects 4
 *    windows (priorities 3, 2, 1, 0). In the v2 study all 36 calls that
 *    reclaimed under 32 pages (of 1893) are in the final 50 ms before the
 *    OOM kill, and they cause every medium and critical window the kernel
 *    reported. So the stand-in counts failed calls:
 *     - DEFICIT: every successful call freed >= 32 pages, so of `calls`
 *       calls that freed R pages at least ceil((32*calls - R)/32) failed.
 *       The shortfall is carried while unexplained (a surplus is not:
 *       banked surplus would hide a later failure) and one call's worth
 *       (32 pages) is tolerated, because an event is counted when a call
 *       starts and its pages when they are freed. This bound gives no false
 *       positive when reclaim works (R >= 32 per call, whatever the mix).
 *     - LEARN: successful calls overshoot the target (32-52 pages per call
 *       on the study, by workload), so the bound undercounts. Once the
 *       bound shows a failure, the count is raised to calls - R/avg, avg
 *       being the pages per call of recent intervals without failure
 *       (EWMA, clamped to [32, 64]). Never used while the bound is 0.
 *     - OOM: a memcg OOM (`oom` in memory.events.local) comes only after
 *       18 calls that freed nothing (try_charge_memcg(): the first call,
 *       one more after draining the per-CPU stocks, MAX_RECLAIM_RETRIES =
 *       16 retries); if fewer failures were seen in the last 5 s, the
 *       missing ones are added. When the OOM killed (`oom_kill` at the
 *       origin grew), the charge starts over with 16 retries, and when the
 *       charging task was the victim, as with one task filling its group,
 *       these 17 calls fail too (a dying task gives up only then): they
 *       are added as well, and failures seen within the next second are
 *       taken as these, not added again. Every OOM recorded (v2anon, and
 *       anonoom, nested, modes, root, mixed of the VM suite: eight runs)
 *       has exactly these 18 + 17 calls that freed nothing; at 100 ms
 *       they often share an interval with the successful calls before
 *       them, which hides them from the bound.
 *       A victim other than the charger would make the 17 too many.
 *    A failed call stalls its task (reclaim runs inside a PSI memstall),
 *    so where PSI works an interval without any `some` stall at the origin
 *    has no failed call: this keeps out `max` events of forced (atomic,
 *    __GFP_HIGH) charges, which are raised without any reclaim.
 *    Each failed call becomes 4 vmp_account_prio() injections at the
 *    origin, after the interval's real windows (failures come last, on the
 *    way to the OOM).
 *     - ONSET: reclaim does not fail all at once. On the way to an OOM
 *       the calls go ever deeper (priority 7, 6, ... 3) while still
 *       meeting their target; the first ones to reach priority 3 freed
 *       less than 32 pages before it, and each injection meets the pages
 *       freed since the previous window: 51, 40, 30, 14, 32, 8 ... pages.
 *       Those windows are medium (512 + 32 scanned, 32 freed: 94 %), the
 *       later ones, with nothing left to free, critical. Every OOM
 *       recorded after page-cache reclaim shows 4-5 medium windows first;
 *       anonoom, where nothing was ever freed, none. The counters show
 *       none of it (at 100 ms those calls look healthy, 41 pages each on
 *       modes), so the first failed call of an episode (no failure in the
 *       last EST_EPISODE_NS) has its EST_ONSET_WINDOWS = 4 injections
 *       meet a quarter of the held-back pages each (a batch, 32, when
 *       reclaim ran up to the failure), if those were freed within
 *       EST_EPISODE_NS; else they are pure 512/0, as in the kernel when
 *       nothing was freed. The same for the root with allocstall as the calls
 *    and vmstat pgsteal_direct as the pages (global direct reclaim also
 *    has a target of 32 pages), and vmstat oom_kill not explained by any
 *    group's oom_kill (with allocstall growing) as a global OOM, after
 *    MAX_RECLAIM_RETRIES + 1 = 17 failed calls (the page allocator lets a
 *    dying task at the reserves, so nothing is added after the kill).
 *    Rejected, measured on the study (bench/v2_fidelity.c): PSI `full` is
 *    as high during the harmless page-cache stream of v2file as on the
 *    way to the OOM, so any threshold raises false criticals
 *    (VMP_EST_PRIO_PSI_FULL, kept for the measurement); allocstall never
 *    moves for cgroup limit reclaim; oom_kill is raised where the victim
 *    lives, not at the limit that failed. At 100 ms sampling the stand-in
 *    fires at the first sample after the failures began: ~50 ms after the
 *    kernel's first medium on the study. Nothing gives earlier warning.
 *
 * 5b. What counters cannot show. The kernel's job runs when the workqueue
 *    gets the CPU, and injections or pages that come before it coalesce
 *    into one window. Limit reclaim lets it run within ~0.1 ms;
 *    kswapd, on the VM suite's `global`, keeps scanning ~0.7 ms past the
 *    crossing: 681 pages a window where this makes 512, a third more low
 *    windows. And on anonoom the OOM's first retry loop of calls that
 *    scan nothing (~130 us each) ran its 2.3 ms to the OOM killer in two
 *    of four boots before the first job ran: its 67-72 injections made
 *    one window, 74 and 69 critical, where the other two boots had 140
 *    (35 calls, 4 each), as this gives. Neither is modelled: both depend
 *    on scheduling, not on reclaim.
 *
 * 6. Sampling. vmp_est_next_interval_ms() says busy (fast) for
 *    VMP_EST_BUSY_HOLD_MS after any sign of reclaim: scanning anywhere,
 *    limit events, allocstall, OOM, or PSI `some` stall >= 1 % of the
 *    interval; idle otherwise. The glue adds a PSI trigger as the wake-up
 *    from idle.
 *
 * The estimator keeps no clock and does no I/O: the caller gives the time
 * and the snapshots, so everything here is testable with made-up numbers.
 */
#include "estimator/estimator.h"
#include "sources/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The least a successful reclaim call frees: SWAP_CLUSTER_MAX, the floor of
 * nr_to_reclaim in try_to_free_mem_cgroup_pages() / try_to_free_pages(). */
#define EST_BATCH 32u
/* A failed call runs priorities 12..0; vmpressure_prio() injects at 3..0. */
#define EST_PRIO_PER_FAIL (VMP_CRIT_PRIO + 1)
/* No-progress limit reclaim calls before a memcg OOM (try_charge_memcg()):
 * the first call, one more after draining the per-CPU charge stocks, then
 * MAX_RECLAIM_RETRIES (16) retries. */
#define EST_OOM_FAILS 18u
/* After an OOM kill the charge starts over with MAX_RECLAIM_RETRIES: when
 * the charging task was the victim, 17 more calls free nothing before it
 * gives up (it is dying). */
#define EST_OOM_KILL_FAILS 17u
/* Before a global OOM: the no-progress retries of the page allocator
 * (MAX_RECLAIM_RETRIES) after the first direct reclaim call. */
#define EST_GLOBAL_OOM_FAILS 17u
/* Failed calls expected after an OOM kill come within this long; then the
 * expectation lapses. */
#define EST_KILL_WINDOW_NS 1000000000u
/* The onset of a failure episode: its first injections each meet a batch
 * of real pages, the last ones freed before it (held back for this), if
 * those are this recent; a failure this long after the last one starts a
 * new episode. */
#define EST_ONSET_WINDOWS 4u
#define EST_ONSET_PAGES (EST_ONSET_WINDOWS * EST_BATCH)
#define EST_EPISODE_NS 1000000000u
/* Pages of shortfall tolerated: one call counted before its pages. */
#define EST_INFLIGHT_TOL EST_BATCH
/* Learning pages per successful call: only from steps with enough calls,
 * smoothed, clamped. */
#define EST_LEARN_MIN_CALLS 8u
#define EST_LEARN_ALPHA 0.25
#define EST_LEARN_MAX 64.0
/* Failures seen this recently can be the ones that led to an oom event. */
#define EST_FAIL_MEMORY_NS 5000000000u
/* VMP_EST_PRIO_PSI_FULL: lmkd's critical threshold (70 ms of full stall per
 * second). */
#define EST_PSI_FULL_SHARE 0.07
/* PSI `some` stall share of an interval that counts as activity. */
#define EST_PSI_BUSY_SHARE 0.01
/* A cgroup absent from the steps keeps its baseline this long: the live
 * glue samples only the cgroups that are busy, and the delta on return
 * covers what woke them up. */
#define EST_FORGET_NS 10000000000u
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
};

struct est_entry {
	char *path;
	uint64_t gid;          /* the engine group it was last seen with (an id:
				* a new group may reuse a freed one's address) */
	uint64_t last_seen_ns;
	bool have_prev;
	struct vmp_est_cgroup prev;
	int64_t calls_carry, oom_carry; /* derived local events, negative */
	int64_t scan_carry, steal_carry; /* attributed pages, negative */
	struct est_origin o;
};

/* Per group, for one step. */
struct est_scratch {
	int set_parent;     /* nearest ancestor in the step, -1: none */
	int origin_parent;  /* nearest origin ancestor, -1: none */
	int top;            /* topmost origin ancestor (itself if none) */
	bool ok;            /* has deltas */
	bool direct;        /* has direct deltas */
	bool local_known;
	bool origin;
	bool children_ok;
	bool stalled;       /* PSI shows stall in the interval, or is unknown */
	bool onset;         /* a failure now would start an episode */
	uint64_t ds_tot, dr_tot, ds_dir, dr_dir;
	uint64_t dcalls_h, doom_h, dkill_h;
	uint64_t calls, oom; /* the group's own */
	uint64_t ch_calls, ch_oom; /* children's hierarchical */
	uint64_t T_s, T_r;  /* the origin's subtree pages */
	uint64_t sub_calls; /* calls of the origins in the subtree */
	uint64_t Q_s, Q_r;  /* the subtree pages its origins claim */
	uint64_t sub_s, sub_r; /* claimed by the topmost origins below */
	uint64_t S, R;      /* attributed */
	uint64_t fails;
	double full_share;
};

struct vmp_est {
	vmp_ctx *ctx;
	struct vmp_est_config cfg;
	unsigned window;

	struct est_entry *ents;
	size_t nents;
	uint32_t *idx;       /* path hash -> entry index + 1 */
	size_t idx_cap;      /* power of two, or 0 */

	bool have_mprev;
	struct vmp_est_machine mprev;
	struct est_origin root;

	bool stepped;
	uint64_t last_ns;
	bool have_delta;
	bool active_ever;
	uint64_t last_active_ns;

	/* scratch, grown as needed */
	struct est_scratch *scr;
	uint32_t *pmap;      /* group pointer hash -> index + 1 */
	size_t scr_cap, pmap_cap;

	struct vmp_est_stats st;

	/* vmpressure record: the engine calls, seen on their way in (tap.h);
	 * now_ns is the current step's time, which the calls carry. */
	const struct vmp_tap *tap;
	uint64_t now_ns;
};

void vmp_est_config_init(struct vmp_est_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->prio = VMP_EST_PRIO_DEFAULT;
	cfg->window_pages = VMP_WINDOW;
}

static void origin_init(struct est_origin *o)
{
	memset(o, 0, sizeof(*o));
	o->avg_ok = EST_BATCH;
}

int vmp_est_new_config(struct vmp_est **out, vmp_ctx *ctx,
		       const struct vmp_est_config *cfg)
{
	if (!out || !ctx)
		return -EINVAL;
	struct vmp_est *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ctx = ctx;
	if (cfg)
		e->cfg = *cfg;
	else
		vmp_est_config_init(&e->cfg);
	e->window = e->cfg.window_pages ? e->cfg.window_pages : VMP_WINDOW;
	origin_init(&e->root);
	*out = e;
	return 0;
}

int vmp_est_new(struct vmp_est **out, vmp_ctx *ctx)
{
	return vmp_est_new_config(out, ctx, NULL);
}

void vmp_est_free(struct vmp_est *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nents; i++)
		free(e->ents[i].path);
	free(e->ents);
	free(e->idx);
	free(e->scr);
	free(e->pmap);
	free(e);
}

void vmp_est_set_tap(struct vmp_est *e, const struct vmp_tap *tap)
{
	e->tap = tap;
}

void vmp_est_get_stats(const struct vmp_est *e, struct vmp_est_stats *out)
{
	*out = e->st;
}

/* ---- small helpers ----------------------------------------------------- */

static size_t hash_str(const char *p)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211u;
	return (size_t)(h ^ (h >> 29));
}

static size_t hash_ptr(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15u;
	return (size_t)(h >> 17);
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 16;
	while (c < n)
		c *= 2;
	return c;
}

/* floor(a * b / c) for b <= c, c > 0. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
#ifdef __SIZEOF_INT128__
	__extension__ typedef unsigned __int128 u128;
	return (uint64_t)((u128)a * b / c);
#else
	return (uint64_t)((long double)a * (long double)b / (long double)c);
#endif
}

/* a - b as a signed quantity, saturated. */
static int64_t sdiff(uint64_t a, uint64_t b)
{
	if (a >= b)
		return a - b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(a - b);
	return b - a > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(b - a);
}

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < -INT64_MAX - b)
		return -INT64_MAX;
	return a + b;
}

/* Add a signed balance to a delta; the positive part is returned, the
 * negative part kept in *carry. */
static uint64_t take_with_carry(int64_t v, int64_t *carry)
{
	int64_t t = sat_add(v, *carry);
	if (t < 0) {
		*carry = t;
		return 0;
	}
	*carry = 0;
	return (uint64_t)t;
}

static bool went_back(const struct vmp_est_cgroup *p, const struct vmp_est_cgroup *c)
{
	if (c->pgscan < p->pgscan || c->pgsteal < p->pgsteal || c->high < p->high ||
	    c->max < p->max || c->oom < p->oom || c->oom_kill < p->oom_kill ||
	    c->psi_some_total < p->psi_some_total ||
	    c->psi_full_total < p->psi_full_total)
		return true;
	if (p->have_direct && c->have_direct &&
	    (c->pgscan_direct < p->pgscan_direct || c->pgsteal_direct < p->pgsteal_direct))
		return true;
	if (p->have_local && c->have_local &&
	    (c->local_high < p->local_high || c->local_max < p->local_max ||
	     c->local_oom < p->local_oom))
		return true;
	return false;
}

static bool machine_went_back(const struct vmp_est_machine *p,
			      const struct vmp_est_machine *c)
{
	return c->pgscan_kswapd < p->pgscan_kswapd || c->pgscan_direct < p->pgscan_direct ||
	       c->pgsteal_kswapd < p->pgsteal_kswapd ||
	       c->pgsteal_direct < p->pgsteal_direct || c->allocstall < p->allocstall ||
	       c->oom_kill < p->oom_kill || c->psi_some_total < p->psi_some_total ||
	       c->psi_full_total < p->psi_full_total;
}

static double share(uint64_t stall_us, uint64_t dt_ns)
{
	return dt_ns ? (double)stall_us * 1000.0 / (double)dt_ns : 0.0;
}

/* ---- feeding the engine ------------------------------------------------ */

/* Run g's evaluation now. With the thread executor a worker may be running
 * it: then wait for it, so that no two pieces coalesce. */
static void run_job(struct vmp_est *e, vmp_group *g)
{
	if (vmp_tap_run_job(e->tap, e->now_ns, g) == -EBUSY)
		vmp_ctx_flush(e->ctx);
}

/* Feed S scanned / R reclaimed in window-sized pieces at the ratio R/S. */
static void feed_windows(struct vmp_est *e, vmp_group *g, struct est_origin *o,
			 uint64_t S, uint64_t R)
{
	if (S == 0)
		return; /* reclaimed without scanned is not pressure (F3) */
	uint64_t done_s = 0, done_r = 0;
	uint64_t fill = o->res_s < e->window ? e->window - o->res_s : 1;
	while (S - done_s >= fill) {
		uint64_t cum = done_s + fill;
		uint64_t r = muldiv(R, cum, S) - done_r;
		vmp_tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, fill, r);
		run_job(e, g);
		done_s = cum;
		done_r += r;
		o->res_s = o->res_r = 0;
		fill = e->window;
		e->st.windows++;
	}
	if (S > done_s) {
		uint64_t left = S - done_s, r = R - done_r;
		vmp_tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, left, r);
		o->res_s += left;
		o->res_r += r;
	}
	e->st.scanned += S;
	e->st.reclaimed += R;
}

/* Real pages: all but the latest EST_ONSET_PAGES go to windows now (the
 * held-back ones first: they are older); those stay pending for the onset
 * of a failure episode, or go first into the next real windows. */
static void feed_real(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t now,
		      uint64_t S, uint64_t R)
{
	if (S == 0)
		return; /* reclaimed without scanned is not pressure (F3) */
	uint64_t total = o->pend_s > UINT64_MAX - S ? UINT64_MAX : o->pend_s + S;
	uint64_t out = total > EST_ONSET_PAGES ? total - EST_ONSET_PAGES : 0;
	uint64_t from_p = out < o->pend_s ? out : o->pend_s;
	if (from_p) {
		uint64_t r = muldiv(o->pend_r, from_p, o->pend_s);
		feed_windows(e, g, o, from_p, r);
		o->pend_s -= from_p;
		o->pend_r -= r;
	}
	uint64_t from_n = out - from_p; /* <= S */
	uint64_t r_n = muldiv(R, from_n, S);
	feed_windows(e, g, o, from_n, r_n);
	o->pend_s += S - from_n;
	o->pend_r += R - r_n;
	o->pend_ns = now;
}

/* fails failed calls, 4 injections each. At the onset of an episode the
 * first EST_ONSET_WINDOWS injections each meet a share of the held-back
 * pages. */
static void feed_prio(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t now,
		      uint64_t fails, bool onset)
{
	unsigned pieces = 0;
	if (fails && onset && (e->cfg.prio & VMP_EST_PRIO_ONSET) && o->pend_s &&
	    now - o->pend_ns <= EST_EPISODE_NS)
		pieces = EST_ONSET_WINDOWS;
	for (uint64_t k = 0; k < fails; k++) {
		for (int prio = VMP_CRIT_PRIO; prio >= 0; prio--) {
			if (pieces) {
				uint64_t ps = o->pend_s / pieces;
				uint64_t pr = o->pend_s ? muldiv(o->pend_r, ps, o->pend_s) : 0;
				if (ps) {
					vmp_tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, ps, pr);
					o->pend_s -= ps;
					o->pend_r -= pr;
					e->st.scanned += ps;
					e->st.reclaimed += pr;
				}
				pieces--;
			}
			vmp_tap_prio(e->tap, e->now_ns, e->ctx, g, EST_GFP, prio);
			run_job(e, g);
			e->st.prio_windows++;
		}
		o->res_s = o->res_r = 0;
	}
	e->st.failed_calls += fails;
}

/* ---- the priority-path stand-in ---------------------------------------- */

/*
 * calls: the origin's reclaim calls this step; R: the pages they freed;
 * ooms: its OOM invocations, kills: the OOM kills among them (memcg only);
 * oom_fails: the failed calls an OOM implies; full: its PSI full share of
 * the interval. Returns the failed calls to inject.
 */
static uint64_t estimate_fails(struct vmp_est *e, struct est_origin *o,
			       uint64_t now, uint64_t calls, uint64_t R,
			       uint64_t ooms, uint64_t kills, uint64_t oom_fails,
			       double full, bool stalled)
{
	const unsigned f = e->cfg.prio;
	uint64_t fails = 0;

	if (o->unclaimed && now - o->last_fail_ns > EST_FAIL_MEMORY_NS)
		o->unclaimed = 0;
	if (o->prepaid && now - o->prepaid_ns > EST_KILL_WINDOW_NS)
		o->prepaid = 0;

	if ((f & VMP_EST_PRIO_DEFICIT) && calls && !stalled) {
		/* Limit events with no stall at all: forced (atomic) charges
		 * raise `max` without reclaiming; no reclaim call failed. */
		o->credit = 0;
	} else if ((f & VMP_EST_PRIO_DEFICIT) && calls) {
		uint64_t need = calls > UINT64_MAX / EST_BATCH ? UINT64_MAX : calls * EST_BATCH;
		int64_t t = sat_add(o->credit, sdiff(R, need));
		o->credit = t > 0 ? 0 : t; /* a surplus is not banked */
		uint64_t short_by = (uint64_t)-o->credit;
		uint64_t hard = 0;
		if (short_by > EST_INFLIGHT_TOL)
			hard = (short_by - EST_INFLIGHT_TOL + EST_BATCH - 1) / EST_BATCH;
		fails = hard;
		if ((f & VMP_EST_PRIO_LEARN) && hard) {
			double learned = (double)calls - (double)R / o->avg_ok;
			if (learned > (double)fails)
				fails = (uint64_t)learned;
		}
		if (fails > calls)
			fails = calls;
		int64_t explained = fails > (uint64_t)INT64_MAX / EST_BATCH
					    ? INT64_MAX
					    : (int64_t)(fails * EST_BATCH);
		t = sat_add(o->credit, explained);
		o->credit = t > 0 ? 0 : t;
		if ((f & VMP_EST_PRIO_LEARN) && !hard && calls >= EST_LEARN_MIN_CALLS) {
			double per = (double)R / (double)calls;
			if (per < EST_BATCH)
				per = EST_BATCH;
			if (per > EST_LEARN_MAX)
				per = EST_LEARN_MAX;
			o->avg_ok += EST_LEARN_ALPHA * (per - o->avg_ok);
		}
	}
	if ((f & VMP_EST_PRIO_PSI_FULL) && calls && full >= EST_PSI_FULL_SHARE)
		fails++;

	/* Failures after a kill that were injected ahead are not new. */
	if (fails && o->prepaid) {
		uint64_t seen = fails < o->prepaid ? fails : o->prepaid;
		o->prepaid -= seen;
		fails -= seen;
	}
	if (fails) {
		o->unclaimed += fails;
		o->last_fail_ns = now;
		o->had_fail = true;
	}
	if ((f & VMP_EST_PRIO_OOM) && ooms) {
		if (kills > ooms)
			kills = ooms;
		uint64_t before = ooms > UINT64_MAX / oom_fails ? UINT64_MAX : ooms * oom_fails;
		uint64_t after = kills > UINT64_MAX / EST_OOM_KILL_FAILS ? UINT64_MAX
								 : kills * EST_OOM_KILL_FAILS;
		uint64_t need = before > UINT64_MAX - after ? UINT64_MAX : before + after;
		uint64_t claim = o->unclaimed < need ? o->unclaimed : need;
		o->unclaimed -= claim;
		fails += need - claim;
		/* The calls after the kill may still be to come: seen later,
		 * they are the ones injected now. */
		o->prepaid = need - claim < after ? need - claim : after;
		o->prepaid_ns = now;
		o->last_fail_ns = now;
		o->had_fail = true;
	}
	return fails;
}

/* No failure for EST_EPISODE_NS (or ever): the next one starts an episode. */
static bool episode_over(const struct est_origin *o, uint64_t now)
{
	return !o->had_fail || now - o->last_fail_ns > EST_EPISODE_NS;
}

/* ---- one step ---------------------------------------------------------- */

static int find_entry(const struct vmp_est *e, const char *path)
{
	if (!e->idx_cap)
		return -1;
	size_t mask = e->idx_cap - 1;
	for (size_t b = hash_str(path) & mask;; b = (b + 1) & mask) {
		uint32_t v = e->idx[b];
		if (!v)
			return -1;
		if (strcmp(e->ents[v - 1].path, path) == 0)
			return (int)(v - 1);
	}
}

static int ensure_scratch(struct vmp_est *e, size_t n)
{
	if (n > e->scr_cap) {
		struct est_scratch *s = realloc(e->scr, n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		e->scr = s;
		e->scr_cap = n;
	}
	size_t pc = pow2_at_least(2 * n + 1);
	if (pc > e->pmap_cap) {
		uint32_t *p = malloc(pc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		free(e->pmap);
		e->pmap = p;
		e->pmap_cap = pc;
	}
	return 0;
}

/* The pointer map of this step: -EINVAL on a duplicate. */
static int build_pmap(struct vmp_est *e, size_t n, vmp_group *const *groups)
{
	memset(e->pmap, 0, e->pmap_cap * sizeof(*e->pmap));
	size_t mask = e->pmap_cap - 1;
	for (size_t i = 0; i < n; i++) {
		size_t b = hash_ptr(groups[i]) & mask;
		while (e->pmap[b]) {
			if (groups[e->pmap[b] - 1] == groups[i])
				return -EINVAL;
			b = (b + 1) & mask;
		}
		e->pmap[b] = (uint32_t)(i + 1);
	}
	return 0;
}

static int lookup_group(const struct vmp_est *e, vmp_group *const *groups,
			const vmp_group *g)
{
	size_t mask = e->pmap_cap - 1;
	for (size_t b = hash_ptr(g) & mask;; b = (b + 1) & mask) {
		uint32_t v = e->pmap[b];
		if (!v)
			return -1;
		if (groups[v - 1] == g)
			return (int)(v - 1);
	}
}

/* Match this step's groups with the entries: entries 0..n-1 are this
 * step's groups, in order; after them the absent ones that are kept.
 * Everything is allocated before anything changes. */
static int rebuild_entries(struct vmp_est *e, uint64_t now, size_t n,
			   vmp_group *const *groups)
{
	bool *taken = e->nents ? calloc(e->nents, sizeof(*taken)) : NULL;
	int *from = n ? malloc(n * sizeof(*from)) : NULL;
	if ((e->nents && !taken) || (n && !from)) {
		free(taken);
		free(from);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int k = find_entry(e, vmp_group_path(groups[i]));
		from[i] = k >= 0 && !taken[k] ? k : -1;
		if (from[i] >= 0)
			taken[k] = true;
	}
	size_t keep = 0;
	for (size_t k = 0; k < e->nents; k++)
		if (!taken[k] && now - e->ents[k].last_seen_ns <= EST_FORGET_NS)
			keep++;
	size_t total = n + keep;
	struct est_entry *ne = total ? calloc(total, sizeof(*ne)) : NULL;
	size_t icap = total ? pow2_at_least(2 * total + 1) : 0;
	uint32_t *nidx = icap ? calloc(icap, sizeof(*nidx)) : NULL;
	if (total && (!ne || !nidx))
		goto nomem;
	size_t i;
	for (i = 0; i < n; i++) {
		if (from[i] >= 0)
			continue;
		ne[i].path = strdup(vmp_group_path(groups[i]));
		if (!ne[i].path)
			goto nomem;
		origin_init(&ne[i].o); /* g NULL: no baseline yet */
	}

	/* Commit. */
	for (i = 0; i < n; i++) {
		if (from[i] >= 0) {
			ne[i] = e->ents[from[i]];
			e->ents[from[i]].path = NULL;
		}
		ne[i].last_seen_ns = now;
	}
	for (size_t k = 0; k < e->nents; k++) {
		struct est_entry *en = &e->ents[k];
		if (taken[k])
			continue;
		if (now - en->last_seen_ns > EST_FORGET_NS) {
			free(en->path);
			continue;
		}
		/* Absent: the baseline stays, the short-term state goes. */
		en->calls_carry = en->oom_carry = en->scan_carry = en->steal_carry = 0;
		ne[i++] = *en;
	}
	free(e->ents);
	free(e->idx);
	free(taken);
	free(from);
	e->ents = ne;
	e->nents = total;
	e->idx = nidx;
	e->idx_cap = icap;
	for (i = 0; i < total; i++) {
		size_t b = hash_str(ne[i].path) & (icap - 1);
		while (nidx[b])
			b = (b + 1) & (icap - 1);
		nidx[b] = (uint32_t)(i + 1);
	}
	return 0;

nomem:
	if (ne)
		for (i = 0; i < n; i++)
			if (from[i] < 0)
				free(ne[i].path);
	free(ne);
	free(nidx);
	free(taken);
	free(from);
	return -ENOMEM;
}

/* Deltas of entry i; updates its baseline. Returns whether the delta shows
 * reclaim or stall. */
static bool take_deltas(struct vmp_est *e, size_t i, vmp_group *g,
			const struct vmp_est_cgroup *c, uint64_t dt)
{
	struct est_entry *en = &e->ents[i];
	struct est_scratch *s = &e->scr[i];
	bool active = false;
	if (en->gid != vmp_group_id(g)) { /* new, or the engine group was replaced */
		en->have_prev = false;
		en->gid = vmp_group_id(g);
		origin_init(&en->o);
	}
	if (!c->valid) {
		en->have_prev = false;
		e->st.skipped++;
		return false;
	}
	if (en->have_prev && went_back(&en->prev, c)) {
		en->have_prev = false;
		e->st.resets++;
	}
	if (en->have_prev) {
		const struct vmp_est_cgroup *p = &en->prev;
		s->ok = true;
		s->ds_tot = c->pgscan - p->pgscan;
		s->dr_tot = c->pgsteal - p->pgsteal;
		s->direct = p->have_direct && c->have_direct;
		if (s->direct) {
			s->ds_dir = c->pgscan_direct - p->pgscan_direct;
			s->dr_dir = c->pgsteal_direct - p->pgsteal_direct;
		}
		s->dcalls_h = (c->high - p->high) + (c->max - p->max);
		s->doom_h = c->oom - p->oom;
		s->dkill_h = c->oom_kill - p->oom_kill;
		if (p->have_local && c->have_local) {
			s->local_known = true;
			s->calls = (c->local_high - p->local_high) + (c->local_max - p->local_max);
			s->oom = c->local_oom - p->local_oom;
		}
		s->full_share = share(c->psi_full_total - p->psi_full_total, dt);
		/* PSI works if it ever counted a stall; unknown: assume stall. */
		bool psi = c->psi_some_avg10 >= 0 && c->psi_some_total > 0;
		s->stalled = !psi || c->psi_some_total > p->psi_some_total;
		double some = share(c->psi_some_total - p->psi_some_total, dt);
		active = s->ds_tot || s->dcalls_h || s->doom_h || s->dkill_h ||
			 some >= EST_PSI_BUSY_SHARE;
	} else {
		/* no delta: the carries start again with the baseline */
		en->calls_carry = en->oom_carry = 0;
		en->scan_carry = en->steal_carry = 0;
		en->o.credit = 0;
	}
	en->prev = *c;
	en->have_prev = true;
	return active;
}

int vmp_est_step(struct vmp_est *e, uint64_t now, const struct vmp_est_machine *m,
		 size_t n, vmp_group *const *groups, const struct vmp_est_cgroup *c)
{
	if (!e || (n && (!groups || !c)) || n > UINT32_MAX / 4)
		return -EINVAL;
	if (e->stepped && now <= e->last_ns)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!groups[i] || !vmp_group_parent(groups[i]))
			return -EINVAL; /* NULL, or the root */
	int rc = ensure_scratch(e, n);
	if (rc)
		return rc;
	rc = build_pmap(e, n, groups);
	if (rc)
		return rc;
	rc = rebuild_entries(e, now, n, groups);
	if (rc)
		return rc;

	/* From here on nothing fails: the step is taken, and recorded
	 * before the engine calls it causes. */
	if (e->tap && e->tap->sample)
		e->tap->sample(e->tap->arg, now, m, n, groups, c);
	e->now_ns = now;
	const uint64_t dt = e->stepped ? now - e->last_ns : 0;
	bool active = false;
	if (n)
		memset(e->scr, 0, n * sizeof(*e->scr));

	/* 1. Deltas and the set's own tree. */
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (take_deltas(e, i, groups[i], &c[i], dt))
			active = true;
		s->set_parent = -1;
		s->origin_parent = -1;
		for (vmp_group *p = vmp_group_parent(groups[i]); p; p = vmp_group_parent(p)) {
			int k = lookup_group(e, groups, p);
			if (k >= 0) {
				s->set_parent = k;
				break;
			}
		}
	}
	bool all_direct = true;
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		s->children_ok = true;
		if (s->ok)
			all_direct = all_direct && s->direct;
	}
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (s->set_parent < 0)
			continue;
		struct est_scratch *p = &e->scr[s->set_parent];
		if (!s->ok) {
			p->children_ok = false;
			continue;
		}
		p->ch_calls += s->dcalls_h;
		p->ch_oom += s->doom_h;
	}

	/* 2. Own events and origins. */
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_entry *en = &e->ents[i];
		if (!s->ok)
			continue;
		if (!s->local_known) {
			if (s->children_ok) {
				s->local_known = true;
				s->calls = take_with_carry(sdiff(s->dcalls_h, s->ch_calls),
							   &en->calls_carry);
				s->oom = take_with_carry(sdiff(s->doom_h, s->ch_oom),
							 &en->oom_carry);
			} else {
				en->calls_carry = en->oom_carry = 0;
			}
		}
		if (!s->local_known)
			continue;
		s->origin = s->calls || s->oom;
	}

	/* 3. Attribution: nested origins share their subtrees by calls. */
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin)
			continue;
		s->T_s = all_direct ? s->ds_dir : s->ds_tot;
		s->T_r = all_direct ? s->dr_dir : s->dr_tot;
		s->top = (int)i;
		for (int k = s->set_parent; k >= 0; k = e->scr[k].set_parent) {
			if (e->scr[k].origin) {
				if (s->origin_parent < 0)
					s->origin_parent = k;
				s->top = k;
			}
		}
		/* C: the calls of the origins in the subtree, this one's too */
		s->sub_calls += s->calls;
		for (int k = s->origin_parent; k >= 0; k = e->scr[k].origin_parent)
			e->scr[k].sub_calls += s->calls;
	}
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin)
			continue;
		const struct est_scratch *t = &e->scr[s->top];
		s->Q_s = s->T_s;
		s->Q_r = s->T_r;
		if (s->top != (int)i && t->sub_calls) {
			uint64_t qs = muldiv(t->T_s, s->sub_calls, t->sub_calls);
			uint64_t qr = muldiv(t->T_r, s->sub_calls, t->sub_calls);
			s->Q_s = qs < s->T_s ? qs : s->T_s;
			s->Q_r = qr < s->T_r ? qr : s->T_r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (s->origin && s->origin_parent >= 0) {
			struct est_scratch *p = &e->scr[s->origin_parent];
			p->sub_s += s->Q_s;
			p->sub_r += s->Q_r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_entry *en = &e->ents[i];
		if (!s->origin) {
			en->scan_carry = en->steal_carry = 0;
			continue;
		}
		s->S = take_with_carry(sdiff(s->Q_s, s->sub_s), &en->scan_carry);
		s->R = take_with_carry(sdiff(s->Q_r, s->sub_r), &en->steal_carry);
		s->onset = episode_over(&en->o, now);
		s->fails = estimate_fails(e, &en->o, now, s->calls, s->R, s->oom, s->dkill_h,
					  EST_OOM_FAILS, s->full_share, s->stalled);
	}

	/* 4. The root: global reclaim from the machine's counters. */
	uint64_t rS = 0, rR = 0, rfails = 0;
	bool ronset = false;
	bool root_ok = false;
	if (m && m->valid) {
		if (e->have_mprev && !machine_went_back(&e->mprev, m)) {
			const struct vmp_est_machine *p = &e->mprev;
			root_ok = true;
			rS = (m->pgscan_kswapd - p->pgscan_kswapd) +
			     (m->pgscan_direct - p->pgscan_direct);
			rR = (m->pgsteal_kswapd - p->pgsteal_kswapd) +
			     (m->pgsteal_direct - p->pgsteal_direct);
			uint64_t calls = m->allocstall - p->allocstall;
			uint64_t kills = m->oom_kill - p->oom_kill, memcg_kills = 0;
			for (size_t i = 0; i < n; i++)
				if (e->scr[i].ok && e->scr[i].set_parent < 0)
					memcg_kills += e->scr[i].dkill_h;
			uint64_t gooms = kills > memcg_kills && (calls || e->root.called_last)
						 ? kills - memcg_kills
						 : 0;
			bool psi = m->psi_some_avg10 >= 0 && m->psi_some_total > 0;
			ronset = episode_over(&e->root, now);
			rfails = estimate_fails(e, &e->root, now, calls,
						m->pgsteal_direct - p->pgsteal_direct, gooms, 0,
						EST_GLOBAL_OOM_FAILS, share(m->psi_full_total - p->psi_full_total, dt),
						!psi || m->psi_some_total > p->psi_some_total);
			e->root.called_last = calls != 0;
			double some = share(m->psi_some_total - p->psi_some_total, dt);
			if (rS || calls || kills || some >= EST_PSI_BUSY_SHARE)
				active = true;
		} else if (e->have_mprev) {
			e->st.resets++;
			e->root.credit = 0;
		}
		e->mprev = *m;
		e->have_mprev = true;
	} else {
		e->have_mprev = false; /* not watched or unreadable: rebaseline */
		if (m)
			e->st.skipped++;
	}

	/* 5. Feed the engine: real windows, then the failed calls. */
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin)
			continue;
		feed_real(e, groups[i], &e->ents[i].o, now, s->S, s->R);
		feed_prio(e, groups[i], &e->ents[i].o, now, s->fails, s->onset);
	}
	if (root_ok) {
		vmp_group *root = vmp_root(e->ctx);
		feed_real(e, root, &e->root, now, rS, rR);
		feed_prio(e, root, &e->root, now, rfails, ronset);
	}

	for (size_t i = 0; i < n; i++)
		if (e->scr[i].ok)
			e->have_delta = true;
	if (root_ok)
		e->have_delta = true;
	if (active) {
		e->active_ever = true;
		e->last_active_ns = now;
	}
	e->stepped = true;
	e->last_ns = now;
	e->st.steps++;
	return 0;
}

unsigned vmp_est_next_interval_ms(const struct vmp_est *e, unsigned idle_ms,
				  unsigned busy_ms)
{
	if (!e || !e->have_delta)
		return busy_ms; /* no delta yet: get one soon */
	if (e->active_ever &&
	    e->last_ns - e->last_active_ns < (uint64_t)VMP_EST_BUSY_HOLD_MS * 1000000u)
		return busy_ms;
	return idle_ms;
}
