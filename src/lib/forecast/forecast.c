/* SPDX-License-Identifier: MIT */
/*
 * The OOM forecast: how long until the OOM killer acts, at the present
 * trend (API in vmpressure.h, docs/forecast.md).
 *
 * This folder is pure: counters and the caller's time in, a forecast out.
 * No I/O, no clock, no allocation after a handle has seen its path; it
 * depends on nothing but libc and the public header, so it is unit-tested
 * on made-up sequences and re-run offline on recordings.
 *
 * Theory of operation.
 *
 * What the OOM killer waits for. A memory cgroup is OOM-killed when a
 * charge cannot be met below memory.max after reclaim has failed: when
 * what reclaim can free is gone. Page cache (the file LRU) and reclaimable
 * slab are freed on demand; anonymous memory, shmem, unevictable pages and
 * the rest of kernel memory are not, except to swap while the group and
 * the machine still have swap. So per group:
 *   U (unreclaimable, in memory) = usage - file LRU - reclaimable slab
 *   V = U + swap used                  what only the OOM killer ends
 *   headroom = max - U + swap usable   what V may still grow by
 * Page cache streaming through the limit leaves U flat however much it
 * churns, which is why it never warns; its churn shows only in the
 * evidence (refaults, reclaim efficiency). A group below its memory.high
 * is throttled there (the kernel makes its allocators sleep) long before
 * max: it decides only once U is past high.
 *
 * Every group on the path with a limit is a candidate, and the machine
 * (headroom MemAvailable + SwapFree); the earliest eta decides.
 *
 * Growth. V's trend is a least-squares line over two windows ending at
 * the latest sample: a short one (the sampling of a few hundred ms must
 * resolve an approach of two seconds) and a long one (a slow leak whose
 * growth per short window is lost in the noise). Each counts only once the
 * history reaches back to its start (or its samples span 90 % of it), so a
 * burst shorter than the short window never forecasts. The growth used is
 * the slope less `sigma` standard errors: noise around a flat set is not
 * growth. It must be sustained: each half of the window grew at half the
 * window's rate or more, so a burst that stopped (or began) within it is
 * no trend. And a window extrapolates at most ten times its length: the
 * trend of one second says nothing of the next minute near a flat set,
 * where noise is most of what moves (the long window covers those); the
 * short one no further than half the long window, past which the long one
 * has the same trend in time to warn.
 * eta = headroom / growth when that is positive.
 *
 * Warnings: a warning when eta stays under warn_s for `confirm` samples,
 * none of them under least_s: a steady approach long enough to be warned
 * in time always first shows a trend with a second or more left (the
 * short window sees it a second after it began), so a first trend that
 * says less is a fill too fast for anyone to act on, or a burst at its
 * end, and the kernel's own critical is as early. Another warning only
 * when eta falls under `reraise` times what the last one left (its eta
 * less the time since), and by a short window or more (a difference the
 * trend cannot resolve is none): a steady approach is one warning, one
 * that speeds up is warned again. Cleared once eta has been above
 * clear * warn_s (or none) for clear_hold_s, or at once by an OOM kill in
 * the watched group or at the level that decided the warning (the
 * approach ended) or the watched cgroup vanishing.
 */
#include "forecast.h"
#include "vmpressure.h"
#include "../export.h"
#include "../error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Points kept per group: the long window at the 100 ms the live readers
 * sample, with room to spare; a faster caller gets a shorter long window. */
#define CAP 1024u
/* A window counts once its points span this fraction of it. */
#define SPAN_MIN 0.9

struct point {
	double t, v;
	double refaults, pgscan, pgsteal;
	bool reclaim;
};

struct level {
	char *path;
	bool have;              /* a baseline: the counters below are valid */
	uint64_t refaults, pgscan, pgsteal, oom_kills;
	struct point *p;
	size_t n;
	/* this sample's figures */
	bool candidate;
	double headroom, eta, growth;
	uint64_t limit, usage, u, r, swap_usage, swap_free;
};

struct vmp_forecast {
	struct vmp_forecast_config cfg;
	struct level *lv;       /* lv[0..nlv): groups; machine separate */
	size_t nlv, cap;
	struct level machine;
	bool started;
	double now;
	bool warning;
	unsigned streak;
	double warn_eta;        /* eta of the last warning */
	double warn_time;       /* and its time */
	int warn_decider;       /* and the level that decided it (-1: the machine) */
	double calm_since;      /* negative: not calm */
	uint64_t warnings;
};

