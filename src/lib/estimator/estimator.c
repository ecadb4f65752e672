/* SPDX-License-Identifier: MIT */
/*
 * src/lib/estimator/: the cgroup v2 model. Where the kernel has no
 * memory.pressure_level, it plays the part of mm/vmscan.c: counter
 * snapshots in (memory.stat, memory.events, memory.pressure, /proc/vmstat,
 * read by the live source, src/lib/sources/live.c), engine calls out
 * (vmp_account(), vmp_account_prio(), vmp_group_run_job(): the calls the
 * kernel's reclaim would have made). Pure: the caller gives the time and
 * the snapshots, and keeps the cgroups as nodes (estimator.h), so the
 * whole model runs on made-up or recorded numbers. estimator.c is the
 * model (deltas, origins, attribution, windows, sampling), prio.c the
 * priority-path stand-ins, estimate.c its offline re-run over a
 * recording's sample lines (vmpressure estimate).
 *
 * It may depend on the engine's public API (include/vmpressure.h), libc,
 * and the recording tap (sources/tap.h, inline wrappers of those engine
 * calls); estimate.c also on vmptrace (trace/: the reader, replay and the
 * sample lines), the recorder (sources/record.h) that writes its output
 * and the cgroup path rules (sources/source.h). No I/O, no clock, no
 * threads in the model.
 *
 * The figures that back each rule below (the runs, the kernels, the
 * commands that show them again) are in docs/estimator.md.
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
 *    same node (one per cgroup the caller follows, kept as long as the
 *    cgroup: a step costs the cgroups it samples, not the tree). A
 *    snapshot with any counter lower than before (the cgroup was recreated
 *    under the same name), a new node (a new engine group) or an invalid
 *    snapshot loses the baseline: no delta that step, the next valid
 *    snapshot starts over. Nothing is guessed across a reset, so no huge
 *    bogus window. A node merely absent from a step (the glue samples only
 *    busy cgroups) keeps its baseline for EST_FORGET_NS.
 *
 * 2. Origins. A group's own limit events are memory.events.local when
 *    present, else its hierarchical events minus those of its children in
 *    the step (a negative remainder, from reading the parent before the
 *    child, is carried to the next step rather than dropped, so skew
 *    cancels out instead of inventing origins). A group is an origin when
 *    its own high+max or oom grew in the interval; only then are its pages
 *    its own: an interval without an event of the group has only kswapd's
 *    or an ancestor's scanning of its subtree (the pages of a call that
 *    straddles a sample are dropped with it, at most one call's worth per
 *    episode). The root is the origin of global reclaim: the machine's
 *    vmstat deltas.
 *
 * 3. Attribution. v2 counters are hierarchical, and a limit reclaim scans
 *    the whole subtree of its origin: the pages an origin's calls scanned
 *    are in its pgscan, but so are those of every origin below it, and an
 *    origin below has in its pgscan the pages that the origins above took
 *    from its subtree. Nothing separates them (v2 has no local pgscan).
 *    Taking an origin's subtree minus the subtrees of the origins below it
 *    gives the parent too little and the child too much, and the parent's
 *    calls then look like failed ones. But a limit reclaim call frees about
 *    the same amount whichever limit drove it (its target, 32 pages, or for
 *    memory.high the overage of at most a charge batch, plus the batch that
 *    crosses it). So the origins of a chain share their pages by calls: the
 *    topmost origin's subtree pages are shared out per call, an origin
 *    below claims the share of the calls in its subtree (its own and those
 *    of the origins below it), at most its subtree's pages, and each origin
 *    keeps what it claims minus what the origins below it claim (scanned
 *    and reclaimed alike). Scanning explained by no memcg origin is either
 *    global reclaim (already in vmstat: the root's windows) or proactive
 *    reclaim (memory.reclaim, which the kernel keeps out of vmpressure,
 *    it is dropped. When every group has pgscan_direct /
 *    pgsteal_direct those are used, which keeps kswapd's scanning of a
 *    group's pages out of its limit windows.
 *
 * 4. Windows. One vmp_account() of the whole delta would be one evaluation
 *    where the kernel made one per 512 pages. So each origin's delta
 *    is fed in window-sized pieces, each at the interval's ratio (exact
 *    integer shares, the reclaimed total is preserved), and the group's job
 *    is run after each piece that fills the window: one evaluation per
 *    512 pages, as the kernel's counts. What is left below a window stays
 *    in the engine's accumulator and fills the next interval's first
 *    window, as in the kernel (so an injected 512/0 can meet a residue and
 *    evaluate medium, R-9a). The latest EST_ONSET_PAGES real pages of each
 *    origin are held back for the onset of a failure episode (5.); the
 *    next real pages push them on into the windows first, so the windows
 *    come EST_ONSET_PAGES late and the last pages of a burst wait for the
 *    next one. (The kernel's run a little over 512: docs/estimator.md.)
 *
 * 5. The priority path: a reclaim call that misses its target goes down
 *    to priority 0 and injects 4 windows of 512 scanned / 0 reclaimed
 *    (vmpressure_prio()). No counter shows it; prio.c stands in for it by
 *    counting the calls that cannot have met their target, those that an
 *    OOM implies, and the medium windows at the onset of a failure
 *    episode. Their injections come after the interval's real windows.

 *
 * 5b. What counters cannot show. The kernel's job runs when the workqueue
 *    gets the CPU, and injections or pages that come before it coalesce
 *    into one window. Limit reclaim lets it run almost at once;
 *    kswapd keeps scanning past the crossing, so its windows are longer
 *    than 512 and fewer than these. And an OOM's retry loop of calls that
 *    scan nothing can run to the OOM killer before the first job runs: its
 *    injections then make one window where this makes 4 per call. Both
 *    are scheduling: from 6.6 the tasks waiting for the CPUs set how many
 *    coalesce, which CROWD (prio.c) follows.
 *
 * 6. Sampling. vmp__est_next_interval_ms() says busy (fast) for
 *    VMP_EST_BUSY_HOLD_MS after any sign of reclaim: scanning anywhere,
 *    limit events, allocstall, OOM, or PSI `some` stall >= 1 % of the
 *    interval; idle otherwise. The glue adds a PSI trigger as the wake-up
 *    from idle.
 *
 * The estimator keeps no clock and does no I/O: the caller gives the time
 * and the snapshots, so everything here is testable with made-up numbers.
 */
