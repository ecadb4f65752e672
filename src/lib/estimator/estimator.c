/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v2 estimator: what plays the part of mm/vmscan.c when the
 * kernel has no memory.pressure_level. It turns counter snapshots into the
 * engine calls that the kernel's reclaim would have made. The figures that
 * back each rule below (the runs, the kernels, the commands that show them
 * again) are in docs/estimator.md.
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
 *    next one. The kernel's windows run a little over 512 (the pass that
 *    crosses overshoots, the job runs a moment later), so exact windows
 *    give slightly more of them than the kernel.
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
 *    injections then make one window where this makes 4 per call. Neither
 *    is modelled: both depend on scheduling, not on reclaim.
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
#include <stdlib.h>
#include <string.h>

/* PSI `some` stall share of an interval that counts as activity. */
#define EST_PSI_BUSY_SHARE 0.01
/* A cgroup absent from the steps keeps its baseline this long: the live
 * glue samples only the cgroups that are busy, and the delta on return
 * covers what woke them up. */
#define EST_FORGET_NS 10000000000u

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

void vmp__est_config_init(struct vmp_est_config *cfg)
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
	origin_init(&e->root);
	*out = e;
	return 0;
}

int vmp__est_new(struct vmp_est **out, vmp_ctx *ctx)
{
	return vmp__est_new_config(out, ctx, NULL);
}

void vmp__est_free(struct vmp_est *e)
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

void vmp__est_set_tap(struct vmp_est *e, const struct vmp_tap *tap)
{
	e->tap = tap;
}

void vmp__est_stats(const struct vmp_est *e, struct vmp_est_stats *out)
{
	*out = e->st;
}

/* ---- small helpers ----------------------------------------------------- */

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

/* Add a signed balance to a delta; the positive part is returned, the
 * negative part kept in *carry. */
static uint64_t take_with_carry(int64_t v, int64_t *carry)
{
	int64_t t = est_sat_add(v, *carry);
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
static void feed_windows(struct vmp_est *e, vmp_group *g, struct est_origin *o,
			 uint64_t S, uint64_t R)
{
	if (S == 0)
		return; /* reclaimed without scanned is not pressure (F3) */
	uint64_t done_s = 0, done_r = 0;
	uint64_t fill = o->res_s < e->window ? e->window - o->res_s : 1;
	while (S - done_s >= fill) {
		uint64_t cum = done_s + fill;
		uint64_t r = est_muldiv(R, cum, S) - done_r;
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
		uint64_t r = est_muldiv(o->pend_r, from_p, o->pend_s);
		feed_windows(e, g, o, from_p, r);
		o->pend_s -= from_p;
		o->pend_r -= r;
	}
	uint64_t from_n = out - from_p; /* <= S */
	uint64_t r_n = est_muldiv(R, from_n, S);
	feed_windows(e, g, o, from_n, r_n);
	o->pend_s += S - from_n;
	o->pend_r += R - r_n;
	o->pend_ns = now;
}

/* ---- one step ---------------------------------------------------------- */

static int find_entry(const struct vmp_est *e, const char *path)
{
	if (!e->idx_cap)
		return -1;
	size_t mask = e->idx_cap - 1;
	for (size_t b = vmp__hash_str(path) & mask;; b = (b + 1) & mask) {
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
		size_t b = vmp__hash_str(ne[i].path) & (icap - 1);
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

/* ---- the phases of a step ------------------------------------------------ */

static int check_step(const struct vmp_est *e, uint64_t now, size_t n, vmp_group *const *groups,
		      const struct vmp_est_cgroup *c)
{
	if (!e || (n && (!groups || !c)) || n > UINT32_MAX / 4)
		return -EINVAL;
	if (e->stepped && now <= e->last_ns)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!groups[i] || !vmp_group_parent(groups[i]))
			return -EINVAL; /* NULL, or the root */
	return 0;
}

/* The step's groups matched with what is remembered of them: everything
 * that can fail, before anything changes. */
static int match_entries(struct vmp_est *e, uint64_t now, size_t n, vmp_group *const *groups)
{
	int rc = ensure_scratch(e, n);
	if (!rc)
		rc = build_pmap(e, n, groups);
	if (!rc)
		rc = rebuild_entries(e, now, n, groups);
	return rc;
}

/* The step is taken: recorded before the engine calls it causes. */
static void record_sample(struct vmp_est *e, uint64_t now, const struct vmp_est_machine *m, size_t n,
			  vmp_group *const *groups, const struct vmp_est_cgroup *c)
{
	if (e->tap && e->tap->sample)
		e->tap->sample(e->tap->arg, now, m, n, groups, c);
	e->now_ns = now;
}

/* 1. Deltas of every group. Returns whether any shows reclaim or stall. */
static bool take_all_deltas(struct vmp_est *e, size_t n, vmp_group *const *groups,
			    const struct vmp_est_cgroup *c, uint64_t dt)
{
	bool active = false;
	if (n)
		memset(e->scr, 0, n * sizeof(*e->scr));
	for (size_t i = 0; i < n; i++)
		if (take_deltas(e, i, groups[i], &c[i], dt))
			active = true;
	return active;
}

/* The step's own tree: each group's nearest ancestor in the step. */
static void link_set_parents(struct vmp_est *e, size_t n, vmp_group *const *groups)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
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
		p->ch_oom += s->doom_h;
	}
}

