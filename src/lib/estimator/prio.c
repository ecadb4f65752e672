/* SPDX-License-Identifier: MIT */
/*
 * The priority-path stand-ins: failed reclaim calls, from counters.
 *
 * No counter shows the reclaim priority. A limit reclaim call has a target
 * of max(nr_pages, SWAP_CLUSTER_MAX = 32) pages and leaves its priority
 * loop (12 down to 0) as soon as it met it; a call that misses it runs
 * down to priority 0, and vmpressure_prio() injects a window of 512
 * scanned / 0 reclaimed at each of priorities 3, 2, 1, 0. Calls that free
 * less than their target are the ones on the way to an OOM, and they cause
 * the medium and critical windows. So the stand-in counts failed calls
 * (estimator.c gives each origin's calls, its own limit events, and the
 * pages attributed to it):
 *  - DEFICIT: every successful call freed >= 32 pages, so of `calls` calls
 *    that freed R pages at least ceil((32*calls - R)/32) failed. The
 *    shortfall is carried while unexplained (a surplus is not: banked
 *    surplus would hide a later failure) and one call's worth (32 pages,
 *    EST_INFLIGHT_TOL) is tolerated, because an event is counted when a
 *    call starts and its pages when they are freed. This bound gives no
 *    false positive when reclaim works (R >= 32 per call, whatever the mix).
 *  - LEARN: successful calls overshoot the target, so the bound
 *    undercounts. Once the bound shows a failure, the count is raised to
 *    calls - R/avg, avg being the pages per call of recent intervals
 *    without failure (an EWMA over intervals of at least
 *    EST_LEARN_MIN_CALLS calls, so that one call's timing does not move
 *    it, clamped to [32, EST_LEARN_MAX]: a call frees its target and at
 *    most the batch that crosses it). Never used while the bound is 0.
 *  - OOM: a memcg OOM (`oom` in memory.events.local) comes only after
 *    EST_OOM_FAILS calls that freed nothing; if fewer failures were seen in
 *    the last EST_FAIL_MEMORY_NS, the missing ones are added. When the OOM
 *    killed (`oom_kill` at the origin grew), the charge starts over, and
 *    when the charging task was the victim, as with one task filling its
 *    group, EST_OOM_KILL_FAILS more calls fail (a dying task gives up only
 *    then): they are added as well (without KILLSEEN, failures seen
 *    within EST_KILL_WINDOW_NS are taken as these, not added again). At
 *    the sampling interval they often share an interval with the
 *    successful calls before them, which hides them from the bound.
 *  - KILLSEEN: a victim other than the charger frees its memory while the
 *    charger retries, and fewer of the 17 fail. Every limit reclaim call
 *    raises `max` first, so no more of them are taken than the
 *    interval's calls beyond those of the 18 it must hold; retries after
 *    the sample are failures of the next interval.
 *  - GRACE: the one call's worth of tolerance holds for one reclaimer
 *    reading slowly; with calls on several CPUs, and memory.events read
 *    apart from memory.stat, the pages of several calls counted in one
 *    interval show only in the next (on 2 vCPUs, streaming siblings:
 *    19 calls and 462 pages, then 47 calls and 2310). So an interval is
 *    judged one interval late, with as many of the next interval's pages
 *    as its shortfall needs and the next one can spare beyond its own 32
 *    a call. A real failure is not repaid: reclaim keeps failing, or the
 *    group stops. One sample later (100 ms), except at an oom event,
 *    which judges both at once.
 *  - PSI: a failed call stalls its task (reclaim runs inside a PSI
 *    memstall), so where PSI works an interval without any `some` stall at
 *    the origin has no failed call. This keeps out `max` events of forced
 *    (atomic, __GFP_HIGH) charges, which are raised without any reclaim.
 *  - ONSET: reclaim does not fail all at once. On the way to an OOM the
 *    calls go ever deeper (priority 7, 6, ... 3) while still meeting their
 *    target; the first ones to reach priority 3 freed less than 32 pages
 *    before it, and each injection meets the pages freed since the
 *    previous window: those windows are medium (512 + 32 scanned, 32 freed:
 *    94 %), the later ones, with nothing left to free, critical. The
 *    counters show none of it (at the sampling interval those calls look
 *    healthy), so the first failed call of an episode (no failure in the
 *    last EST_EPISODE_NS) has its EST_ONSET_WINDOWS injections meet a share
 *    each of the EST_ONSET_PAGES real pages that estimator.c holds back (a
 *    batch, when reclaim ran up to the failure), if those were freed within
 *    EST_EPISODE_NS; else they are pure 512/0, as in the kernel when
 *    nothing was freed. MGLRU (lru_gen on) does not scan a share of each
 *    list per priority: a failing call scans nothing at all on its way
 *    down, and only the first injection meets real pages, those left in
 *    the origin's window since its last evaluation. So there the held-back
 *    pages all go to the first injection, beside that residue: one
 *    window, medium when enough of it was freed, else critical.
 * Each failed call becomes 4 vmp_account_prio() injections at the origin
 * per priority loop it runs, after the interval's real windows (failures
 * come last, on the way to the OOM). PASSES: a failed limit reclaim call
 * runs its priority loop once on 6.1 and twice on 6.12 (every OOM
 * recorded on 6.12: twice as many loops down to priority 0 as `max`
 * events), so the kernel's release sets the loops per failed call
 * (vmp__est_fail_passes()); the calls around an OOM (18 + 17) are the
 * same on both. But on 6.12 the kernel's deferred work coalesces about a
 * quarter of those injections (scheduling: 5b in estimator.c), so the
 * loops injected per call (vmp_est_config.fail_passes) stay 1 by
 * default, which meets more goals on the tuning workloads. The root
 * keeps one loop: no tuning workload has a global OOM.
 *
 * CROWD: each injection that fills a window queues the kernel's job on the
 * charger's CPU, and injections made before a worker gets that CPU
 * coalesce into one window. From 6.6 (EEVDF, where a woken worker no
 * longer preempts the charger as under CFS: the likely cause) that depends
 * on how many tasks wait for the CPUs: on 6.12 the share of injections
 * after which the job ran fell from 0.5-1 to 0.05 as the tasks waiting per
 * CPU went from 0 to 4; on 6.1 it stayed 1. The one loop injected per
 * failed call already stands for a share of 0.5 (PASSES), so with w tasks
 * waiting per CPU over the interval (/proc/schedstat, vmp__est_set_sched())
 * above EST_CROWD_WAIT the job runs after a share (EST_CROWD_WAIT / w)^2 of
 * the injections (the curve fitted on the tuning workloads), and those in
 * between are fed as the one call they add up to: under the inline
 * executor a skipped job alone would coalesce nothing. The first
 * injection of a step still runs alone: it completes the window that real
 * reclaim began, and merged with more would read medium, which no crowded
 * capture shows.
 *
 * DEPTH (memory.high calls: HIGH; memory.max calls: DEPTH_MAX). A call
 * that meets its target also goes down the priorities, and where it gets
 * below 4 the kernel injects there too, though the call succeeded. A call
 * scans each list's size >> priority at each priority, so by the start of
 * priority p it has scanned about F >> p of a file LRU of F pages (the sum
 * of the shifts above p) and freed eff times that, eff being the interval's
 * R/S. It injects at p when that is still short of its target T: eff * F <
 * T << p. T is a charge batch (64 pages, MEMCG_CHARGE_BATCH) for a call at
 * memory.high (the pages charged over it) and SWAP_CLUSTER_MAX (32) at
 * memory.max. The call's pages meet its first injection, at priority 3
 * (a few dozen freed against 512 + those scanned: medium); the deeper
 * injections meet next to nothing (critical), as in the kernel's captures
 * (docs/estimator.md, "DEPTH"). The rule needs the origin's file LRU
 * (memory.stat active_file + inactive_file) and holds only where reclaim
 * scans by priority and the file LRU is what it scans: not with MGLRU
 * (lru_gen: generations, not shares per priority), not where swap-out is
 * most of what the calls free (the anonymous lists are scanned too, a
 * larger F). The counters cannot show which calls of an interval went
 * deep: they take the list as it went over the interval (one that shrank
 * by its share for each call in turn; one that grew was filling the group,
 * and the calls come at its limit: its end). And ONSET
 * was a stand-in for just these calls, the deep ones on the way to a
 * failure: where DEPTH_MAX can see them (the lists known, classic LRU) it
 * takes ONSET's place.
 *
 * The root: the same, with allocstall as the calls and vmstat
 * pgsteal_direct as the pages (global direct reclaim also has a target of
 * 32 pages), and vmstat oom_kill not explained by any group's oom_kill
 * (with allocstall growing) as a global OOM, after EST_GLOBAL_OOM_FAILS
 * failed calls (the page allocator lets a dying task at the reserves, so
 * nothing is added after the kill).
 *
 * Not stand-ins: PSI `full` is as high during a harmless page-cache stream
 * as on the way to an OOM (VMP_EST_PRIO_PSI_FULL, lmkd's threshold, is kept
 * only to measure it); allocstall never moves for cgroup limit reclaim;
 * oom_kill is raised where the victim lives, not at the limit that failed.
 * The stand-in fires at the first sample after the failures began: nothing
 * in the counters gives earlier warning. The figures: docs/estimator.md.
 *
 * Depends on the estimator's state (internal.h) and the engine's API
 * through the recording tap; no I/O, no clock.
 */
