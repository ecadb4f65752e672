/* SPDX-License-Identifier: MIT */
/* The v2-study harness: see v2study.h. */
#include "v2study.h"
#include "trace/trace.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EST_GFP 0x100ccau

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	while (b) {
		size_t k = fread(b + n, 1, cap - n, f);
		n += k;
		if (n < cap)
			break;
		char *nb = realloc(b, 2 * cap + 1);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	if (b && ferror(f)) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = 0;
		*len = n;
	}
	return b;
}

static void span_copy(char *dst, size_t cap, struct vmp_span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = 0;
}

/* The sampler tags a cgroup by its last path component. */
static int tag_index(const struct v2s_run *run, const char *tag, size_t n)
{
	for (size_t i = 0; i < run->ngroups; i++) {
		const char *b = strrchr(run->group[i], '/');
		b = b ? b + 1 : run->group[i];
		if (strlen(b) == n && memcmp(b, tag, n) == 0)
			return (int)i;
	}
	return -1;
}

static int on_record(const struct vmp_trace_rec *rec, void *arg,
		     struct vmp_error *err)
{
	struct v2s_run *run = arg;
	(void)err;
	if (rec->kind == VMP_REC_GROUP) {
		if (rec->parent.n == 1 && rec->parent.p[0] == '-')
			return 0; /* the root */
		if (run->ngroups == V2S_MAXG)
			return -E2BIG;
		span_copy(run->group[run->ngroups], sizeof(run->group[0]), rec->group);
		span_copy(run->parent[run->ngroups], sizeof(run->parent[0]), rec->parent);
		run->ngroups++;
	} else if (rec->kind == VMP_REC_LISTEN) {
		if (run->nlisten == V2S_MAXL)
			return -E2BIG;
		struct v2s_listener *l = &run->l[run->nlisten++];
		l->id = rec->id;
		span_copy(l->group, sizeof(l->group), rec->group);
		span_copy(l->args, sizeof(l->args), rec->args);
		vmp_mode mode;
		if (vmp_parse_args(l->args, &l->min_level, &mode) != 0)
			return -EINVAL;
	} else if (rec->kind == VMP_REC_EXPECT) {
		for (size_t i = 0; i < run->nlisten; i++)
			if (run->l[i].id == rec->id) {
				run->l[i].has_expect = true;
				run->l[i].expect = rec->count;
			}
	}
	return 0;
}

/* "tag[some avg10=0.00 avg60=0.00 avg300=0.00 total=0]" */
static void parse_psi(struct v2s_sample *s, int gi, const char *p, const char *end)
{
	bool full = strncmp(p, "full", 4) == 0;
	const char *a = strstr(p, "avg10=");
	const char *t = strstr(p, "total=");
	double avg = a && a < end ? strtod(a + 6, NULL) : -1;
	uint64_t tot = t && t < end ? strtoull(t + 6, NULL, 10) : 0;
	if (gi < 0)
		return;
	if (full) {
		s->c[gi].psi_full_avg10 = avg;
		s->c[gi].psi_full_total = tot;
	} else {
		s->c[gi].psi_some_avg10 = avg;
		s->c[gi].psi_some_total = tot;
	}
}

/* What a sample line shows beyond the estimator's own fields, per group:
 * which of them it had, and memory.stat's shmem (bytes), which the file
 * LRU leaves out. */
struct line_seen {
	uint32_t bits[V2S_MAXG]; /* SEEN_* */
	uint64_t shmem[V2S_MAXG];
};
#define SEEN_SCAN_DIRECT 1u
#define SEEN_STEAL_DIRECT 2u
#define SEEN_FILE 4u
#define SEEN_SHMEM 8u
#define SEEN_SWAP 16u
#define SEEN_ANON 32u
#define SEEN_LOCAL_HIGH 64u
#define SEEN_LOCAL_MAX 128u
#define SEEN_LOCAL_OOM 256u

