/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics of vmpressured (docs/metrics.md): what every listener
 * was told, the daemon's own state, and its process_* values, served as a
 * node_exporter textfile (--metrics-textfile) and/or on a loopback HTTP
 * endpoint (--metrics-listen, metrics_http.c).
 *
 * A series is a listener: one source subscription (cgroup, level, mode),
 * shared by every client subscribed to it and by --metrics-cgroup, which
 * pins one for the daemon's lifetime. The metrics watch every listener
 * (vmpd_subs_watch(): note() gets each of its events), so the counts are exactly
 * the notifications its subscribers got; a client's listener has series
 * for as long as it exists, and one made again starts from zero (a
 * counter reset, which rate() and increase() handle). With metrics on
 * and no --metrics-cgroup the root is watched with low,hierarchy: every
 * window of the whole hierarchy, independent of other listeners (the
 * default mode's counts would depend on which listeners exist below,
 * spec §8).
 *
 * A snapshot is collected when asked for (a scrape, a textfile tick): the
 * counts are kept as they arrive, everything else (the level's decay, the
 * process values) is computed then.
 *
 * The textfile is written atomically: the exposition goes to a temporary
 * file in the same directory (.NAME.PID.tmp: node_exporter reads only
 * *.prom) and is renamed over PATH, so a reader sees the old file or the
 * new one, never a part. No fsync: the file is a view of memory that the
 * next tick rewrites, and an fsync could stall the loop on a busy disk.
 * A failing write is logged with the path when it starts failing and when
 * it works again, never in between, and the daemon carries on. At a clean
 * stop the file is removed: stale values from a daemon that is gone would
 * look like a calm machine.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct vmpd_metrics {
	struct vmpd *d;
	char *textfile, *tmp;
	struct vmpd_io timer;
	int last_err;        /* of the last textfile write; 0: it worked */
	bool wrote;          /* the textfile exists (to remove it at the end) */
	struct vmpd_httpd *httpd;
	struct vmp__buf buf;
	struct vmpd_round_hook reap_hook;
	/* snapshot scratch */
	struct vmpd_series *series;
	char (*args)[24];
	size_t n, cap;
	double now;
	/* the --metrics-cgroup forecasts (none on a trace source) */
	struct vmpd_fcsink **fc;
	struct vmpd_eta *etas;
	size_t nfc;
};

static void collect_eta(void *arg, const char *cgroup, double warn_s, double eta)
{
	(void)warn_s;
	struct vmpd_metrics *m = arg;
	/* a cgroup's eta is the same for every follower (only the warning
	 * threshold differs): the first found */
	for (size_t i = 0; i < m->nfc; i++)
		if (!strcmp(m->etas[i].cgroup, cgroup) && m->etas[i].eta == -2) {
			m->etas[i].eta = eta;
			return;
		}
}

static int by_cgroup(const void *a, const void *b)
{
	return strcmp(((const struct vmpd_eta *)a)->cgroup, ((const struct vmpd_eta *)b)->cgroup);
}

int vmpd_metrics_parse_watch(const char *arg, struct vmpd_metrics_watch *w, char *err, size_t cap)
{
	const char *colon = strrchr(arg, ':');
	size_t clen = colon ? (size_t)(colon - arg) : strlen(arg);
	const char *args = colon ? colon + 1 : VMPD_METRICS_DEFAULT_ARGS;
	if (vmp_parse_args(args, &w->level, &w->mode)) {
		snprintf(err, cap,
			 "--metrics-cgroup '%s': bad args '%s': use CGROUP[:LEVEL[,MODE]] (levels: low medium "
			 "critical; modes: default hierarchy local); a cgroup name with ':' needs the :ARGS",
			 arg, args);
		return -EINVAL;
	}
	struct vmp_error cerr = {.msg = "empty"};
	if (!clen || vmp_cgroup_normalize(arg, clen, w->cgroup, sizeof(w->cgroup), &cerr)) {
		snprintf(err, cap, "--metrics-cgroup '%s': bad cgroup path (/ for the root): %s", arg, cerr.msg);
		return -EINVAL;
	}
	w->text = arg;
	return 0;
}

