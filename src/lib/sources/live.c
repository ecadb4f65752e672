/* SPDX-License-Identifier: MIT */
/*
 * Estimator sources on a live machine: cgroup v2 and the machine alone.
 * This file is the I/O half: which files to read and when. What the
 * numbers mean (origins, windows, the priority-path stand-in) is
 * estimator.c's business.
 *
 * Reading less without missing pressure. A reclaim window that the kernel
 * would report originates either in a memcg whose limit was hit, or at the
 * root (global reclaim). A limit hit always bumps the memcg's
 * memory.events (`high` or `max`), and v2 makes memory.events
 * hierarchical and pollable: the kernel raises a file-modified event on
 * every change. So:
 *  - every cgroup of a watched subtree has an inotify watch on its
 *    memory.events: an idle machine costs no reads for the subtrees;
 *  - a modified memory.events makes that cgroup "hot": it is sampled at
 *    the busy interval (memory.stat, memory.events, memory.pressure) until
 *    it has been calm for a while;
 *  - a subscribed cgroup is also sampled every 5 s while calm, so that its
 *    baseline is never forgotten (REFRESH_NS);
 *  - as a safety net, each idle tick reads the memory.events of every
 *    subscription's root (one read per subscription, whatever the size of
 *    the subtree) and, when it moved with no hot descendant to explain it,
 *    walks down the children whose events moved;
 *  - global reclaim shows only in /proc/vmstat, which is read each tick
 *    while someone watches the root; /proc/schedstat is read each tick
 *    (the tasks waiting for the CPUs: CROWD, estimator/prio.c);
 *  - where the kernel lets us, a PSI trigger on each subscribed cgroup's
 *    memory.pressure (and /proc/pressure/memory for the root) wakes the
 *    source as soon as tasks stall, before the next tick.
 * Descriptors stay open and are re-read with pread.
 */
#include "sources/source.h"
#include "util/clock.h"
#include "sources/cgfiles.h"
#include "estimator/estimator.h"
#include "sources/tap.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* A cgroup sampled at the busy rate stays hot this long after its last
 * change, so that the estimator sees the tail of a burst. */
#define HOT_HOLD_NS 2000000000u
/* A subscribed cgroup is sampled at least this often, calm or not, so
 * that the estimator never forgets its baseline: an OOM with nothing to
 * reclaim is over within milliseconds of its first event, before the step
 * it wakes can read a first sample. */
#define REFRESH_NS (VMP_EST_FORGET_NS / 2)
#define FILEBUF 8192

/* PSI trigger: 100 ms of "some" stall within 1 s, lmkd's medium. */
#define PSI_TRIGGER "some 100000 1000000"

struct cg {
	struct vmp_watch psi_w;  /* first: the watch leads to its cgroup */
	struct cg *parent, *child, *next;
	struct cg *wnext;        /* wd table chain */
	char *path;              /* "/" or "a/b" */
	vmp_group *g;
	struct vmp_est_node *node; /* the estimator's; NULL for the root */
	int dirfd;
	int fd_stat, fd_events, fd_local, fd_pressure, fd_swap;
	bool no_swap;            /* memory.swap.current absent: not tried again */
	int wd;
	unsigned watchers;       /* subscriptions whose subtree holds this cgroup */
	unsigned direct_subs;    /* subscriptions on this very cgroup */
	uint64_t hot_until;
	uint64_t sampled_at;     /* the last step that sampled it; 0: none, a
				  * baseline is due (new to the estimator) */
	uint64_t psi_read_at;
	bool gone;
	uint64_t ev_sum;         /* high+max+oom+oom_kill at the last look */
	struct vmp_psi psi;
	bool have_psi;
};

struct live {
	vmp_ctx *ctx;
	struct vmp_est *est;
	struct cg *root;
	int ino_fd;
	struct vmp_watch ino_w, timer_w;
	int fd_vmstat, fd_mpsi, fd_sched;
	char *sched_buf; /* /proc/schedstat grows with the CPUs: its own buffer */
	size_t sched_cap;
	unsigned root_subs;
	bool v2;
	char buf[FILEBUF];
	/* inotify wd -> cgroup: an event must not cost a walk of the tree */
	struct cg **wtab;
	size_t wcap, wcount;
	/* per-step scratch */
	struct vmp_est_node **sg;
	struct vmp_est_cgroup *sc;
	size_t scap;
	uint64_t last_idle_check;
	uint64_t last_step_ns; /* 0: none yet */
	unsigned idle_checks;
	const struct vmp_tap *tap; /* vmpressure record: drops are recorded */
	/* Descriptors kept open, and how many we allow ourselves: half of
	 * RLIMIT_NOFILE, so that a daemon keeps room for its clients. */
	size_t fds_open, fd_budget;
	uint64_t page_size;      /* memory.stat counts bytes, the estimator pages */
};

