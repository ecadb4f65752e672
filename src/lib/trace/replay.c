/* SPDX-License-Identifier: MIT */
/*
 * Replay: drive the engine with a vmptrace file's calls, exactly as the
 * kernel's reclaim code made them, and count what each listener receives.
 *
 * Timing (docs/vmptrace.md): a file with `work` records uses kernel timing,
 * so evaluations happen only there (the manual executor); otherwise the
 * inline executor evaluates right after the call that filled the window.
 *
 * The engine knows nothing of traces: listeners are ordinary callback
 * registrations, `prio` is vmp_account_prio(), `work` is
 * vmp_group_run_job(). The kernel's counts are the test.
 */
#include "trace/trace.h"
#include "engine/observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rlistener {
	struct vmp_replay *owner;
	unsigned id;
	bool declared, has_expect;
	uint64_t count, expect;
	unsigned long expect_line;
};

struct gslot {
	const char *name; /* points into the trace buffer */
	size_t n;
	vmp_group *g;
};

struct vmp_replay {
	vmp_ctx *ctx;
	bool kernel_timing;
	/* listeners, indexed by id; ids are small (VMP_TRACE_MAX_ID) */
	struct rlistener **by_id;
	size_t id_cap;
	size_t nlisteners;
	struct rlistener **sorted; /* the declared ones, ascending id, after the run */
	/* group name -> group: open addressing, power-of-two size */
	struct gslot *gtab;
	size_t gcap, gcount;
	struct gslot *last; /* records repeat a group: skip the hash */
	struct vmp_span cur_t;
	bool ended; /* past the last record: the kernel's trace saw no more */
	vmp_replay_event_fn ev_fn;
	void *ev_arg;
	const struct vmp_replay_hooks *hooks; /* vmp_replay_run_hooks(), or NULL */
};

static size_t hash_span(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211u;
	return (size_t)h;
}

static struct gslot *gfind(struct vmp_replay *r, struct vmp_span s)
{
	if (r->last && r->last->n == s.n && memcmp(r->last->name, s.p, s.n) == 0)
		return r->last;
	if (!r->gcap)
		return NULL;
	for (size_t i = hash_span(s.p, s.n) & (r->gcap - 1);; i = (i + 1) & (r->gcap - 1)) {
		struct gslot *e = &r->gtab[i];
		if (!e->name)
			return NULL;
		if (e->n == s.n && memcmp(e->name, s.p, s.n) == 0)
			return r->last = e;
	}
}

static int gadd(struct vmp_replay *r, struct vmp_span s, vmp_group *g)
{
	if ((r->gcount + 1) * 2 > r->gcap) {
		size_t ncap = r->gcap ? r->gcap * 2 : 16;
		struct gslot *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < r->gcap; i++) {
			if (!r->gtab[i].name)
				continue;
			size_t j = hash_span(r->gtab[i].name, r->gtab[i].n) & (ncap - 1);
			while (nt[j].name)
				j = (j + 1) & (ncap - 1);
			nt[j] = r->gtab[i];
		}
		free(r->gtab);
		r->gtab = nt;
		r->gcap = ncap;
		r->last = NULL;
	}
	size_t j = hash_span(s.p, s.n) & (r->gcap - 1);
	while (r->gtab[j].name)
		j = (j + 1) & (r->gcap - 1);
	r->gtab[j] = (struct gslot){s.p, s.n, g};
	r->gcount++;
	return 0;
}

static void on_event(const struct vmp_event *ev, void *arg)
{
	struct rlistener *l = arg;
	struct vmp_replay *r = l->owner;
	/* Freeing the context flushes jobs still pending and signals removal:
	 * neither happened within the captured trace. */
	if (r->ended || (ev->flags & VMP_EVENT_REMOVED))
		return;
	l->count++;
	if (r->ev_fn)
		r->ev_fn(r->cur_t.p, r->cur_t.n, l->id, ev->level, r->ev_arg);
	if (r->hooks && r->hooks->event)
		r->hooks->event(r->cur_t.p, r->cur_t.n, l->id, ev, r->hooks->arg);
}

static void on_window(const struct vmp_event *ev, void *arg)
{
	struct vmp_replay *r = arg;
	if (!r->ended)
		r->hooks->window(r->cur_t.p, r->cur_t.n, ev, r->hooks->arg);
}

static char *spandup(struct vmp_span s, char *buf, size_t cap)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;
	memcpy(buf, s.p, n);
	buf[n] = 0;
	return buf;
}

/* For messages: a field with the bytes a terminal would act on (control
 * characters, DEL, the quote) as \xNN, like the reader's messages. */
static char *spanshow(struct vmp_span s, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < s.n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c >= 0x20 && c != 0x7f && c != '\'')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
	}
	buf[o] = 0;
	return buf;
}