#include "estimator/internal.h"
#include "sources/tap.h"

#include <string.h>

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
/* Pages of shortfall tolerated: one call counted before its pages. */
#define EST_INFLIGHT_TOL EST_BATCH
/* Learning pages per successful call: only from steps with enough calls,
 * smoothed, clamped. */
#define EST_LEARN_MIN_CALLS 8u
#define EST_LEARN_ALPHA 0.25
#define EST_LEARN_MAX 64.0
/* CROWD: tasks waiting per CPU below which the job runs after every
 * injection. */
#define EST_CROWD_WAIT 1.0
/* Failures seen this recently can be the ones that led to an oom event. */
#define EST_FAIL_MEMORY_NS 5000000000u
/* VMP_EST_PRIO_PSI_FULL: lmkd's critical threshold (70 ms of full stall per
 * second). */
#define EST_PSI_FULL_SHARE 0.07

/* Expectations that have lapsed: failures too old to explain an oom, and
 * the calls after a kill that never showed. */
static void lapse(struct est_origin *o, uint64_t now)
{
	if (o->unclaimed && now - o->last_fail_ns > EST_FAIL_MEMORY_NS)
		o->unclaimed = 0;
	if (o->prepaid && now - o->prepaid_ns > EST_KILL_WINDOW_NS)
		o->prepaid = 0;
}

