/* SPDX-License-Identifier: MIT */
/*
 * A source event as an action's environment (the VMP_* variables of
 * vmp_exec_trigger_event() in vmpressure.h). Numbers and times are spelled
 * as in the JSON of `vmpressure watch --json` and of the daemon's events
 * (a debounced transition's too: VMP_PRESSURE is its max_pressure),
 * so that a script sees what a log shows. Evidence the event does not
 * have leaves its variable unset rather than empty or zero: "0 scanned"
 * is a statement, "unknown" is not.
 */
#include "export.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VARS 24

struct envb {
	char *buf;
	size_t len, cap;
	size_t off[MAX_VARS];
	size_t n;
};

static void add(struct envb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct envb *b, const char *fmt, ...)
{
	va_list ap;
	if (b->n >= MAX_VARS || b->len >= b->cap)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= b->cap - b->len)
		return; /* cannot happen: the buffer is sized for the strings */
	b->off[b->n++] = b->len;
	b->len += (size_t)k + 1;
}

static void iso_time(uint64_t ns, char *out, size_t cap)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

/* Hand the variables (and the caller's extras, which win) to the runner. */
static int finish(vmp_exec *x, struct envb *b, const char *const *extra, size_t nextra)
{
	const char **vars = malloc((b->n + nextra) * sizeof(*vars));
	int rc = -ENOMEM;
	if (vars) {
		for (size_t i = 0; i < b->n; i++)
			vars[i] = b->buf + b->off[i];
		for (size_t i = 0; i < nextra; i++)
			vars[b->n + i] = extra[i];
		rc = vmp_exec_trigger(x, vars, b->n + nextra);
	}
	free(vars);
	free(b->buf);
	return rc;
}

VMP_EXPORT int vmp_exec_trigger_event(vmp_exec *x, const struct vmp_source_event *ev, const char *source,
				      const char *const *extra, size_t nextra)
{
	if (!x || !ev || !ev->cgroup || (nextra && !extra))
		return -EINVAL;
	bool removed = ev->flags & VMP_EVENT_REMOVED;
	struct envb b = {0};
	b.cap = strlen(ev->cgroup) + (ev->origin ? strlen(ev->origin) : 0) +
		(source ? strlen(source) : 0) + 1024;
	b.buf = malloc(b.cap);
	if (!b.buf)
		return -ENOMEM;
	char ts[64];
	iso_time(ev->time_ns, ts, sizeof(ts));
	add(&b, "VMP_EVENT=%s", removed ? "removed" : "pressure");
	add(&b, "VMP_CGROUP=%s", ev->cgroup);
	if (!removed && vmp_level_name(ev->level))
		add(&b, "VMP_LEVEL=%s", vmp_level_name(ev->level));
	if (!removed && !(ev->flags & VMP_EVENT_NO_EVIDENCE)) {
		add(&b, "VMP_PRESSURE=%" PRIu64, ev->pressure);
		add(&b, "VMP_SCANNED=%" PRIu64, ev->scanned);
		add(&b, "VMP_RECLAIMED=%" PRIu64, ev->reclaimed);
	}
	if (ev->origin)
		add(&b, "VMP_ORIGIN=%s", ev->origin);
	add(&b, "VMP_COUNT=%" PRIu64, ev->count);
	add(&b, "VMP_TIME=%s", ts);
	if (source)
		add(&b, "VMP_SOURCE=%s", source);
	if (ev->psi_some_avg10 >= 0 && ev->psi_full_avg10 >= 0) {
		add(&b, "VMP_PSI_SOME_AVG10=%.2f", ev->psi_some_avg10);
		add(&b, "VMP_PSI_FULL_AVG10=%.2f", ev->psi_full_avg10);
	}
	if (ev->flags & VMP_EVENT_ESTIMATED)
		add(&b, "VMP_ESTIMATED=1");

	return finish(x, &b, extra, nextra);
}