#include "estimator/internal.h"
#include "util/util.h"
#include "sources/tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PSI `some` stall share of an interval that counts as activity. */
#define EST_PSI_BUSY_SHARE 0.01
#define EST_FORGET_NS VMP_EST_FORGET_NS

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
	bool psi;           /* PSI known: dsome is the interval's "some" stall */
	uint64_t dsome, sub_some; /* us; sub_some: the most of an origin below */
	bool onset;         /* a failure now would start an episode */
	uint64_t ds_tot, dr_tot, ds_dir, dr_dir;
	uint64_t dcalls_h, doom_h, dkill_h;
	uint64_t calls, oom; /* the group's own */
	bool split;         /* calls_high / calls_max known (memory.events.local) */
	uint64_t calls_high, calls_max;
	bool lists;         /* the file LRU known, at both ends of the interval */
	uint64_t file_lru0, file_lru, swapout; /* swapout: 0 if swap is not accounted */
	bool anon;          /* the anonymous LRU known, at the interval's end */
	uint64_t anon_lru;
	bool first;         /* nothing scanned in the subtree before the interval */
	uint64_t swept0;    /* scanned and nothing freed before it: a first call
			     * still running at the interval's start */
	uint64_t ch_calls, ch_oom; /* children's hierarchical */
	uint64_t dhigh_h, ch_high; /* memory.high's share of dcalls_h, ch_calls */
	uint64_t T_s, T_r;  /* the origin's subtree pages */
	uint64_t sub_calls; /* calls of the origins in the subtree */
	uint64_t Q_s, Q_r;  /* the subtree pages its origins claim */
	uint64_t sub_s, sub_r; /* claimed by the topmost origins below */
	uint64_t S, R;      /* attributed */
	uint64_t fails;
	double full_share;
};

void vmp__est_config_init(struct vmp_est_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->prio = VMP_EST_PRIO_DEFAULT;
	cfg->window_pages = VMP_WINDOW;
	cfg->fail_passes = 1;
	cfg->lru_gen = -1;
}

unsigned vmp__est_fail_passes(unsigned kernel)
{
	return kernel >= VMP_EST_KERNEL(6, 12) ? 2u : 1u;
}

int vmp__est_config_kernel(struct vmp_est_config *cfg, const char *release, int lru_gen)
{
	if (!cfg || !release)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long major = strtoul(release, &end, 10);
	if (end == release || *end != '.' || errno || major > 999)
		return -EINVAL;
	const char *p = end + 1;
	unsigned long minor = strtoul(p, &end, 10);
	if (end == p || errno || minor > 999)
		return -EINVAL;
	cfg->kernel = VMP_EST_KERNEL(major, minor);
	cfg->lru_gen = lru_gen < 0 ? -1 : lru_gen > 0;
	return 0;
}

static void origin_init(struct est_origin *o)
{
	memset(o, 0, sizeof(*o));
	o->avg_ok = EST_BATCH;
}

int vmp__est_new_config(struct vmp_est **out, vmp_ctx *ctx,
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
		vmp__est_config_init(&e->cfg);
	e->window = e->cfg.window_pages ? e->cfg.window_pages : VMP_WINDOW;
	if (!e->cfg.fail_passes)
		e->cfg.fail_passes = 1;
	origin_init(&e->root);
	*out = e;
	return 0;
}

int vmp__est_new(struct vmp_est **out, vmp_ctx *ctx)
{
	return vmp__est_new_config(out, ctx, NULL);
}

/* A memory with nothing in it yet: no baseline. */
static struct est_memory *memory_new(void)
{
	struct est_memory *m = calloc(1, sizeof(*m));
	if (m)
		origin_init(&m->o);
	return m;
}

