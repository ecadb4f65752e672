/* SPDX-License-Identifier: MIT */
/*
 * Debounced level state: from a stream of notifications to "we are in
 * medium pressure now" (docs/debounce.md; API in vmpressure.h).
 *
 * Theory of operation.
 *
 * What is counted. The criterion is the number of notifications at each
 * level within a sliding time window, not a smoothed pressure: the kernel
 * already turned each window's pressure into a level (60 % and 95 %), and
 * on cgroup v1 the level and a count are all a listener gets (the kernel
 * says nothing of scanned or reclaimed pages). Counting works on every
 * source; pressure, where known, is kept as evidence only.
 *
 * The window is kept in SLOTS slices of window/SLOTS nanoseconds, each
 * with its counts per level and its evidence sums, stamped with its slice
 * number: memory is fixed whatever the rate (a heavy reclaim storm is
 * thousands of windows a second), and a notification leaves the count
 * between (SLOTS-1)/SLOTS of a window and one window after it came.
 *
 * States none < low < medium < critical. With ge(L) the notifications of
 * level >= L in the window (a critical notification is evidence for
 * medium too):
 *   - up: the highest L above the state with ge(L) >= enter. Raised at
 *     once, never delayed by the dwell: a late escalation is the costly
 *     error. Straight to L, without the levels between.
 *   - PSI confirmation (optional): an up transition is raised only when
 *     the latest PSI avg10 the caller gave (some or full) is at least
 *     psi_min; until then it is held. A held level stays held while
 *     ge(L) > leave, drops to the highest level still above that, and is
 *     abandoned when none is left. Unknown PSI never confirms.
 *   - down: once the state has lasted `dwell` and ge(state) <= leave, to
 *     the highest L below with ge(L) > leave, else none. leave < enter is
 *     the hysteresis: between the two, the state stays where it is.
 *
 * Time. Every input carries its time; nothing here reads a clock, so a
 * run is a pure function of its inputs (tests and bench/debounce_report.c
 * replay recorded streams). Before each input, every transition that
 * became due since the previous one (a slice expiring, a dwell ending) is
 * evaluated at its own due time, so the times raised do not depend on how
 * often the caller ticks; ticks only make them happen when nothing else
 * arrives.
 */
#include "vmpressure.h"
#include "util/clock.h"
#include "export.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slices per window: 1/64 of a window is the precision of expiry (16 ms
 * for the default second), for 64 * 56 bytes. */
#define SLOTS 64u

/* Bounds of the config, so that no value can overflow the arithmetic and
 * each stays meaningful: a window of at least 10 ms (64 slices of at least
 * 156 us), at most an hour; a dwell up to an hour. */
#define WINDOW_MIN_NS 10000000ull
#define WINDOW_MAX_NS 3600000000000ull
#define DWELL_MAX_NS 3600000000000ull
#define COUNT_MAX 1000000u

struct slot {
	uint64_t stamp;   /* slice number: time / width */
	uint64_t n[3];    /* notifications by level */
	uint64_t with_ev, scanned, reclaimed, max_pressure;
};

struct vmp_debounce {
	struct vmp_debounce_config cfg;
	vmp_transition_fn fn;
	void *arg;
	uint64_t width;          /* window_ns / SLOTS */
	struct slot slot[SLOTS];
	bool started;            /* an input has been seen */
	uint64_t now;            /* the latest time seen */
	vmp_state state;
	uint64_t since;          /* when the state was entered */
	bool entered;            /* ... by a transition (else since creation) */
	vmp_state pending;       /* held for PSI; NONE if nothing is */
	uint64_t pending_since;
	double psi_some, psi_full;
	bool has_real;           /* an input had real_ns: ... */
	uint64_t real_ref, mono_ref; /* ... the latest such, on both clocks */
	struct vmp_debounce_stats st;
};

VMP_EXPORT const char *vmp_state_name(vmp_state state)
{
	static const char *const names[] = {"none", "low", "medium", "critical"};
	return (unsigned)state < 4 ? names[state] : NULL;
}

VMP_EXPORT const char *vmp_cause_name(vmp_transition_cause cause)
{
	static const char *const names[] = {"enter", "confirmed", "leave"};
	return (unsigned)cause < 3 ? names[cause] : NULL;
}

/* ---- config -------------------------------------------------------------- */

