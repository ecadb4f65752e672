/* SPDX-License-Identifier: MIT */
/*
 * The forecast's inputs on a live machine (API in vmpressure.h): the I/O
 * half of src/lib/forecast/, which never reads a file. For the watched
 * cgroup and each ancestor, the files that say how much it holds, what
 * of it reclaim could free, and its limits; for the machine, meminfo and
 * vmstat. Every descriptor is opened once and re-read with pread (cgroupfs
 * and procfs regenerate the text on each read); a file a kernel does not
 * have (memory.swap.* without swap accounting, memory.high on v1, the
 * root's limits) is noted absent once and not looked for again.
 *
 * Roots come from the source config, so tests use fixture trees.
 */
#include "source.h"
#include "cgfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ 16384
/* v1 reports "no limit" as the page counter's maximum in bytes
 * (9223372036854771712 with 4 KiB pages): anything this large is none. */
#define V1_UNLIMITED (UINT64_C(1) << 62)

enum { F_USAGE, F_MAX, F_HIGH, F_SWAP, F_SWAPMAX, F_STAT, F_EVENTS, F_PSI, NF };

static const char *const v2_files[NF] = {"memory.current",      "memory.max",  "memory.high",
					  "memory.swap.current", "memory.swap.max", "memory.stat",
					  "memory.events",       "memory.pressure"};
/* v1: memsw are memory+swap; oom_kill is in oom_control; no high, no PSI. */
static const char *const v1_files[NF] = {"memory.usage_in_bytes",       "memory.limit_in_bytes", NULL,
					  "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes",
					  "memory.stat",                 "memory.oom_control", NULL};

struct fcg {
	char *path;
	int dirfd;
	int fd[NF];
	bool absent[NF];
	bool is_root;
	bool gone;
};

struct vmp_fc_reader {
	enum vmp_source_kind kind;
	char *croot, *proot;
	struct fcg *grp;
	struct vmp_fc_group *out;
	size_t n;
	int fd_meminfo, fd_vmstat, fd_mpsi;
	struct vmp_fc_machine m;
	bool psi_machine; /* the watched group's PSI is the machine's */
	char buf[BUFSZ];
	char problem[600];
};

static void problem(struct vmp_fc_reader *r, const char *path, const char *file, const char *what)
{
	if (r->problem[0])
		return;
	snprintf(r->problem, sizeof(r->problem), "%s/%s%s%s: %s", r->croot, strcmp(path, "/") ? path : "",
		 strcmp(path, "/") ? "/" : "", file, what);
}

/* Read file i of g into r->buf. 0; -ENOENT if the kernel has no such
 * file (remembered); -errno. */