/* Remembered: seen now, the newest. */
static void remember(struct vmp_est *e, struct vmp_est_node *nd)
{
	if (nd->remembered) {
		if (!nd->newer)
			return; /* the newest already */
		nd->newer->older = nd->older;
		if (nd->older)
			nd->older->newer = nd->newer;
		else
			e->oldest = nd->newer;
	}
	nd->newer = NULL;
	nd->older = e->newest;
	if (e->newest)
		e->newest->newer = nd;
	else
		e->oldest = nd;
	e->newest = nd;
	nd->remembered = true;
}

/* Forgotten: nothing remembered of it any more. */
static void forget(struct vmp_est_node *nd)
{
	struct vmp_est *e = nd->est;
	if (nd->remembered) {
		if (nd->newer)
			nd->newer->older = nd->older;
		else
			e->newest = nd->older;
		if (nd->older)
			nd->older->newer = nd->newer;
		else
			e->oldest = nd->newer;
		nd->newer = nd->older = NULL;
		nd->remembered = false;
	}
	free(nd->mem);
	nd->mem = NULL;
}

static void node_unlink(struct vmp_est_node *nd)
{
	struct vmp_est *e = nd->est;
	forget(nd);
	if (nd->prev)
		nd->prev->next = nd->next;
	else
		e->nodes = nd->next;
	if (nd->next)
		nd->next->prev = nd->prev;
	if (nd->parent)
		nd->parent->children--;
}

void vmp__est_free(struct vmp_est *e)
{
	if (!e)
		return;
	for (struct vmp_est_node *nd = e->nodes, *next; nd; nd = next) {
		next = nd->next;
		free(nd->mem);
		free(nd);
	}
	free(e->scr);
	free(e->groups);
	free(e);
}

int vmp__est_node_new(struct vmp_est *e, struct vmp_est_node *parent, vmp_group *g,
		     struct vmp_est_node **out)
{
	if (!e || !g || !out || !vmp_group_parent(g))
		return -EINVAL; /* NULL, or the root */
	if (parent ? parent->est != e || parent->g != vmp_group_parent(g)
		   : vmp_group_parent(vmp_group_parent(g)) != NULL)
		return -EINVAL; /* not the node of g's parent */
	struct vmp_est_node *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->est = e;
	nd->g = g;
	nd->parent = parent;
	if (parent)
		parent->children++;
	nd->next = e->nodes;
	if (e->nodes)
		e->nodes->prev = nd;
	e->nodes = nd;
	*out = nd;
	return 0;
}

int vmp__est_node_free(struct vmp_est_node *nd)
{
	if (!nd)
		return 0;
	if (nd->children)
		return -EBUSY;
	node_unlink(nd);
	free(nd);
	return 0;
}

int vmp__est_config_fmt(const struct vmp_est_config *cfg, char *buf, size_t cap)
{
	char k[16] = "unknown";
	if (cfg->kernel)
		snprintf(k, sizeof(k), "%u.%u", cfg->kernel / 1000u, cfg->kernel % 1000u);
	int n = snprintf(buf, cap, "kernel=%s lru_gen=%s fail_passes=%u mglru_silent_root=%d", k,
			 cfg->lru_gen < 0 ? "unknown" : cfg->lru_gen ? "1" : "0",
			 cfg->fail_passes ? cfg->fail_passes : 1u, cfg->mglru_silent_root ? 1 : 0);
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

void vmp__est_set_tap(struct vmp_est *e, const struct vmp_tap *tap)
{
	e->tap = tap;
	char buf[128];
	if (tap && tap->note && vmp__est_config_fmt(&e->cfg, buf, sizeof(buf)) > 0)
		tap->note(tap->arg, buf);
}

void vmp__est_stats(const struct vmp_est *e, struct vmp_est_stats *out)
{
	*out = e->st;
}

/* ---- small helpers ----------------------------------------------------- */

/* Add a signed balance to a delta; the positive part is returned, the
 * negative part kept in *carry. */
static uint64_t take_with_carry(int64_t v, int64_t *carry)
{
	int64_t t = vmp__est_sat_add(v, *carry);
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

/* With the thread executor a worker may be running g's job: then wait for
 * it, so that no two pieces coalesce. */
void vmp__est_run_job(struct vmp_est *e, vmp_group *g)
{
	if (vmp__tap_run_job(e->tap, e->now_ns, g) == -EBUSY)
		vmp_ctx_flush(e->ctx);
}

/* Feed S scanned / R reclaimed in window-sized pieces at the ratio R/S. */
void vmp__est_feed_windows(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t S,
			   uint64_t R)
{
	if (S == 0)
		return; /* reclaimed without scanned is not pressure (F3) */
	uint64_t done_s = 0, done_r = 0;
	uint64_t fill = o->res_s < e->window ? e->window - o->res_s : 1;
	while (S - done_s >= fill) {
		uint64_t cum = done_s + fill;
		uint64_t r = vmp__est_muldiv(R, cum, S) - done_r;
		vmp__tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, fill, r);
		vmp__est_run_job(e, g);
		done_s = cum;
		done_r += r;
		o->res_s = o->res_r = 0;
		fill = e->window;
		e->st.windows++;
	}
	if (S > done_s) {
		uint64_t left = S - done_s, r = R - done_r;
		vmp__tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, left, r);
		o->res_s += left;
		o->res_r += r;
	}
	e->st.scanned += S;
	e->st.reclaimed += R;
}