/* ---- reading ----------------------------------------------------------- */

/* Read one of a cgroup's files into lv->buf through its kept descriptor,
 * opening it on first use. Out of descriptors (a very large tree and a low
 * RLIMIT_NOFILE), read it through a transient one instead: slower, but no
 * pressure goes unseen. */
static int cg_read(struct live *lv, struct cg *c, const char *name, int *fd, size_t *len)
{
	if (*fd < 0) {
		if (lv->fds_open < lv->fd_budget)
			*fd = vmp__open_regular(c->dirfd, name, O_RDONLY);
		else
			*fd = -EMFILE;
		if (*fd >= 0)
			lv->fds_open++;
		if (*fd == -EMFILE || *fd == -ENFILE) {
			int tfd = vmp__open_regular(c->dirfd, name, O_RDONLY);
			*fd = -1;
			int rc = tfd < 0 ? tfd : vmp__pread_all(tfd, lv->buf, sizeof(lv->buf), len);
			if (tfd >= 0)
				close(tfd);
			return rc;
		}
		if (*fd < 0) {
			int rc = *fd;
			*fd = -1;
			return rc;
		}
	}
	return vmp__pread_all(*fd, lv->buf, sizeof(lv->buf), len);
}

static int read_kv(struct live *lv, struct cg *c, const char *name, int *fd, const char *const *keys,
		   size_t n, uint64_t *vals, uint64_t *found)
{
	size_t len;
	int rc = cg_read(lv, c, name, fd, &len);
	if (rc)
		return rc;
	return vmp__parse_kv(lv->buf, len, keys, n, vals, found);
}

static const char *const ev_keys[] = {"high", "max", "oom", "oom_kill"};

static int read_events(struct live *lv, struct cg *c, uint64_t ev[4])
{
	uint64_t found = 0;
	memset(ev, 0, 4 * sizeof(ev[0]));
	int rc = read_kv(lv, c, "memory.events", &c->fd_events, ev_keys, 4, ev, &found);
	if (!rc && (found & 3) != 3)
		rc = -EBADMSG; /* high and max are always there in v2 */
	return rc;
}

static void read_psi(struct live *lv, struct cg *c)
{
	size_t len;
	if (cg_read(lv, c, "memory.pressure", &c->fd_pressure, &len) != 0 ||
	    vmp__parse_psi(lv->buf, len, &c->psi) != 0) {
		c->have_psi = false;
		return;
	}
	c->have_psi = true;
	c->psi_read_at = vmp__mono_ns();
}

/* One cgroup's snapshot for the estimator. */
static void sample_cg(struct live *lv, struct cg *c, struct vmp_est_cgroup *out)
{
	static const char *const stat_keys[] = {"pgscan",         "pgsteal",     "pgscan_direct",
						"pgsteal_direct", "active_file", "inactive_file",
						"active_anon",    "inactive_anon"};
	static const char *const local_keys[] = {"high", "max", "oom"};
	memset(out, 0, sizeof(*out));
	uint64_t ev[4], st[8] = {0}, found = 0;
	if (read_events(lv, c, ev) != 0)
		return; /* invalid: vanished or changed shape */
	if (read_kv(lv, c, "memory.stat", &c->fd_stat, stat_keys, 8, st, &found) != 0 || (found & 3) != 3)
		return;
	out->pgscan = st[0];
	out->pgsteal = st[1];
	out->have_direct = (found & 12) == 12;
	out->pgscan_direct = st[2];
	out->pgsteal_direct = st[3];
	/* bytes in memory.stat; the estimator counts pages */
	out->have_lists = (found & 48) == 48;
	out->file_lru = (st[4] + st[5]) / lv->page_size;
	out->have_anon = (found & 192) == 192;
	out->anon_lru = (st[6] + st[7]) / lv->page_size;
	size_t len;
	int rc = c->no_swap ? -ENOENT : cg_read(lv, c, "memory.swap.current", &c->fd_swap, &len);
	if (rc == -ENOENT)
		c->no_swap = true; /* no swap accounting: the estimator does without */
	else if (rc == 0 && vmp__parse_value(lv->buf, len, 0, &out->swap) == 0) {
		out->have_swap = true;
		out->swap /= lv->page_size;
	}
	out->high = ev[0];
	out->max = ev[1];
	out->oom = ev[2];
	out->oom_kill = ev[3];
	uint64_t lvals[3] = {0, 0, 0};
	if (read_kv(lv, c, "memory.events.local", &c->fd_local, local_keys, 3, lvals, &found) == 0 &&
	    (found & 3) == 3) {
		out->have_local = true;
		out->local_high = lvals[0];
		out->local_max = lvals[1];
		out->local_oom = lvals[2];
	}
	read_psi(lv, c);
	out->psi_some_avg10 = c->have_psi ? c->psi.some_avg10 : -1;
	out->psi_full_avg10 = c->have_psi ? c->psi.full_avg10 : -1;
	out->psi_some_total = c->psi.some_total;
	out->psi_full_total = c->psi.full_total;
	out->valid = true;
	c->ev_sum = ev[0] + ev[1] + ev[2] + ev[3];
}