VMP_EXPORT void vmp_debounce_config_init(struct vmp_debounce_config *cfg)
{
	/* Chosen with bench/debounce_report.c on every recorded stream (the
	 * kernel captures, the v2 runs' kernel and estimator streams);
	 * docs/debounce.md has the tables. In short: enter=2 does not raise
	 * a level on one window (enter=1 flaps) and costs a median 1 ms, no
	 * level missed (enter=3 misses some); a 1 s window neither flaps nor
	 * misses (250 ms does both) and leaves sooner than 2 s; leave=0
	 * keeps the level while any evidence is in the window (leave=1
	 * flaps); a 2 s dwell bridges the gaps between an episode's bursts
	 * (below 2 s flaps); PSI off, because avg10 never passed 2 % in
	 * these seconds-long episodes, so confirmation held them all. */
	*cfg = (struct vmp_debounce_config){
		.window_ns = 1000000000ull,
		.enter = 2,
		.leave = 0,
		.dwell_ns = 2000000000ull,
		.psi = VMP_DEBOUNCE_PSI_OFF,
		.psi_min = 0,
	};
}

static bool config_valid(const struct vmp_debounce_config *c)
{
	return c->window_ns >= WINDOW_MIN_NS && c->window_ns <= WINDOW_MAX_NS && c->enter >= 1 &&
	       c->enter <= COUNT_MAX && c->leave < c->enter && c->dwell_ns <= DWELL_MAX_NS &&
	       (unsigned)c->psi <= VMP_DEBOUNCE_PSI_FULL && c->psi_min >= 0 && c->psi_min <= 100;
}

static int perr(struct vmp_error *err, size_t off, const char *fmt, const char *a, size_t alen)
{
	return vmp__error_at(err, off, fmt, a, alen);
}

/* Digits [. digits] then "ms" or "s", exactly; in ns, at most max. */
static bool parse_duration(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	uint64_t ip = 0, frac = 0, fdiv = 1;
	if (!n || p[0] < '0' || p[0] > '9')
		return false;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (ip > 100000000ull)
			return false;
		ip = ip * 10 + (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] == '.') {
		i++;
		size_t s = i;
		for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
			if (i - s >= 9)
				return false; /* below a nanosecond */
			frac = frac * 10 + (uint64_t)(p[i] - '0');
			fdiv *= 10;
		}
		if (i == s)
			return false;
	}
	uint64_t unit;
	if (n - i == 2 && p[i] == 'm' && p[i + 1] == 's')
		unit = 1000000ull;
	else if (n - i == 1 && p[i] == 's')
		unit = 1000000000ull;
	else
		return false;
	/* ip <= 1e9 and unit <= 1e9: no overflow. */
	uint64_t v = ip * unit + frac * unit / fdiv;
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_count(const char *p, size_t n, unsigned *out)
{
	if (!n || n > 7 || (n > 1 && p[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > COUNT_MAX)
		return false;
	*out = v;
	return true;
}

/* A percentage: digits [. up to 2 digits], 0..100. */
static bool parse_percent(const char *p, size_t n, double *out)
{
	size_t i = 0;
	unsigned ip = 0, frac = 0, fdiv = 1;
	if (!n || p[0] < '0' || p[0] > '9')
		return false;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i >= 3)
			return false;
		ip = ip * 10 + (unsigned)(p[i] - '0');
	}
	if (i < n && p[i] == '.') {
		size_t s = ++i;
		for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
			if (i - s >= 2)
				return false;
			frac = frac * 10 + (unsigned)(p[i] - '0');
			fdiv *= 10;
		}
		if (i == s)
			return false;
	}
	if (i != n)
		return false;
	double v = ip + (double)frac / fdiv;
	if (v > 100)
		return false;
	*out = v;
	return true;
}