static void set_field(struct v2s_run *run, struct v2s_sample *s, const char *key,
		      size_t klen, uint64_t v, struct line_seen *seen)
{
	const char *dot = memchr(key, '.', klen);
	if (!dot)
		return;
	size_t tl = (size_t)(dot - key);
	const char *f = dot + 1;
	size_t fl = klen - tl - 1;
#define IS(name) (fl == sizeof(name) - 1 && memcmp(f, name, fl) == 0)
	if (tl == 6 && memcmp(key, "vmstat", 6) == 0) {
		if (IS("pgscan_kswapd"))
			s->m.pgscan_kswapd = v;
		else if (IS("pgscan_direct"))
			s->m.pgscan_direct = v;
		else if (IS("pgsteal_kswapd"))
			s->m.pgsteal_kswapd = v;
		else if (IS("pgsteal_direct"))
			s->m.pgsteal_direct = v;
		else if (fl > 11 && memcmp(f, "allocstall_", 11) == 0)
			s->m.allocstall += v;
		else if (IS("oom_kill"))
			s->m.oom_kill = v;
		s->m.valid = true;
		return;
	}
	if (tl == 9 && memcmp(key, "schedstat", 9) == 0) {
		if (IS("cpus"))
			s->sched.cpus = (unsigned)v;
		else if (IS("run_ns") || IS("wait_ns"))
			s->sched.runq_ns += v;
		return;
	}
	int gi = tag_index(run, key, tl);
	if (gi < 0)
		return;
	struct vmp_est_cgroup *c = &s->c[gi];
	c->valid = true;
	if (IS("pgscan"))
		c->pgscan = v;
	else if (IS("pgsteal"))
		c->pgsteal = v;
	else if (IS("pgscan_direct"))
		c->pgscan_direct = v, seen->bits[gi] |= SEEN_SCAN_DIRECT;
	else if (IS("pgsteal_direct"))
		c->pgsteal_direct = v, seen->bits[gi] |= SEEN_STEAL_DIRECT;
	else if (IS("high"))
		c->high = v;
	else if (IS("max"))
		c->max = v;
	else if (IS("oom"))
		c->oom = v;
	else if (IS("oom_kill"))
		c->oom_kill = v;
	else if (IS("local.high")) /* memory.events.local */
		c->local_high = v, seen->bits[gi] |= SEEN_LOCAL_HIGH;
	else if (IS("local.max"))
		c->local_max = v, seen->bits[gi] |= SEEN_LOCAL_MAX;
	else if (IS("local.oom"))
		c->local_oom = v, seen->bits[gi] |= SEEN_LOCAL_OOM;
	else if (IS("file")) /* bytes, tmpfs and shmem included */
		c->file_lru = v, seen->bits[gi] |= SEEN_FILE;
	else if (IS("shmem"))
		seen->shmem[gi] = v, seen->bits[gi] |= SEEN_SHMEM;
	else if (IS("anon")) /* bytes, without shmem */
		c->anon_lru = v, seen->bits[gi] |= SEEN_ANON;
	else if (IS("memory.swap.current"))
		c->swap = v / 4096, seen->bits[gi] |= SEEN_SWAP;
#undef IS
}

