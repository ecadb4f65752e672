/* SPDX-License-Identifier: MIT */
/*
 * Offline re-estimation (vmpressure estimate): a recording's counter
 * snapshots (its sample lines, samples.h) through the estimator again,
 * with the settings the caller chose, into an engine with the recording's
 * listeners.
 *
 * Why it reproduces a live run exactly with the default settings: the live
 * source (live.c) gives the estimator nothing but these snapshots, its
 * engine is a context with the inline executor, and its listeners are
 * callback registrations made at the place of their `listen` record
 * (before the samples that follow it). So the same context, groups and
 * estimator nodes created from the paths (the cgroup tree's shape, parents
 * first), the same steps at the same times and the same registrations
 * replay the same engine calls, in the same order; `# sample-gone` drops a
 * group and its node as the source did, so a cgroup seen again starts
 * afresh in both. The estimator depends on time differences only, and the
 * sample times are its own times less the recording's start, in ns. The
 * re-estimated trace is written with the recorder that wrote the recording
 * (record.c), so with the defaults its records are the recording's, line
 * for line.
 *
 * The file's own engine calls and `expect` counts are not used, except
 * that the expect counts are reported beside the new ones. The file is
 * replayed once first, so that it is checked exactly as `replay` checks
 * it and its group records are known to be paths.
 */
#include "sources/source.h"
#include "util/util.h"
#include "estimator/estimator.h"
#include "sources/record.h"
#include "trace/samples.h"
#include "trace/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(VMP_ESTIMATE_PRIO_DEFICIT == VMP_EST_PRIO_DEFICIT &&
		       VMP_ESTIMATE_PRIO_OOM == VMP_EST_PRIO_OOM &&
		       VMP_ESTIMATE_PRIO_LEARN == VMP_EST_PRIO_LEARN &&
		       VMP_ESTIMATE_PRIO_PSI_FULL == VMP_EST_PRIO_PSI_FULL &&
		       VMP_ESTIMATE_PRIO_ONSET == VMP_EST_PRIO_ONSET &&
		       VMP_ESTIMATE_PRIO_GRACE == VMP_EST_PRIO_GRACE &&
		       VMP_ESTIMATE_PRIO_HIGH == VMP_EST_PRIO_HIGH &&
		       VMP_ESTIMATE_PRIO_DEPTH_MAX == VMP_EST_PRIO_DEPTH_MAX &&
		       VMP_ESTIMATE_PRIO_SWEEP == VMP_EST_PRIO_SWEEP &&
		       VMP_ESTIMATE_PRIO_OWNSTALL == VMP_EST_PRIO_OWNSTALL &&
		       VMP_ESTIMATE_PRIO_KILLSEEN == VMP_EST_PRIO_KILLSEEN &&
		       VMP_ESTIMATE_PRIO_CROWD == VMP_EST_PRIO_CROWD &&
		       VMP_ESTIMATE_PRIO_DEFAULT == VMP_EST_PRIO_DEFAULT,
	       "the public prio bits are the estimator's");

#define ALL_PRIO                                                                                   \
	(VMP_EST_PRIO_DEFICIT | VMP_EST_PRIO_OOM | VMP_EST_PRIO_LEARN | VMP_EST_PRIO_PSI_FULL |   \
	 VMP_EST_PRIO_ONSET | VMP_EST_PRIO_GRACE | VMP_EST_PRIO_HIGH | VMP_EST_PRIO_DEPTH_MAX |   \
	 VMP_EST_PRIO_SWEEP | VMP_EST_PRIO_OWNSTALL | VMP_EST_PRIO_KILLSEEN | VMP_EST_PRIO_CROWD)
/* Larger windows than this make no sense (a window is one evaluation). */
#define MAX_WINDOW_PAGES (1u << 30)
/* What one sample interval can show before the file is taken for no
 * recording of a machine: the estimator's work grows with the pages per
 * window and the reclaim calls (4 injections per failed one), so
 * counters that jump by 2^60 would keep it busy for ever. 2^36 pages are
 * 256 TiB in one interval; 2^24 limit events, 80 million per second at the
 * busy interval. */
#define MAX_STEP_PAGES (UINT64_C(1) << 36)
#define MAX_STEP_EVENTS (UINT64_C(1) << 24)