static bool sample_machine(struct live *lv, struct vmp_est_machine *m)
{
	static const char *const keys[] = {"pgscan_kswapd",      "pgscan_direct",     "pgsteal_kswapd",
					   "pgsteal_direct",     "allocstall_normal", "allocstall_movable",
					   "allocstall_dma32",   "allocstall_dma",     "oom_kill"};
	uint64_t v[9] = {0}, found = 0;
	memset(m, 0, sizeof(*m));
	size_t len;
	if (lv->fd_vmstat < 0 || vmp__pread_all(lv->fd_vmstat, lv->buf, sizeof(lv->buf), &len) != 0 ||
	    vmp__parse_kv(lv->buf, len, keys, 9, v, &found) != 0 || (found & 15) != 15)
		return false;
	m->pgscan_kswapd = v[0];
	m->pgscan_direct = v[1];
	m->pgsteal_kswapd = v[2];
	m->pgsteal_direct = v[3];
	m->allocstall = v[4] + v[5] + v[6] + v[7];
	m->oom_kill = v[8];
	struct vmp_psi p = {0};
	if (lv->fd_mpsi >= 0 && vmp__pread_all(lv->fd_mpsi, lv->buf, sizeof(lv->buf), &len) == 0 &&
	    vmp__parse_psi(lv->buf, len, &p) == 0) {
		m->psi_some_avg10 = p.some_avg10;
		m->psi_full_avg10 = p.full_avg10;
		m->psi_some_total = p.some_total;
		m->psi_full_total = p.full_total;
	} else {
		m->psi_some_avg10 = m->psi_full_avg10 = -1;
	}
	m->valid = true;
	return true;
}

/* /proc/schedstat's CPUs and their run + wait time; false where it cannot
 * be read or parsed (the step goes without). */
#define SCHED_BUF_MIN 16384u
#define SCHED_BUF_MAX (4u << 20)
static bool sample_sched(struct live *lv, struct vmp_est_sched *s)
{
	if (lv->fd_sched < 0)
		return false;
	for (;;) {
		if (!lv->sched_buf) {
			size_t cap = lv->sched_cap ? lv->sched_cap : SCHED_BUF_MIN;
			if ((lv->sched_buf = malloc(cap)) == NULL)
				return false;
			lv->sched_cap = cap;
		}
		size_t len;
		int rc = vmp__pread_all(lv->fd_sched, lv->sched_buf, lv->sched_cap, &len);
		if (rc == -EFBIG && lv->sched_cap < SCHED_BUF_MAX) {
			free(lv->sched_buf);
			lv->sched_buf = NULL;
			lv->sched_cap *= 2;
			continue;
		}
		return rc == 0 && vmp__parse_schedstat(lv->sched_buf, len, &s->cpus, &s->runq_ns) == 0 &&
		       s->cpus <= VMP_EST_SCHED_MAX_CPUS;
	}
}

/* ---- the cgroup tree ---------------------------------------------------- */

static void cg_close(struct live *lv, struct cg *c)
{
	if (c->psi_w.fd >= 0) { /* closing it also leaves the epoll set */
		close(c->psi_w.fd);
		c->psi_w.fd = -1;
	}
	int *fds[] = {&c->fd_stat, &c->fd_events, &c->fd_local, &c->fd_pressure, &c->fd_swap, &c->dirfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
			lv->fds_open--;
		}
}

static void wd_insert(struct live *lv, struct cg *c)
{
	if ((lv->wcount + 1) * 2 > lv->wcap) {
		size_t ncap = lv->wcap ? lv->wcap * 2 : 64;
		struct cg **nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return; /* found by the walk in wd_find instead */
		for (size_t i = 0; i < lv->wcap; i++)
			for (struct cg *e = lv->wtab[i], *next; e; e = next) {
				next = e->wnext;
				e->wnext = nt[(size_t)e->wd & (ncap - 1)];
				nt[(size_t)e->wd & (ncap - 1)] = e;
			}
		free(lv->wtab);
		lv->wtab = nt;
		lv->wcap = ncap;
	}
	struct cg **b = &lv->wtab[(size_t)c->wd & (lv->wcap - 1)];
	c->wnext = *b;
	*b = c;
	lv->wcount++;
}

static void wd_remove(struct live *lv, struct cg *c)
{
	if (!lv->wcap || c->wd < 0)
		return;
	for (struct cg **pp = &lv->wtab[(size_t)c->wd & (lv->wcap - 1)]; *pp; pp = &(*pp)->wnext)
		if (*pp == c) {
			*pp = c->wnext;
			lv->wcount--;
			return;
		}
}