static void note(struct vmpd *d, struct vmpd_listener_stats *st, const struct vmp_source_event *ev)
{
	(void)d;
	if ((ev->flags & VMP_EVENT_REMOVED) || (unsigned)ev->level > VMP_LEVEL_CRITICAL)
		return;
	st->n[ev->level] += ev->count;
	st->last_mono[ev->level] = vmp__mono_s();
	st->last_time_ns = ev->time_ns;
	if (!(ev->flags & VMP_EVENT_NO_EVIDENCE)) {
		st->scanned += ev->scanned;
		st->reclaimed += ev->reclaimed;
		st->pressure = ev->pressure;
		st->have_pressure = true;
	}
}

static void listener_removed(struct vmpd *d, const char *cgroup, bool pinned)
{
	(void)d;
	if (pinned)
		vmpd_log(VMPD_LOG_WARNING, "metrics: cgroup %s was removed; its series end", cgroup);
}

static const struct vmpd_listener_watch watch = {
	.event = note,
	.removed = listener_removed,
};

/* End of a loop round: free closed HTTP connections. */
static void metrics_reap(struct vmpd *d)
{
	vmpd_httpd_reap(d, d->metrics->httpd);
}

static void collect(void *arg, const char *cgroup, vmp_level level, vmp_mode mode,
		    const struct vmpd_listener_stats *st)
{
	struct vmpd_metrics *m = arg;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct vmpd_series *s = realloc(m->series, cap * sizeof(*s));
		if (!s)
			return; /* a snapshot short of a series beats none */
		m->series = s;
		char(*a)[24] = realloc(m->args, cap * sizeof(*a));
		if (!a)
			return;
		m->args = a;
		m->cap = cap;
	}
	size_t i = m->n++;
	vmpd_canonical_args(level, mode, m->args[i], sizeof(m->args[i]));
	unsigned lv = VMPD_METRIC_LEVEL_NONE;
	for (unsigned l = 0; l < 3; l++)
		if (st->last_mono[l] > 0 && m->now - st->last_mono[l] < VMPD_METRIC_LEVEL_HOLD_S)
			lv = l + 1;
	m->series[i] = (struct vmpd_series){
		.cgroup = cgroup,
		.min_level = level,
		.notifications = {st->n[0], st->n[1], st->n[2]},
		.evidence = m->d->evidence,
		.scanned = st->scanned,
		.reclaimed = st->reclaimed,
		.have_pressure = m->d->evidence && st->have_pressure,
		.pressure = st->pressure,
		.level = lv,
		.last_time = st->last_time_ns ? (double)st->last_time_ns / 1e9 : -1,
	};
}

static int by_labels(const void *a, const void *b)
{
	const struct vmpd_series *x = a, *y = b;
	int c = strcmp(x->cgroup, y->cgroup);
	return c ? c : strcmp(x->args, y->args);
}