VMP_EXPORT int vmp_exec_trigger_transition(vmp_exec *x, const struct vmp_transition *t, const char *cgroup,
					   uint64_t time_ns, const char *source, const char *const *extra,
					   size_t nextra)
{
	if (!x || !t || !cgroup || (nextra && !extra) || !vmp_state_name(t->to) || !vmp_state_name(t->from) ||
	    !vmp_cause_name(t->cause))
		return -EINVAL;
	const struct vmp_debounce_evidence *e = &t->ev;
	const char *origin = e->triggered ? e->origin : NULL;
	struct envb b = {0};
	b.cap = strlen(cgroup) + (origin ? strlen(origin) : 0) + (source ? strlen(source) : 0) + 1024;
	b.buf = malloc(b.cap);
	if (!b.buf)
		return -ENOMEM;
	char ts[64];
	iso_time(time_ns, ts, sizeof(ts));
	add(&b, "VMP_EVENT=transition");
	add(&b, "VMP_CGROUP=%s", cgroup);
	add(&b, "VMP_LEVEL=%s", vmp_state_name(t->to));
	add(&b, "VMP_PREV_LEVEL=%s", vmp_state_name(t->from));
	add(&b, "VMP_CAUSE=%s", vmp_cause_name(t->cause));
	if (e->with_evidence) {
		add(&b, "VMP_PRESSURE=%" PRIu64, e->max_pressure);
		add(&b, "VMP_SCANNED=%" PRIu64, e->scanned);
		add(&b, "VMP_RECLAIMED=%" PRIu64, e->reclaimed);
	}
	if (origin)
		add(&b, "VMP_ORIGIN=%s", origin);
	add(&b, "VMP_COUNT=%" PRIu64, e->count[0] + e->count[1] + e->count[2]);
	add(&b, "VMP_TIME=%s", ts);
	if (source)
		add(&b, "VMP_SOURCE=%s", source);
	if (e->psi_some_avg10 >= 0)
		add(&b, "VMP_PSI_SOME_AVG10=%.2f", e->psi_some_avg10);
	if (e->psi_full_avg10 >= 0)
		add(&b, "VMP_PSI_FULL_AVG10=%.2f", e->psi_full_avg10);
	return finish(x, &b, extra, nextra);
}

VMP_EXPORT int vmp_exec_trigger_forecast(vmp_exec *x, const struct vmp_fc_result *r, const char *cgroup,
					 uint64_t time_ns, const char *source, const char *const *extra,
					 size_t nextra)
{
	if (!x || !r || !cgroup || (nextra && !extra) || r->event == VMP_FC_EVENT_NONE ||
	    !vmp_fc_event_name(r->event) || !vmp_fc_cause_name(r->cause))
		return -EINVAL;
	struct envb b = {0};
	b.cap = strlen(cgroup) + (r->path ? strlen(r->path) : 0) + (source ? strlen(source) : 0) + 1536;
	b.buf = malloc(b.cap);
	if (!b.buf)
		return -ENOMEM;
	char ts[64];
	iso_time(time_ns, ts, sizeof(ts));
	add(&b, "VMP_EVENT=%s", vmp_fc_event_name(r->event));
	add(&b, "VMP_CGROUP=%s", cgroup);
	add(&b, "VMP_CAUSE=%s", vmp_fc_cause_name(r->cause));
	if (r->eta >= 0)
		add(&b, "VMP_ETA=%.3f", r->eta);
	if (r->path) {
		add(&b, "VMP_DECIDER=%s", r->path);
		add(&b, "VMP_LIMIT=%" PRIu64, r->limit);
		add(&b, "VMP_USAGE=%" PRIu64, r->usage);
		add(&b, "VMP_UNRECLAIMABLE=%" PRIu64, r->unreclaimable);
		add(&b, "VMP_GROWTH=%.0f", r->growth);
		add(&b, "VMP_RECLAIMABLE=%" PRIu64, r->reclaimable);
		add(&b, "VMP_SWAP_FREE=%" PRIu64, r->swap_free);
		add(&b, "VMP_HEADROOM=%.0f", r->headroom);
	}
	if (r->refaults >= 0)
		add(&b, "VMP_REFAULTS=%.1f", r->refaults);
	if (r->efficiency >= 0)
		add(&b, "VMP_EFFICIENCY=%.3f", r->efficiency);
	add(&b, "VMP_TIME=%s", ts);
	if (source)
		add(&b, "VMP_SOURCE=%s", source);
	if (r->psi_some_avg10 >= 0)
		add(&b, "VMP_PSI_SOME_AVG10=%.2f", r->psi_some_avg10);
	if (r->psi_full_avg10 >= 0)
		add(&b, "VMP_PSI_FULL_AVG10=%.2f", r->psi_full_avg10);
	return finish(x, &b, extra, nextra);
}