/* S scanned / R reclaimed as one vmpressure() call: however large, one
 * evaluation over it and the residue (spec R-8), when they reach a window. */
static void feed_call(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t S, uint64_t R)
{
	if (S == 0)
		return;
	vmp__tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, S, R);
	uint64_t res = o->res_s > UINT64_MAX - S ? UINT64_MAX : o->res_s + S;
	if (res >= e->window) {
		vmp__est_run_job(e, g);
		o->res_s = o->res_r = 0;
		e->st.windows++;
	} else {
		o->res_s = res;
		o->res_r += R;
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
		uint64_t r = vmp__est_muldiv(o->pend_r, from_p, o->pend_s);
		vmp__est_feed_windows(e, g, o, from_p, r);
		o->pend_s -= from_p;
		o->pend_r -= r;
	}
	uint64_t from_n = out - from_p; /* <= S */
	uint64_t r_n = vmp__est_muldiv(R, from_n, S);
	vmp__est_feed_windows(e, g, o, from_n, r_n);
	o->pend_s += S - from_n;
	o->pend_r += R - r_n;
	o->pend_ns = now;
}

/* ---- one step ---------------------------------------------------------- */

static int ensure_scratch(struct vmp_est *e, size_t n)
{
	if (n > e->scr_cap) {
		struct est_scratch *s = realloc(e->scr, n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		e->scr = s;
		vmp_group **g = realloc(e->groups, n * sizeof(*g));
		if (!g)
			return -ENOMEM;
		e->groups = g;
		e->scr_cap = n;
	}
	return 0;
}

/* Deltas of node i; updates its baseline. Returns whether the delta shows
 * reclaim or stall. */
static bool take_deltas(struct vmp_est *e, size_t i, struct vmp_est_node *nd,
			const struct vmp_est_cgroup *c, uint64_t dt)
{
	struct est_scratch *s = &e->scr[i];
	struct est_memory *mem = nd->mem;
	bool active = false;
	if (!c->valid) {
		mem->have_prev = false;
		e->st.skipped++;
		return false;
	}
	if (mem->have_prev && went_back(&mem->prev, c)) {
		mem->have_prev = false;
		e->st.resets++;
	}
	if (mem->have_prev) {
		const struct vmp_est_cgroup *p = &mem->prev;
		s->ok = true;
		s->ds_tot = c->pgscan - p->pgscan;
		s->first = p->pgscan == 0;
		s->swept0 = p->pgsteal == 0 ? p->pgscan : 0;
		s->dr_tot = c->pgsteal - p->pgsteal;
		s->direct = p->have_direct && c->have_direct;
		if (s->direct) {
			s->ds_dir = c->pgscan_direct - p->pgscan_direct;
			s->dr_dir = c->pgsteal_direct - p->pgsteal_direct;
		}
		s->dcalls_h = (c->high - p->high) + (c->max - p->max);
		s->dhigh_h = c->high - p->high;
		s->doom_h = c->oom - p->oom;
		s->dkill_h = c->oom_kill - p->oom_kill;
		if (p->have_local && c->have_local) {
			s->local_known = true;
			s->calls = (c->local_high - p->local_high) + (c->local_max - p->local_max);
			s->oom = c->local_oom - p->local_oom;
			s->split = true;
			s->calls_high = c->local_high - p->local_high;
			s->calls_max = c->local_max - p->local_max;
		}
		if (p->have_lists && c->have_lists) {
			s->lists = true;
			s->file_lru0 = p->file_lru;
			s->file_lru = c->file_lru;
			s->swapout = p->have_swap && c->have_swap && c->swap > p->swap ? c->swap - p->swap : 0;
			s->anon = c->have_anon;
			s->anon_lru = c->anon_lru;
		}
		s->full_share = share(c->psi_full_total - p->psi_full_total, dt);
		/* PSI works if it ever counted a stall; unknown: assume stall. */
		bool psi = c->psi_some_avg10 >= 0 && c->psi_some_total > 0;
		s->stalled = !psi || c->psi_some_total > p->psi_some_total;
		s->psi = psi;
		s->dsome = psi && c->psi_some_total > p->psi_some_total ? c->psi_some_total - p->psi_some_total : 0;
		double some = share(c->psi_some_total - p->psi_some_total, dt);
		active = s->ds_tot || s->dcalls_h || s->doom_h || s->dkill_h ||
			 some >= EST_PSI_BUSY_SHARE;
	} else {
		/* no delta: the carries start again with the baseline */
		mem->calls_carry = mem->oom_carry = 0;
		mem->scan_carry = mem->steal_carry = 0;
		mem->o.credit = 0;
		mem->o.held = false;
	}
	mem->prev = *c;
	mem->have_prev = true;
	return active;
}

/* ---- the phases of a step ------------------------------------------------ */

/* The step's nodes checked and marked with their index, before anything
 * changes: -EINVAL for a NULL or foreign node, or one given twice. */
static int check_step(struct vmp_est *e, uint64_t now, size_t n, struct vmp_est_node *const *nodes,
		      const struct vmp_est_cgroup *c)
{
	if (!e || (n && (!nodes || !c)) || n > UINT32_MAX / 4)
		return -EINVAL;
	if (e->stepped && now <= e->last_ns)
		return -EINVAL;
	int rc = ensure_scratch(e, n);
	if (rc)
		return rc;
	const uint64_t attempt = ++e->attempt;
	for (size_t i = 0; i < n; i++) {
		struct vmp_est_node *nd = nodes[i];
		if (!nd || nd->est != e || nd->mark == attempt)
			return -EINVAL;
		nd->mark = attempt;
		nd->idx = (uint32_t)i;
	}
	for (size_t i = 0; i < n; i++)
		if (!nodes[i]->mem && !(nodes[i]->mem = memory_new()))
			return -ENOMEM;
	return 0;
}

/* A node back after missing steps: its short-term state is gone (its
 * baseline too if it was forgotten meanwhile). The step's nodes are the
 * newest remembered. */
static void welcome_back(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct vmp_est_node *nd = nodes[i];
		struct est_memory *mem = nd->mem;
		if (nd->seen_step && nd->seen_step != e->last_step)
			mem->calls_carry = mem->oom_carry = mem->scan_carry = mem->steal_carry = 0;
		nd->seen_step = e->attempt;
		mem->last_seen_ns = now;
		remember(e, nd);
	}
}