VMP_EXPORT int vmp_debounce_parse(const char *s, struct vmp_debounce_config *out, struct vmp_error *err)
{
	struct vmp_debounce_config c;
	vmp_debounce_config_init(&c);
	if (err)
		memset(err, 0, sizeof(*err));
	if (!s || !out)
		return -EINVAL;
	static const char *const keys[] = {"window", "enter", "leave", "dwell", "psi"};
	struct vmp__kvlist l;
	struct vmp__kv kv;
	int more;
	vmp__kv_init(&l, s, keys, 5, "window, enter, leave, dwell, psi");
	while ((more = vmp__kv_next(&l, &kv, err)) > 0) {
		const char *v = kv.v;
		size_t vn = kv.vn, voff = kv.voff;
		switch (kv.key) {
		case 0:
			if (!parse_duration(v, vn, WINDOW_MAX_NS, &c.window_ns) || c.window_ns < WINDOW_MIN_NS)
				return perr(err, voff,
					    "window '%s%s' is not a duration from 10ms to 3600s (e.g. 500ms, 1.5s)", v, vn);
			break;
		case 1:
			if (!parse_count(v, vn, &c.enter) || c.enter < 1)
				return perr(err, voff, "enter '%s%s' is not a count from 1 to 1000000", v, vn);
			break;
		case 2:
			if (!parse_count(v, vn, &c.leave))
				return perr(err, voff, "leave '%s%s' is not a count from 0 to 999999", v, vn);
			break;
		case 3:
			if (!parse_duration(v, vn, DWELL_MAX_NS, &c.dwell_ns))
				return perr(err, voff, "dwell '%s%s' is not a duration up to 3600s (e.g. 0s, 2s)", v,
					    vn);
			break;
		case 4:
			if (vn == 3 && !memcmp(v, "off", 3)) {
				c.psi = VMP_DEBOUNCE_PSI_OFF;
				c.psi_min = 0;
			} else if (vn > 5 && (!memcmp(v, "some:", 5) || !memcmp(v, "full:", 5)) &&
				   parse_percent(v + 5, vn - 5, &c.psi_min)) {
				c.psi = v[0] == 's' ? VMP_DEBOUNCE_PSI_SOME : VMP_DEBOUNCE_PSI_FULL;
			} else
				return perr(err, voff,
					    "psi '%s%s' is not off, some:X or full:X (X: avg10 percent, 0-100, 2 decimals)", v,
					    vn);
			break;
		}
	}
	if (more < 0)
		return more;
	if (c.leave >= c.enter) {
		char num[48];
		snprintf(num, sizeof(num), "%u >= enter %u", c.leave, c.enter);
		return perr(err, 0, "leave %s%s: leave must be below enter", num, strlen(num));
	}
	*out = c;
	return 0;
}

static int fmt_duration(char *buf, size_t cap, uint64_t ns)
{
	if (ns % 1000000000ull == 0)
		return snprintf(buf, cap, "%llus", (unsigned long long)(ns / 1000000000ull));
	if (ns % 1000000ull == 0)
		return snprintf(buf, cap, "%llums", (unsigned long long)(ns / 1000000ull));
	/* Sub-millisecond: seconds with all nine decimals, trailing zeros cut. */
	char t[32];
	snprintf(t, sizeof(t), "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
		 (unsigned long long)(ns % 1000000000ull));
	size_t n = strlen(t);
	while (t[n - 1] == '0')
		t[--n] = 0;
	return snprintf(buf, cap, "%ss", t);
}

VMP_EXPORT int vmp_debounce_format(const struct vmp_debounce_config *cfg, char *buf, size_t cap)
{
	if (!cfg || !config_valid(cfg))
		return -EINVAL;
	char w[40], d[40], p[24];
	fmt_duration(w, sizeof(w), cfg->window_ns);
	fmt_duration(d, sizeof(d), cfg->dwell_ns);
	if (cfg->psi == VMP_DEBOUNCE_PSI_OFF)
		snprintf(p, sizeof(p), "off");
	else
		snprintf(p, sizeof(p), "%s:%.2f", cfg->psi == VMP_DEBOUNCE_PSI_SOME ? "some" : "full",
			 cfg->psi_min);
	int n = snprintf(buf, cap, "window=%s,enter=%u,leave=%u,dwell=%s,psi=%s", w, cfg->enter, cfg->leave, d, p);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return 0;
}

/* ---- the state machine ------------------------------------------------------ */

VMP_EXPORT int vmp_debounce_new(vmp_debounce **out, const struct vmp_debounce_config *cfg,
				vmp_transition_fn fn, void *arg)
{
	struct vmp_debounce_config def;
	if (!cfg) {
		vmp_debounce_config_init(&def);
		cfg = &def;
	}
	if (!out || !fn || !config_valid(cfg))
		return -EINVAL;
	vmp_debounce *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->fn = fn;
	d->arg = arg;
	d->width = cfg->window_ns / SLOTS;
	d->psi_some = d->psi_full = -1;
	*out = d;
	return 0;
}

VMP_EXPORT void vmp_debounce_free(vmp_debounce *d)
{
	free(d);
}

VMP_EXPORT vmp_state vmp_debounce_state(const vmp_debounce *d)
{
	return d ? d->state : VMP_STATE_NONE;
}

VMP_EXPORT void vmp_debounce_stats(const vmp_debounce *d, struct vmp_debounce_stats *st)
{
	if (d && st)
		*st = d->st;
}

