/* SPDX-License-Identifier: MIT */
/*
 * The trace source: a vmptrace file played back in real time (or faster)
 * through the engine, as if the kernel were making those calls now. It
 * makes the daemon and every client testable with known counts: a file's
 * `expect` records are what its listeners must receive. Its own `listen`
 * records are ignored; subscribers take their place.
 *
 * Event times follow the trace's timeline, not the playback's: a record
 * t seconds after the first is stamped start + t, where start is the wall
 * clock when playback began. At speed 1 that is the wall clock; at other
 * speeds (0: as fast as possible) the times keep the trace's own spacing,
 * so that whatever reads them (a debounced state, a plot) sees the
 * recording's timing rather than the replay's.
 */
#include "sources/source.h"
#include "trace/trace.h"
#include "sources/tap.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct trec {
	double t;
	vmp_group *g;
	enum vmp_trace_kind kind;
	bool tree;
	int prio;
	uint32_t gfp;
	uint64_t s, r;
};

struct tsrc {
	vmp_ctx *ctx;
	struct trec *recs;
	size_t n, cap, next;
	double t_first;
	bool started;
	uint64_t start_mono_ns, start_real_ns; /* the clocks when playback began */
	struct vmp_watch timer;
	bool manual;                /* kernel timing: evaluations only at `work` */
	const struct vmp_tap *tap;  /* vmpressure record */
	/* while loading */
	struct vmp_source *src;
};

