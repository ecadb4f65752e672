/* SPDX-License-Identifier: MIT */
/*
 * Sources: the common part. A source owns an epoll fd that holds every fd
 * it needs (kernel eventfds, PSI triggers, its sampling timer); the caller
 * polls that one fd and calls vmp_source_dispatch(), which runs the ready
 * handlers. The kinds (v1.c, estimator glue in live.c) fill in the rest.
 */
#include "sources/source.h"
#include "sources/record.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

VMP_EXPORT void vmp_source_config_init(struct vmp_source_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* AUTO: the v1 memory controller if it is mounted (the exact case), else
 * cgroup v2 with the memory controller, else the machine alone. An
 * explicit cgroup root that is neither is an error, not the machine: the
 * caller asked for cgroups there, and the machine source would make every
 * cgroup check moot. -EINVAL for "", -ENOENT (a missing directory, or
 * neither hierarchy's files in it), -ENOTDIR. */
int vmp__source_detect(const struct vmp_source_config *cfg, enum vmp_source_kind *kind)
{
	char buf[4096];
	const char *v1 = cfg->cgroup_root ? cfg->cgroup_root : "/sys/fs/cgroup/memory";
	if (cfg->cgroup_root && !*cfg->cgroup_root)
		return -EINVAL;
	*kind = VMP_SOURCE_V1;
	snprintf(buf, sizeof(buf), "%s/cgroup.event_control", v1);
	if (exists(buf))
		return 0;
	const char *v2 = cfg->cgroup_root ? cfg->cgroup_root : "/sys/fs/cgroup";
	*kind = VMP_SOURCE_V2;
	snprintf(buf, sizeof(buf), "%s/cgroup.controllers", v2);
	if (exists(buf))
		return 0;
	*kind = VMP_SOURCE_MACHINE;
	if (!cfg->cgroup_root)
		return 0;
	struct stat st;
	if (stat(cfg->cgroup_root, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? -ENOENT : -ENOTDIR;
}

VMP_EXPORT int vmp_source_new(vmp_source **out, const struct vmp_source_config *cfg, struct vmp_error *err)
{
	vmp__error_clear(err);
	struct vmp_source_config c;
	if (!out)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	else
		vmp_source_config_init(&c);
	if ((unsigned)c.kind > VMP_SOURCE_TRACE) {
		vmp__errorf(err, 0, "source kind %u is not one of enum vmp_source_kind", (unsigned)c.kind);
		return -EINVAL;
	}
	if (c.kind == VMP_SOURCE_TRACE && !c.trace_path) {
		vmp__errorf(err, 0, "a trace source needs trace_path");
		return -EINVAL;
	}
	if (!(c.trace_speed >= 0)) {
		vmp__errorf(err, 0, "trace_speed %g is not 0 (as fast as possible) or more", c.trace_speed);
		return -EINVAL;
	}
	if (!c.idle_interval_ms)
		c.idle_interval_ms = 1000;
	if (!c.busy_interval_ms)
		c.busy_interval_ms = 100;
	enum vmp_source_kind kind = c.kind;
	if (kind == VMP_SOURCE_AUTO) {
		int rc = vmp__source_detect(&c, &kind);
		if (rc) {
			if (c.cgroup_root) {
				vmp__error_path(err, c.cgroup_root);
				vmp__errorf(err, 0, "the cgroup root '%s' is %s", c.cgroup_root,
					    rc == -ENOTDIR ? "not a directory"
					    : rc == -EINVAL ? "empty"
							    : "neither a cgroup v1 memory nor a v2 hierarchy");
			}
			return rc;
		}
	}

	struct vmp_source *src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->cfg = c;
	src->kind = kind;
	src->ops = kind == VMP_SOURCE_V1      ? &vmp__source_v1_ops
		   : kind == VMP_SOURCE_TRACE ? &vmp__source_trace_ops
					      : &vmp__source_est_ops;
	const char *croot = c.cgroup_root ? c.cgroup_root
			    : kind == VMP_SOURCE_V1 ? "/sys/fs/cgroup/memory"
						    : "/sys/fs/cgroup";
	src->cgroup_root = strdup(croot);
	src->proc_root = strdup(c.proc_root ? c.proc_root : "/proc");
	src->epfd = epoll_create1(EPOLL_CLOEXEC);
	int rc = 0;
	if (!src->cgroup_root || !src->proc_root)
		rc = -ENOMEM;
	else if (src->epfd < 0)
		rc = -errno;
	else
		rc = src->ops->init(src, err);
	if (rc) {
		if (src->epfd >= 0)
			close(src->epfd);
		free(src->cgroup_root);
		free(src->proc_root);
		free(src);
		return rc;
	}
	*out = src;
	return 0;
}

static void sub_free(struct vmp_sub *sub)
{
	free(sub->cgroup);
	free(sub->args);
	free(sub);
}

VMP_EXPORT void vmp_source_free(vmp_source *src)
{
	if (!src)
		return;
	if (src->rec) {
		/* A recording not ended (a failed start): tearing the tree
		 * down drops groups, which must not reach a recorder whose
		 * caller may have closed its output already. */
		unsigned flags;
		src->ops->set_tap(src, NULL, &flags);
		vmp__recorder_end(src->rec);
	}
	while (src->subs)
		vmp_source_unsubscribe(src, src->subs);
	src->ops->fini(src);
	vmp__record_free(src->rec);
	close(src->epfd);
	free(src->cgroup_root);
	free(src->proc_root);
	free(src);
}

VMP_EXPORT enum vmp_source_kind vmp_source_kind(const vmp_source *src)
{
	return src ? src->kind : VMP_SOURCE_AUTO;
}

VMP_EXPORT const char *vmp_source_kind_name(enum vmp_source_kind kind)
{
	static const char *const names[] = {"auto", "cgroup-v1", "cgroup-v2", "machine", "trace"};
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : NULL;
}

VMP_EXPORT int vmp_source_subscribe(vmp_source *src, const char *cgroup, const char *args,
				    vmp_source_fn fn, void *arg, vmp_sub **out)
{
	if (!src || !cgroup || !args || !fn || !out)
		return -EINVAL;
	vmp_level level;
	vmp_mode mode;
	int rc = vmp_parse_args(args, &level, &mode);
	if (rc)
		return rc;
	struct vmp_sub *sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	sub->src = src;
	sub->cgroup = vmp__cgroup_normalize(cgroup);
	sub->args = strdup(args);
	sub->level = level;
	sub->mode = mode;
	sub->fn = fn;
	sub->arg = arg;
	if (!sub->cgroup || !sub->args) {
		rc = sub->args && !sub->cgroup ? -EINVAL : -ENOMEM;
		sub_free(sub);
		return rc;
	}
	rc = src->ops->subscribe(src, sub);
	if (rc) {
		sub_free(sub);
		return rc;
	}
	sub->next = src->subs;
	src->subs = sub;
	*out = sub;
	return 0;
}

VMP_EXPORT void vmp_source_unsubscribe(vmp_source *src, vmp_sub *sub)
{
	if (!src || !sub)
		return;
	for (struct vmp_sub **pp = &src->subs; *pp; pp = &(*pp)->next)
		if (*pp == sub) {
			*pp = sub->next;
			src->ops->unsubscribe(src, sub);
			sub_free(sub);
			return;
		}
}

VMP_EXPORT int vmp_source_start(vmp_source *src)
{
	if (!src)
		return -EINVAL;
	return src->ops->start ? src->ops->start(src) : 0;
}

/* ---- engine-backed subscriptions -------------------------------------- */

static void engine_event(const struct vmp_event *ev, void *arg)
{
	struct vmp_sub *sub = arg;
	struct vmp_source_event out = {
		.flags = ev->flags & VMP_EVENT_REMOVED,
		.level = ev->level,
		.origin = vmp_group_path(ev->origin),
		.scanned = ev->scanned,
		.reclaimed = ev->reclaimed,
		.pressure = ev->pressure,
		.psi_some_avg10 = -1,
		.psi_full_avg10 = -1,
		.count = 1,
	};
	if (sub->src->kind != VMP_SOURCE_TRACE)
		out.flags |= VMP_EVENT_ESTIMATED;
	if (out.flags & VMP_EVENT_REMOVED)
		out.flags |= VMP_EVENT_NO_EVIDENCE;
	else if (sub->src->ops->psi) {
		struct vmp_psi_pair p = sub->src->ops->psi(sub->src, ev->group);
		out.psi_some_avg10 = p.some;
		out.psi_full_avg10 = p.full;
	}
	vmp__source_emit(sub, &out);
}

int vmp__source_engine_subscribe(struct vmp_sub *sub, vmp_group *g)
{
	int rc = vmp_listen_callback(g, sub->args, engine_event, sub);
	if (rc)
		return rc;
	sub->kind_data = vmp_group_ref(g);
	if (sub->src->rec)
		vmp__record_listen(sub->src->rec, sub, g);
	return 0;
}

void vmp__source_engine_unsubscribe(struct vmp_sub *sub)
{
	vmp_group *g = sub->kind_data;
	if (!g)
		return;
	vmp_unlisten_callback(g, engine_event, sub);
	vmp_group_unref(g);
	sub->kind_data = NULL;
}

VMP_EXPORT int vmp_source_fd(const vmp_source *src)
{
	return src ? src->epfd : -EINVAL;
}

int vmp__source_watch(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(src->epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

void vmp__source_unwatch(struct vmp_source *src, struct vmp_watch *w)
{
	epoll_ctl(src->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

VMP_EXPORT int vmp_source_dispatch(vmp_source *src)
{
	if (!src)
		return -EINVAL;
	/* One ready fd at a time: a callback may unsubscribe, which removes
	 * fds from the epoll set, so no stale batch is ever walked. */
	for (int i = 0; i < 256; i++) {
		struct epoll_event ev;
		int n = epoll_wait(src->epfd, &ev, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		struct vmp_watch *w = ev.data.ptr;
		int rc = w->ready(src, w, ev.events);
		if (rc)
			return rc;
	}
	return 0;
}

void vmp__source_emit(struct vmp_sub *sub, struct vmp_source_event *ev)
{
	if (sub->dead)
		return;
	ev->cgroup = sub->cgroup;
	if (!ev->time_ns && sub->src->event_time_ns) {
		ev->time_ns = sub->src->event_time_ns;
		ev->mono_ns = sub->src->event_mono_ns;
	}
	if (!ev->time_ns)
		ev->time_ns = vmp__realtime_ns();
	if (!ev->mono_ns)
		ev->mono_ns = vmp__mono_ns();
	if (ev->flags & VMP_EVENT_REMOVED)
		sub->dead = true;
	else
		sub->delivered += ev->count;
	sub->fn(ev, sub->arg);
}