void vmpd_metrics_snapshot(struct vmpd *d, struct vmp__buf *b)
{
	struct vmpd_metrics *m = d->metrics;
	m->n = 0;
	m->now = vmp__mono_s();
	vmpd_subs_foreach(d, collect, m);
	for (size_t i = 0; i < m->n; i++)
		m->series[i].args = m->args[i]; /* args moved with realloc until now */
	if (m->n)
		qsort(m->series, m->n, sizeof(*m->series), by_labels);
	struct vmpd_procinfo p;
	vmpd_procinfo_read(&p);
	for (size_t i = 0; i < m->nfc; i++)
		m->etas[i].eta = -2; /* not yet collected */
	vmpd_fc_foreach(d, collect_eta, m);
	for (size_t i = 0; i < m->nfc; i++)
		if (m->etas[i].eta == -2)
			m->etas[i].eta = -1;
	if (m->nfc)
		qsort(m->etas, m->nfc, sizeof(*m->etas), by_cgroup);
	struct vmpd_daemoninfo di = {
		.version = VMP_VERSION_STRING,
		.source = d->source_name,
		.clients = d->nclients,
		.subscriptions = d->nsubs,
		.listeners = vmpd_subs_shared_count(d),
		.dropped = d->dropped,
		.etas = m->etas,
		.netas = m->nfc,
	};
	vmpd_metrics_format(b, m->series, m->n, &p, &di);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void write_textfile(struct vmpd_metrics *m)
{
	vmp__buf_reset(&m->buf);
	vmpd_metrics_snapshot(m->d, &m->buf);
	int rc = m->buf.oom ? -ENOMEM : 0;
	const char *step = "format";
	int fd = -1;
	if (!rc) {
		step = "create";
		fd = open(m->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			rc = -errno;
	}
	if (!rc) {
		step = "write";
		rc = write_all(fd, m->buf.p, m->buf.len);
	}
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	if (!rc) {
		step = "rename";
		if (rename(m->tmp, m->textfile))
			rc = -errno;
	}
	if (rc && fd >= 0)
		unlink(m->tmp);
	if (rc && rc != m->last_err)
		vmpd_log(VMPD_LOG_ERR, "metrics textfile %s: cannot %s %s: %s; retrying every tick",
			 m->textfile, step, !strcmp(step, "format") || !strcmp(step, "rename") ? m->textfile
												: m->tmp,
			 strerror(-rc));
	else if (!rc && m->last_err)
		vmpd_log(VMPD_LOG_INFO, "metrics textfile %s: written again", m->textfile);
	m->last_err = rc;
	if (!rc)
		m->wrote = true;
}

static void on_tick(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	uint64_t x;
	if (read(io->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: nothing expired */
	}
	write_textfile(d->metrics);
}

static char *temp_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dn = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = path + dn;
	size_t n = dn + strlen(base) + 40;
	char *t = malloc(n);
	if (t)
		snprintf(t, n, "%.*s.%s.%ld.tmp", (int)dn, path, base, (long)getpid());
	return t;
}

int vmpd_metrics_init(struct vmpd *d, const struct vmpd_metrics_config *cfg)
{
	if (!cfg->textfile && !cfg->listen)
		return 0;
	struct vmpd_metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		vmpd_log(VMPD_LOG_ERR, "metrics: out of memory");
		return -ENOMEM;
	}
	m->d = d;
	m->timer.fd = -1;
	vmp__buf_init(&m->buf);
	d->metrics = m;
	d->evidence = vmp_source_kind(d->src) != VMP_SOURCE_V1;
	vmpd_subs_watch(d, &watch);
	m->reap_hook.run = metrics_reap;
	vmpd_loop_at_round_end(d, VMPD_ROUND_FREE, &m->reap_hook);

	struct vmpd_metrics_watch root = {.cgroup = "/", .text = "/"};
	const struct vmpd_metrics_watch *w = cfg->watch;
	size_t nw = cfg->nwatch;
	if (!nw) {
		vmp_parse_args(VMPD_METRICS_DEFAULT_ARGS, &root.level, &root.mode);
		w = &root;
		nw = 1;
	}
	m->fc = calloc(nw, sizeof(*m->fc));
	m->etas = calloc(nw, sizeof(*m->etas));
	if (!m->fc || !m->etas)
		return VMPD_EXIT_OSERR;
	for (size_t i = 0; i < nw; i++) {
		/* One forecast per cgroup, for vmpressure_oom_eta_seconds; a
		 * trace has no files to forecast from. */
		bool dup = false;
		for (size_t k = 0; k < m->nfc; k++)
			dup |= !strcmp(m->etas[k].cgroup, w[i].cgroup);
		int frc = dup ? 0 : vmpd_fc_add(d, w[i].cgroup, 0, NULL, NULL, &m->fc[m->nfc]);
		char *cg = !dup && !frc ? strdup(w[i].cgroup) : NULL;
		if (cg)
			m->etas[m->nfc++] = (struct vmpd_eta){.cgroup = cg, .eta = -1};
		else if (!dup && !frc)
			vmpd_fc_release(d, m->fc[m->nfc]);
		else if (!dup && frc != -ENOTSUP)
			vmpd_log(VMPD_LOG_WARNING, "--metrics-cgroup %s: no OOM forecast: %s", w[i].text, strerror(-frc));
		int rc = vmpd_sub_pin(d, w[i].cgroup, w[i].level, w[i].mode);
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "--metrics-cgroup %s: %s", w[i].text,
				 rc == -ENOENT	   ? "no such cgroup"
				 : rc == -ENOTSUP ? "this source cannot watch it"
						  : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int vmpd_metrics_open(struct vmpd *d, const struct vmpd_metrics_config *cfg)
{
	struct vmpd_metrics *m = d->metrics;
	if (!m)
		return 0;
	if (cfg->listen) {
		char where[128];
		int rc = vmpd_httpd_open(d, cfg->listen, &m->httpd, where, sizeof(where));
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "cannot listen on %s (--metrics-listen): %s", where,
				 strerror(-rc));
			return rc;
		}
		vmpd_log(VMPD_LOG_INFO, "metrics on http://%s/metrics", where);
	}
	if (cfg->textfile) {
		m->textfile = strdup(cfg->textfile);
		m->tmp = temp_path(cfg->textfile);
		if (!m->textfile || !m->tmp) {
			vmpd_log(VMPD_LOG_ERR, "metrics textfile: out of memory");
			return -ENOMEM;
		}
		size_t tl = strlen(cfg->textfile);
		if (tl < 5 || strcmp(cfg->textfile + tl - 5, ".prom"))
			vmpd_log(VMPD_LOG_WARNING,
				 "metrics textfile %s: node_exporter's textfile collector reads only *.prom files",
				 cfg->textfile);
		m->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		m->timer.ready = on_tick;
		struct itimerspec it;
		double iv = cfg->interval > 0 ? cfg->interval : VMPD_METRICS_INTERVAL_DEFAULT;
		it.it_interval.tv_sec = (time_t)iv;
		it.it_interval.tv_nsec = (long)((iv - (double)(time_t)iv) * 1e9);
		it.it_value = it.it_interval;
		int rc = m->timer.fd < 0 || timerfd_settime(m->timer.fd, 0, &it, NULL) ? -errno
			 : vmpd_loop_add(d, &m->timer, EPOLLIN);
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "metrics textfile: cannot set up its timer: %s", strerror(-rc));
			return rc;
		}
		write_textfile(m); /* at once: a scrape need not wait a whole interval */
		vmpd_log(VMPD_LOG_INFO, "metrics textfile %s, every %g s", cfg->textfile, iv);
	}
	return 0;
}

void vmpd_metrics_fini(struct vmpd *d)
{
	struct vmpd_metrics *m = d->metrics;
	if (!m)
		return;
	vmpd_subs_watch(d, NULL);
	vmpd_loop_cancel_hook(d, &m->reap_hook);
	vmpd_httpd_close(d, m->httpd);
	if (m->timer.fd >= 0) {
		vmpd_loop_del(d, &m->timer);
		close(m->timer.fd);
	}
	if (m->wrote && unlink(m->textfile) && errno != ENOENT)
		vmpd_log(VMPD_LOG_WARNING, "metrics textfile %s: cannot remove it: %s", m->textfile,
			 strerror(errno));
	free(m->textfile);
	free(m->tmp);
	free(m->series);
	free(m->args);
	for (size_t i = 0; i < m->nfc; i++) {
		vmpd_fc_release(d, m->fc[i]);
		free((char *)m->etas[i].cgroup);
	}
	free(m->fc);
	free(m->etas);
	vmp__buf_free(&m->buf);
	free(m);
	d->metrics = NULL;
}