VMP_EXPORT void vmp_forecast_config_init(struct vmp_forecast_config *cfg)
{
	cfg->warn_s = 30;
	cfg->window_s = 1;
	cfg->long_s = 8;
	cfg->sigma = 3;
	cfg->confirm = 2;
	cfg->least_s = 1;
	cfg->reraise = 0.5;
	cfg->clear = 2;
	cfg->clear_hold_s = 2;
}

static bool config_ok(const struct vmp_forecast_config *c)
{
	return c->warn_s > 0 && c->warn_s <= 86400 && c->window_s >= 0.01 && c->window_s <= 3600 &&
	       c->long_s >= c->window_s && c->long_s <= 3600 && c->sigma >= 0 && c->sigma <= 100 &&
	       c->confirm >= 1 && c->confirm <= 1000000 && c->least_s >= 0 && c->least_s <= 3600 &&
	       c->reraise > 0 && c->reraise < 1 && c->clear >= 1 &&
	       c->clear <= 1000 && c->clear_hold_s >= 0 && c->clear_hold_s <= 3600;
}

VMP_EXPORT const char *vmp_fc_event_name(vmp_fc_event e)
{
	static const char *const n[] = {"none", "forecast", "forecast-clear"};
	return (unsigned)e < 3 ? n[e] : NULL;
}

VMP_EXPORT const char *vmp_fc_cause_name(vmp_fc_cause c)
{
	static const char *const n[] = {"none", "eta", "reraise", "killed", "gone"};
	return (unsigned)c < 5 ? n[c] : NULL;
}

/* ---- settings ---------------------------------------------------------- */

static int perr(struct vmp_error *err, size_t off, const char *what, const char *v, size_t vn)
{
	char fmt[128];
	snprintf(fmt, sizeof(fmt), "%s '%%s%%s'", what);
	return vmp__error_at(err, off, fmt, v, vn);
}

/* A decimal: digits, an optional fraction; with unit, "ms" or "s". */
static bool parse_num(const char *v, size_t n, bool unit, double *out)
{
	size_t i = 0;
	double x = 0, scale = 1;
	size_t digits = 0;
	while (i < n && v[i] >= '0' && v[i] <= '9' && digits < 12) {
		x = x * 10 + (v[i++] - '0');
		digits++;
	}
	if (!digits)
		return false;
	if (i < n && v[i] == '.') {
		i++;
		size_t f = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9' && f < 9) {
			scale /= 10;
			x += (v[i++] - '0') * scale;
			f++;
		}
		if (!f)
			return false;
	}
	if (unit && n - i == 2 && !memcmp(v + i, "ms", 2)) {
		x /= 1000;
		i += 2;
	} else if (unit && n - i == 1 && v[i] == 's')
		i++;
	if (i != n)
		return false;
	*out = x;
	return true;
}

VMP_EXPORT int vmp_forecast_parse(const char *s, struct vmp_forecast_config *out, struct vmp_error *err)
{
	static const char *const keys[] = {"warn", "window", "long", "sigma", "confirm", "reraise", "clear", "hold",
					   "least"};
	enum { NK = 9 };
	struct vmp_forecast_config c;
	vmp_forecast_config_init(&c);
	if (err)
		memset(err, 0, sizeof(*err));
	if (!s || !out)
		return -EINVAL;
	struct vmp__kvlist l;
	struct vmp__kv kv;
	int more;
	vmp__kv_init(&l, s, keys, NK, "warn, window, long, sigma, confirm, reraise, clear, hold, least");
	while ((more = vmp__kv_next(&l, &kv, err)) > 0) {
		unsigned k = kv.key;
		const char *v = kv.v;
		size_t vn = kv.vn;
		double x;
		bool dur = k == 0 || k == 1 || k == 2 || k == 7 || k == 8;
		if (!parse_num(v, vn, dur, &x))
			return perr(err, kv.voff, dur ? "not a duration (e.g. 30, 1.5s, 500ms):" : "not a decimal number:",
				    v, vn);
		switch (k) {
		case 0: c.warn_s = x; break;
		case 1: c.window_s = x; break;
		case 2: c.long_s = x; break;
		case 3: c.sigma = x; break;
		case 4:
			if (x != floor(x))
				return perr(err, kv.voff, "confirm is not a whole number:", v, vn);
			c.confirm = x > 1e6 ? 1000001u : (unsigned)x;
			break;
		case 5: c.reraise = x; break;
		case 6: c.clear = x; break;
		case 7: c.clear_hold_s = x; break;
		case 8: c.least_s = x; break;
		}
	}
	if (more < 0)
		return more;
	if (!config_ok(&c)) {
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "out of range: warn 0-86400 s (not 0), window 0.01-3600 s, long window..3600 s, "
				 "sigma 0-100, confirm 1-1000000, least 0-3600 s, reraise between 0 and 1, clear 1-1000, "
				 "hold 0-3600 s");
		return -EINVAL;
	}
	*out = c;
	return 0;
}