/* 2. Own events and origins: a group whose own high+max or oom grew. */
static void find_origins(struct vmp_est *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_entry *en = &e->ents[i];
		if (!s->ok)
			continue;
		if (!s->local_known) {
			if (s->children_ok) {
				s->local_known = true;
				s->calls = take_with_carry(est_sdiff(s->dcalls_h, s->ch_calls),
							   &en->calls_carry);
				s->oom = take_with_carry(est_sdiff(s->doom_h, s->ch_oom),
							 &en->oom_carry);
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
			uint64_t qs = est_muldiv(t->T_s, s->sub_calls, t->sub_calls);
			uint64_t qr = est_muldiv(t->T_r, s->sub_calls, t->sub_calls);
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
static void keep_own_pages(struct vmp_est *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_entry *en = &e->ents[i];
		if (!s->origin) {
			en->scan_carry = en->steal_carry = 0;
			continue;
		}
		s->S = take_with_carry(est_sdiff(s->Q_s, s->sub_s), &en->scan_carry);
		s->R = take_with_carry(est_sdiff(s->Q_r, s->sub_r), &en->steal_carry);
	}
}

/* The priority path at each origin (prio.c). */
static void count_fails(struct vmp_est *e, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		struct est_entry *en = &e->ents[i];
		if (!s->origin)
			continue;
		s->onset = vmp__est_episode_over(&en->o, now);
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

/* 5. Feed the engine: real windows, then the failed calls. */
static void feed_engine(struct vmp_est *e, size_t n, vmp_group *const *groups, uint64_t now,
			const struct est_root_step *r)
{
	for (size_t i = 0; i < n; i++) {
		struct est_scratch *s = &e->scr[i];
		if (!s->origin)
			continue;
		feed_real(e, groups[i], &e->ents[i].o, now, s->S, s->R);
		vmp__est_feed_prio(e, groups[i], &e->ents[i].o, now, s->fails, s->onset);
	}
	if (r->ok) {
		vmp_group *root = vmp_ctx_root(e->ctx);
		feed_real(e, root, &e->root, now, r->S, r->R);
		vmp__est_feed_prio(e, root, &e->root, now, r->fails, r->onset);
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
	e->st.steps++;
}

int vmp__est_step(struct vmp_est *e, uint64_t now, const struct vmp_est_machine *m, size_t n,
		 vmp_group *const *groups, const struct vmp_est_cgroup *c)
{
	int rc = check_step(e, now, n, groups, c);
	if (!rc)
		rc = match_entries(e, now, n, groups);
	if (rc)
		return rc;
	/* From here on nothing fails. */
	record_sample(e, now, m, n, groups, c);
	const uint64_t dt = e->stepped ? now - e->last_ns : 0;

	bool active = take_all_deltas(e, n, groups, c, dt);
	link_set_parents(e, n, groups);
	sum_children(e, n);
	find_origins(e, n);
	chain_origins(e, n, all_have_direct(e, n));
	claim_by_calls(e, n);
	sum_claims_below(e, n);
	keep_own_pages(e, n);
	count_fails(e, n, now);
	struct est_root_step root;
	if (root_step(e, m, n, now, dt, &root))
		active = true;
	feed_engine(e, n, groups, now, &root);
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