struct elistener {
	struct vmp_estimate *owner;
	unsigned id;
	char *group, *args;
	unsigned long line;   /* its `listen` record; 0: an extra one */
	bool registered;
	bool has_expect;
	uint64_t expect, count, by_level[3];
};

struct prev {
	char *path;
	struct vmp_est_cgroup c; /* valid: a baseline */
	struct vmp_est_node *node; /* the estimator's, once sampled */
};

struct vmp_estimate {
	vmp_ctx *ctx;
	struct vmp_est *est;
	struct vmp_recorder *rec;
	struct elistener *l;  /* recorded ones in file order, then the extras */
	size_t nl, lcap, next; /* next: the first not registered */
	struct elistener **sorted;
	/* groups created here, parents before children */
	char **made;
	size_t nmade, madecap;
	struct vmp_est_node **sg;
	size_t sgcap;
	char *scratch;
	size_t scap;
	/* the previous snapshot of each path, for the plausibility bound */
	struct prev *prev;
	size_t pcap, pn;
	bool have_mprev;
	struct vmp_est_machine mprev;
	bool ended;
	struct vmp_estimate_stats st;
};

VMP_EXPORT void vmp_estimate_config_init(struct vmp_estimate_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->prio = VMP_ESTIMATE_PRIO_DEFAULT;
	cfg->window_pages = VMP_WINDOW;
	cfg->lru_gen = -1;
}

/* The recording's `# estimator kernel=A.B lru_gen=N fail_passes=N ...`
 * line (vmp__est_config_fmt(), written by the live source's recorder):
 * the settings it ran with. Fields it lacks or cannot read stay as they
 * are. */
static void recorded_setup(const char *buf, size_t len, struct vmp_est_config *ec)
{
	static const char key[] = "# estimator ";
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > sizeof(key) - 1 && n < 256 && !memcmp(p, key, sizeof(key) - 1)) {
			char line[256];
			memcpy(line, p, n);
			line[n] = 0;
			char *save = NULL;
			for (char *w = strtok_r(line + sizeof(key) - 1, " ", &save); w;
			     w = strtok_r(NULL, " ", &save)) {
				if (!strncmp(w, "kernel=", 7))
					(void)vmp__est_config_kernel(ec, w + 7, ec->lru_gen);
				else if (!strcmp(w, "lru_gen=0") || !strcmp(w, "lru_gen=1"))
					ec->lru_gen = w[8] == '1';
				else if (!strncmp(w, "fail_passes=", 12) && w[12] >= '1' && w[12] <= '8' && !w[13])
					ec->fail_passes = (unsigned)(w[12] - '0');
				else if (!strcmp(w, "mglru_silent_root=1"))
					ec->mglru_silent_root = true;
			}
			return; /* the first one: a recording has one */
		}
		p += n + 1;
	}
}

static const char *cstr(struct vmp_estimate *e, struct vmp_span s)
{
	if (s.n + 1 > e->scap) {
		size_t ncap = s.n + 64;
		char *np = realloc(e->scratch, ncap);
		if (!np)
			return NULL;
		e->scratch = np;
		e->scap = ncap;
	}
	memcpy(e->scratch, s.p, s.n);
	e->scratch[s.n] = 0;
	return e->scratch;
}

static char *spandup(struct vmp_span s)
{
	char *p = malloc(s.n + 1);
	if (p) {
		memcpy(p, s.p, s.n);
		p[s.n] = 0;
	}
	return p;
}

/* The group at path ("/" or "a/b"), created with its ancestors if need be. */
static int get_group(struct vmp_estimate *e, const char *path, vmp_group **out)
{
	if (vmp_group_lookup(e->ctx, path, out) == 0)
		return 0;
	size_t n = strlen(path);
	char *p = malloc(n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, path, n + 1);
	vmp_group *g = vmp_ctx_root(e->ctx);
	int rc = 0;
	for (size_t i = 0; i <= n && !rc; i++) {
		if (i < n && p[i] != '/')
			continue;
		char c = p[i];
		p[i] = 0;
		vmp_group *next;
		if (vmp_group_lookup(e->ctx, p, &next) != 0) {
			const char *name = strrchr(p, '/');
			name = name ? name + 1 : p;
			if (e->nmade == e->madecap) {
				size_t ncap = e->madecap ? e->madecap * 2 : 16;
				char **nm = realloc(e->made, ncap * sizeof(*nm));
				if (!nm) {
					rc = -ENOMEM;
					break;
				}
				e->made = nm;
				e->madecap = ncap;
			}
			char *dup = strdup(p);
			if (!dup) {
				rc = -ENOMEM;
				break;
			}
			rc = vmp_group_new(g, name, &next);
			if (rc) {
				free(dup);
				break;
			}
			e->made[e->nmade++] = dup;
		}
		g = next;
		p[i] = c;
	}
	free(p);
	if (!rc)
		*out = g;
	return rc;
}