/* Nodes absent for more than EST_FORGET_NS lose what they remembered: the
 * oldest remembered first, none of this step's. */
static void forget_absent(struct vmp_est *e, uint64_t now)
{
	while (e->oldest && e->oldest->mark != e->attempt &&
	       now - e->oldest->mem->last_seen_ns > EST_FORGET_NS)
		forget(e->oldest);
}

/* The step is taken: recorded before the engine calls it causes. */
static void record_sample(struct vmp_est *e, uint64_t now, const struct vmp_est_machine *m, size_t n,
			  struct vmp_est_node *const *nodes, const struct vmp_est_cgroup *c)
{
	if (e->tap && e->tap->sample) {
		for (size_t i = 0; i < n; i++)
			e->groups[i] = nodes[i]->g;
		e->tap->sample(e->tap->arg, now, m, e->sched.cpus ? &e->sched : NULL, n, e->groups, c);
	}
	e->now_ns = now;
}

void vmp__est_set_sched(struct vmp_est *e, const struct vmp_est_sched *s)
{
	if (s && s->cpus)
		e->sched = *s;
	else
		memset(&e->sched, 0, sizeof(e->sched));
}

/* CROWD's input: tasks waiting for a CPU, per CPU, over the interval since
 * the previous reading (runnable per CPU, less the one running). Readings
 * that went back or changed CPUs (a CPU brought up) start afresh. */
static void crowd_step(struct vmp_est *e, uint64_t now)
{
	const struct vmp_est_sched *s = &e->sched, *p = &e->sched_prev;
	e->crowd_wait = 0;
	if (s->cpus && s->cpus == p->cpus && s->runq_ns >= p->runq_ns && now > e->sched_prev_ns) {
		double runnable = (double)(s->runq_ns - p->runq_ns) / (double)(now - e->sched_prev_ns) /
				  (double)s->cpus;
		e->crowd_wait = runnable > 1 ? runnable - 1 : 0;
	}
	e->sched_prev = *s;
	e->sched_prev_ns = now;
	memset(&e->sched, 0, sizeof(e->sched));
}

/* 1. Deltas of every group. Returns whether any shows reclaim or stall. */
static bool take_all_deltas(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes,
			    const struct vmp_est_cgroup *c, uint64_t dt)
{
	bool active = false;
	if (n)
		memset(e->scr, 0, n * sizeof(*e->scr));
	for (size_t i = 0; i < n; i++)
		if (take_deltas(e, i, nodes[i], &c[i], dt))
			active = true;
	return active;
}

/* The step's own tree: each group's nearest ancestor in the step. */
static void link_set_parents(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		s->set_parent = -1;
		s->origin_parent = -1;
		for (const struct vmp_est_node *p = nodes[i]->parent; p; p = p->parent) {
			if (p->mark == e->attempt) {
				s->set_parent = (int)p->idx;
				break;
			}
		}
	}
}

/* Whether every group with deltas has pgscan_direct / pgsteal_direct. */
static bool all_have_direct(const struct vmp_est *e, size_t n)
{
	bool all_direct = true;
	for (size_t i = 0; i < n; i++)
		if (e->scr[i].ok)
			all_direct = all_direct && e->scr[i].direct;
	return all_direct;
}

/* The children's hierarchical events, from which a group without
 * memory.events.local derives its own; a child without deltas leaves them
 * unknown. */
static void sum_children(struct vmp_est *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		e->scr[i].children_ok = true;
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
		p->ch_high += s->dhigh_h;
		p->ch_oom += s->doom_h;
	}
}