/* LEARN: the pages per call of an interval without failure. */
static void learn(struct est_origin *o, uint64_t calls, uint64_t R)
{
	double per = (double)R / (double)calls;
	if (per < EST_BATCH)
		per = EST_BATCH;
	if (per > EST_LEARN_MAX)
		per = EST_LEARN_MAX;
	o->avg_ok += EST_LEARN_ALPHA * (per - o->avg_ok);
}

/* DEFICIT (and LEARN): the calls that cannot have met their target. */
static uint64_t deficit_core(unsigned f, struct est_origin *o, uint64_t calls, uint64_t R,
			     bool stalled)
{
	if (!calls)
		return 0;
	if (!stalled) {
		/* Limit events with no stall at all: forced (atomic) charges
		 * raise `max` without reclaiming; no reclaim call failed. */
		o->credit = 0;
		return 0;
	}
	uint64_t need = calls > UINT64_MAX / EST_BATCH ? UINT64_MAX : calls * EST_BATCH;
	int64_t t = vmp__est_sat_add(o->credit, vmp__est_sdiff(R, need));
	o->credit = t > 0 ? 0 : t; /* a surplus is not banked */
	uint64_t short_by = (uint64_t)-o->credit;
	uint64_t hard = 0;
	if (short_by > EST_INFLIGHT_TOL)
		hard = (short_by - EST_INFLIGHT_TOL + EST_BATCH - 1) / EST_BATCH;
	uint64_t fails = hard;
	if ((f & VMP_EST_PRIO_LEARN) && hard) {
		double learned = (double)calls - (double)R / o->avg_ok;
		if (learned > (double)fails)
			fails = (uint64_t)learned;
	}
	if (fails > calls)
		fails = calls;
	int64_t explained = fails > (uint64_t)INT64_MAX / EST_BATCH ? INT64_MAX
								  : (int64_t)(fails * EST_BATCH);
	t = vmp__est_sat_add(o->credit, explained);
	o->credit = t > 0 ? 0 : t;
	if ((f & VMP_EST_PRIO_LEARN) && !hard && calls >= EST_LEARN_MIN_CALLS)
		learn(o, calls, R);
	return fails;
}