static struct prev *prev_find(struct vmp_estimate *e, const char *path);

/* `# sample-gone`: the group and everything created below it go. */
static void drop_group(struct vmp_estimate *e, const char *path)
{
	size_t pl = strlen(path);
	for (size_t i = e->nmade; i-- > 0;) {
		const char *m = e->made[i];
		if (strcmp(m, path) != 0 && !(strncmp(m, path, pl) == 0 && m[pl] == '/'))
			continue;
		struct prev *pv = prev_find(e, m);
		if (pv && pv->node) {
			vmp__est_node_free(pv->node); /* its children went first */
			pv->node = NULL;
		}
		vmp_group *g;
		if (vmp_group_lookup(e->ctx, m, &g) == 0)
			vmp_group_destroy(g);
		free(e->made[i]);
		memmove(&e->made[i], &e->made[i + 1], (e->nmade - i - 1) * sizeof(*e->made));
		e->nmade--;
	}
}

static void on_event(const struct vmp_event *ev, void *arg)
{
	struct elistener *l = arg;
	if (l->owner->ended || (ev->flags & VMP_EVENT_REMOVED))
		return;
	l->count++;
	if ((unsigned)ev->level < 3)
		l->by_level[ev->level]++;
}

static int register_one(struct vmp_estimate *e, struct elistener *l, struct vmp_error *err)
{
	vmp_level level;
	vmp_mode mode;
	vmp_group *g;
	int rc = vmp_parse_args(l->args, &level, &mode);
	if (rc) {
		vmp__errorf(err, l->line, "listener %u: args '%s' are not level[,mode]", l->id, l->args);
		return -EINVAL;
	}
	rc = get_group(e, l->group, &g);
	if (!rc)
		rc = vmp_listen_callback(g, l->args, on_event, l);
	if (rc) {
		vmp__errorf(err, l->line, "listener %u: cannot register on '%s': error %d", l->id, l->group,
				 rc);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	l->registered = true;
	if (e->rec)
		vmp__recorder_listen(e->rec, l->id, g, level, mode);
	return 0;
}

/* Register the listeners whose `listen` record comes before line `line`
 * (extras: before the first sample). */
static int register_upto(struct vmp_estimate *e, unsigned long line, struct vmp_error *err)
{
	while (e->next < e->nl && (e->l[e->next].line < line || !e->l[e->next].line)) {
		int rc = register_one(e, &e->l[e->next], err);
		if (rc)
			return rc;
		e->next++;
	}
	return 0;
}

/* ---- pass 1: the file's listeners and expect counts --------------------- */

static struct elistener *add_listener(struct vmp_estimate *e)
{
	if (e->nl == e->lcap) {
		size_t ncap = e->lcap ? e->lcap * 2 : 8;
		struct elistener *nl = realloc(e->l, ncap * sizeof(*nl));
		if (!nl)
			return NULL;
		e->l = nl;
		e->lcap = ncap;
	}
	struct elistener *l = &e->l[e->nl++];
	memset(l, 0, sizeof(*l));
	l->owner = e;
	return l;
}

static int on_trace_rec(const struct vmp_trace_rec *rec, void *arg, struct vmp_error *err)
{
	struct vmp_estimate *e = arg;
	if (rec->kind == VMP_REC_LISTEN) {
		struct elistener *l = add_listener(e);
		if (!l)
			return -ENOMEM;
		l->id = rec->id;
		l->line = rec->line;
		l->group = spandup(rec->group);
		/* as the kernel and the replay do: the first 19 bytes */
		struct vmp_span a = rec->args;
		if (a.n > VMP_MAX_ARGS_LEN)
			a.n = VMP_MAX_ARGS_LEN;
		l->args = spandup(a);
		if (!l->group || !l->args)
			return -ENOMEM;
	} else if (rec->kind == VMP_REC_EXPECT) {
		for (size_t i = 0; i < e->nl; i++)
			if (e->l[i].id == rec->id) {
				e->l[i].has_expect = true;
				e->l[i].expect = rec->count;
			}
	}
	(void)err;
	return 0;
}

/* ---- pass 2: the samples ------------------------------------------------ */

static struct prev *prev_get(struct vmp_estimate *e, const char *path)
{
	if ((e->pn + 1) * 2 > e->pcap) {
		size_t ncap = e->pcap ? e->pcap * 2 : 64;
		struct prev *np = calloc(ncap, sizeof(*np));
		if (!np)
			return NULL;
		for (size_t i = 0; i < e->pcap; i++) {
			if (!e->prev[i].path)
				continue;
			size_t b = vmp__hash_str(e->prev[i].path) & (ncap - 1);
			while (np[b].path)
				b = (b + 1) & (ncap - 1);
			np[b] = e->prev[i];
		}
		free(e->prev);
		e->prev = np;
		e->pcap = ncap;
	}
	size_t b = vmp__hash_str(path) & (e->pcap - 1);
	for (; e->prev[b].path; b = (b + 1) & (e->pcap - 1))
		if (!strcmp(e->prev[b].path, path))
			return &e->prev[b];
	e->prev[b].path = strdup(path);
	if (!e->prev[b].path)
		return NULL;
	e->pn++;
	return &e->prev[b];
}

static struct prev *prev_find(struct vmp_estimate *e, const char *path)
{
	if (!e->pcap)
		return NULL;
	for (size_t b = vmp__hash_str(path) & (e->pcap - 1); e->prev[b].path; b = (b + 1) & (e->pcap - 1))
		if (!strcmp(e->prev[b].path, path))
			return &e->prev[b];
	return NULL;
}

/* The estimator's node for path ("a/b"), created with its group and with
 * those of its ancestors if need be: parents first, as the source's tree. */
static int get_node(struct vmp_estimate *e, const char *path, struct vmp_est_node **out)
{
	struct prev *pv = prev_get(e, path);
	if (!pv)
		return -ENOMEM;
	if (pv->node) {
		*out = pv->node;
		return 0;
	}
	struct vmp_est_node *parent = NULL;
	const char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		char *up = strndup(path, (size_t)(slash - path));
		if (!up)
			return -ENOMEM;
		int rc = get_node(e, up, &parent);
		free(up);
		if (rc)
			return rc;
	}
	vmp_group *g;
	int rc = get_group(e, path, &g);
	if (rc)
		return rc;
	pv = prev_get(e, path); /* the table may have grown */
	if (!pv)
		return -ENOMEM;
	rc = vmp__est_node_new(e->est, parent, g, &pv->node);
	if (!rc)
		*out = pv->node;
	return rc;
}