/* 2. Own events and origins: a group whose own high+max or oom grew. */
static void find_origins(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_memory *en = nodes[i]->mem;
		if (!s->ok)
			continue;
		if (!s->local_known) {
			if (s->children_ok) {
				s->local_known = true;
				s->calls = take_with_carry(vmp__est_sdiff(s->dcalls_h, s->ch_calls),
							   &en->calls_carry);
				s->oom = take_with_carry(vmp__est_sdiff(s->doom_h, s->ch_oom),
							 &en->oom_carry);
				/* DEPTH's split of the calls: the high ones without a
				 * carry of their own (a share, not a count to repay) */
				uint64_t h = s->dhigh_h > s->ch_high ? s->dhigh_h - s->ch_high : 0;
				s->split = true;
				s->calls_high = h < s->calls ? h : s->calls;
				s->calls_max = s->calls - s->calls_high;
			} else {
				en->calls_carry = en->oom_carry = 0;
			}
		}
		if (!s->local_known)
			continue;
		s->origin = s->calls || s->oom;
	}
}

/* 3. Attribution, first: each origin's subtree pages, its nearest and its
 * topmost origin ancestor, and the calls of the origins in its subtree
 * (its own too). */
static void chain_origins(struct vmp_est *e, size_t n, bool all_direct)
{
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
		s->sub_calls += s->calls;
		for (int k = s->origin_parent; k >= 0; k = e->scr[k].origin_parent)
			e->scr[k].sub_calls += s->calls;
	}
}

/* OWNSTALL: PSI is hierarchical, so an origin's stall includes the stall
 * of the origins below it. Where all but a sliver (EST_PSI_BUSY_SHARE of
 * the interval: two files read one after the other) of it is one
 * descendant origin's, the tasks stalled at that origin's limit and none
 * at this one's: its calls stalled nobody and cannot have failed
 * (docs/estimator.md, "OWNSTALL"). */
static void own_stall(struct vmp_est *e, size_t n, uint64_t dt)
{
	if (!(e->cfg.prio & VMP_EST_PRIO_OWNSTALL))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct est_scratch *s = &e->scr[i];
		if (!s->origin || !s->psi)
			continue;
		for (int k = s->origin_parent; k >= 0; k = e->scr[k].origin_parent)
			if (e->scr[k].sub_some < s->dsome)
				e->scr[k].sub_some = s->dsome;
	}
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (s->origin && s->psi && s->stalled && s->sub_some &&
		    share(s->dsome > s->sub_some ? s->dsome - s->sub_some : 0, dt) < EST_PSI_BUSY_SHARE)
			s->stalled = false;
	}
}

/* Each origin claims the topmost origin's pages in proportion to the calls
 * in its subtree, at most its own subtree's pages. */
static void claim_by_calls(struct vmp_est *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin)
			continue;
		const struct est_scratch *t = &e->scr[s->top];
		s->Q_s = s->T_s;
		s->Q_r = s->T_r;
		if (s->top != (int)i && t->sub_calls) {
			uint64_t qs = vmp__est_muldiv(t->T_s, s->sub_calls, t->sub_calls);
			uint64_t qr = vmp__est_muldiv(t->T_r, s->sub_calls, t->sub_calls);
			s->Q_s = qs < s->T_s ? qs : s->T_s;
			s->Q_r = qr < s->T_r ? qr : s->T_r;
		}
	}
}

/* What the nearest origins below each origin claim. */
static void sum_claims_below(struct vmp_est *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (s->origin && s->origin_parent >= 0) {
			struct est_scratch *p = &e->scr[s->origin_parent];
			p->sub_s += s->Q_s;
			p->sub_r += s->Q_r;
		}
	}
}

/* Each origin keeps what it claims less what the origins below claim. */
static void keep_own_pages(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_memory *en = nodes[i]->mem;
		if (!s->origin) {
			en->scan_carry = en->steal_carry = 0;
			continue;
		}
		s->S = take_with_carry(vmp__est_sdiff(s->Q_s, s->sub_s), &en->scan_carry);
		s->R = take_with_carry(vmp__est_sdiff(s->Q_r, s->sub_r), &en->steal_carry);
	}
}

/* The priority path at each origin (prio.c). */
static void count_fails(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_memory *en = nodes[i]->mem;
		if (!s->origin && !(s->ok && en->o.held))
			continue; /* a held interval is judged at the next delta */
		/* DEPTH_MAX stands for the deep calls that ONSET approximates,
		 * where it can: the classic LRU with the lists known */
		s->onset = vmp__est_episode_over(&en->o, now) &&
			   !((e->cfg.prio & VMP_EST_PRIO_DEPTH_MAX) && s->lists && e->cfg.lru_gen != 1);
		s->fails = vmp__est_memcg_fails(e, &en->o, now, s->calls, s->R, s->oom, s->dkill_h,
					   s->full_share, s->stalled);
	}
}

/* The root's share of one step: global reclaim. */
struct est_root_step {
	bool ok;            /* has deltas */
	bool onset;
	uint64_t S, R, fails;
};

/* OOM kills that no memcg's oom_kill explains, while global direct reclaim
 * ran: global OOMs. */
static uint64_t global_ooms(const struct vmp_est *e, size_t n, uint64_t calls, uint64_t kills)
{
	uint64_t memcg_kills = 0;
	for (size_t i = 0; i < n; i++)
		if (e->scr[i].ok && e->scr[i].set_parent < 0)
			memcg_kills += e->scr[i].dkill_h;
	return kills > memcg_kills && (calls || e->root.called_last) ? kills - memcg_kills : 0;
}