/* A slot is in the window at slice `cur` if its stamp is within SLOTS-1. */
static bool live(const struct slot *s, uint64_t cur)
{
	return s->stamp <= cur && cur - s->stamp < SLOTS &&
	       (s->n[0] | s->n[1] | s->n[2]) != 0;
}

static void sums(const vmp_debounce *d, uint64_t now, struct vmp_debounce_evidence *ev,
		 uint64_t ge[4])
{
	uint64_t cur = now / d->width;
	memset(ev, 0, sizeof(*ev));
	ev->window_ns = d->cfg.window_ns;
	for (unsigned i = 0; i < SLOTS; i++) {
		const struct slot *s = &d->slot[i];
		if (!live(s, cur))
			continue;
		for (int l = 0; l < 3; l++)
			ev->count[l] += s->n[l];
		ev->with_evidence += s->with_ev;
		ev->scanned += s->scanned;
		ev->reclaimed += s->reclaimed;
		if (s->max_pressure > ev->max_pressure)
			ev->max_pressure = s->max_pressure;
	}
	ev->psi_some_avg10 = d->psi_some;
	ev->psi_full_avg10 = d->psi_full;
	/* ge[state]: notifications that are evidence for that state. */
	ge[0] = 0;
	ge[3] = ev->count[2];
	ge[2] = ge[3] + ev->count[1];
	ge[1] = ge[2] + ev->count[0];
}

static bool psi_ok(const vmp_debounce *d)
{
	double v = d->cfg.psi == VMP_DEBOUNCE_PSI_SOME ? d->psi_some : d->psi_full;
	return d->cfg.psi == VMP_DEBOUNCE_PSI_OFF || (v >= 0 && v >= d->cfg.psi_min);
}

static void raise_tr(vmp_debounce *d, uint64_t now, vmp_state to, vmp_transition_cause cause,
		     const struct vmp_debounce_evidence *ev)
{
	struct vmp_transition t = {
		.from = d->state,
		.to = to,
		.cause = cause,
		.time_ns = now,
		/* modular: a transition due before the reference input too */
		.real_ns = d->has_real ? d->real_ref + (now - d->mono_ref) : 0,
		.prev_duration_ns = d->entered ? now - d->since : 0,
		.held_ns = cause == VMP_CAUSE_CONFIRMED ? now - d->pending_since : 0,
		.ev = *ev,
	};
	d->state = to;
	d->since = now;
	d->entered = true;
	d->st.transitions++;
	d->fn(&t, d->arg);
}

/* One evaluation at `now`; trig is the notification just added, if any. */
static void evaluate(vmp_debounce *d, uint64_t now, const struct vmp_debounce_input *trig)
{
	struct vmp_debounce_evidence ev;
	uint64_t ge[4];
	sums(d, now, &ev, ge);
	if (trig) {
		ev.triggered = true;
		ev.trigger_level = trig->level;
		ev.trigger_pressure = trig->has_evidence ? trig->pressure : 0;
		ev.origin = trig->origin;
	}
	const uint64_t enter = d->cfg.enter, leave = d->cfg.leave;
	vmp_state s = d->state, up = VMP_STATE_NONE;
	for (int l = VMP_STATE_CRITICAL; l > (int)s; l--)
		if (ge[l] >= enter) {
			up = (vmp_state)l;
			break;
		}
	if (up != VMP_STATE_NONE) {
		if (psi_ok(d)) {
			bool held = d->pending != VMP_STATE_NONE;
			if (held)
				d->st.confirmed++;
			raise_tr(d, now, up, held ? VMP_CAUSE_CONFIRMED : VMP_CAUSE_ENTER, &ev);
			d->pending = VMP_STATE_NONE;
			return;
		}
		if (d->pending == VMP_STATE_NONE) {
			d->pending_since = now;
			d->st.held++;
		}
		if (up > d->pending)
			d->pending = up;
		return;
	}
	if (d->pending != VMP_STATE_NONE) {
		while (d->pending > s && ge[d->pending] <= leave)
			d->pending--;
		if (d->pending <= s) {
			d->pending = VMP_STATE_NONE;
			d->st.abandoned++;
		} else if (psi_ok(d)) {
			vmp_state to = d->pending;
			d->st.confirmed++;
			raise_tr(d, now, to, VMP_CAUSE_CONFIRMED, &ev);
			d->pending = VMP_STATE_NONE;
		}
		return;
	}
	if (s != VMP_STATE_NONE && ge[s] <= leave && (!d->entered || now - d->since >= d->cfg.dwell_ns)) {
		vmp_state to = VMP_STATE_NONE;
		for (int l = (int)s - 1; l > VMP_STATE_NONE; l--)
			if (ge[l] > leave) {
				to = (vmp_state)l;
				break;
			}
		raise_tr(d, now, to, VMP_CAUSE_LEAVE, &ev);
	}
}