/* Depth-first search for the cgroup that matches. */
static struct cg *cg_find(struct cg *c, bool (*match)(const struct cg *, const void *), const void *key)
{
	if (match(c, key))
		return c;
	for (struct cg *ch = c->child; ch; ch = ch->next) {
		struct cg *r = cg_find(ch, match, key);
		if (r)
			return r;
	}
	return NULL;
}

static bool has_wd(const struct cg *c, const void *key)
{
	return c->wd == *(const int *)key;
}

static bool has_group(const struct cg *c, const void *key)
{
	return c->g == key;
}

static struct cg *wd_find(struct live *lv, int wd)
{
	if (lv->wcap)
		for (struct cg *e = lv->wtab[(size_t)wd & (lv->wcap - 1)]; e; e = e->wnext)
			if (e->wd == wd)
				return e;
	return wd >= 0 ? cg_find(lv->root, has_wd, &wd) : NULL;
}

static struct cg *cg_new(struct live *lv, struct cg *parent, const char *path, vmp_group *g, int dirfd)
{
	struct cg *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return NULL;
	}
	c->fd_stat = c->fd_events = c->fd_local = c->fd_pressure = c->fd_swap = -1;
	c->psi_w.fd = -1;
	c->wd = -1;
	c->dirfd = dirfd;
	if (dirfd >= 0)
		lv->fds_open++;
	c->g = g;
	c->parent = parent;
	if (parent) {
		c->next = parent->child;
		parent->child = c;
	}
	if (lv->v2 && lv->ino_fd >= 0 && dirfd >= 0) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d/memory.events", dirfd);
		c->wd = inotify_add_watch(lv->ino_fd, p, IN_MODIFY | IN_DELETE_SELF);
		if (c->wd >= 0)
			wd_insert(lv, c);
	}
	return c;
}

static struct cg *find_child(struct cg *p, const char *name)
{
	const char *leaf;
	for (struct cg *c = p->child; c; c = c->next) {
		leaf = strrchr(c->path, '/');
		leaf = leaf ? leaf + 1 : c->path;
		if (strcmp(leaf, name) == 0)
			return c;
	}
	return NULL;
}

/* Find or create the child `name` of p (its directory must exist). */
static int cg_child(struct live *lv, struct cg *p, const char *name, struct cg **out)
{
	struct cg *c = find_child(p, name);
	if (c) {
		*out = c;
		return 0;
	}
	int dfd = openat(p->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (faccessat(dfd, "memory.stat", F_OK, 0) != 0) {
		close(dfd);
		return -ENOTSUP; /* the memory controller is not enabled there */
	}
	/* Its files are read for as long as it is watched: a FIFO or a
	 * device in their place (a fixture tree) is refused now, not found
	 * to block later (each read opens with O_NONBLOCK anyway). */
	static const char *const files[] = {"memory.stat", "memory.events", "memory.pressure"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct stat st;
		if (fstatat(dfd, files[i], &st, 0) == 0 && !S_ISREG(st.st_mode)) {
			close(dfd);
			return -EINVAL;
		}
	}
	vmp_group *g;
	struct vmp_est_node *node;
	int rc = vmp_group_new(p->g, name, &g);
	if (rc) {
		close(dfd);
		return rc;
	}
	rc = vmp__est_node_new(lv->est, p->node, g, &node);
	if (rc) {
		vmp_group_destroy(g);
		close(dfd);
		return rc;
	}
	char *path = vmp__path_join(strcmp(p->path, "/") ? p->path : "", name, NULL);
	const char *rel = path ? (path[0] == '/' ? path + 1 : path) : NULL;
	c = rel ? cg_new(lv, p, rel, g, dfd) : NULL;
	free(path);
	if (!c) {
		vmp__est_node_free(node);
		vmp_group_destroy(g);
		close(dfd);
		return -ENOMEM;
	}
	c->node = node;
	*out = c;
	return 0;
}

/* Add every descendant directory of c that has memory files. */
static void scan_children(struct live *lv, struct cg *c, bool recurse)
{
	int fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		struct cg *ch;
		bool known = find_child(c, e->d_name) != NULL;
		if (cg_child(lv, c, e->d_name, &ch) == 0) {
			if (!known)
				ch->watchers = c->watchers;
			if (recurse)
				scan_children(lv, ch, true);
		}
	}
	closedir(d);
}

static void set_watchers(struct cg *c, int delta)
{
	c->watchers += (unsigned)delta;
	for (struct cg *ch = c->child; ch; ch = ch->next)
		set_watchers(ch, delta);
}

/* The cgroup is gone: its subtree leaves the engine, leaves first, and
 * the engine's removal signal reaches their listeners. */