/* GRACE: an interval is judged one interval late, with the pages of the
 * next one that its shortfall needs, as far as the next one has them to
 * spare (beyond 32 a call). flush: judge the held interval and this one
 * now (an oom: the failures are certain and wanted before it). */
static uint64_t deficit_fails(unsigned f, struct est_origin *o, uint64_t calls, uint64_t R,
			      bool stalled, bool flush)
{
	if (!(f & VMP_EST_PRIO_DEFICIT))
		return 0;
	if (!(f & VMP_EST_PRIO_GRACE))
		return deficit_core(f, o, calls, R, stalled);
	uint64_t fails = 0;
	if (o->held) {
		uint64_t need = o->held_calls > UINT64_MAX / EST_BATCH ? UINT64_MAX
								      : o->held_calls * EST_BATCH;
		uint64_t own = calls > UINT64_MAX / EST_BATCH ? UINT64_MAX : calls * EST_BATCH;
		uint64_t short_by = need > o->held_R ? need - o->held_R : 0;
		uint64_t spare = R > own ? R - own : 0;
		uint64_t moved = short_by < spare ? short_by : spare;
		fails = deficit_core(f, o, o->held_calls, o->held_R + moved, o->held_stalled);
		R -= moved;
		o->held = false;
	}
	if (flush || !calls) {
		uint64_t more = deficit_core(f, o, calls, R, stalled);
		return fails > UINT64_MAX - more ? UINT64_MAX : fails + more;
	}
	o->held = true;
	o->held_calls = calls;
	o->held_R = R;
	o->held_stalled = stalled;
	return fails;
}

/* Failures after a kill that were injected ahead are not new. */
static uint64_t less_prepaid(struct est_origin *o, uint64_t fails)
{
	if (fails && o->prepaid) {
		uint64_t seen = fails < o->prepaid ? fails : o->prepaid;
		o->prepaid -= seen;
		fails -= seen;
	}
	return fails;
}

static void note_fails(struct est_origin *o, uint64_t now, uint64_t fails)
{
	if (fails) {
		o->unclaimed += fails;
		o->last_fail_ns = now;
		o->had_fail = true;
	}
}

/* OOM: the failed calls that ooms OOM invocations (kills of them killed)
 * imply, less those already seen. KILLSEEN: the calls after a kill are
 * only those of the interval (calls) beyond the failures before the OOM
 * that it must hold, those not seen earlier (earlier): every limit
 * reclaim call raises `max` first, so a charge that the victim's freed
 * memory let through shows as fewer calls. The ones still to come show
 * as failures later, and are injected then. */