#define ERR(...) (vmp__errorf(err, rec->line, __VA_ARGS__), -EINVAL)

static int lookup(struct vmp_replay *r, const struct vmp_trace_rec *rec, vmp_group **g,
		  struct vmp_error *err)
{
	struct gslot *e = gfind(r, rec->group);
	if (!e) {
		char nb[64];
		return ERR("group '%s' is not declared (a `group` record must come first)",
			   spandup(rec->group, nb, sizeof(nb)));
	}
	*g = e->g;
	return 0;
}

static int on_group(struct vmp_replay *r, const struct vmp_trace_rec *rec, struct vmp_error *err)
{
	char nb[64], pb[64];
	const char *name = spandup(rec->group, nb, sizeof(nb)); /* for messages */
	bool is_root = rec->parent.n == 1 && rec->parent.p[0] == '-';
	if (gfind(r, rec->group))
		return ERR("group '%s' is declared twice", name);
	if (is_root) {
		if (rec->group.n != 1 || rec->group.p[0] != '/')
			return ERR("only the root '/' has parent '-', not '%s'", name);
		return gadd(r, rec->group, vmp_ctx_root(r->ctx));
	}
	if (!r->gcount)
		return ERR("the root must be declared first: `group / -`");
	struct gslot *pe = gfind(r, rec->parent);
	if (!pe)
		return ERR("parent '%s' of group '%s' is not declared",
			   spandup(rec->parent, pb, sizeof(pb)), name);
	/* The name is the path below the root: the parent's path plus one
	 * component. */
	struct vmp_span leaf = rec->group;
	if (pe->g != vmp_ctx_root(r->ctx)) {
		size_t pl = pe->n;
		if (leaf.n <= pl + 1 || memcmp(leaf.p, pe->name, pl) != 0 || leaf.p[pl] != '/')
			return ERR("group '%s' is not a path directly below its parent '%s'", name,
				   spandup(rec->parent, pb, sizeof(pb)));
		leaf.p += pl + 1;
		leaf.n -= pl + 1;
	}
	if (leaf.n > 255)
		return ERR("group '%s': a path component longer than 255 bytes", name);
	char lb[256];
	vmp_group *g;
	int rc = vmp_group_new(pe->g, spandup(leaf, lb, sizeof(lb)), &g);
	if (rc == -EINVAL)
		return ERR("group '%s' is not a path directly below its parent '%s'", name,
			   spandup(rec->parent, pb, sizeof(pb)));
	if (rc)
		return ERR("cannot create group '%s': error %d", name, rc);
	return gadd(r, rec->group, g);
}

static struct rlistener *slot(struct vmp_replay *r, unsigned id)
{
	if (id >= r->id_cap) {
		size_t ncap = r->id_cap ? r->id_cap : 16;
		while (ncap <= id)
			ncap *= 2;
		struct rlistener **n = realloc(r->by_id, ncap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + r->id_cap, 0, (ncap - r->id_cap) * sizeof(*n));
		r->by_id = n;
		r->id_cap = ncap;
	}
	if (!r->by_id[id]) {
		r->by_id[id] = calloc(1, sizeof(struct rlistener));
		if (r->by_id[id]) {
			r->by_id[id]->owner = r;
			r->by_id[id]->id = id;
		}
	}
	return r->by_id[id];
}