static void cg_remove(struct live *lv, struct cg *c)
{
	while (c->child)
		cg_remove(lv, c->child);
	if (c->parent) {
		struct cg **pp = &c->parent->child;
		while (*pp != c)
			pp = &(*pp)->next;
		*pp = c->next;
	}
	if (c->wd >= 0 && lv->ino_fd >= 0) {
		wd_remove(lv, c);
		inotify_rm_watch(lv->ino_fd, c->wd);
	}
	cg_close(lv, c);
	vmp__est_node_free(c->node); /* its children went first */
	if (c->g && c->parent) {
		/* A cgroup seen again gets a new engine group and node: the
		 * estimator starts it afresh, and `vmpressure estimate` must too. */
		if (lv->tap && lv->tap->gone)
			lv->tap->gone(lv->tap->arg, c->g);
		vmp_group_destroy(c->g);
	}
	free(c->path);
	free(c);
}

/* Remove c and everything below it that no subscription watches. */
static void prune(struct live *lv, struct cg *c)
{
	for (struct cg *ch = c->child, *next; ch; ch = next) {
		next = ch->next;
		prune(lv, ch);
	}
	if (c->parent && !c->watchers && !c->child)
		cg_remove(lv, c);
}

/* ---- sampling ----------------------------------------------------------- */

static void mark_hot(struct cg *c, uint64_t now)
{
	for (; c; c = c->parent)
		c->hot_until = now + HOT_HOLD_NS;
}

static int collect(struct live *lv, struct cg *c, uint64_t now, size_t *n)
{
	bool due = !c->sampled_at || (c->direct_subs && now - c->sampled_at >= REFRESH_NS);
	if (c->parent && (c->hot_until > now || due) && !c->gone) {
		c->sampled_at = now;
		if (*n == lv->scap) {
			size_t ncap = lv->scap ? lv->scap * 2 : 64;
			struct vmp_est_node **ng = realloc(lv->sg, ncap * sizeof(*ng));
			if (!ng)
				return -ENOMEM;
			lv->sg = ng;
			struct vmp_est_cgroup *nc = realloc(lv->sc, ncap * sizeof(*nc));
			if (!nc)
				return -ENOMEM;
			lv->sc = nc;
			lv->scap = ncap;
		}
		sample_cg(lv, c, &lv->sc[*n]);
		if (!lv->sc[*n].valid && faccessat(c->dirfd, "memory.events", F_OK, 0) != 0)
			c->gone = true;
		lv->sg[(*n)++] = c->node;
	}
	for (struct cg *ch = c->child; ch; ch = ch->next) {
		int rc = collect(lv, ch, now, n);
		if (rc)
			return rc;
	}
	return 0;
}

/* The safety net: memory.events of a watched subtree's top moved, with no
 * hot cgroup below to explain it. Walk down to where it changed. */
static void descend(struct live *lv, struct cg *c, uint64_t now)
{
	uint64_t ev[4];
	if (c->gone || read_events(lv, c, ev) != 0)
		return;
	uint64_t sum = ev[0] + ev[1] + ev[2] + ev[3];
	if (sum == c->ev_sum)
		return;
	c->ev_sum = sum;
	mark_hot(c, now);
	scan_children(lv, c, false); /* a new child may be the one */
	for (struct cg *ch = c->child; ch; ch = ch->next)
		descend(lv, ch, now);
}

/* Removal shows as a missing file (kernfs drops the directory; our open
 * descriptors go stale). Subscribed cgroups are checked every idle tick,
 * the rest every tenth: one faccessat each. */
static void check_gone(struct cg *c, bool all)
{
	if (c->parent && !c->gone && (all || c->direct_subs) &&
	    faccessat(c->dirfd, "memory.events", F_OK, 0) != 0)
		c->gone = true;
	for (struct cg *ch = c->child; ch; ch = ch->next)
		check_gone(ch, all);
}

static void sweep_gone(struct live *lv, struct cg *c)
{
	for (struct cg *ch = c->child, *next; ch; ch = next) {
		next = ch->next;
		if (ch->gone)
			cg_remove(lv, ch);
		else
			sweep_gone(lv, ch);
	}
}

static void subtree_tops(struct live *lv, struct cg *c, uint64_t now)
{
	/* A top is a watched cgroup whose parent is not watched. */
	if (c->watchers && (!c->parent || !c->parent->watchers)) {
		if (c->parent && faccessat(c->dirfd, "memory.events", F_OK, 0) != 0) {
			c->gone = true;
			return;
		}
		if (c->parent)
			descend(lv, c, now);
		else
			for (struct cg *ch = c->child; ch; ch = ch->next)
				descend(lv, ch, now);
		return;
	}
	for (struct cg *ch = c->child; ch; ch = ch->next)
		subtree_tops(lv, ch, now);
}

