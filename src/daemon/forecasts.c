/* SPDX-License-Identifier: MIT */
/*
 * The daemon's OOM forecasts (docs/forecast.md): for every cgroup someone
 * follows (a `forecast` subscription flag, --metrics-cgroup, an --exec
 * action on forecasts), the library's reader takes the cgroup's and its
 * ancestors' counters every VMP_FC_INTERVAL_MS and each follower's model
 * (its own warning threshold) steps with them; forecast events go to the
 * follower's callback. One reader per cgroup, one timer for all; nothing
 * is read while nobody follows.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct vmpd_fcsink {
	struct vmpd_fcw *w;
	vmp_forecast *fc;
	double warn_s;
	double eta;              /* the latest, negative: none */
	vmpd_fc_fn *fn;
	void *arg;
	struct vmpd_fcsink *next;
};

struct vmpd_fcw {
	char *cgroup;
	vmp_fc_reader *rd;
	struct vmpd_fcsink *sinks;
	bool gone;               /* the removal was passed on: no more reads */
	char problem[600];       /* the last one logged */
	struct vmpd_fcw *next;
};

struct vmpd_fcs {
	struct vmpd_io timer;
	struct vmpd_fcw *ws;
	size_t nsinks;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void tick(struct vmpd *d, struct vmpd_fcw *w, double now)
{
	if (w->gone)
		return;
	struct vmp_fc_sample s;
	if (vmp_fc_reader_read(w->rd, now, &s) != 0)
		return;
	const char *pb = vmp_fc_reader_problem(w->rd);
	if (pb && strcmp(pb, w->problem)) {
		vmpd_log(VMPD_LOG_WARNING, "forecast of %s: %s; that group is left out until it reads again", w->cgroup,
			 pb);
		snprintf(w->problem, sizeof(w->problem), "%s", pb);
	} else if (!pb)
		w->problem[0] = 0;
	uint64_t tn = realtime_ns();
	for (struct vmpd_fcsink *k = w->sinks; k; k = k->next) {
		struct vmp_fc_result r;
		if (vmp_forecast_step(k->fc, &s, &r) != 0)
			continue;
		k->eta = r.eta;
		if (r.event != VMP_FC_EVENT_NONE && k->fn)
			k->fn(k->arg, &r, w->cgroup, tn);
	}
	(void)d;
	if (s.ngroups && (s.groups[0].flags & VMP_FC_GONE) && !pb)
		w->gone = true;
}

static void on_timer(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	uint64_t n;
	if (read(io->fd, &n, sizeof(n)) < 0)
		return;
	double now = vmp__mono_s();
	for (struct vmpd_fcw *w = d->fcs->ws; w; w = w->next)
		tick(d, w, now);
}

static int arm(struct vmpd *d, bool on)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	if (on)
		its = (struct itimerspec){{0, VMP_FC_INTERVAL_MS * 1000000L}, {0, VMP_FC_INTERVAL_MS * 1000000L}};
	return timerfd_settime(d->fcs->timer.fd, 0, &its, NULL) == 0 ? 0 : -errno;
}

int vmpd_fc_add(struct vmpd *d, const char *cgroup, double warn_s, vmpd_fc_fn *fn, void *arg,
		struct vmpd_fcsink **out)
{
	if (!d->fc_cfg.kind || d->fc_cfg.kind == VMP_SOURCE_TRACE)
		return -ENOTSUP; /* a trace has no files to read */
	if (!d->fcs) {
		struct vmpd_fcs *f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		f->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		f->timer.ready = on_timer;
		int rc = f->timer.fd < 0 ? -errno : vmpd_loop_add(d, &f->timer, EPOLLIN);
		if (rc) {
			if (f->timer.fd >= 0)
				close(f->timer.fd);
			free(f);
			return rc;
		}
		d->fcs = f;
	}
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	if (warn_s > 0)
		cfg.warn_s = warn_s;
	struct vmpd_fcsink *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	int rc = vmp_forecast_new(&k->fc, &cfg);
	if (rc) {
		free(k);
		return rc;
	}
	struct vmpd_fcw *w = d->fcs->ws;
	while (w && strcmp(w->cgroup, cgroup))
		w = w->next;
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w || !(w->cgroup = strdup(cgroup)) || (rc = vmp_fc_reader_new(&w->rd, &d->fc_cfg, cgroup, NULL)) != 0) {
			if (!rc)
				rc = -ENOMEM;
			if (w)
				free(w->cgroup);
			free(w);
			vmp_forecast_free(k->fc);
			free(k);
			return rc;
		}
		w->next = d->fcs->ws;
		d->fcs->ws = w;
	}
	k->w = w;
	k->warn_s = cfg.warn_s;
	k->eta = -1;
	k->fn = fn;
	k->arg = arg;
	k->next = w->sinks;
	w->sinks = k;
	if (d->fcs->nsinks++ == 0 && (rc = arm(d, true)) != 0)
		vmpd_log(VMPD_LOG_WARNING, "cannot arm the forecast timer: %s", strerror(-rc));
	*out = k;
	return 0;
}

void vmpd_fc_release(struct vmpd *d, struct vmpd_fcsink *k)
{
	if (!k)
		return;
	struct vmpd_fcw *w = k->w;
	for (struct vmpd_fcsink **pp = &w->sinks; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	vmp_forecast_free(k->fc);
	free(k);
	if (--d->fcs->nsinks == 0)
		arm(d, false);
	if (w->sinks)
		return;
	for (struct vmpd_fcw **pp = &d->fcs->ws; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	vmp_fc_reader_free(w->rd);
	free(w->cgroup);
	free(w);
}

void vmpd_fc_foreach(struct vmpd *d, vmpd_fc_each_fn *fn, void *arg)
{
	if (!d->fcs)
		return;
	for (struct vmpd_fcw *w = d->fcs->ws; w; w = w->next)
		for (struct vmpd_fcsink *k = w->sinks; k; k = k->next)
			fn(arg, w->cgroup, k->warn_s, k->eta);
}

void vmpd_fc_fini(struct vmpd *d)
{
	struct vmpd_fcs *f = d->fcs;
	if (!f)
		return;
	while (f->ws) {
		struct vmpd_fcw *w = f->ws;
		while (w->sinks->next)
			vmpd_fc_release(d, w->sinks);
		vmpd_fc_release(d, w->sinks); /* the last frees w */
	}
	vmpd_loop_del(d, &f->timer);
	close(f->timer.fd);
	free(f);
	d->fcs = NULL;
}

void vmpd_sub_forecast(void *arg, const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns)
{
	struct vmpd_csub *cs = arg;
	if (!cs->client)
		return;
	struct vmp__buf *b = &cs->client->d->scratch;
	vmp__buf_reset(b);
	vmpd_fmt_forecast(b, cs->id, time_ns, cgroup, r);
	if (b->oom)
		vmpd_client_drop(cs->client);
	else
		vmpd_client_event(cs->client, b->p, b->len, r->event == VMP_FC_EVENT_CLEAR);
}