static int load_rec(const struct vmp_trace_rec *rec, void *arg, struct vmp_error *err)
{
	struct tsrc *ts = arg;
	char name[4096];
	size_t n = rec->group.n < sizeof(name) - 1 ? rec->group.n : sizeof(name) - 1;
	if (n) /* `expect` records have no group: p is NULL, and memcpy(.., NULL, 0) is UB */
		memcpy(name, rec->group.p, n);
	name[n] = 0;
	if (rec->kind == VMP_REC_LISTEN || rec->kind == VMP_REC_EXPECT)
		return 0;
	if (rec->kind == VMP_REC_GROUP) {
		if (!strcmp(name, "/"))
			return 0;
		char *slash = strrchr(name, '/');
		vmp_group *parent = vmp_ctx_root(ts->ctx), *g;
		if (slash) {
			*slash = 0;
			if (vmp_group_lookup(ts->ctx, name, &parent)) {
				vmp__errorf(err, rec->line, "group's parent '%s' is not declared", name);
				return -EINVAL;
			}
		}
		int rc = vmp_group_new(parent, slash ? slash + 1 : name, &g);
		if (rc) {
			vmp__errorf(err, rec->line, "cannot create group '%s': %s", name, strerror(-rc));
			return -EINVAL;
		}
		return 0;
	}
	vmp_group *g;
	if (vmp_group_lookup(ts->ctx, name, &g)) {
		vmp__errorf(err, rec->line, "group '%s' is not declared", name);
		return -EINVAL;
	}
	if (ts->n == ts->cap) {
		size_t ncap = ts->cap ? ts->cap * 2 : 1024;
		struct trec *nr = realloc(ts->recs, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		ts->recs = nr;
		ts->cap = ncap;
	}
	char tb[64];
	size_t tl = rec->t.n < sizeof(tb) - 1 ? rec->t.n : sizeof(tb) - 1;
	memcpy(tb, rec->t.p, tl);
	tb[tl] = 0;
	struct trec *t = &ts->recs[ts->n++];
	*t = (struct trec){.t = strtod(tb, NULL), .g = g, .kind = rec->kind, .tree = rec->tree,
			   .prio = rec->prio, .gfp = rec->gfp, .s = rec->scanned, .r = rec->reclaimed};
	return 0;
}

static void arm(struct tsrc *ts, double delay)
{
	struct itimerspec it = {0};
	if (delay < 1e-6)
		delay = 1e-6;
	it.it_value.tv_sec = (time_t)delay;
	it.it_value.tv_nsec = (long)((delay - (double)(time_t)delay) * 1e9);
	timerfd_settime(ts->timer.fd, 0, &it, NULL);
}

static int tick(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	(void)events;
	struct tsrc *ts = src->kind_data;
	uint64_t x;
	if (read(w->fd, &x, sizeof(x)) < 0) {
		/* spurious: the timer was re-armed */
	}
	double speed = src->cfg.trace_speed;
	double elapsed = (double)(vmp__mono_ns() - ts->start_mono_ns) / 1e9;
	/* Bounded work per dispatch, so the caller's loop keeps serving. */
	for (unsigned k = 0; ts->next < ts->n && k < 20000; k++) {
		struct trec *r = &ts->recs[ts->next];
		if (speed > 0 && (r->t - ts->t_first) / speed > elapsed)
			break;
		double off = r->t - ts->t_first;
		/* The file's timeline, from when playback began, on both clocks. */
		uint64_t off_ns = (uint64_t)(off > 0 ? off * 1e9 : 0);
		src->event_time_ns = ts->start_real_ns + off_ns;
		src->event_mono_ns = ts->start_mono_ns + off_ns;
		uint64_t t_ns = r->t > 0 ? (uint64_t)(r->t * 1e9 + 0.5) : 0;
		switch (r->kind) {
		case VMP_REC_VMPRESSURE:
			vmp__tap_account(ts->tap, t_ns, ts->ctx, r->g, r->gfp, r->tree, r->s, r->r);
			break;
		case VMP_REC_PRIO:
			vmp__tap_prio(ts->tap, t_ns, ts->ctx, r->g, r->gfp, r->prio);
			break;
		case VMP_REC_WORK:
			vmp__tap_run_job(ts->tap, t_ns, r->g);
			break;
		default:
			break;
		}
		ts->next++;
	}
	src->event_time_ns = src->event_mono_ns = 0;
	if (ts->next < ts->n) {
		double due = speed > 0 ? (ts->recs[ts->next].t - ts->t_first) / speed - elapsed : 0;
		arm(ts, due);
	}
	return 0;
}

static int trace_start(struct vmp_source *src)
{
	struct tsrc *ts = src->kind_data;
	if (ts->started)
		return 0;
	ts->started = true;
	ts->start_mono_ns = vmp__mono_ns();
	ts->start_real_ns = vmp__realtime_ns();
	if (ts->n)
		arm(ts, 0);
	return 0;
}

static void trace_fini(struct vmp_source *src)
{
	struct tsrc *ts = src->kind_data;
	if (!ts)
		return;
	if (ts->timer.fd >= 0) {
		vmp__source_unwatch(src, &ts->timer);
		close(ts->timer.fd);
	}
	vmp_ctx_free(ts->ctx);
	free(ts->recs);
	free(ts);
	src->kind_data = NULL;
}

static int trace_init(struct vmp_source *src, struct vmp_error *err)
{
	struct tsrc *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	ts->timer.fd = -1;
	src->kind_data = ts;
	/* A regular file: its size is what is read. A FIFO would block open()
	 * (O_NONBLOCK), and a device has no size (/dev/zero read as an empty
	 * trace, or without end). -EINVAL with the reason. */
	int fd = open(src->cfg.trace_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = -errno;
		vmp__error_path(err, src->cfg.trace_path);
		vmp__errorf(err, 0, "cannot open the trace: %s", strerror(-e));
		trace_fini(src);
		return e;
	}
	struct stat st;
	char *buf = NULL;
	int rc = fstat(fd, &st) ? -errno : 0;
	if (!rc && !S_ISREG(st.st_mode)) {
		vmp__error_path(err, src->cfg.trace_path);
		vmp__errorf(err, 0, "not a regular file (%s); a trace is a vmptrace file",
			    S_ISFIFO(st.st_mode)   ? "a FIFO"
			    : S_ISDIR(st.st_mode)  ? "a directory"
			    : S_ISSOCK(st.st_mode) ? "a socket"
						   : "a device");
		close(fd);
		trace_fini(src);
		return -EINVAL;
	}
	if (!rc && !(buf = malloc((size_t)st.st_size + 1)))
		rc = -ENOMEM;
	size_t got = 0;
	while (!rc && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (rc && rc != -ENOMEM)
		vmp__errorf(err, 0, "cannot read the trace: %s", strerror(-rc));
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	if (!rc) {
		ts->manual = vmp__trace_has_work(buf, got);
		cfg.executor = ts->manual ? VMP_EXECUTOR_MANUAL : VMP_EXECUTOR_INLINE;
		rc = vmp_ctx_new(&ts->ctx, &cfg);
	}
	/* The replay is the one judge of a trace's validity: a file the source
	 * plays must be one `vmpressure replay` accepts, with the same error
	 * for the same line. Loading below then only builds the records. */
	vmp_replay *check = NULL;
	if (!rc && (rc = vmp_replay_run(buf, got, NULL, NULL, &check, err)) == 0)
		vmp_replay_free(check);
	if (!rc)
		rc = vmp__trace_parse(buf, got, load_rec, ts, err);
	free(buf);
	if (!rc) {
		ts->t_first = ts->n ? ts->recs[0].t : 0;
		ts->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		ts->timer.ready = tick;
		rc = ts->timer.fd < 0 ? -errno : vmp__source_watch(src, &ts->timer, EPOLLIN);
	}
	if (rc) {
		vmp__error_path(err, src->cfg.trace_path);
		trace_fini(src);
		return rc;
	}
	if (!src->cfg.trace_hold)
		trace_start(src);
	return 0;
}

static int trace_subscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	struct tsrc *ts = src->kind_data;
	vmp_group *g;
	int rc = vmp_group_lookup(ts->ctx, sub->cgroup, &g);
	if (rc)
		return rc;
	return vmp__source_engine_subscribe(sub, g);
}

static void trace_unsubscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	(void)src;
	vmp__source_engine_unsubscribe(sub);
}

/* Recording a playback: the same calls with the file's own times, and its
 * `work` records where it has them (then they are the only evaluations). */
static int trace_set_tap(struct vmp_source *src, const struct vmp_tap *tap, unsigned *flags)
{
	struct tsrc *ts = src->kind_data;
	ts->tap = tap;
	*flags = VMP_TAP_F_TRACE_TIME | (ts->manual ? VMP_TAP_F_WORK : 0);
	return 0;
}

const struct vmp_source_ops vmp__source_trace_ops = {
	.init = trace_init,
	.fini = trace_fini,
	.subscribe = trace_subscribe,
	.unsubscribe = trace_unsubscribe,
	.start = trace_start,
	.set_tap = trace_set_tap,
};
