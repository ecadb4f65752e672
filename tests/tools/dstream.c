/* SPDX-License-Identifier: MIT */
#include "dstream.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ds_stream *stream_new(struct ds_set *set)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 32;
		struct ds_stream *p = realloc(set->s, cap * sizeof(*p));
		if (!p)
			return NULL;
		set->s = p;
		set->cap = cap;
	}
	struct ds_stream *s = &set->s[set->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

static int push(struct ds_stream *s, const struct ds_note *n)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct ds_note *p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = *n;
	return 0;
}

void ds_set_free(struct ds_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->s[i].v);
	free(set->s);
	memset(set, 0, sizeof(*set));
}

/* ---- the kernel's notifications ---------------------------------------------- */

struct vk {
	struct ds_set *set;
	size_t first;  /* the streams of this file start here */
	unsigned ids[64];
	size_t nids;
	int rc;
};

static void on_replay(const char *t, size_t tlen, unsigned id, vmp_level level, void *arg)
{
	struct vk *k = arg;
	char buf[64];
	size_t n = tlen < sizeof(buf) - 1 ? tlen : sizeof(buf) - 1;
	memcpy(buf, t, n);
	buf[n] = 0;
	size_t i = 0;
	while (i < k->nids && k->ids[i] != id)
		i++;
	if (i == k->nids) {
		if (k->nids == 64 || !stream_new(k->set)) {
			k->rc = -ENOMEM;
			return;
		}
		k->ids[k->nids++] = id;
	}
	struct ds_note note = {.t = strtod(buf, NULL), .level = level, .psi_some = -1, .psi_full = -1};
	if (push(&k->set->s[k->first + i], &note))
		k->rc = -ENOMEM;
}