static uint64_t oom_fails(unsigned f, struct est_origin *o, uint64_t now, uint64_t ooms,
			  uint64_t kills, uint64_t per_oom, uint64_t calls, uint64_t earlier)
{
	if (kills > ooms)
		kills = ooms;
	uint64_t before = ooms > UINT64_MAX / per_oom ? UINT64_MAX : ooms * per_oom;
	uint64_t after = kills > UINT64_MAX / EST_OOM_KILL_FAILS ? UINT64_MAX : kills * EST_OOM_KILL_FAILS;
	bool seen = f & VMP_EST_PRIO_KILLSEEN;
	if (seen) {
		uint64_t here = before > earlier ? before - earlier : 0;
		uint64_t beyond = calls > here ? calls - here : 0;
		if (after > beyond)
			after = beyond;
	}
	uint64_t need = before > UINT64_MAX - after ? UINT64_MAX : before + after;
	uint64_t claim = o->unclaimed < need ? o->unclaimed : need;
	o->unclaimed -= claim;
	/* The calls after the kill may still be to come: seen later, they are
	 * the ones injected now (not with KILLSEEN: those were seen). */
	o->prepaid = seen ? 0 : need - claim < after ? need - claim : after;
	o->prepaid_ns = now;
	o->last_fail_ns = now;
	o->had_fail = true;
	return need - claim;
}

static uint64_t estimate_fails(struct vmp_est *e, struct est_origin *o, uint64_t now,
			       uint64_t calls, uint64_t R, uint64_t ooms, uint64_t kills,
			       uint64_t per_oom, double full, bool stalled)
{
	const unsigned f = e->cfg.prio;
	lapse(o, now);
	uint64_t earlier = o->unclaimed;
	uint64_t fails = deficit_fails(f, o, calls, R, stalled, ooms != 0);
	if ((f & VMP_EST_PRIO_PSI_FULL) && calls && full >= EST_PSI_FULL_SHARE)
		fails++;
	fails = less_prepaid(o, fails);
	note_fails(o, now, fails);
	if ((f & VMP_EST_PRIO_OOM) && ooms)
		fails += oom_fails(f, o, now, ooms, kills, per_oom, calls, earlier);
	return fails;
}

uint64_t vmp__est_memcg_fails(struct vmp_est *e, struct est_origin *o, uint64_t now, uint64_t calls,
			 uint64_t R, uint64_t ooms, uint64_t kills, double full, bool stalled)
{
	return estimate_fails(e, o, now, calls, R, ooms, kills, EST_OOM_FAILS, full, stalled);
}

uint64_t vmp__est_global_fails(struct vmp_est *e, struct est_origin *o, uint64_t now, uint64_t calls,
			  uint64_t R, uint64_t ooms, double full, bool stalled)
{
	return estimate_fails(e, o, now, calls, R, ooms, 0, EST_GLOBAL_OOM_FAILS, full, stalled);
}

bool vmp__est_episode_over(const struct est_origin *o, uint64_t now)
{
	return !o->had_fail || now - o->last_fail_ns > EST_EPISODE_NS;
}

/* ONSET: how many of the first injections meet held-back pages. */
static unsigned onset_pieces(const struct vmp_est *e, const struct est_origin *o, uint64_t now,
			     uint64_t fails, bool onset)
{
	if (fails && onset && (e->cfg.prio & VMP_EST_PRIO_ONSET) && o->pend_s &&
	    now - o->pend_ns <= EST_EPISODE_NS)
		return e->cfg.lru_gen == 1 ? 1 : EST_ONSET_WINDOWS;
	return 0;
}

/* One injection's share of the held-back pages, fed before it. */
static void onset_piece(struct vmp_est *e, vmp_group *g, struct est_origin *o, unsigned pieces)
{
	uint64_t ps = o->pend_s / pieces;
	uint64_t pr = o->pend_s ? vmp__est_muldiv(o->pend_r, ps, o->pend_s) : 0;
	if (!ps)
		return;
	vmp__tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, ps, pr);
	o->pend_s -= ps;
	o->pend_r -= pr;
	e->st.scanned += ps;
	e->st.reclaimed += pr;
}

/* CROWD: the share of injections after which the kernel's job runs. */
static double crowd_keep(const struct vmp_est *e)
{
	if (!(e->cfg.prio & VMP_EST_PRIO_CROWD) || e->cfg.kernel < VMP_EST_KERNEL(6, 6) ||
	    !(e->crowd_wait > EST_CROWD_WAIT))
		return 1;
	double r = EST_CROWD_WAIT / e->crowd_wait;
	return r * r;
}