static int on_record(const struct vmp_trace_rec *rec, void *arg, struct vmp_error *err)
{
	struct vmp_replay *r = arg;
	vmp_group *g;
	int rc;

	switch (rec->kind) {
	case VMP_REC_VMPRESSURE:
		if ((rc = lookup(r, rec, &g, err)))
			return rc;
		r->cur_t = rec->t;
		vmp_account(r->ctx, g, rec->gfp, rec->tree, rec->scanned, rec->reclaimed);
		return 0;
	case VMP_REC_PRIO:
		if ((rc = lookup(r, rec, &g, err)))
			return rc;
		r->cur_t = rec->t;
		vmp_account_prio(r->ctx, g, rec->gfp, rec->prio);
		return 0;
	case VMP_REC_WORK:
		if ((rc = lookup(r, rec, &g, err)))
			return rc;
		r->cur_t = rec->t;
		vmp_group_run_job(g);
		return 0;
	case VMP_REC_GROUP:
		if ((rc = on_group(r, rec, err)))
			return rc;
		if (r->hooks && r->hooks->group) {
			vmp_group *ng = gfind(r, rec->group)->g;
			vmp_group *p = vmp_group_parent(ng);
			r->hooks->group(vmp_group_path(ng), p ? vmp_group_path(p) : NULL, r->hooks->arg);
		}
		return 0;
	case VMP_REC_LISTEN: {
		if ((rc = lookup(r, rec, &g, err)))
			return rc;
		struct rlistener *l = slot(r, rec->id);
		if (!l)
			return ERR("out of memory");
		if (l->declared)
			return ERR("listener id %u is declared twice", rec->id);
		char ab[VMP_MAX_ARGS_LEN + 1];
		/* Only the first 19 bytes count; cutting here is the same. */
		rc = vmp_listen_callback(g, spandup(rec->args, ab, sizeof(ab)), on_event, l);
		if (rc == -EINVAL) {
			char sb[64];
			return ERR("listen: args '%s' are not level[,mode]; the kernel would reject them (EINVAL)",
				   spanshow(rec->args, sb, sizeof(sb)));
		}
		if (rc)
			return ERR("listen: cannot register: error %d", rc);
		l->declared = true;
		r->nlisteners++;
		if (r->hooks && r->hooks->listen)
			r->hooks->listen(rec->id, vmp_group_path(g), ab, r->hooks->arg);
		return 0;
	}
	case VMP_REC_EXPECT: {
		struct rlistener *l = rec->id < r->id_cap ? r->by_id[rec->id] : NULL;
		if (!l || !l->declared)
			return ERR("expect: listener %u is not declared before it", rec->id);
		if (l->has_expect)
			return ERR("expect: listener %u already has an expected count (line %lu)", rec->id,
				   l->expect_line);
		l->has_expect = true;
		l->expect = rec->count;
		l->expect_line = rec->line;
		return 0;
	}
	}
	return 0;
}

VMP_EXPORT void vmp_replay_free(vmp_replay *r)
{
	if (!r)
		return;
	vmp_ctx_free(r->ctx);
	for (size_t i = 0; i < r->id_cap; i++)
		free(r->by_id[i]);
	free(r->by_id);
	free(r->sorted);
	free(r->gtab);
	free(r);
}

static int run(const char *buf, size_t len, vmp_replay_event_fn ev, void *ev_arg,
	       const struct vmp_replay_hooks *hooks, vmp_replay **out, struct vmp_error *err)
{
	vmp__error_clear(err);
	if ((!buf && len) || !out)
		return -EINVAL;
	if (!buf)
		buf = ""; /* (NULL, 0) is an empty trace: no arithmetic on NULL */
	struct vmp_replay *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kernel_timing = vmp__trace_has_work(buf, len);
	r->ev_fn = ev;
	r->ev_arg = ev_arg;
	r->hooks = hooks;
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = r->kernel_timing ? VMP_EXECUTOR_MANUAL : VMP_EXECUTOR_INLINE;
	int rc = vmp_ctx_new(&r->ctx, &cfg);
	if (rc) {
		free(r);
		return rc;
	}
	if (hooks && hooks->window)
		vmp__ctx_set_eval_hook(r->ctx, on_window, r);
	rc = vmp__trace_parse(buf, len, on_record, r, err);
	if (!rc) {
		r->ended = true;
		vmp_ctx_free(r->ctx);
		r->ctx = NULL;
		r->sorted = calloc(r->nlisteners ? r->nlisteners : 1, sizeof(*r->sorted));
		if (!r->sorted) {
			vmp_replay_free(r);
			return -ENOMEM;
		}
		for (size_t id = 0, k = 0; id < r->id_cap; id++)
			if (r->by_id[id] && r->by_id[id]->declared)
				r->sorted[k++] = r->by_id[id];
		*out = r;
		return 0;
	}
	r->ended = true;
	vmp_replay_free(r);
	return rc;
}

VMP_EXPORT int vmp_replay_run(const char *buf, size_t len, vmp_replay_event_fn ev, void *ev_arg,
			      vmp_replay **out, struct vmp_error *err)
{
	return run(buf, len, ev, ev_arg, NULL, out, err);
}

VMP_EXPORT int vmp_replay_run_hooks(const char *buf, size_t len, const struct vmp_replay_hooks *hooks,
				    vmp_replay **out, struct vmp_error *err)
{
	return run(buf, len, NULL, NULL, hooks, out, err);
}

VMP_EXPORT size_t vmp_replay_listener_count(const vmp_replay *r)
{
	return r ? r->nlisteners : 0;
}

VMP_EXPORT int vmp_replay_listener(const vmp_replay *r, size_t index, struct vmp_replay_listener *out)
{
	if (!r || !out || index >= r->nlisteners)
		return -EINVAL;
	const struct rlistener *l = r->sorted[index];
	*out = (struct vmp_replay_listener){l->id, l->count, l->has_expect, l->expect};
	return 0;
}

VMP_EXPORT bool vmp_replay_kernel_timing(const vmp_replay *r)
{
	return r && r->kernel_timing;
}