/* The listeners' group and args, from the file's `listen` lines. */
static void listen_desc(const char *buf, size_t len, unsigned id, char *out, size_t cap)
{
	char key[32];
	int kn = snprintf(key, sizeof(key), "listen %u ", id);
	for (const char *p = buf; p && p < buf + len;) {
		const char *e = memchr(p, '\n', (size_t)(buf + len - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(buf + len - p);
		if (n > (size_t)kn && !memcmp(p, key, (size_t)kn)) {
			snprintf(out, cap, "%.*s", (int)(n - (size_t)kn), p + kn);
			return;
		}
		p = e ? e + 1 : NULL;
	}
	snprintf(out, cap, "?");
}

int ds_add_vmpt(struct ds_set *set, const char *label, const char *buf, size_t len, char *err,
		size_t errlen)
{
	struct vk k = {.set = set, .first = set->n};
	struct vmp_replay *r;
	struct vmp_error te;
	int rc = vmp_replay_run(buf, len, on_replay, &k, &r, &te);
	if (rc) {
		snprintf(err, errlen, "%s:%lu: %s", label, te.line, te.msg);
		return rc;
	}
	vmp_replay_free(r);
	if (k.rc)
		return k.rc;
	for (size_t i = 0; i < k.nids; i++) {
		struct ds_stream *s = &set->s[k.first + i];
		char desc[96];
		listen_desc(buf, len, k.ids[i], desc, sizeof(desc));
		snprintf(s->name, sizeof(s->name), "%s #%u %s", label, k.ids[i], desc);
		snprintf(s->run, sizeof(s->run), "%s", label);
	}
	return 0;
}

/* ---- the estimator's ------------------------------------------------------------- */

struct ve {
	struct ds_stream *s[V2S_MAXL];
	int rc;
};

static void on_est(size_t li, double t, const struct vmp_event *ev, double some, double full, void *arg)
{
	struct ve *v = arg;
	struct ds_note n = {.t = t, .level = ev->level, .has_ev = true, .scanned = ev->scanned,
			    .reclaimed = ev->reclaimed, .pressure = ev->pressure, .psi_some = some,
			    .psi_full = full};
	if (li < V2S_MAXL && v->s[li] && push(v->s[li], &n))
		v->rc = -ENOMEM;
}

int ds_add_estimator(struct ds_set *set, const char *label, const struct v2s_run *run)
{
	struct ve v;
	memset(&v, 0, sizeof(v));
	size_t first = set->n;
	for (size_t i = 0; i < run->nlisten; i++) {
		struct ds_stream *s = stream_new(set);
		if (!s)
			return -ENOMEM;
		snprintf(s->name, sizeof(s->name), "%s #%u %s %s", label, run->l[i].id, run->l[i].group,
			 run->l[i].args);
		snprintf(s->run, sizeof(s->run), "%s", label);
		s->estimated = true;
	}
	for (size_t i = 0; i < run->nlisten; i++)
		v.s[i] = &set->s[first + i];
	struct v2s_result res;
	int rc = v2s_estimate_events(run, NULL, 0, 0, &res, on_est, &v);
	return rc ? rc : v.rc;
}

/* ---- one run of the debouncer ------------------------------------------------------ */

#define FLAP_S 5.0

struct drun {
	struct ds_result *r;
	double last_down;
	uint64_t dwell_ns;
	vmp_state state;
};

static void on_tr(const struct vmp_transition *t, void *arg)
{
	struct drun *d = arg;
	struct ds_result *r = d->r;
	double ts = (double)t->time_ns / 1e9;
	r->transitions++;
	if (t->from != d->state || t->from == t->to)
		r->alternate = false;
	d->state = t->to;
	if ((int)t->to > r->state_max)
		r->state_max = (int)t->to;
	for (int s = 1; s <= (int)t->to; s++)
		if (r->first_state[s] < 0)
			r->first_state[s] = ts;
	if (t->to < t->from) {
		d->last_down = ts;
		if (t->prev_duration_ns < d->dwell_ns)
			r->dwell_ok = false;
	} else if (d->last_down >= 0 && ts - d->last_down <= FLAP_S) {
		r->flaps++;
	}
}

int ds_run(const struct ds_stream *s, const struct vmp_debounce_config *cfg, struct ds_result *r)
{
	memset(r, 0, sizeof(*r));
	r->raw_max = -1;
	r->alternate = r->dwell_ok = true;
	for (int l = 0; l < 3; l++)
		r->first_raw[l] = -1;
	for (int l = 0; l < 4; l++)
		r->first_state[l] = -1;
	struct drun d = {.r = r, .last_down = -1, .dwell_ns = cfg->dwell_ns};
	vmp_debounce *db;
	int rc = vmp_debounce_new(&db, cfg, on_tr, &d);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->n; i++) {
		const struct ds_note *n = &s->v[i];
		struct vmp_debounce_input in = {
			.time_ns = (uint64_t)llround(n->t * 1e9),
			.level = n->level,
			.count = 1,
			.has_evidence = n->has_ev,
			.scanned = n->scanned,
			.reclaimed = n->reclaimed,
			.pressure = n->pressure,
			.psi_some_avg10 = n->psi_some,
			.psi_full_avg10 = n->psi_full,
		};
		r->raw++;
		if ((int)n->level > r->raw_max)
			r->raw_max = (int)n->level;
		for (int l = 0; l <= (int)n->level; l++)
			if (r->first_raw[l] < 0)
				r->first_raw[l] = n->t;
		if ((rc = vmp_debounce_feed(db, &in)) != 0)
			break;
	}
	if (s->n) {
		r->duration = s->v[s->n - 1].t - s->v[0].t;
		double end = s->v[s->n - 1].t + (double)(cfg->window_ns + cfg->dwell_ns) / 1e9 + 1;
		vmp_debounce_tick(db, (uint64_t)llround(end * 1e9));
	}
	r->ends_none = vmp_debounce_state(db) == VMP_STATE_NONE;
	struct vmp_debounce_stats st;
	vmp_debounce_stats(db, &st);
	r->held = st.held;
	r->confirmed = st.confirmed;
	r->abandoned = st.abandoned;
	vmp_debounce_free(db);
	return rc;
}

/* ---- every recorded stream -------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			}
			b = nb;
		}
	}
	fclose(f);
	*len = n;
	return b;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#include <dirent.h>

int ds_load_all(struct ds_set *set, const char *dir, char *err, size_t errlen)
{
	/* dir/NAME.vmpt: the kernel captures and the synthetic traces. */
	DIR *dd = opendir(dir);
	if (!dd) {
		snprintf(err, errlen, "%s: cannot open", dir);
		return -ENOENT;
	}
	char *names[64];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(dd)) && nn < 64) {
		size_t l = strlen(de->d_name);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".vmpt"))
			names[nn++] = strdup(de->d_name);
	}
	closedir(dd);
	qsort(names, nn, sizeof(names[0]), cmp_name);
	int rc = 0;
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *b = names[i] ? slurp(path, &len) : NULL;
		if (!b) {
			snprintf(err, errlen, "%s: cannot read", path);
			rc = -EIO;
		}
		if (!rc) {
			char label[96];
			snprintf(label, sizeof(label), "%.*s", (int)(strlen(names[i]) - 5), names[i]);
			rc = ds_add_vmpt(set, label, b, len, err, errlen);
		}
		free(b);
		if (rc)
			break;
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	if (rc)
		return rc;
	/* dir/v2: the v2 runs, the kernel's capture and the estimator's. */
	char v2[4096];
	snprintf(v2, sizeof(v2), "%s/v2", dir);
	char **runs;
	size_t nruns;
	rc = v2s_list(v2, true, &runs, &nruns);
	if (rc) {
		snprintf(err, errlen, "%s: cannot list the v2 runs", v2);
		return rc;
	}
	for (size_t i = 0; i < nruns && !rc; i++) {
		struct v2s_run *run;
		rc = v2s_load(v2, runs[i], &run, err, errlen);
		if (rc)
			break;
		char label[96];
		snprintf(label, sizeof(label), "v2/%s", runs[i]);
		rc = ds_add_vmpt(set, label, run->vmpt, run->vmpt_len, err, errlen);
		if (!rc)
			rc = ds_add_estimator(set, label, run);
		v2s_free(run);
	}
	v2s_list_free(runs);
	return rc;
}