static void arm_ns(struct live *lv, uint64_t ns)
{
	struct itimerspec it = {0};
	it.it_value.tv_sec = (time_t)(ns / 1000000000u);
	it.it_value.tv_nsec = (long)(ns % 1000000000u);
	if (!ns)
		it.it_value.tv_nsec = 1;
	timerfd_settime(lv->timer_w.fd, 0, &it, NULL);
}

static void arm(struct live *lv, unsigned ms)
{
	arm_ns(lv, (uint64_t)ms * 1000000u);
}

static int step(struct vmp_source *src)
{
	struct live *lv = src->kind_data;
	uint64_t now = vmp__mono_ns();
	if (lv->v2 && now - lv->last_idle_check >= (uint64_t)src->cfg.idle_interval_ms * 1000000u) {
		lv->last_idle_check = now;
		check_gone(lv->root, lv->idle_checks++ % 10 == 0);
		subtree_tops(lv, lv->root, now);
	}
	size_t n = 0;
	int rc = collect(lv, lv->root, now, &n);
	if (rc)
		return rc;
	struct vmp_est_machine m;
	bool have_m = lv->root_subs && sample_machine(lv, &m);
	struct vmp_est_sched sc;
	vmp__est_set_sched(lv->est, sample_sched(lv, &sc) ? &sc : NULL);
	rc = vmp__est_step(lv->est, now, have_m ? &m : NULL, n, lv->sg, lv->sc);
	sweep_gone(lv, lv->root);
	lv->last_step_ns = now;
	arm(lv, vmp__est_next_interval_ms(lv->est, src->cfg.idle_interval_ms, src->cfg.busy_interval_ms));
	return rc == -ENOMEM ? rc : 0;
}

/* An event (memory.events changed, PSI stall) at a cgroup that was calm
 * steps at once: its baseline may be old or forgotten, and an OOM can run
 * its course within milliseconds of the first event. At a hot one the
 * steps keep to the busy interval, the spacing of the samples the
 * estimator's rules were measured on (docs/estimator.md, "Sampling"), and
 * the event only brings the next tick forward. */
static int step_soon(struct vmp_source *src, bool was_calm)
{
	struct live *lv = src->kind_data;
	uint64_t now = vmp__mono_ns(), gap = (uint64_t)src->cfg.busy_interval_ms * 1000000u;
	if (!was_calm && lv->last_step_ns && now - lv->last_step_ns < gap) {
		arm_ns(lv, lv->last_step_ns + gap - now);
		return 0;
	}
	return step(src);
}

static int timer_ready(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	(void)events;
	uint64_t x;
	if (read(w->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: re-armed meanwhile */
	}
	return step(src);
}

static int inotify_ready(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	(void)events;
	struct live *lv = src->kind_data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t now = vmp__mono_ns();
	bool any = false, was_calm = false;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			struct cg *c = wd_find(lv, e->wd);
			if (c) {
				if (e->mask & (IN_DELETE_SELF | IN_IGNORED)) {
					wd_remove(lv, c);
					c->wd = -1;
					c->gone = true;
				}
				was_calm = was_calm || c->hot_until <= now;
				mark_hot(c, now);
				any = true;
			}
			p += sizeof(*e) + e->len;
		}
	}
	return any ? step_soon(src, was_calm) : 0;
}

/* ---- PSI triggers --------------------------------------------------------- */

static void psi_unarm(struct vmp_source *src, struct cg *c)
{
	if (c->psi_w.fd < 0)
		return;
	vmp__source_unwatch(src, &c->psi_w);
	close(c->psi_w.fd);
	c->psi_w.fd = -1;
}

static int psi_ready(struct vmp_source *src, struct vmp_watch *w, uint32_t events)
{
	struct live *lv = src->kind_data;
	struct cg *c = (struct cg *)w; /* psi_w is the first member */
	if (events & EPOLLERR) { /* the cgroup went away */
		psi_unarm(src, c);
		c->gone = c->parent != NULL;
	}
	uint64_t now = vmp__mono_ns();
	bool was_calm = c->hot_until <= now;
	mark_hot(c, now);
	if (c->parent)
		descend(lv, c, now);
	return step_soon(src, was_calm);
}

/* Best effort: no trigger (no PSI, no permission, a fixture) only means
 * the next tick finds the stall instead. */
static void psi_arm(struct vmp_source *src, struct cg *c)
{
	if (c->psi_w.fd >= 0)
		return;
	int fd;
	if (c->parent)
		fd = vmp__open_regular(c->dirfd, "memory.pressure", O_RDWR);
	else {
		char *p = vmp__path_join(src->proc_root, "pressure/memory", NULL);
		fd = p ? vmp__open_regular(AT_FDCWD, p, O_RDWR) : -1;
		free(p);
	}
	if (fd < 0)
		return;
	c->psi_w.fd = fd;
	c->psi_w.ready = psi_ready;
	if (write(fd, PSI_TRIGGER, sizeof(PSI_TRIGGER)) != (ssize_t)sizeof(PSI_TRIGGER) ||
	    vmp__source_watch(src, &c->psi_w, EPOLLPRI) != 0) {
		close(fd);
		c->psi_w.fd = -1;
	}
}