/* ---- the trend --------------------------------------------------------- */

/* The fit over n points at t and v, stride bytes apart. */
static void fit_strided(const double *t, const double *v, size_t stride, size_t n, double t_from,
			struct vmp_fc_fit *out)
{
#define AT(a, i) (*(const double *)((const char *)(a) + (i) * stride))
	struct vmp_fc_fit f = {0};
	size_t first = n;
	for (size_t i = 0; i < n; i++)
		if (AT(t, i) >= t_from) {
			first = i;
			break;
		}
	f.n = n - first;
	if (f.n >= 2) {
		double mt = 0, mv = 0;
		for (size_t i = first; i < n; i++) {
			mt += AT(t, i);
			mv += AT(v, i);
		}
		mt /= (double)f.n;
		mv /= (double)f.n;
		double sxx = 0, sxy = 0;
		for (size_t i = first; i < n; i++) {
			sxx += (AT(t, i) - mt) * (AT(t, i) - mt);
			sxy += (AT(t, i) - mt) * (AT(v, i) - mv);
		}
		f.span = AT(t, n - 1) - AT(t, first);
		if (sxx > 0) {
			f.slope = sxy / sxx;
			if (f.n >= 3) {
				double sse = 0;
				for (size_t i = first; i < n; i++) {
					double r = AT(v, i) - mv - f.slope * (AT(t, i) - mt);
					sse += r * r;
				}
				f.se = sqrt(sse / (double)(f.n - 2) / sxx);
			}
		}
	}
	*out = f;
#undef AT
}

void vmp__fc_fit_line(const double *t, const double *v, size_t n, double t_from, struct vmp_fc_fit *out)
{
	fit_strided(t, v, sizeof(double), n, t_from, out);
}

/* Points are in time order: the fit over those from t_from on. */
static void fit_level(const struct level *l, double t_from, struct vmp_fc_fit *out)
{
	fit_strided(&l->p[0].t, &l->p[0].v, sizeof(struct point), l->n, t_from, out);
}

static void level_forget(struct level *l)
{
	l->n = 0;
	l->have = false;
}

static void level_free(struct level *l)
{
	free(l->path);
	free(l->p);
	memset(l, 0, sizeof(*l));
}

static int level_push(struct level *l, const struct point *pt, double keep_from)
{
	if (!l->p && !(l->p = malloc(CAP * sizeof(*l->p))))
		return -ENOMEM;
	size_t drop = 0;
	while (drop < l->n && l->p[drop].t < keep_from)
		drop++;
	if (l->n - drop >= CAP)
		drop = l->n - CAP + 1;
	if (drop) {
		memmove(l->p, l->p + drop, (l->n - drop) * sizeof(*l->p));
		l->n -= drop;
	}
	l->p[l->n++] = *pt;
	return 0;
}

/* eta of a candidate from its history: the least over the windows. A
 * window counts when it is covered (SPAN_MIN), its growth is more than
 * noise (slope - sigma * se > 0) and sustained (each half of it grew at
 * least HALF_MIN of the whole's rate: a burst that stopped, or one that
 * began within the window, is not a trend), and it extrapolates at most
 * REACH times its own length; the short one no further than half the long
 * window: past that the long window, which holds the same trend and more,
 * judges it (docs/forecast.md, "reach", has the arithmetic: an approach the
 * long window cannot see in time needs less lead than that). */