static int parse_samples(struct v2s_run *run, char *buf)
{
	size_t cap = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strncmp(line, "sample ", 7) != 0)
			continue;
		if (run->nsamples == cap) {
			cap = cap ? cap * 2 : 64;
			struct v2s_sample *ns = realloc(run->s, cap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			run->s = ns;
		}
		struct v2s_sample *s = &run->s[run->nsamples++];
		memset(s, 0, sizeof(*s));
		char *p = line + 7;
		s->t = strtod(p, &p);
		struct line_seen seen;
		memset(&seen, 0, sizeof(seen));
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			char *tok = p;
			while (*p && *p != ' ' && *p != '[')
				p++;
			if (*p == '[') { /* PSI: up to the closing bracket */
				char *close = strchr(p, ']');
				if (!close)
					return -EINVAL;
				parse_psi(s, tag_index(run, tok, (size_t)(p - tok)), p + 1, close);
				p = close + 1;
				continue;
			}
			size_t klen = (size_t)(p - tok);
			while (*p == ' ')
				p++;
			char *end;
			uint64_t v = strtoull(p, &end, 10);
			if (end == p)
				return -EINVAL;
			set_field(run, s, tok, klen, v, &seen);
			p = end;
		}
		for (size_t g = 0; g < run->ngroups; g++) {
			struct vmp_est_cgroup *c = &s->c[g];
			uint32_t b = seen.bits[g];
			c->have_direct = (b & (SEEN_SCAN_DIRECT | SEEN_STEAL_DIRECT)) ==
					 (SEEN_SCAN_DIRECT | SEEN_STEAL_DIRECT);
			/* The file LRU: memory.stat's file less its shmem (on the
			 * anonymous LRU), in pages; the guest's are 4 KiB. */
			c->have_lists = (b & (SEEN_FILE | SEEN_SHMEM)) == (SEEN_FILE | SEEN_SHMEM);
			c->file_lru = c->have_lists && c->file_lru > seen.shmem[g]
					      ? (c->file_lru - seen.shmem[g]) / 4096
					      : 0;
			c->have_swap = (b & SEEN_SWAP) != 0;
			/* memory.events.local: high and max, as the live source */
			c->have_local = (b & (SEEN_LOCAL_HIGH | SEEN_LOCAL_MAX)) ==
					(SEEN_LOCAL_HIGH | SEEN_LOCAL_MAX);
			/* The anonymous LRU: anon and shmem. */
			c->have_anon = (b & (SEEN_ANON | SEEN_SHMEM)) == (SEEN_ANON | SEEN_SHMEM);
			c->anon_lru = c->have_anon ? (c->anon_lru + seen.shmem[g]) / 4096 : 0;
		}
	}
	return run->nsamples ? 0 : -EINVAL;
}

static int parse_psi_log(struct v2s_run *run, char *buf)
{
	size_t cap = 0;
	run->oom_kill_t = -1;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strncmp(line, "psi ", 4) == 0) {
			if (run->npsi == cap) {
				cap = cap ? cap * 2 : 32;
				double *np = realloc(run->psi_t, cap * sizeof(*np));
				if (!np)
					return -ENOMEM;
				run->psi_t = np;
			}
			run->psi_t[run->npsi++] = strtod(line + 4, NULL);
		} else if (line[0] == '[' && strstr(line, "Killed process")) {
			run->oom_kill_t = strtod(line + 1, NULL);
		}
	}
	return 0;
}

/* ---- the runs of a directory -------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *sv, const char *prefix, const char *s, size_t len)
{
	if (sv->n + 1 >= sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **nv = realloc(sv->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		sv->v = nv;
		sv->cap = cap;
	}
	size_t pl = prefix ? strlen(prefix) + 1 : 0;
	char *c = malloc(pl + len + 1);
	if (!c)
		return -ENOMEM;
	if (prefix) {
		memcpy(c, prefix, pl - 1);
		c[pl - 1] = '/';
	}
	memcpy(c + pl, s, len);
	c[pl + len] = 0;
	sv->v[sv->n++] = c;
	sv->v[sv->n] = NULL;
	return 0;
}

static bool is_file(const char *dir, const char *sub, const char *name, size_t len,
		    const char *ext)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s%s%s/%.*s%s", dir, sub ? "/" : "", sub ? sub : "",
		 (int)len, name, ext);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The runs of dir/sub (sub NULL: dir itself), sorted, appended to sv. */
static int list_one(const char *dir, const char *sub, struct strv *sv, struct strv *subs)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t first = sv->n;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (nm[0] == '.')
			continue;
		if (len > 5 && strcmp(nm + len - 5, ".vmpt") == 0) {
			if (is_file(dir, sub, nm, len - 5, ".samples"))
				rc = strv_push(sv, sub, nm, len - 5);
		} else if (subs) {
			struct stat st;
			char p[sizeof(path) + sizeof(de->d_name) + 2];
			snprintf(p, sizeof(p), "%s/%s", path, nm);
			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
				rc = strv_push(subs, NULL, nm, len);
		}
	}
	closedir(d);
	if (sv->n > first)
		qsort(sv->v + first, sv->n - first, sizeof(*sv->v), cmp_str);
	return rc;
}