/* Growth of a counter, 0 if it went back (the estimator starts over). */
static uint64_t grew(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

static int implausible(struct vmp_error *err, unsigned long line, const char *who, const char *what,
		       uint64_t by)
{
	vmp__errorf(err, line, "%s: %s grows by %llu in one sample: more than a machine can (at most "
				    "2^36 pages, 2^24 events), not a recording", who, what, (unsigned long long)by);
	return -EINVAL;
}

static int check_cgroup(struct vmp_estimate *e, const char *path, const struct vmp_est_cgroup *c,
			unsigned long line, struct vmp_error *err)
{
	struct prev *p = prev_get(e, path);
	if (!p)
		return -ENOMEM;
	if (p->c.valid && c->valid) {
		const struct vmp_est_cgroup *q = &p->c;
		uint64_t d;
		if ((d = grew(c->pgscan, q->pgscan)) > MAX_STEP_PAGES)
			return implausible(err, line, path, "pgscan", d);
		if ((d = grew(c->pgsteal, q->pgsteal)) > MAX_STEP_PAGES)
			return implausible(err, line, path, "pgsteal", d);
		if ((d = grew(c->pgscan_direct, q->pgscan_direct)) > MAX_STEP_PAGES)
			return implausible(err, line, path, "pgscan_direct", d);
		if ((d = grew(c->pgsteal_direct, q->pgsteal_direct)) > MAX_STEP_PAGES)
			return implausible(err, line, path, "pgsteal_direct", d);
		uint64_t ev[] = {grew(c->high, q->high), grew(c->max, q->max), grew(c->oom, q->oom),
				 grew(c->oom_kill, q->oom_kill), grew(c->local_high, q->local_high),
				 grew(c->local_max, q->local_max), grew(c->local_oom, q->local_oom)};
		static const char *const names[] = {"high", "max", "oom", "oom_kill", "local_high",
						    "local_max", "local_oom"};
		for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
			if (ev[i] > MAX_STEP_EVENTS)
				return implausible(err, line, path, names[i], ev[i]);
	}
	p->c = *c;
	return 0;
}

static int check_machine(struct vmp_estimate *e, const struct vmp_est_machine *m, unsigned long line,
			 struct vmp_error *err)
{
	if (!m || !m->valid) {
		e->have_mprev = false;
		return 0;
	}
	if (e->have_mprev) {
		const struct vmp_est_machine *q = &e->mprev;
		uint64_t d;
		if ((d = grew(m->pgscan_kswapd, q->pgscan_kswapd) + grew(m->pgscan_direct, q->pgscan_direct)) >
		    MAX_STEP_PAGES)
			return implausible(err, line, "the machine", "pgscan", d);
		if ((d = grew(m->pgsteal_kswapd, q->pgsteal_kswapd) + grew(m->pgsteal_direct, q->pgsteal_direct)) >
		    MAX_STEP_PAGES)
			return implausible(err, line, "the machine", "pgsteal", d);
		if ((d = grew(m->allocstall, q->allocstall)) > MAX_STEP_EVENTS)
			return implausible(err, line, "the machine", "allocstall", d);
		if ((d = grew(m->oom_kill, q->oom_kill)) > MAX_STEP_EVENTS)
			return implausible(err, line, "the machine", "oom_kill", d);
	}
	e->mprev = *m;
	e->have_mprev = true;
	return 0;
}

static int on_sample(const struct vmp_samples_rec *r, void *arg, struct vmp_error *err)
{
	struct vmp_estimate *e = arg;
	int rc = register_upto(e, r->line, err);
	if (rc)
		return rc;
	if (r->kind == VMP_SAMPLES_GONE) {
		const char *p = cstr(e, r->path);
		if (!p)
			return -ENOMEM;
		if (e->rec)
			vmp__recorder_gone(e->rec, p);
		struct prev *pv = prev_get(e, p);
		if (!pv)
			return -ENOMEM;
		pv->c.valid = false; /* a new cgroup: no baseline */
		drop_group(e, p);
		return 0;
	}
	if (r->n > e->sgcap) {
		struct vmp_est_node **ng = realloc(e->sg, r->n * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		e->sg = ng;
		e->sgcap = r->n;
	}
	if ((rc = check_machine(e, r->m, r->line, err)) != 0)
		return rc;
	for (size_t i = 0; i < r->n; i++) {
		const char *p = cstr(e, r->paths[i]);
		if (!p)
			return -ENOMEM;
		if ((rc = check_cgroup(e, p, &r->c[i], r->line, err)) != 0)
			return rc;
		rc = get_node(e, p, &e->sg[i]);
		if (rc) {
			vmp__errorf(err, r->line, "cannot create group '%s': error %d", p, rc);
			return rc == -ENOMEM ? rc : -EINVAL;
		}
	}
	vmp__est_set_sched(e->est, r->sched);
	rc = vmp__est_step(e->est, r->t_ns, r->m, r->n, e->sg, r->c);
	if (rc) {
		vmp__errorf(err, r->line, "the estimator refused this sample: error %d", rc);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	e->st.steps++;
	e->st.cgroup_samples += r->n;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct elistener *x = *(const struct elistener *const *)a;
	const struct elistener *y = *(const struct elistener *const *)b;
	return (x->id > y->id) - (x->id < y->id);
}

VMP_EXPORT void vmp_estimate_free(vmp_estimate *e)
{
	if (!e)
		return;
	e->ended = true;
	vmp__est_free(e->est);
	vmp_ctx_free(e->ctx);
	vmp__record_free(e->rec);
	for (size_t i = 0; i < e->nl; i++) {
		free(e->l[i].group);
		free(e->l[i].args);
	}
	free(e->l);
	free(e->sorted);
	for (size_t i = 0; i < e->nmade; i++)
		free(e->made[i]);
	free(e->made);
	free(e->sg);
	free(e->scratch);
	for (size_t i = 0; i < e->pcap; i++)
		free(e->prev[i].path);
	free(e->prev);
	free(e);
}

static int add_extras(struct vmp_estimate *e, const struct vmp_estimate_config *cfg,
		      struct vmp_error *err)
{
	unsigned next_id = 0;
	for (size_t i = 0; i < e->nl; i++)
		if (e->l[i].id >= next_id)
			next_id = e->l[i].id + 1;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct vmp_estimate_listen *x = &cfg->listen[i];
		vmp_level level;
		vmp_mode mode;
		char *norm = x->group ? vmp__cgroup_normalize(x->group) : NULL;
		if (!norm || !vmp__trace_name_ok(norm)) {
			free(norm);
			vmp__errorf(err, 0, "extra listener %zu: '%s' is not a cgroup path", i + 1,
					 x->group ? x->group : "(null)");
			return -EINVAL;
		}
		if (!x->args || vmp_parse_args(x->args, &level, &mode) != 0) {
			free(norm);
			vmp__errorf(err, 0, "extra listener %zu: args '%s' are not level[,mode] (levels: low "
						 "medium critical; modes: default hierarchy local)", i + 1,
					 x->args ? x->args : "(null)");
			return -EINVAL;
		}
		if (next_id > VMP_TRACE_MAX_ID) {
			free(norm);
			vmp__errorf(err, 0, "extra listener %zu: no listener id left (at most 65536)", i + 1);
			return -EINVAL;
		}
		struct elistener *l = add_listener(e);
		if (!l) {
			free(norm);
			return -ENOMEM;
		}
		l->id = next_id++;
		l->group = norm;
		size_t al = strlen(x->args);
		l->args = spandup((struct vmp_span){x->args, al > VMP_MAX_ARGS_LEN ? VMP_MAX_ARGS_LEN : al});
		if (!l->args)
			return -ENOMEM;
	}
	return 0;
}

/* Extras (line 0) go first: before the recording's first sample. */
static void extras_first(struct vmp_estimate *e, size_t nrec)
{
	size_t nx = e->nl - nrec;
	if (!nx || !nrec)
		return;
	struct elistener *tmp = malloc(nx * sizeof(*tmp));
	if (!tmp)
		return; /* then they come after the recorded ones: still before the first sample */
	memcpy(tmp, e->l + nrec, nx * sizeof(*tmp));
	memmove(e->l + nx, e->l, nrec * sizeof(*tmp));
	memcpy(e->l, tmp, nx * sizeof(*tmp));
	free(tmp);
}

VMP_EXPORT int vmp_estimate_run(const char *buf, size_t len, const struct vmp_estimate_config *cfg,
				vmp_record_fn fn, void *fn_arg, vmp_estimate **out,
				struct vmp_error *err)
{
	struct vmp_error dummy;
	if (!err)
		err = &dummy;
	vmp__error_clear(err);
	if ((!buf && len) || !out)
		return -EINVAL;
	struct vmp_estimate_config defaults;
	if (!cfg) {
		vmp_estimate_config_init(&defaults);
		cfg = &defaults;
	}
	if (cfg->prio & ~ALL_PRIO) {
		vmp__errorf(err, 0, "prio 0x%x has unknown bits", cfg->prio);
		return -EINVAL;
	}
	if (cfg->window_pages > MAX_WINDOW_PAGES) {
		vmp__errorf(err, 0, "window_pages %u is over %u", cfg->window_pages, MAX_WINDOW_PAGES);
		return -EINVAL;
	}
	if (cfg->nlisten && !cfg->listen)
		return -EINVAL;
	struct vmp_est_config probe;
	vmp__est_config_init(&probe);
	if (cfg->kernel && vmp__est_config_kernel(&probe, cfg->kernel, -1) != 0) {
		vmp__errorf(err, 0, "kernel '%s' is not a release MAJOR.MINOR[...] (as uname -r prints it)",
			    cfg->kernel);
		return -EINVAL;
	}
	if (cfg->fail_passes > 8) {
		vmp__errorf(err, 0, "fail_passes %u is over 8", cfg->fail_passes);
		return -EINVAL;
	}

	/* The file as replay reads it: every error replay would report. */
	vmp_replay *rp = NULL;
	int rc = vmp_replay_run(buf ? buf : "", len, NULL, NULL, &rp, err);
	vmp_replay_free(rp);
	if (rc)
		return rc;

	struct vmp_estimate *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	rc = vmp__trace_parse(buf ? buf : "", len, on_trace_rec, e, err);
	size_t nrec = e->nl;
	if (!rc)
		rc = add_extras(e, cfg, err);
	if (rc)
		goto fail;
	extras_first(e, nrec);

	/* The kernel's window: the live source's engine (inline). Another
	 * window: evaluations only where the estimator closes one of its
	 * windows (vmp_group_run_job()), as bench/v2_fidelity measures it;
	 * inline, the engine would also evaluate each time 512 pages have
	 * accumulated. The trace then records those as `work` records (kernel
	 * timing), so that it replays to the same counts. */
	bool manual = cfg->window_pages && cfg->window_pages != VMP_WINDOW;
	struct vmp_config ccfg;
	vmp_config_init(&ccfg);
	ccfg.executor = manual ? VMP_EXECUTOR_MANUAL : VMP_EXECUTOR_INLINE;
	struct vmp_est_config ecfg;
	vmp__est_config_init(&ecfg);
	ecfg.prio = cfg->prio;
	ecfg.window_pages = cfg->window_pages;
	recorded_setup(buf ? buf : "", len, &ecfg);
	if (cfg->kernel)
		(void)vmp__est_config_kernel(&ecfg, cfg->kernel, ecfg.lru_gen); /* checked above */
	if (cfg->lru_gen >= 0)
		ecfg.lru_gen = cfg->lru_gen > 0;
	if (cfg->fail_passes)
		ecfg.fail_passes = cfg->fail_passes;
	rc = vmp_ctx_new(&e->ctx, &ccfg);
	if (!rc)
		rc = vmp__est_new_config(&e->est, e->ctx, &ecfg);
	if (!rc && fn) {
		rc = vmp__recorder_new(&e->rec, fn, fn_arg);
		if (!rc) {
			/* the estimator's setup line first, as a live recording has it */
			vmp__est_set_tap(e->est, vmp__recorder_tap(e->rec));
			vmp__recorder_start(e->rec, manual ? VMP_TAP_F_WORK : 0, 0);
		}
	}
	if (rc)
		goto fail;

	size_t steps = 0;
	rc = vmp__samples_parse(buf ? buf : "", len, on_sample, e, &steps, err);
	if (!rc && !steps) {
		vmp__errorf(err, 0, "no sample lines: only a recording of a cgroup v2 or machine source "
					 "(vmpressure record) has the counters to estimate from");
		rc = -ENODATA;
	}
	if (!rc)
		rc = register_upto(e, (unsigned long)-1, err);
	if (rc)
		goto fail;

	e->sorted = e->nl ? malloc(e->nl * sizeof(*e->sorted)) : NULL;
	if (e->nl && !e->sorted) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < e->nl; i++)
		e->sorted[i] = &e->l[i];
	qsort(e->sorted, e->nl, sizeof(*e->sorted), cmp_id);
	if (e->rec) {
		for (size_t i = 0; i < e->nl; i++)
			vmp__recorder_expect(e->rec, e->sorted[i]->id, e->sorted[i]->count);
		rc = vmp__recorder_end(e->rec);
		if (rc) {
			vmp__errorf(err, 0, "cannot write the re-estimated trace: error %d", rc);
			goto fail;
		}
	}
	struct vmp_est_stats es;
	vmp__est_stats(e->est, &es);
	e->st.windows = es.windows;
	e->st.prio_windows = es.prio_windows;
	e->st.failed_calls = es.failed_calls;
	e->ended = true;
	*out = e;
	return 0;

fail:
	vmp_estimate_free(e);
	return rc;
}

VMP_EXPORT size_t vmp_estimate_listener_count(const vmp_estimate *e)
{
	return e ? e->nl : 0;
}

VMP_EXPORT int vmp_estimate_listener(const vmp_estimate *e, size_t index,
				     struct vmp_estimate_listener *out)
{
	if (!e || !out || index >= e->nl)
		return -EINVAL;
	const struct elistener *l = e->sorted[index];
	*out = (struct vmp_estimate_listener){
		.id = l->id,
		.group = l->group,
		.args = l->args,
		.extra = l->line == 0,
		.count = l->count,
		.has_expect = l->has_expect,
		.expect = l->expect,
	};
	memcpy(out->by_level, l->by_level, sizeof(out->by_level));
	return 0;
}

VMP_EXPORT void vmp_estimate_stats(const vmp_estimate *e, struct vmp_estimate_stats *out)
{
	if (e && out)
		*out = e->st;
}