static int gread(struct vmp_fc_reader *r, struct fcg *g, int i, size_t *len)
{
	const char *name = r->kind == VMP_SOURCE_V1 ? v1_files[i] : v2_files[i];
	if (!name || g->absent[i] || g->dirfd < 0)
		return -ENOENT;
	if (g->fd[i] < 0) {
		g->fd[i] = openat(g->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (g->fd[i] < 0) {
			int e = errno;
			if (e == ENOENT) {
				/* the file, or the whole directory, is gone */
				if (faccessat(g->dirfd, "cgroup.procs", F_OK, 0) == 0)
					g->absent[i] = true;
				else
					return -ENODEV;
			}
			return -e;
		}
	}
	return vmp__pread_all(g->fd[i], r->buf, sizeof(r->buf), len);
}

/* 0 with *v; -ENOENT absent; -EBADMSG malformed; -errno. */
static int read_value(struct vmp_fc_reader *r, struct fcg *g, int i, uint64_t *v)
{
	size_t len;
	int rc = gread(r, g, i, &len);
	if (rc)
		return rc;
	return vmp__parse_value(r->buf, len, VMP_FC_UNLIMITED, v) == 0 ? 0 : -EBADMSG;
}

static const char *errtext(int rc)
{
	return rc == -EBADMSG ? "not what the kernel writes there (the file changed shape)" : strerror(-rc);
}

static void read_group(struct vmp_fc_reader *r, struct fcg *g, struct vmp_fc_group *o)
{
	bool v1 = r->kind == VMP_SOURCE_V1;
	memset(o, 0, sizeof(*o));
	o->path = g->path;
	o->max = o->high = o->swap_max = VMP_FC_UNLIMITED;
	if (g->gone) {
		o->flags = VMP_FC_GONE;
		return;
	}
	int rc = read_value(r, g, F_USAGE, &o->usage);
	if (rc == 0)
		o->flags |= VMP_FC_HAVE_USAGE;
	else if (rc != -ENOENT || !g->is_root) {
		/* the one file every non-root memory cgroup has */
		if (rc != -ENODEV && rc != -ENOENT)
			problem(r, g->path, v1 ? v1_files[F_USAGE] : v2_files[F_USAGE], errtext(rc));
		o->flags = VMP_FC_GONE;
		g->gone = rc == -ENODEV || rc == -ENOENT;
		return;
	}
	uint64_t v;
	if ((rc = read_value(r, g, F_MAX, &v)) == 0)
		o->max = v1 && v >= V1_UNLIMITED ? VMP_FC_UNLIMITED : v;
	else if (rc != -ENOENT)
		problem(r, g->path, v1 ? v1_files[F_MAX] : v2_files[F_MAX], errtext(rc));
	if (!v1 && (rc = read_value(r, g, F_HIGH, &v)) == 0)
		o->high = v;
	uint64_t su, sm;
	int r1 = read_value(r, g, F_SWAP, &su), r2 = read_value(r, g, F_SWAPMAX, &sm);
	if (r1 == 0 && r2 == 0) {
		o->flags |= VMP_FC_HAVE_SWAP;
		if (v1) { /* memory+swap */
			o->swap_usage = su > o->usage ? su - o->usage : 0;
			o->swap_max = sm >= V1_UNLIMITED ? VMP_FC_UNLIMITED
				      : o->max == VMP_FC_UNLIMITED ? sm
				      : sm > o->max ? sm - o->max : 0;
		} else {
			o->swap_usage = su;
			o->swap_max = sm;
		}
	}
	static const char *const v2k[] = {"anon", "file", "shmem", "unevictable", "active_file", "inactive_file",
					  "slab_reclaimable", "slab_unreclaimable", "workingset_refault_anon",
					  "workingset_refault_file", "workingset_refault", "pgscan", "pgsteal"};
	static const char *const v1k[] = {"total_rss", "total_cache", "total_shmem", "total_unevictable",
					  "total_active_file", "total_inactive_file", "-", "-",
					  "total_workingset_refault_anon", "total_workingset_refault_file",
					  "total_workingset_refault", "-", "-"};
	uint64_t st[13] = {0}, found = 0;
	size_t len;
	rc = gread(r, g, F_STAT, &len);
	if (!rc)
		rc = vmp__parse_kv(r->buf, len, v1 ? v1k : v2k, 13, st, &found);
	if (!rc && (found & 0x30) != 0x30)
		rc = -EBADMSG; /* the file LRU is in every kernel's memory.stat */
	if (rc) {
		if (rc == -ENODEV || rc == -ENOENT) {
			g->gone = true;
		} else
			problem(r, g->path, "memory.stat", errtext(rc));
		o->flags = VMP_FC_GONE;
		return;
	}
	o->anon = st[0];
	o->shmem = st[2];
	o->unevictable = st[3];
	o->file = st[4] + st[5];
	o->slab_reclaimable = st[6];
	o->slab_unreclaimable = st[7];
	o->refaults = st[8] + st[9] + st[10];
	o->pgscan = st[11];
	o->pgsteal = st[12];
	if ((found & 0x1800) == 0x1800)
		o->flags |= VMP_FC_HAVE_RECLAIM;
	static const char *const ek[] = {"oom_kill"};
	uint64_t ok = 0;
	if (gread(r, g, F_EVENTS, &len) == 0 && vmp__parse_kv(r->buf, len, ek, 1, &ok, &found) == 0)
		o->oom_kills = ok;
	/* v1's oom_control has "oom_kill_disable 0" etc: key value too. */
}

static uint64_t meminfo_kb(const char *buf, const char *key, bool *ok)
{
	size_t kl = strlen(key);
	for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *q = p + kl + 1;
			while (*q == ' ')
				q++;
			uint64_t v = 0;
			const char *d = q;
			while (*q >= '0' && *q <= '9' && v < UINT64_MAX / 20)
				v = v * 10 + (uint64_t)(*q++ - '0');
			if (q == d)
				break;
			return v * 1024;
		}
	}
	*ok = false;
	return 0;
}