#define HALF_MIN 0.5
#define REACH 10.0
#define SHORT_REACH_OF_LONG 0.5
static void level_eta(const struct vmp_forecast_config *c, struct level *l, double now)
{
	l->eta = -1;
	l->growth = 0;
	double wins[2] = {c->window_s, c->long_s};
	for (int w = 0; w < 2; w++) {
		struct vmp_fc_fit f, h1, h2;
		double from = now - wins[w] - 1e-9, mid = now - wins[w] / 2;
		fit_level(l, from, &f);
		/* covered: the history reaches back past the window's start, or
		 * its points span most of it (a sampler a little slower than
		 * window / 10 never spans 90 % with ten points) */
		bool covered = f.span >= SPAN_MIN * wins[w] || (l->n > 0 && l->p[0].t < from);
		if (f.n < 3 || !covered)
			continue;
		if (w == 0)
			l->growth = f.slope;
		double g = f.slope - c->sigma * f.se;
		if (g <= 0)
			continue;
		/* the halves: the first up to the middle, the second from it */
		size_t k = 0;
		while (k < l->n && l->p[k].t < from)
			k++;
		size_t m = k;
		while (m < l->n && l->p[m].t < mid)
			m++;
		fit_strided(&l->p[k].t, &l->p[k].v, sizeof(struct point), m - k + (m < l->n), from, &h1);
		fit_level(l, mid, &h2);
		if (h1.slope < HALF_MIN * f.slope || h2.slope < HALF_MIN * f.slope)
			continue;
		double eta = l->headroom > 0 ? l->headroom / g : 0;
		double reach = REACH * wins[w];
		if (w == 0 && reach > SHORT_REACH_OF_LONG * c->long_s)
			reach = SHORT_REACH_OF_LONG * c->long_s;
		if (eta > reach)
			continue;
		if (l->eta < 0 || eta < l->eta) {
			l->eta = eta;
			l->growth = f.slope;
		}
	}
}

/* ---- the model --------------------------------------------------------- */

VMP_EXPORT int vmp_forecast_new(vmp_forecast **out, const struct vmp_forecast_config *cfg)
{
	struct vmp_forecast_config c;
	if (cfg)
		c = *cfg;
	else
		vmp_forecast_config_init(&c);
	if (!out || !config_ok(&c))
		return -EINVAL;
	vmp_forecast *fc = calloc(1, sizeof(*fc));
	if (!fc)
		return -ENOMEM;
	fc->cfg = c;
	fc->calm_since = -1;
	*out = fc;
	return 0;
}

VMP_EXPORT void vmp_forecast_free(vmp_forecast *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->cap; i++)
		level_free(&fc->lv[i]);
	free(fc->lv);
	level_free(&fc->machine);
	free(fc);
}