/* The machine's deltas against its baseline p. Returns whether they show
 * reclaim or stall. */
static bool root_interval(struct vmp_est *e, const struct vmp_est_machine *m,
			  const struct vmp_est_machine *p, size_t n, uint64_t now, uint64_t dt,
			  struct est_root_step *r)
{
	r->ok = true;
	r->S = (m->pgscan_kswapd - p->pgscan_kswapd) + (m->pgscan_direct - p->pgscan_direct);
	r->R = (m->pgsteal_kswapd - p->pgsteal_kswapd) + (m->pgsteal_direct - p->pgsteal_direct);
	uint64_t calls = m->allocstall - p->allocstall;
	uint64_t kills = m->oom_kill - p->oom_kill;
	uint64_t gooms = global_ooms(e, n, calls, kills);
	bool psi = m->psi_some_avg10 >= 0 && m->psi_some_total > 0;
	r->onset = vmp__est_episode_over(&e->root, now);
	r->fails = vmp__est_global_fails(e, &e->root, now, calls, m->pgsteal_direct - p->pgsteal_direct,
				    gooms, share(m->psi_full_total - p->psi_full_total, dt),
				    !psi || m->psi_some_total > p->psi_some_total);
	e->root.called_last = calls != 0;
	double some = share(m->psi_some_total - p->psi_some_total, dt);
	return r->S || calls || kills || some >= EST_PSI_BUSY_SHARE;
}

/* 4. The root: global reclaim from the machine's counters. Returns whether
 * they show reclaim or stall. */
static bool root_step(struct vmp_est *e, const struct vmp_est_machine *m, size_t n, uint64_t now,
		      uint64_t dt, struct est_root_step *r)
{
	bool active = false;
	memset(r, 0, sizeof(*r));
	if (m && m->valid) {
		if (e->have_mprev && !machine_went_back(&e->mprev, m)) {
			active = root_interval(e, m, &e->mprev, n, now, dt, r);
		} else if (e->have_mprev) {
			e->st.resets++;
			e->root.credit = 0;
			e->root.held = false;
		}
		e->mprev = *m;
		e->have_mprev = true;
	} else {
		e->have_mprev = false; /* not watched or unreadable: rebaseline */
		if (m)
			e->st.skipped++;
	}
	return active;
}

/* DEPTH (prio.c): the successful calls of an origin's interval that went
 * below priority 4, memory.high's [0] and memory.max's [1], by the lowest
 * priority they reached, and the pages of each. The failed calls are
 * counted against memory.max's first (only a limit's calls end in an
 * OOM). */
struct deep {
	uint64_t at[2][4];
	uint64_t cs[2], cr[2]; /* a call's pages */
};

static bool deep_split(const struct vmp_est *e, const struct est_scratch *s, struct deep *d)
{
	memset(d, 0, sizeof(*d));
	const unsigned f = e->cfg.prio;
	if (!(f & (VMP_EST_PRIO_HIGH | VMP_EST_PRIO_DEPTH_MAX)) || !s->split || !s->lists || !s->calls)
		return false;
	uint64_t fails = s->fails < s->calls ? s->fails : s->calls;
	uint64_t fm = fails < s->calls_max ? fails : s->calls_max;
	uint64_t ok[2] = {s->calls_high - (fails - fm), s->calls_max - fm};
	const unsigned target[2] = {EST_HIGH_TARGET, EST_BATCH};
	const unsigned flag[2] = {VMP_EST_PRIO_HIGH, VMP_EST_PRIO_DEPTH_MAX};
	uint64_t all_ok = ok[0] + ok[1];
	bool any = false;
	for (int k = 0; k < 2; k++) {
		if (!(f & flag[k]) || !ok[k])
			continue;
		/* The interval's pages are the successful calls' (a failed one
		 * frees next to nothing), each of which freed its target. */
		uint64_t cs = vmp__est_muldiv(s->S, ok[k], all_ok), cr = vmp__est_muldiv(s->R, ok[k], all_ok);
		uint64_t calls = ok[k] < cr / target[k] ? ok[k] : cr / target[k];
		if (!calls || !vmp__est_deep_calls(e, calls, cs, cr, s->file_lru0, s->file_lru, s->swapout,
						   target[k], d->at[k]))
			continue;
		d->cs[k] = cs / calls;
		d->cr[k] = cr / calls;
		any = true;
	}
	return any;
}

/* SWEEP: the first reclaim of a group (its pgscan was 0) finds every page
 * it faulted in referenced. Where that left unfreed more than half of all
 * the origin's LRU pages, in an interval whose calls met their targets (no
 * failed call, no OOM), one call walked the lists down to priority 0 and
 * freed next to nothing: it injects at priorities 3-0, and its pages,
 * scanned at priority 0 in one vmpressure() call, are one window before
 * the others; the other calls keep the freed pages. A sweep that began in
 * the last interval (it had scanned and freed nothing; *cont) was that
 * interval's call: here its rest is fed, without injections, and the
 * calls are this interval's others. Off with MGLRU, whose first call ages
 * instead (docs/estimator.md, "SWEEP").
 * Returns the pages it took. */