static bool read_machine(struct vmp_fc_reader *r)
{
	size_t len;
	if (r->fd_meminfo < 0 || vmp__pread_all(r->fd_meminfo, r->buf, sizeof(r->buf), &len) != 0)
		return false;
	bool ok = true;
	struct vmp_fc_machine m = {0};
	m.mem_total = meminfo_kb(r->buf, "MemTotal", &ok);
	m.mem_available = meminfo_kb(r->buf, "MemAvailable", &ok);
	m.swap_total = meminfo_kb(r->buf, "SwapTotal", &ok);
	m.swap_free = meminfo_kb(r->buf, "SwapFree", &ok);
	if (!ok) {
		snprintf(r->problem + strlen(r->problem), sizeof(r->problem) - strlen(r->problem), "%s%s/meminfo: %s",
			 r->problem[0] ? "; " : "", r->proot, "no MemTotal, MemAvailable, SwapTotal or SwapFree line");
		return false;
	}
	static const char *const k[] = {"oom_kill"};
	uint64_t v = 0, found = 0;
	if (r->fd_vmstat >= 0 && vmp__pread_all(r->fd_vmstat, r->buf, sizeof(r->buf), &len) == 0 &&
	    vmp__parse_kv(r->buf, len, k, 1, &v, &found) == 0)
		m.oom_kills = v;
	r->m = m;
	return true;
}

static void fcg_close(struct fcg *g)
{
	for (int i = 0; i < NF; i++)
		if (g->fd[i] >= 0)
			close(g->fd[i]);
	if (g->dirfd >= 0)
		close(g->dirfd);
	free(g->path);
}

VMP_EXPORT void vmp_fc_reader_free(vmp_fc_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		fcg_close(&r->grp[i]);
	free(r->grp);
	free(r->out);
	if (r->fd_meminfo >= 0)
		close(r->fd_meminfo);
	if (r->fd_vmstat >= 0)
		close(r->fd_vmstat);
	if (r->fd_mpsi >= 0)
		close(r->fd_mpsi);
	free(r->croot);
	free(r->proot);
	free(r);
}

static int open_proc(const char *root, const char *name)
{
	char *p = vmp__path_join(root, name, NULL);
	if (!p)
		return -1;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	return fd;
}