static void forget_all(vmp_forecast *fc, bool counters)
{
	for (size_t i = 0; i < fc->nlv; i++) {
		fc->lv[i].n = 0;
		if (counters)
			fc->lv[i].have = false;
	}
	fc->machine.n = 0;
	if (counters)
		fc->machine.have = false;
	fc->streak = 0;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One group's figures; false if its counters say it is a new cgroup.
 * *killed when its oom_kill counter moved. */
static bool group_figures(struct level *l, const struct vmp_fc_group *g, const struct vmp_fc_machine *m,
			  bool *killed)
{
	bool fresh = l->have && (g->refaults < l->refaults || g->pgscan < l->pgscan ||
				 g->pgsteal < l->pgsteal || g->oom_kills < l->oom_kills);
	if (fresh)
		level_forget(l);
	else if (l->have && g->oom_kills > l->oom_kills)
		*killed = true;
	l->refaults = g->refaults;
	l->pgscan = g->pgscan;
	l->pgsteal = g->pgsteal;
	l->oom_kills = g->oom_kills;
	l->have = true;
	l->r = add_sat(g->file, g->slab_reclaimable);
	if (g->flags & VMP_FC_HAVE_USAGE) {
		l->usage = g->usage;
		l->u = sub0(g->usage, l->r);
	} else {
		l->u = add_sat(add_sat(g->anon, g->shmem), add_sat(g->unevictable, g->slab_unreclaimable));
		l->usage = add_sat(l->u, l->r);
	}
	l->limit = g->max;
	l->swap_usage = (g->flags & VMP_FC_HAVE_SWAP) ? g->swap_usage : 0;
	uint64_t room = 0;
	if (g->flags & VMP_FC_HAVE_SWAP) {
		room = g->swap_max == VMP_FC_UNLIMITED ? UINT64_MAX : sub0(g->swap_max, g->swap_usage);
		uint64_t mfree = m ? m->swap_free : 0; /* unknown machine swap: none counted */
		if (room > mfree)
			room = mfree;
	}
	l->swap_free = room;
	l->candidate = g->max != VMP_FC_UNLIMITED && !(g->high < g->max && l->u < g->high);
	l->headroom = l->candidate ? (double)g->max - (double)l->u + (double)room : 0;
	return !fresh;
}

static void machine_figures(struct level *l, const struct vmp_fc_machine *m, bool *killed)
{
	if (l->have && m->oom_kills < l->oom_kills)
		level_forget(l);
	else if (l->have && m->oom_kills > l->oom_kills)
		*killed = true;
	l->oom_kills = m->oom_kills;
	l->have = true;
	l->limit = m->mem_total;
	l->usage = sub0(m->mem_total, m->mem_available);
	l->u = l->usage;
	l->r = 0;
	l->swap_usage = sub0(m->swap_total, m->swap_free);
	l->swap_free = m->swap_free;
	l->candidate = m->mem_total > 0;
	l->headroom = (double)m->mem_available + (double)m->swap_free;
}

/* Refaults per second and pgsteal/pgscan over the short window. */
static void reclaim_evidence(const struct level *l, double from, double *refaults, double *eff)
{
	*refaults = -1;
	*eff = -1;
	size_t i = 0;
	while (i < l->n && l->p[i].t < from)
		i++;
	if (l->n < 2 || i >= l->n - 1)
		return;
	const struct point *a = &l->p[i], *b = &l->p[l->n - 1];
	if (b->t > a->t)
		*refaults = (b->refaults - a->refaults) / (b->t - a->t);
	if (a->reclaim && b->reclaim && b->pgscan > a->pgscan)
		*eff = (b->pgsteal - a->pgsteal) / (b->pgscan - a->pgscan);
}

VMP_EXPORT int vmp_forecast_step(vmp_forecast *fc, const struct vmp_fc_sample *s, struct vmp_fc_result *out)
{
	if (!fc || !s || !out || (s->ngroups && !s->groups) || !isfinite(s->time))
		return -EINVAL;
	if (fc->started && s->time < fc->now)
		return -EINVAL;
	for (size_t i = 0; i < s->ngroups; i++)
		if (!s->groups[i].path)
			return -EINVAL;
	if (s->ngroups > fc->cap) {
		struct level *nl = realloc(fc->lv, s->ngroups * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		memset(nl + fc->cap, 0, (s->ngroups - fc->cap) * sizeof(*nl));
		fc->lv = nl;
		fc->cap = s->ngroups;
	}
	/* Paths first: the only step that allocates, so a failure changes nothing. */
	for (size_t i = 0; i < s->ngroups; i++) {
		struct level *l = &fc->lv[i];
		if (!l->path || strcmp(l->path, s->groups[i].path) != 0) {
			char *p = strdup(s->groups[i].path);
			if (!p || (!l->p && !(l->p = malloc(CAP * sizeof(*l->p))))) {
				free(p);
				return -ENOMEM;
			}
			free(l->path);
			l->path = p;
			level_forget(l);
		}
	}
	if (s->machine && !fc->machine.p && !(fc->machine.p = malloc(CAP * sizeof(*fc->machine.p))))
		return -ENOMEM;
	for (size_t i = s->ngroups; i < fc->nlv; i++)
		level_forget(&fc->lv[i]);
	fc->nlv = s->ngroups;
	fc->started = true;
	fc->now = s->time;
	const struct vmp_forecast_config *c = &fc->cfg;
	memset(out, 0, sizeof(*out));
	out->eta = -1;
	out->decider = -2;
	out->refaults = out->efficiency = -1;
	out->psi_some_avg10 = s->psi_some_avg10;
	out->psi_full_avg10 = s->psi_full_avg10;

	if (!s->ngroups || (s->groups[0].flags & VMP_FC_GONE)) {
		if (fc->warning) {
			out->event = VMP_FC_EVENT_CLEAR;
			out->cause = VMP_FC_CAUSE_GONE;
		}
		fc->warning = false;
		forget_all(fc, true);
		out->path = s->ngroups ? s->groups[0].path : NULL;
		out->warnings = fc->warnings;
		return 0;
	}

	bool killed = false;
	double keep_from = s->time - c->long_s * 1.5;
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct vmp_fc_group *g = &s->groups[i];
		struct level *l = &fc->lv[i];
		l->candidate = false;
		if (g->flags & VMP_FC_GONE) {
			level_forget(l);
			continue;
		}
		bool k = false;
		group_figures(l, g, s->machine, &k);
		/* A kill ends the approach when it is the watched group's, or
		 * at the level that decided the standing warning: an ancestor's
		 * or the machine's counters also count kills elsewhere below
		 * them (a sibling's own limit; vmstat's oom_kill counts memcg
		 * kills too). */
		if (k && (i == 0 || (fc->warning && fc->warn_decider == (int)i)))
			killed = true;
		struct point pt = {s->time, (double)l->u + (double)l->swap_usage, (double)g->refaults,
				   (double)g->pgscan, (double)g->pgsteal, (g->flags & VMP_FC_HAVE_RECLAIM) != 0};
		level_push(l, &pt, keep_from);
	}
	struct level *ml = &fc->machine;
	ml->candidate = false;
	if (s->machine) {
		bool k = false;
		machine_figures(ml, s->machine, &k);
		if (k && fc->warning && fc->warn_decider == -1)
			killed = true;
		struct point pt = {s->time, (double)ml->u + (double)ml->swap_usage, 0, 0, 0, false};
		level_push(ml, &pt, keep_from);
	} else
		level_forget(ml);

	if (killed) {
		/* The approach ended; what follows is a new one. */
		if (fc->warning) {
			out->event = VMP_FC_EVENT_CLEAR;
			out->cause = VMP_FC_CAUSE_KILLED;
		}
		fc->warning = false;
		fc->calm_since = -1;
		for (size_t i = 0; i < fc->nlv; i++)
			if (fc->lv[i].n > 1) {
				fc->lv[i].p[0] = fc->lv[i].p[fc->lv[i].n - 1];
				fc->lv[i].n = 1;
			}
		if (ml->n > 1) {
			ml->p[0] = ml->p[ml->n - 1];
			ml->n = 1;
		}
		fc->streak = 0;
	}

	/* The earliest eta on the path decides. */
	struct level *dec = NULL;
	int di = -2;
	for (size_t i = 0; i <= s->ngroups; i++) {
		struct level *l = i < s->ngroups ? &fc->lv[i] : ml;
		if (!l->candidate)
			continue;
		level_eta(c, l, s->time);
		if (l->eta >= 0 && (!dec || dec->eta < 0 || l->eta < dec->eta)) {
			dec = l;
			di = i < s->ngroups ? (int)i : -1;
		} else if (!dec) {
			dec = l;
			di = i < s->ngroups ? (int)i : -1;
		}
	}
	double eta = dec ? dec->eta : -1;

	if (!killed) {
		if (!fc->warning) {
			/* least >= 0 keeps out "none" (-1); a threshold at or under it asks for what it holds back */
			double least = c->least_s < c->warn_s ? c->least_s : 0;
			fc->streak = eta >= least && eta < c->warn_s ? fc->streak + 1 : 0;
			if (fc->streak >= c->confirm) {
				fc->warning = true;
				fc->warn_eta = eta;
				fc->warn_time = s->time;
				fc->warn_decider = di;
				fc->calm_since = -1;
				fc->warnings++;
				out->event = VMP_FC_EVENT_WARN;
				out->cause = VMP_FC_CAUSE_ETA;
			}
		} else if (eta >= 0 && eta < c->reraise * (fc->warn_eta - (s->time - fc->warn_time)) &&
			   fc->warn_eta - (s->time - fc->warn_time) - eta >= c->window_s) {
			fc->warn_eta = eta;
			fc->warn_time = s->time;
			fc->warn_decider = di;
			fc->calm_since = -1;
			fc->warnings++;
			out->event = VMP_FC_EVENT_WARN;
			out->cause = VMP_FC_CAUSE_RERAISE;
		} else if (eta < 0 || eta > c->clear * c->warn_s) {
			if (fc->calm_since < 0)
				fc->calm_since = s->time;
			if (s->time - fc->calm_since >= c->clear_hold_s) {
				fc->warning = false;
				fc->streak = 0;
				out->event = VMP_FC_EVENT_CLEAR;
				out->cause = VMP_FC_CAUSE_ETA;
			}
		} else
			fc->calm_since = -1;
	}

	out->warning = fc->warning;
	out->warnings = fc->warnings;
	out->eta = eta;
	out->decider = di;
	/* The evidence: the decider's, else the watched group's. */
	const struct level *ev = dec ? dec : &fc->lv[0];
	if (!dec && (s->groups[0].flags & VMP_FC_GONE))
		ev = NULL;
	if (ev) {
		out->path = di == -1 ? "machine" : di >= 0 ? s->groups[di].path : s->groups[0].path;
		out->limit = ev->limit;
		out->usage = ev->usage;
		out->unreclaimable = ev->u;
		out->reclaimable = ev->r;
		out->swap_usage = ev->swap_usage;
		out->swap_free = ev->swap_free;
		out->headroom = ev->candidate ? ev->headroom : 0;
		out->growth = ev->candidate ? ev->growth : 0;
		reclaim_evidence(ev, s->time - c->window_s - 1e-9, &out->refaults, &out->efficiency);
	}
	return 0;
}