static uint64_t sweep(const struct vmp_est *e, struct est_scratch *s, bool *cont)
{
	*cont = s->swept0 != 0; /* never at a first reclaim: pgscan was 0 there */
	if (!(e->cfg.prio & VMP_EST_PRIO_SWEEP) || e->cfg.lru_gen == 1 || !(s->first || *cont) ||
	    !s->lists || !s->anon || !s->calls || s->fails || s->oom || s->dkill_h || s->S <= s->R)
		return 0;
	uint64_t U = s->S - s->R;
	uint64_t lru = s->anon_lru > UINT64_MAX - s->file_lru ? UINT64_MAX : s->anon_lru + s->file_lru;
	uint64_t all = U > UINT64_MAX - s->swept0 ? UINT64_MAX : U + s->swept0; /* the call's */
	if (U < e->window || all < lru / 2 + lru % 2)
		return 0;
	s->S -= U;
	if (*cont)
		return U;
	s->calls--;
	if (s->split) { /* the sweeping call was memory.high's if there was one */
		if (s->calls_high)
			s->calls_high--;
		else if (s->calls_max)
			s->calls_max--;
	}
	return U;
}

/* 5. Feed the engine: real windows, then the failed calls. */
static void feed_engine(struct vmp_est *e, size_t n, struct vmp_est_node *const *nodes, uint64_t now,
			const struct est_root_step *r)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin && !s->fails)
			continue;
		struct est_origin *o = &nodes[i]->mem->o;
		bool cont;
		uint64_t swept = sweep(e, s, &cont);
		if (swept) {
			/* Priorities 3-0 inject first; the walk's pages come at
			 * priority 0 in one call (docs/estimator.md, "SWEEP"). */
			if (!cont)
				vmp__est_feed_prio(e, nodes[i]->g, o, now, 1, false, 1);
			feed_call(e, nodes[i]->g, o, swept, 0);
		}
		struct deep d;
		uint64_t S = s->S, R = s->R;
		bool deep = deep_split(e, s, &d);
		for (int k = 0; deep && k < 2; k++)
			for (int p = 0; p <= VMP_CRIT_PRIO; p++) {
				S -= d.at[k][p] * d.cs[k];
				R -= d.at[k][p] * d.cr[k];
			}
		feed_real(e, nodes[i]->g, o, now, S, R);
		for (int k = 0; deep && k < 2; k++)
			for (int p = VMP_CRIT_PRIO; p >= 0; p--)
				if (d.at[k][p])
					vmp__est_feed_deep(e, nodes[i]->g, o, d.at[k][p], d.at[k][p] * d.cs[k],
							   d.at[k][p] * d.cr[k], p);
		vmp__est_feed_prio(e, nodes[i]->g, o, now, s->fails, s->onset, e->cfg.fail_passes);
	}
	if (r->ok) {
		vmp_group *root = vmp_ctx_root(e->ctx);
		/* MGLRU's global reclaim makes no vmpressure() call: silent
		 * only if asked (docs/estimator.md, "MGLRU"). */
		if (!(e->cfg.mglru_silent_root && e->cfg.lru_gen == 1))
			feed_real(e, root, &e->root, now, r->S, r->R);
		vmp__est_feed_prio(e, root, &e->root, now, r->fails, r->onset, 1);
	}
}

/* 6. What the sampling interval goes by. */
static void end_step(struct vmp_est *e, size_t n, uint64_t now, bool active, bool root_ok)
{
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
	e->last_step = e->attempt;
	e->st.steps++;
}

int vmp__est_step(struct vmp_est *e, uint64_t now, const struct vmp_est_machine *m, size_t n,
		 struct vmp_est_node *const *nodes, const struct vmp_est_cgroup *c)
{
	int rc = check_step(e, now, n, nodes, c);
	if (rc)
		return rc;
	/* From here on nothing fails. */
	welcome_back(e, n, nodes, now);
	record_sample(e, now, m, n, nodes, c);
	crowd_step(e, now);
	const uint64_t dt = e->stepped ? now - e->last_ns : 0;

	bool active = take_all_deltas(e, n, nodes, c, dt);
	link_set_parents(e, n, nodes);
	sum_children(e, n);
	find_origins(e, n, nodes);
	chain_origins(e, n, all_have_direct(e, n));
	own_stall(e, n, dt);
	claim_by_calls(e, n);
	sum_claims_below(e, n);
	keep_own_pages(e, n, nodes);
	count_fails(e, n, nodes, now);
	struct est_root_step root;
	if (root_step(e, m, n, now, dt, &root))
		active = true;
	feed_engine(e, n, nodes, now, &root);
	forget_absent(e, now);
	end_step(e, n, now, active, root.ok);
	return 0;
}

unsigned vmp__est_next_interval_ms(const struct vmp_est *e, unsigned idle_ms,
				  unsigned busy_ms)
{
	if (!e || !e->have_delta)
		return busy_ms; /* no delta yet: get one soon */
	if (e->active_ever &&
	    e->last_ns - e->last_active_ns < (uint64_t)VMP_EST_BUSY_HOLD_MS * 1000000u)
		return busy_ms;
	return idle_ms;
}