/* CROWD: injections made before the job got the CPU, as the one call
 * they add up to (one evaluation, under any executor). */
static void feed_held(struct vmp_est *e, vmp_group *g, uint64_t *held)
{
	if (!*held)
		return;
	uint64_t s = *held > UINT64_MAX / e->window ? UINT64_MAX : *held * e->window;
	vmp__tap_account(e->tap, e->now_ns, e->ctx, g, EST_GFP, true, s, 0);
	vmp__est_run_job(e, g);
	*held = 0;
}

void vmp__est_feed_prio(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t now,
		   uint64_t fails, bool onset, unsigned passes)
{
	unsigned pieces = onset_pieces(e, o, now, fails, onset);
	const double keep = crowd_keep(e);
	double due = 0;
	uint64_t held = 0;
	for (uint64_t k = 0; k < fails; k++) {
		for (unsigned pass = 0; pass < passes; pass++) {
			for (int prio = VMP_CRIT_PRIO; prio >= 0; prio--) {
				e->st.prio_windows++;
				due += keep;
				bool first = k == 0 && pass == 0 && prio == VMP_CRIT_PRIO;
				if (keep >= 1 || first || pieces) {
					if (pieces)
						onset_piece(e, g, o, pieces--);
					vmp__tap_prio(e->tap, e->now_ns, e->ctx, g, EST_GFP, prio);
					vmp__est_run_job(e, g);
					if (due >= 1)
						due -= 1;
					continue;
				}
				held++;
				if (due >= 1) {
					due -= 1;
					feed_held(e, g, &held);
				}
			}
		}
		o->res_s = o->res_r = 0;
	}
	feed_held(e, g, &held);
	e->st.failed_calls += fails;
}

bool vmp__est_deep_calls(const struct vmp_est *e, uint64_t calls, uint64_t S, uint64_t R, uint64_t f0,
			 uint64_t f1, uint64_t swapout, unsigned target, uint64_t at[4])
{
	memset(at, 0, 4 * sizeof(at[0]));
	if (!calls || !S || !R || e->cfg.lru_gen == 1)
		return false;
	if (swapout > R / 2)
		return false; /* mostly anonymous pages: the lists are larger than F */
	/* A list that shrank over the interval was reclaimed (or pushed out)
	 * while the calls ran: call j sees f0 - (f0 - f1) (2j + 1) / 2calls. One
	 * that grew was filling the group, and the calls come once the group
	 * is at its limit: they see f1. A call injects at p when eff * F < T
	 * << p, eff = R/S: R * F < S * (T << p). In doubles: a threshold, and
	 * no 128-bit integers on 32-bit machines. */
	const double eff = (double)R / (double)S;
	for (uint64_t j = 0; j < calls; j++) {
		double F = (double)f1;
		if (f1 < f0)
			F = (double)f0 - (double)(f0 - f1) * (double)(2 * j + 1) / (double)(2 * calls);
		double have = eff * F;
		if (have >= (double)target * (1u << VMP_CRIT_PRIO))
			continue;
		int p = VMP_CRIT_PRIO;
		while (p > 0 && have < (double)target * (1u << (p - 1)))
			p--;
		at[p]++;
	}
	return true;
}

void vmp__est_feed_deep(struct vmp_est *e, vmp_group *g, struct est_origin *o, uint64_t calls,
			uint64_t S, uint64_t R, int pmin)
{
	for (uint64_t k = 0; k < calls; k++) {
		uint64_t cs = S / (calls - k), cr = R / (calls - k);
		S -= cs;
		R -= cr;
		vmp__est_feed_windows(e, g, o, cs, cr);
		for (int p = VMP_CRIT_PRIO; p >= pmin; p--) {
			vmp__tap_prio(e->tap, e->now_ns, e->ctx, g, EST_GFP, p);
			vmp__est_run_job(e, g);
			e->st.prio_windows++;
			o->res_s = o->res_r = 0;
		}
	}
}