/* ---- the source kind ---------------------------------------------------- */

static void live_fini(struct vmp_source *src)
{
	struct live *lv = src->kind_data;
	if (!lv)
		return;
	if (lv->root) {
		while (lv->root->child)
			cg_remove(lv, lv->root->child);
		cg_close(lv, lv->root);
		free(lv->root->path);
		free(lv->root);
	}
	vmp__est_free(lv->est);
	vmp_ctx_free(lv->ctx);
	int fds[] = {lv->ino_fd, lv->timer_w.fd, lv->fd_vmstat, lv->fd_mpsi, lv->fd_sched};
	for (size_t i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(lv->sched_buf);
	free(lv->sg);
	free(lv->sc);
	free(lv->wtab);
	free(lv);
	src->kind_data = NULL;
}

/* A small file's first line, NUL-terminated without its newline; false if
 * it cannot be read. */
static bool read_line(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return true;
}

/* The estimator set up for the running kernel (estimator.h): its release
 * (<proc>/sys/kernel/osrelease, as uname(2) gives it) and whether MGLRU
 * is on (/sys/kernel/mm/lru_gen/enabled beside <proc>: absent or 0 is
 * off, the kernel has no MGLRU or it is disabled). Unreadable: the
 * defaults, 6.1's rules. */
static void est_config_here(const struct vmp_source *src, struct vmp_est_config *cfg)
{
	vmp__est_config_init(cfg);
	char rel[128], lg[64];
	char *p = vmp__path_join(src->proc_root, "sys/kernel/osrelease", NULL);
	char *q = vmp__path_join(src->proc_root, "../sys/kernel/mm/lru_gen/enabled", NULL);
	int lru = 0;
	if (q && read_line(q, lg, sizeof(lg)))
		lru = strtoul(lg, NULL, 0) != 0;
	if (p && read_line(p, rel, sizeof(rel)))
		(void)vmp__est_config_kernel(cfg, rel, lru); /* not MAJOR.MINOR: the defaults */
	free(p);
	free(q);
}

static int live_init(struct vmp_source *src, struct vmp_error *err)
{
	struct live *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	src->kind_data = lv;
	lv->ino_fd = lv->timer_w.fd = lv->fd_vmstat = lv->fd_mpsi = lv->fd_sched = -1;
	lv->v2 = src->kind == VMP_SOURCE_V2;
	long ps = sysconf(_SC_PAGESIZE);
	lv->page_size = ps > 0 ? (uint64_t)ps : 4096;
	struct rlimit rl;
	lv->fd_budget = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 2 : 512;
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_INLINE; /* evaluations inside dispatch */
	int rc = vmp_ctx_new(&lv->ctx, &cfg);
	if (!rc) {
		struct vmp_est_config ecfg;
		est_config_here(src, &ecfg);
		rc = vmp__est_new_config(&lv->est, lv->ctx, &ecfg);
	}
	char *p = NULL;
	if (!rc && (p = vmp__path_join(src->proc_root, "vmstat", NULL)) == NULL)
		rc = -ENOMEM;
	if (!rc) {
		lv->fd_vmstat = vmp__open_regular(AT_FDCWD, p, O_RDONLY);
		if (lv->fd_vmstat < 0 && src->kind == VMP_SOURCE_MACHINE) {
			rc = lv->fd_vmstat;
			vmp__error_path(err, p);
			vmp__errorf(err, 0, "cannot open: %s", rc == -EINVAL ? "not a regular file" : strerror(-rc));
		}
		if (lv->fd_vmstat < 0)
			lv->fd_vmstat = -1;
	}
	free(p);
	if (!rc && (p = vmp__path_join(src->proc_root, "pressure/memory", NULL)) != NULL) {
		lv->fd_mpsi = vmp__open_regular(AT_FDCWD, p, O_RDONLY);
		if (lv->fd_mpsi < 0)
			lv->fd_mpsi = -1;
		free(p);
	}
	if (!rc && (p = vmp__path_join(src->proc_root, "schedstat", NULL)) != NULL) {
		lv->fd_sched = vmp__open_regular(AT_FDCWD, p, O_RDONLY);
		if (lv->fd_sched < 0)
			lv->fd_sched = -1; /* no CONFIG_SCHEDSTATS: CROWD goes without */
		free(p);
	}
	int dfd = -1;
	if (!rc && lv->v2) {
		dfd = open(src->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			rc = -errno;
			vmp__error_path(err, src->cgroup_root);
			vmp__errorf(err, 0, "cannot open the cgroup root: %s", strerror(-rc));
		} else if (faccessat(dfd, "cgroup.controllers", F_OK, 0) != 0) {
			rc = -ENOENT;
			vmp__error_path(err, src->cgroup_root);
			vmp__errorf(err, 0, "not a cgroup v2 hierarchy (no cgroup.controllers)");
		}
		if (!rc) {
			lv->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
			lv->ino_w.fd = lv->ino_fd;
			lv->ino_w.ready = inotify_ready;
			if (lv->ino_fd >= 0)
				rc = vmp__source_watch(src, &lv->ino_w, EPOLLIN);
		}
	}
	if (!rc && !(lv->root = cg_new(lv, NULL, "/", vmp_ctx_root(lv->ctx), dfd)))
		rc = -ENOMEM;
	else if (rc && dfd >= 0)
		close(dfd);
	if (!rc) {
		lv->timer_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		lv->timer_w.ready = timer_ready;
		rc = lv->timer_w.fd < 0 ? -errno : vmp__source_watch(src, &lv->timer_w, EPOLLIN);
	}
	if (rc) {
		live_fini(src);
		return rc;
	}
	return 0;
}

static int live_subscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	struct live *lv = src->kind_data;
	bool is_root = strcmp(sub->cgroup, "/") == 0;
	if (!lv->v2 && !is_root)
		return -ENOTSUP; /* the machine source knows only the root */
	struct cg *c = lv->root;
	if (!is_root) {
		/* Create the chain of cgroups down to the subscribed one. */
		char *path = strdup(sub->cgroup), *save = NULL;
		if (!path)
			return -ENOMEM;
		for (char *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
			int rc = cg_child(lv, c, tok, &c);
			if (rc) {
				free(path);
				return rc;
			}
		}
		free(path);
	}
	int rc = vmp__source_engine_subscribe(sub, c->g);
	if (rc)
		return rc;
	if (lv->v2)
		scan_children(lv, c, true);
	set_watchers(c, +1);
	c->direct_subs++;
	psi_arm(src, c);
	if (is_root)
		lv->root_subs++;
	if (lv->root_subs == 1 || !is_root)
		step(src); /* take the baselines now */
	return 0;
}