void v2s_list_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int v2s_list(const char *dir, bool subdirs, char ***names, size_t *n)
{
	struct strv sv = {0}, subs = {0};
	int rc = list_one(dir, NULL, &sv, subdirs ? &subs : NULL);
	if (!rc && subs.n) {
		qsort(subs.v, subs.n, sizeof(*subs.v), cmp_str);
		for (size_t i = 0; !rc && i < subs.n; i++)
			rc = list_one(dir, subs.v[i], &sv, NULL);
	}
	v2s_list_free(subs.v);
	if (!rc && !sv.v) { /* none: an empty list */
		sv.v = calloc(1, sizeof(*sv.v));
		if (!sv.v)
			rc = -ENOMEM;
	}
	if (rc) {
		v2s_list_free(sv.v);
		return rc;
	}
	*names = sv.v;
	*n = sv.n;
	return 0;
}

void v2s_free(struct v2s_run *run)
{
	if (!run)
		return;
	free(run->vmpt);
	free(run->s);
	free(run->psi_t);
	free(run);
}

int v2s_load(const char *dir, const char *name, struct v2s_run **out, char *err,
	     size_t errlen)
{
	char path[4096];
	struct v2s_run *run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	snprintf(run->name, sizeof(run->name), "%s", name);
	int rc;
	snprintf(path, sizeof(path), "%s/%s.vmpt", dir, name);
	run->vmpt = slurp(path, &run->vmpt_len);
	if (!run->vmpt) {
		rc = -errno;
		goto fail;
	}
	struct vmp_error terr = {0};
	rc = vmp__trace_parse(run->vmpt, run->vmpt_len, on_record, run, &terr);
	if (rc) {
		snprintf(err, errlen, "%s: line %lu: %s", path, terr.line, terr.msg);
		goto out;
	}
	size_t len;
	snprintf(path, sizeof(path), "%s/%s.samples", dir, name);
	char *b = slurp(path, &len);
	if (!b) {
		rc = -errno;
		goto fail;
	}
	rc = parse_samples(run, b);
	free(b);
	if (rc) {
		snprintf(err, errlen, "%s: malformed", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.psi", dir, name);
	b = slurp(path, &len);
	if (b) { /* optional */
		rc = parse_psi_log(run, b);
		free(b);
		if (rc)
			goto fail;
	} else {
		run->oom_kill_t = -1;
	}
	*out = run;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
out:
	v2s_free(run);
	return rc ? rc : -EINVAL;
}

/* ---- results ------------------------------------------------------------ */

static void result_init(const struct v2s_run *run, struct v2s_result *out)
{
	memset(out, 0, sizeof(*out));
	out->n = run->nlisten;
	for (size_t i = 0; i < V2S_MAXL; i++)
		for (int k = 0; k < 3; k++)
			out->l[i].first[k] = -1;
}

static void note(struct v2s_lres *l, vmp_level level, double t)
{
	l->count++;
	if ((int)level < 0 || (int)level >= 3)
		return;
	l->by_level[level]++;
	if (l->first[level] < 0)
		l->first[level] = t;
}

struct kernel_arg {
	const struct v2s_run *run;
	struct v2s_result *out;
	v2s_kevent_fn fn;
	void *fn_arg;
};

static void on_kernel_event(const char *t, size_t tlen, unsigned id, vmp_level level,
			    void *arg)
{
	struct kernel_arg *ka = arg;
	char buf[64];
	size_t n = tlen < sizeof(buf) - 1 ? tlen : sizeof(buf) - 1;
	memcpy(buf, t, n);
	buf[n] = 0;
	double ts = strtod(buf, NULL) - ka->run->s[0].t;
	for (size_t i = 0; i < ka->run->nlisten; i++)
		if (ka->run->l[i].id == id) {
			note(&ka->out->l[i], level, ts);
			if (ka->fn)
				ka->fn(i, ts, level, ka->fn_arg);
		}
}

int v2s_kernel(const struct v2s_run *run, struct v2s_result *out)
{
	return v2s_kernel_events(run, out, NULL, NULL);
}

int v2s_kernel_events(const struct v2s_run *run, struct v2s_result *out, v2s_kevent_fn fn,
		      void *arg)
{
	result_init(run, out);
	struct kernel_arg ka = {run, out, fn, arg};
	struct vmp_replay *r;
	struct vmp_error err;
	int rc = vmp_replay_run(run->vmpt, run->vmpt_len, on_kernel_event, &ka, &r, &err);
	if (rc)
		return rc;
	for (size_t i = 0; i < run->nlisten; i++)
		if (run->l[i].has_expect && run->l[i].expect != out->l[i].count)
			rc = -EPROTO;
	vmp_replay_free(r);
	return rc;
}

/* ---- a context with the run's groups and listeners --------------------- */

struct ectx;
struct cbslot {
	struct ectx *owner;
	size_t idx;
};

struct ectx {
	vmp_ctx *ctx;
	vmp_group *g[V2S_MAXG];
	struct v2s_result *out;
	double now; /* the current sample, s from the first */
	struct cbslot cb[V2S_MAXL];
	int lgroup[V2S_MAXL];            /* each listener's group index; -1: the root */
	const struct v2s_sample *sample; /* the current sample */
	v2s_event_fn fn;
	void *fn_arg;
};

static void on_est_event(const struct vmp_event *ev, void *arg)
{
	const struct cbslot *cs = arg;
	if (ev->flags & VMP_EVENT_REMOVED)
		return;
	struct ectx *ec = cs->owner;
	note(&ec->out->l[cs->idx], ev->level, ec->now);
	if (ec->fn) {
		int g = ec->lgroup[cs->idx];
		double some = -1, full = -1;
		if (ec->sample && g < 0) {
			some = ec->sample->m.psi_some_avg10;
			full = ec->sample->m.psi_full_avg10;
		} else if (ec->sample && ec->sample->c[g].valid) {
			some = ec->sample->c[g].psi_some_avg10;
			full = ec->sample->c[g].psi_full_avg10;
		}
		ec->fn(cs->idx, ec->now, ev, some, full, ec->fn_arg);
	}
}

static int ectx_new(const struct v2s_run *run, struct ectx *ec, struct v2s_result *out)
{
	memset(ec, 0, sizeof(*ec));
	ec->out = out;
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_MANUAL;
	int rc = vmp_ctx_new(&ec->ctx, &cfg);
	if (rc)
		return rc;
	for (size_t i = 0; i < run->ngroups; i++) {
		vmp_group *parent;
		rc = vmp_group_lookup(ec->ctx, run->parent[i], &parent);
		if (!rc) {
			const char *b = strrchr(run->group[i], '/');
			rc = vmp_group_new(parent, b ? b + 1 : run->group[i], &ec->g[i]);
		}
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < run->nlisten; i++) {
		vmp_group *g;
		ec->cb[i].owner = ec;
		ec->cb[i].idx = i;
		ec->lgroup[i] = -1;
		for (size_t k = 0; k < run->ngroups; k++)
			if (!strcmp(run->group[k], run->l[i].group))
				ec->lgroup[i] = (int)k;
		rc = vmp_group_lookup(ec->ctx, run->l[i].group, &g);
		if (!rc)
			rc = vmp_listen_callback(g, run->l[i].args, on_est_event, &ec->cb[i]);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	vmp_ctx_free(ec->ctx);
	ec->ctx = NULL;
	return rc;
}

static void ectx_free(struct ectx *ec)
{
	/* Removal signals are ignored by on_est_event. */
	vmp_ctx_free(ec->ctx);
}

/* ---- the estimator ------------------------------------------------------ */

int v2s_estimate(const struct v2s_run *run, const struct vmp_est_config *cfg,
		 unsigned idle_ms, unsigned busy_ms, struct v2s_result *out)
{
	return v2s_estimate_events(run, cfg, idle_ms, busy_ms, out, NULL, NULL);
}

int v2s_estimate_events(const struct v2s_run *run, const struct vmp_est_config *cfg,
			unsigned idle_ms, unsigned busy_ms, struct v2s_result *out,
			v2s_event_fn fn, void *arg)
{
	result_init(run, out);
	struct ectx ec;
	int rc = ectx_new(run, &ec, out);
	if (rc)
		return rc;
	ec.fn = fn;
	ec.fn_arg = arg;
	struct vmp_est *est;
	rc = vmp__est_new_config(&est, ec.ctx, cfg);
	if (rc) {
		ectx_free(&ec);
		return rc;
	}
	/* The estimator's nodes, parents first as the run declares them. */
	struct vmp_est_node *nodes[V2S_MAXG];
	for (size_t g = 0; g < run->ngroups && !rc; g++) {
		struct vmp_est_node *parent = NULL;
		for (size_t k = 0; k < g; k++)
			if (!strcmp(run->group[k], run->parent[g]))
				parent = nodes[k];
		rc = vmp__est_node_new(est, parent, ec.g[g], &nodes[g]);
	}
	const double t0 = run->s[0].t;
	size_t psi = 0;
	for (size_t i = 0; i < run->nsamples && !rc;) {
		const struct v2s_sample *s = &run->s[i];
		struct vmp_est_node *gs[V2S_MAXG];
		struct vmp_est_cgroup cs[V2S_MAXG];
		size_t n = 0;
		for (size_t g = 0; g < run->ngroups; g++) {
			gs[n] = nodes[g];
			cs[n++] = s->c[g];
		}
		ec.now = s->t - t0;
		ec.sample = s;
		vmp__est_set_sched(est, &s->sched);
		rc = vmp__est_step(est, (uint64_t)llround(s->t * 1e9), &s->m, n, gs, cs);
		if (rc)
			break;
		out->samples_used++;
		if (!idle_ms) {
			i++;
			continue;
		}
		/* Adaptive: the next sample at the interval, or the first one
		 * after a PSI trigger fired before that. The recorded samples
		 * are ~104 ms apart: take the first at or after the target,
		 * with 10 ms of slack for the recording's jitter. */
		double next = s->t + vmp__est_next_interval_ms(est, idle_ms, busy_ms) / 1000.0;
		while (psi < run->npsi && run->psi_t[psi] <= s->t)
			psi++;
		if (psi < run->npsi && run->psi_t[psi] < next)
			next = run->psi_t[psi];
		size_t j = i + 1;
		while (j < run->nsamples && run->s[j].t < next - 0.010)
			j++;
		i = j;
	}
	vmp__est_stats(est, &out->st);
	vmp__est_free(est);
	ectx_free(&ec);
	return rc;
}

/* ---- the naive baseline ------------------------------------------------- */

int v2s_naive(const struct v2s_run *run, struct v2s_result *out)
{
	result_init(run, out);
	struct ectx ec;
	int rc = ectx_new(run, &ec, out);
	if (rc)
		return rc;
	const double t0 = run->s[0].t;
	for (size_t i = 1; i < run->nsamples; i++) {
		const struct v2s_sample *s = &run->s[i], *p = &run->s[i - 1];
		ec.now = s->t - t0;
		for (size_t g = 0; g < run->ngroups; g++) {
			const struct vmp_est_cgroup *c = &s->c[g], *q = &p->c[g];
			if (!c->valid || !q->valid || c->max <= q->max)
				continue;
			uint64_t ds = c->pgscan - q->pgscan, dr = c->pgsteal - q->pgsteal;
			for (uint64_t k = 0; k < ds / VMP_WINDOW; k++) {
				uint64_t r = (uint64_t)((double)dr * VMP_WINDOW / (double)ds);
				vmp_account(ec.ctx, ec.g[g], EST_GFP, true, VMP_WINDOW, r);
				vmp_group_run_job(ec.g[g]);
			}
			if (c->oom > q->oom) {
				vmp_account_prio(ec.ctx, ec.g[g], EST_GFP, 0);
				vmp_group_run_job(ec.g[g]);
			}
		}
	}
	out->samples_used = run->nsamples;
	ectx_free(&ec);
	return 0;
}

/* ---- the goals ---------------------------------------------------------- */

const char *const v2s_goal_name[V2S_NGOALS] = {
	"levels", "low_25", "medium_50", "critical_50", "first_medium_1s", "first_critical_1s",
};

static bool within(uint64_t k, uint64_t e, double frac)
{
	if (k == 0)
		return e == 0;
	return fabs((double)e - (double)k) <= frac * (double)k;
}

void v2s_judge(const struct v2s_run *run, const struct v2s_result *k,
	       const struct v2s_result *e, struct v2s_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->levels = v->counts = v->timing = v->all = true;
	for (size_t i = 0; i < run->nlisten; i++) {
		struct v2s_lverdict *lv = &v->l[i];
		const struct v2s_lres *kl = &k->l[i], *el = &e->l[i];
		for (int g = 0; g < V2S_NGOALS; g++)
			lv->applies[g] = lv->met[g] = true;
		for (int lvl = 0; lvl < 3; lvl++) {
			if ((kl->by_level[lvl] != 0) != (el->by_level[lvl] != 0))
				lv->met[V2S_G_LEVELS] = false;
			double tol = lvl == VMP_LEVEL_LOW ? V2S_TOL_LOW : V2S_TOL_MEDCRIT;
			lv->met[V2S_G_LOW + lvl] = within(kl->by_level[lvl], el->by_level[lvl], tol);
			if (kl->by_level[lvl])
				lv->rel_err[lvl] = ((double)el->by_level[lvl] - (double)kl->by_level[lvl]) /
						   (double)kl->by_level[lvl];
			else
				lv->rel_err[lvl] = el->by_level[lvl] ? INFINITY : 0;
			if (kl->first[lvl] >= 0 && el->first[lvl] >= 0)
				lv->late[lvl] = el->first[lvl] - kl->first[lvl];
		}
		for (int lvl = VMP_LEVEL_MEDIUM; lvl <= VMP_LEVEL_CRITICAL; lvl++) {
			int g = V2S_G_FIRST_MED + lvl - VMP_LEVEL_MEDIUM;
			lv->applies[g] = kl->first[lvl] >= 0;
			if (lv->applies[g])
				lv->met[g] = el->first[lvl] >= 0 && lv->late[lvl] <= V2S_MAX_LATE_S;
		}
		lv->levels = lv->met[V2S_G_LEVELS];
		lv->count = lv->met[V2S_G_LOW] && lv->met[V2S_G_MEDIUM] && lv->met[V2S_G_CRITICAL];
		lv->timing = lv->met[V2S_G_FIRST_MED] && lv->met[V2S_G_FIRST_CRIT];
		lv->all = lv->levels && lv->count && lv->timing;
		v->levels = v->levels && lv->levels;
		v->counts = v->counts && lv->count;
		v->timing = v->timing && lv->timing;
		v->all = v->all && lv->all;
	}
}

/* ---- synthetic samples from the kernel's own trace ---------------------- */

struct synth {
	struct v2s_run *out;
	const struct v2s_run *run;
	double period, next;
	size_t cap;
	uint64_t scan[V2S_MAXG], steal[V2S_MAXG], calls[V2S_MAXG];
};

static bool in_subtree(const char *g, const char *top)
{
	size_t n = strlen(top);
	return strncmp(g, top, n) == 0 && (g[n] == 0 || g[n] == '/');
}

static int synth_emit(struct synth *sy, double upto)
{
	const struct v2s_run *run = sy->run;
	double end = run->s[run->nsamples - 1].t;
	while (sy->next <= upto && sy->next <= end) {
		if (sy->out->nsamples == sy->cap) {
			sy->cap = sy->cap ? sy->cap * 2 : 256;
			struct v2s_sample *ns = realloc(sy->out->s, sy->cap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			sy->out->s = ns;
		}
		/* The recorded sample in force at this time: events and PSI. */
		size_t k = 0;
		while (k + 1 < run->nsamples && run->s[k + 1].t <= sy->next)
			k++;
		struct v2s_sample *s = &sy->out->s[sy->out->nsamples++];
		*s = run->s[k];
		s->t = sy->next;
		/* Stall accrues continuously: PSI totals interpolated. */
		const struct v2s_sample *a = &run->s[k];
		const struct v2s_sample *b = k + 1 < run->nsamples ? &run->s[k + 1] : a;
		double f = b->t > a->t ? (sy->next - a->t) / (b->t - a->t) : 0;
		for (size_t g = 0; g < run->ngroups; g++) {
			struct vmp_est_cgroup *c = &s->c[g];
			c->psi_some_total = a->c[g].psi_some_total +
				(uint64_t)(f * (double)(b->c[g].psi_some_total - a->c[g].psi_some_total));
			c->psi_full_total = a->c[g].psi_full_total +
				(uint64_t)(f * (double)(b->c[g].psi_full_total - a->c[g].psi_full_total));
			c->valid = true;
			c->have_direct = false;
			c->pgscan = sy->scan[g];
			c->pgsteal = sy->steal[g];
			c->max = sy->calls[g];
			c->high = 0;
		}
		sy->next += sy->period;
	}
	return 0;
}

static int on_synth_record(const struct vmp_trace_rec *rec, void *arg,
			   struct vmp_error *err)
{
	struct synth *sy = arg;
	(void)err;
	if (rec->kind != VMP_REC_VMPRESSURE && rec->kind != VMP_REC_PRIO)
		return 0;
	char t[64], g[128];
	span_copy(t, sizeof(t), rec->t);
	int rc = synth_emit(sy, strtod(t, NULL));
	if (rc)
		return rc;
	span_copy(g, sizeof(g), rec->group);
	const struct v2s_run *run = sy->run;
	for (size_t i = 0; i < run->ngroups; i++) {
		if (!in_subtree(g, run->group[i]))
			continue;
		/* memory.stat counts the pages of each memcg's own lruvec
		 * (the tree=0 records) into it and its ancestors; a limit
		 * reclaim call (its first priority, 12) raises `max` at its
		 * target and the target's ancestors. */
		if (rec->kind == VMP_REC_VMPRESSURE && !rec->tree) {
			sy->scan[i] += rec->scanned;
			sy->steal[i] += rec->reclaimed;
		} else if (rec->kind == VMP_REC_PRIO && rec->prio == 12) {
			sy->calls[i]++;
		}
	}
	return 0;
}

int v2s_synth(const struct v2s_run *run, double period_s, struct v2s_run **out)
{
	struct v2s_run *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = *run;
	r->vmpt = malloc(run->vmpt_len + 1);
	r->psi_t = run->npsi ? malloc(run->npsi * sizeof(*r->psi_t)) : NULL;
	r->s = NULL;
	r->nsamples = 0;
	if (!r->vmpt || (run->npsi && !r->psi_t)) {
		v2s_free(r);
		return -ENOMEM;
	}
	memcpy(r->vmpt, run->vmpt, run->vmpt_len + 1);
	if (run->npsi)
		memcpy(r->psi_t, run->psi_t, run->npsi * sizeof(*r->psi_t));
	struct synth sy = {.out = r, .run = run, .period = period_s, .next = run->s[0].t};
	struct vmp_error err;
	int rc = vmp__trace_parse(run->vmpt, run->vmpt_len, on_synth_record, &sy, &err);
	if (!rc)
		rc = synth_emit(&sy, run->s[run->nsamples - 1].t);
	if (rc || !r->nsamples) {
		v2s_free(r);
		return rc ? rc : -EINVAL;
	}
	*out = r;
	return 0;
}