VMP_EXPORT int vmp_fc_reader_new(vmp_fc_reader **out, const struct vmp_source_config *cfg, const char *cgroup,
				 struct vmp_error *err)
{
	vmp__error_clear(err);
	if (!out || !cgroup)
		return -EINVAL;
	struct vmp_source_config c;
	if (cfg)
		c = *cfg;
	else
		vmp_source_config_init(&c);
	enum vmp_source_kind kind = c.kind;
	if (kind == VMP_SOURCE_TRACE || (unsigned)kind > VMP_SOURCE_TRACE) {
		vmp__errorf(err, 0, "the forecast reads a live machine: source kind %u is not v1, v2 or machine",
			    (unsigned)kind);
		return -EINVAL;
	}
	if (kind == VMP_SOURCE_AUTO) {
		int rc = vmp__source_detect(&c, &kind);
		if (rc) {
			vmp__error_path(err, c.cgroup_root);
			vmp__errorf(err, 0, "neither a cgroup v1 memory nor a v2 hierarchy here");
			return rc;
		}
	}
	char *norm = vmp__cgroup_normalize(cgroup);
	if (!norm) {
		vmp__errorf(err, 0, "'%.64s' is not a cgroup path below the root (no '..', no control characters)",
			    cgroup);
		return -EINVAL;
	}
	if (kind == VMP_SOURCE_MACHINE && strcmp(norm, "/")) {
		vmp__errorf(err, 0, "no memory cgroups here (the machine alone): only '/' can be watched");
		free(norm);
		return -ENOENT;
	}
	vmp_fc_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		free(norm);
		return -ENOMEM;
	}
	r->kind = kind;
	r->fd_meminfo = r->fd_vmstat = r->fd_mpsi = -1;
	r->croot = strdup(c.cgroup_root ? c.cgroup_root
			  : kind == VMP_SOURCE_V1 ? "/sys/fs/cgroup/memory"
						  : "/sys/fs/cgroup");
	r->proot = strdup(c.proc_root ? c.proc_root : "/proc");
	/* the chain: the group, each ancestor; the root only on v1 (v2's
	 * root has no limits) or when it is the watched one */
	size_t depth = 1;
	if (strcmp(norm, "/"))
		for (const char *p = norm; *p; p++)
			depth += *p == '/';
	size_t n = strcmp(norm, "/") == 0 ? 1 : kind == VMP_SOURCE_V1 ? depth + 1 : depth;
	if (kind == VMP_SOURCE_MACHINE)
		n = 1;
	r->grp = calloc(n, sizeof(*r->grp));
	r->out = calloc(n, sizeof(*r->out));
	int rc = (!r->croot || !r->proot || !r->grp || !r->out) ? -ENOMEM : 0;
	char *path = norm; /* cut down to each ancestor in turn */
	for (size_t i = 0; !rc && i < n; i++) {
		struct fcg *g = &r->grp[i];
		for (int k = 0; k < NF; k++)
			g->fd[k] = -1;
		g->dirfd = -1;
		r->n = i + 1;
		g->path = strdup(i == n - 1 && kind == VMP_SOURCE_V1 && strcmp(norm, "/") ? "/" : path);
		if (!g->path) {
			rc = -ENOMEM;
			break;
		}
		g->is_root = !strcmp(g->path, "/");
		if (kind == VMP_SOURCE_MACHINE) {
			for (int k = 0; k < NF; k++)
				g->absent[k] = true;
			g->gone = false;
			break;
		}
		char *dir = vmp__path_join(r->croot, g->path, NULL);
		if (!dir) {
			rc = -ENOMEM;
			break;
		}
		g->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (g->dirfd < 0) {
			rc = errno == ENOTDIR ? -ENOENT : -errno;
			vmp__error_path(err, dir);
			vmp__errorf(err, 0, "%s", rc == -ENOENT ? "no such memory cgroup" : strerror(-rc));
			free(dir);
			break;
		}
		if (i == 0 && !g->is_root) {
			size_t len;
			int frc = gread(r, g, F_USAGE, &len);
			if (frc) {
				rc = frc == -ENODEV ? -ENOENT : frc; /* no memory controller here */
				vmp__error_path(err, dir);
				vmp__errorf(err, 0, "%s", rc == -ENOENT ? "no memory controller in this cgroup"
									 : strerror(-rc));
			}
		}
		free(dir);
		/* up one: "a/b" -> "a"; "a" -> "/" */
		char *sl = strrchr(path, '/');
		if (sl && sl != path)
			*sl = 0;
		else
			strcpy(path, "/"); /* norm has room: at least one byte */
	}
	free(norm);
	if (!rc) {
		r->fd_meminfo = open_proc(r->proot, "meminfo");
		r->fd_vmstat = open_proc(r->proot, "vmstat");
		r->psi_machine = kind != VMP_SOURCE_V2 || r->grp[0].is_root;
		if (r->psi_machine)
			r->fd_mpsi = open_proc(r->proot, "pressure/memory");
	}
	if (rc) {
		vmp_fc_reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

VMP_EXPORT enum vmp_source_kind vmp_fc_reader_kind(const vmp_fc_reader *r)
{
	return r ? r->kind : VMP_SOURCE_AUTO;
}

VMP_EXPORT const char *vmp_fc_reader_problem(const vmp_fc_reader *r)
{
	return r && r->problem[0] ? r->problem : NULL;
}

VMP_EXPORT int vmp_fc_reader_read(vmp_fc_reader *r, double time, struct vmp_fc_sample *out)
{
	if (!r || !out)
		return -EINVAL;
	r->problem[0] = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->kind == VMP_SOURCE_MACHINE) {
			memset(&r->out[i], 0, sizeof(r->out[i]));
			r->out[i].path = r->grp[i].path;
			r->out[i].max = r->out[i].high = r->out[i].swap_max = VMP_FC_UNLIMITED;
			continue;
		}
		read_group(r, &r->grp[i], &r->out[i]);
		/* an ancestor gone: so is everything below it */
		if (i && (r->out[i].flags & VMP_FC_GONE) && r->grp[i].gone)
			for (size_t k = 0; k < i; k++)
				r->out[k].flags = VMP_FC_GONE;
	}
	memset(out, 0, sizeof(*out));
	out->time = time;
	out->groups = r->out;
	out->ngroups = r->n;
	out->machine = read_machine(r) ? &r->m : NULL;
	out->psi_some_avg10 = out->psi_full_avg10 = -1;
	size_t len;
	struct vmp_psi p;
	int rc = r->psi_machine ? (r->fd_mpsi >= 0 ? vmp__pread_all(r->fd_mpsi, r->buf, sizeof(r->buf), &len) : -ENOENT)
				: gread(r, &r->grp[0], F_PSI, &len);
	if (rc == 0 && vmp__parse_psi(r->buf, len, &p) == 0) {
		out->psi_some_avg10 = p.some_avg10;
		out->psi_full_avg10 = p.full_avg10;
	}
	return 0;
}