/* The next time something can change without an input, after d->now. */
static uint64_t next_due(const vmp_debounce *d)
{
	if (!d->started || (d->state == VMP_STATE_NONE && d->pending == VMP_STATE_NONE))
		return UINT64_MAX;
	uint64_t due = UINT64_MAX, cur = d->now / d->width;
	for (unsigned i = 0; i < SLOTS; i++) {
		const struct slot *s = &d->slot[i];
		if (!live(s, cur))
			continue;
		/* It leaves the window at the start of slice stamp + SLOTS. */
		uint64_t t = (s->stamp + SLOTS) * d->width;
		if (t < due)
			due = t;
	}
	if (d->state != VMP_STATE_NONE && d->entered && d->since + d->cfg.dwell_ns > d->now &&
	    d->since + d->cfg.dwell_ns < due)
		due = d->since + d->cfg.dwell_ns;
	return due;
}

VMP_EXPORT uint64_t vmp_debounce_next_ns(const vmp_debounce *d)
{
	return d ? next_due(d) : UINT64_MAX;
}

/* Everything due up to `now`, each at its own time. */
static void advance(vmp_debounce *d, uint64_t now)
{
	if (d->started && now < d->now)
		now = d->now;
	for (;;) {
		uint64_t due = next_due(d);
		if (due > now)
			break;
		d->now = due;
		evaluate(d, due, NULL);
	}
	d->now = now;
	d->started = true;
}

VMP_EXPORT int vmp_debounce_tick(vmp_debounce *d, uint64_t now_ns)
{
	if (!d)
		return -EINVAL;
	advance(d, now_ns);
	evaluate(d, d->now, NULL);
	return 0;
}

VMP_EXPORT int vmp_debounce_feed(vmp_debounce *d, const struct vmp_debounce_input *in)
{
	if (!d || !in || (unsigned)in->level > VMP_LEVEL_CRITICAL)
		return -EINVAL;
	if (in->real_ns) {
		d->has_real = true;
		d->real_ref = in->real_ns;
		d->mono_ref = in->time_ns;
	}
	advance(d, in->time_ns);
	uint64_t now = d->now, cur = now / d->width, n = in->count ? in->count : 1;
	struct slot *s = &d->slot[cur % SLOTS];
	if (s->stamp != cur || !live(s, cur))
		*s = (struct slot){.stamp = cur};
	s->n[in->level] += n;
	if (in->has_evidence) {
		s->with_ev += n;
		s->scanned += in->scanned;
		s->reclaimed += in->reclaimed;
		if (in->pressure > s->max_pressure)
			s->max_pressure = in->pressure;
	}
	if (in->psi_some_avg10 >= 0)
		d->psi_some = in->psi_some_avg10;
	if (in->psi_full_avg10 >= 0)
		d->psi_full = in->psi_full_avg10;
	d->st.notifications += n;
	evaluate(d, now, in);
	return 0;
}

/* The only place here that reads a clock, and only for an event that
 * came without its monotonic time. */
VMP_EXPORT int vmp_debounce_input_from_event(const struct vmp_source_event *ev, struct vmp_debounce_input *in)
{
	if (!ev || !in || (ev->flags & VMP_EVENT_REMOVED))
		return -EINVAL;
	uint64_t mono = ev->mono_ns;
	if (!mono) {
		uint64_t now_r = vmp__realtime_ns(), now_m = vmp__mono_ns();
		if (ev->time_ns >= now_r)
			mono = now_m + (ev->time_ns - now_r);
		else
			mono = now_r - ev->time_ns < now_m ? now_m - (now_r - ev->time_ns) : 0;
	}
	bool evidence = !(ev->flags & VMP_EVENT_NO_EVIDENCE);
	*in = (struct vmp_debounce_input){
		.time_ns = mono,
		.level = ev->level,
		.count = ev->count,
		.has_evidence = evidence,
		.scanned = evidence ? ev->scanned : 0,
		.reclaimed = evidence ? ev->reclaimed : 0,
		.pressure = evidence ? ev->pressure : 0,
		.origin = ev->origin,
		.psi_some_avg10 = ev->psi_some_avg10,
		.psi_full_avg10 = ev->psi_full_avg10,
		.real_ns = ev->time_ns,
	};
	return 0;
}
