/* SPDX-License-Identifier: MIT */
/*
 * cgroup v1 passthrough: the kernel computes the levels itself, so we
 * register with it and relay. Exact by construction.
 *
 * A subscription (cgroup, level, mode) becomes one kernel registration with
 * the same arguments, written to cgroup.event_control as
 * "<eventfd> <fd of memory.pressure_level> <args>". Its eventfd
 * counts exactly what a listener registered directly receives.
 *
 * The eventfd does not say which level fired. To report it without
 * changing what anyone else receives, we add hidden registrations with the
 * same mode at each higher level. Such a listener fires only when the
 * subscriber's own one fires at the same node (a higher minimum, same
 * suppression rule), so it never "handles" an event that would otherwise
 * have reached a default listener above: the kernel's delivery is
 * unchanged. Hidden listeners are registered after the subscriber's, so
 * within one walk the kernel (newest first) increments critical, then
 * medium, then the subscriber's fd. Reading the subscriber's fd first and
 * the hidden ones after therefore sees every hidden increment of the walks
 * already counted; the surplus belongs to walks still in flight and is
 * carried to the next read.
 *
 * Removal (rmdir): the kernel signals every registration once more.
 * After each wake we check that the directory we opened is still there,
 * by its inode and a descriptor of it, not by its path (same_dir()): a
 * renamed cgroup keeps its registrations. If it is gone, the last
 * increment on each fd was that signal.
 */
#include "sources/cgfiles.h"
#include "sources/source.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct v1_sub {
	struct vmp_watch w;      /* the subscriber's own eventfd */
	int efd[3];              /* by level; -1 below the subscriber's */
	uint64_t pend[3];        /* read but not yet classified */
	char *dir;
	dev_t dev;
	ino_t ino;
	int dirfd;               /* O_PATH: the directory itself, renamed or not */
};

static int open_dir(const char *dir, struct stat *st)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* One registration through cgroup.event_control. */
static int kregister(int dirfd, int efd, const char *args)
{
	/* Regular files only, opened without blocking (cgfiles.c): a FIFO in
	 * a fixture tree would hang open() for ever. */
	int cfd = vmp__open_regular(dirfd, "memory.pressure_level", O_RDONLY);
	if (cfd < 0)
		return cfd == -ENOENT ? -ENOTSUP : cfd;
	int ctl = vmp__open_regular(dirfd, "cgroup.event_control", O_WRONLY);
	if (ctl < 0) {
		close(cfd);
		return ctl;
	}
	char line[64];
	int n = snprintf(line, sizeof(line), "%d %d %s", efd, cfd, args);
	int rc = 0;
	if (n < 0 || (size_t)n >= sizeof(line))
		rc = -EINVAL;
	else if (write(ctl, line, (size_t)n) != n)
		rc = -errno;
	/* The kernel holds its own references; ours can go. */
	close(ctl);
	close(cfd);
	return rc;
}