static void live_unsubscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	struct live *lv = src->kind_data;
	vmp_group *g = sub->kind_data;
	struct cg *c = g ? cg_find(lv->root, has_group, g) : NULL;
	vmp__source_engine_unsubscribe(sub);
	if (!c)
		return; /* its cgroup is already gone */
	set_watchers(c, -1);
	if (!--c->direct_subs)
		psi_unarm(src, c);
	if (c == lv->root)
		lv->root_subs--;
	/* Cgroups no subscription watches leave the engine (no listener
	 * remains on them), unless a watched one lies below. */
	struct cg *p = c->parent;
	prune(lv, c); /* may free c */
	while (p && p->parent) {
		struct cg *pp = p->parent;
		prune(lv, p);
		p = pp;
	}
}

static struct vmp_psi_pair live_psi(struct vmp_source *src, vmp_group *g)
{
	struct live *lv = src->kind_data;
	struct vmp_psi_pair r = {-1, -1};
	struct cg *c = cg_find(lv->root, has_group, g);
	if (!c)
		return r;
	if (c == lv->root) {
		struct vmp_psi p;
		size_t len;
		if (lv->fd_mpsi >= 0 && vmp__pread_all(lv->fd_mpsi, lv->buf, sizeof(lv->buf), &len) == 0 &&
		    vmp__parse_psi(lv->buf, len, &p) == 0) {
			r.some = p.some_avg10;
			r.full = p.full_avg10;
		}
		return r;
	}
	if (vmp__mono_ns() - c->psi_read_at > 100000000u)
		read_psi(lv, c);
	if (c->have_psi) {
		r.some = c->psi.some_avg10;
		r.full = c->psi.full_avg10;
	}
	return r;
}

/* Recording: every engine call here is the estimator's. Under the inline
 * executor each of its vmp_group_run_job() calls follows a call that
 * filled the window and was evaluated inside it, so it finds nothing: the
 * recording needs no `work` records, and replays with immediate timing. */
static int live_set_tap(struct vmp_source *src, const struct vmp_tap *tap, unsigned *flags)
{
	struct live *lv = src->kind_data;
	vmp__est_set_tap(lv->est, tap);
	lv->tap = tap;
	*flags = 0;
	return 0;
}

const struct vmp_source_ops vmp__source_est_ops = {
	.init = live_init,
	.fini = live_fini,
	.subscribe = live_subscribe,
	.unsubscribe = live_unsubscribe,
	.psi = live_psi,
	.set_tap = live_set_tap,
};