static uint64_t take(int fd)
{
	uint64_t v = 0;
	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Still there? The path first (the common case: it is the directory we
 * registered in); else the directory itself, by the descriptor we keep:
 * a renamed cgroup (mv G/a G/b) is the same inode, its registrations go
 * on, and it is not a removal. A removed one has no files left below it
 * (cgroupfs deactivates its entries; any file system empties it first). */
static bool same_dir(struct v1_sub *v)
{
	struct stat st;
	if (stat(v->dir, &st) == 0 && st.st_dev == v->dev && st.st_ino == v->ino)
		return true;
	if (v->dirfd < 0)
		return false;
	if (fstat(v->dirfd, &st) != 0 || st.st_dev != v->dev || st.st_ino != v->ino || st.st_nlink == 0)
		return false;
	return fstatat(v->dirfd, "memory.pressure_level", &st, 0) == 0;
}

static int v1_ready(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	(void)src;
	(void)events;
	struct vmp_sub *sub = NULL;
	struct v1_sub *v = (struct v1_sub *)w;
	for (struct vmp_sub *s = src->subs; s; s = s->next)
		if (s->kind_data == v)
			sub = s;
	if (!sub)
		return 0;
	/* The subscriber's fd first, then the hidden ones (see the top). */
	for (int lv = (int)sub->level; lv <= VMP_LEVEL_CRITICAL; lv++)
		v->pend[lv] += take(v->efd[lv]);

	bool removed = !same_dir(v);
	if (removed)
		for (int lv = (int)sub->level; lv <= VMP_LEVEL_CRITICAL; lv++)
			if (v->pend[lv])
				v->pend[lv]--; /* the removal signal, not an event */

	uint64_t n = v->pend[sub->level];
	uint64_t crit = v->pend[VMP_LEVEL_CRITICAL] < n ? v->pend[VMP_LEVEL_CRITICAL] : n;
	uint64_t med = 0;
	if (sub->level < VMP_LEVEL_MEDIUM) {
		uint64_t m = v->pend[VMP_LEVEL_MEDIUM] < n ? v->pend[VMP_LEVEL_MEDIUM] : n;
		med = m > crit ? m - crit : 0;
		v->pend[VMP_LEVEL_MEDIUM] -= med + crit;
	}
	if (sub->level < VMP_LEVEL_CRITICAL)
		v->pend[VMP_LEVEL_CRITICAL] -= crit;
	v->pend[sub->level] = 0;
	uint64_t by[3] = {n - crit - med, med, crit};
	if (sub->level == VMP_LEVEL_MEDIUM)
		by[1] = n - crit;
	uint64_t now = vmp__realtime_ns(), now_mono = vmp__mono_ns();
	for (int lv = (int)sub->level; lv <= VMP_LEVEL_CRITICAL; lv++) {
		if (!by[lv])
			continue;
		struct vmp_source_event ev = {
			.flags = VMP_EVENT_NO_EVIDENCE,
			.level = (vmp_level)lv,
			.origin = NULL,
			.psi_some_avg10 = -1,
			.psi_full_avg10 = -1,
			.time_ns = now,
			.mono_ns = now_mono,
			.count = by[lv],
		};
		vmp__source_emit(sub, &ev);
	}
	if (removed) {
		/* Stop watching: the kernel has dropped the registrations. */
		vmp__source_unwatch(src, &v->w);
		struct vmp_source_event ev = {
			.flags = VMP_EVENT_REMOVED | VMP_EVENT_NO_EVIDENCE,
			.level = sub->level,
			.psi_some_avg10 = -1,
			.psi_full_avg10 = -1,
			.time_ns = now,
			.mono_ns = now_mono,
			.count = 1,
		};
		vmp__source_emit(sub, &ev);
	}
	return 0;
}

static void v1_sub_free(struct v1_sub *v)
{
	for (int i = 0; i < 3; i++)
		if (v->efd[i] >= 0)
			close(v->efd[i]); /* the kernel unregisters on close */
	if (v->dirfd >= 0)
		close(v->dirfd);
	free(v->dir);
	free(v);
}

static int v1_subscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	struct v1_sub *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->efd[0] = v->efd[1] = v->efd[2] = -1;
	v->dirfd = -1;
	v->dir = vmp__path_join(src->cgroup_root, sub->cgroup, NULL);
	if (!v->dir) {
		free(v);
		return -ENOMEM;
	}
	struct stat st;
	int dirfd = open_dir(v->dir, &st);
	if (dirfd < 0) {
		v1_sub_free(v);
		return dirfd == -ENOTDIR ? -ENOENT : dirfd;
	}
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->dirfd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;
	/* The subscriber's registration first: the hidden ones must be newer. */
	for (int lv = (int)sub->level; lv <= VMP_LEVEL_CRITICAL && !rc; lv++) {
		v->efd[lv] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd[lv] < 0) {
			rc = -errno;
			break;
		}
		char args[32];
		if (lv == (int)sub->level)
			snprintf(args, sizeof(args), "%s", sub->args);
		else
			snprintf(args, sizeof(args), "%s,%s", vmp_level_name((vmp_level)lv),
				 vmp_mode_name(sub->mode));
		rc = kregister(dirfd, v->efd[lv], args);
	}
	close(dirfd);
	if (!rc) {
		v->w.fd = v->efd[sub->level];
		v->w.ready = v1_ready;
		rc = vmp__source_watch(src, &v->w, EPOLLIN);
	}
	if (rc) {
		v1_sub_free(v);
		return rc;
	}
	sub->kind_data = v;
	return 0;
}

static void v1_unsubscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	struct v1_sub *v = sub->kind_data;
	if (!v)
		return;
	vmp__source_unwatch(src, &v->w);
	v1_sub_free(v);
	sub->kind_data = NULL;
}

static int v1_init(struct vmp_source *src, struct vmp_error *err)
{
	char *p = vmp__path_join(src->cgroup_root, "/", "cgroup.event_control");
	if (!p)
		return -ENOMEM;
	int rc = access(p, F_OK) == 0 ? 0 : -ENOENT;
	if (rc) {
		vmp__error_path(err, p);
		vmp__errorf(err, 0, "no cgroup v1 memory controller here (no cgroup.event_control)");
	}
	free(p);
	return rc;
}

static void v1_fini(struct vmp_source *src)
{
	(void)src;
}

const struct vmp_source_ops vmp__source_v1_ops = {
	.init = v1_init,
	.fini = v1_fini,
	.subscribe = v1_subscribe,
	.unsubscribe = v1_unsubscribe,
};
