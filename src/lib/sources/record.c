/* SPDX-License-Identifier: MIT */
/*
 * Recording a source (vmpressure record): what a live source feeds its
 * engine, as a vmptrace file that `vmpressure replay` reproduces.
 *
 * The source's kind routes its engine calls through a tap (tap.h); each
 * call becomes a `vmpressure`, `prio` or `work` record here, preceded by
 * the `group` records of its group and ancestors the first time they
 * appear. Every engine-backed subscription becomes a `listen` record with
 * the id of its order, and vmp_source_record_end() writes an `expect`
 * record per subscription with the notifications the source delivered to
 * it. Replaying the file then runs the same calls through the same rules,
 * so `replay --check` holds by construction; the tests check that it does.
 *
 * The cgroup v1 kind relays the kernel's own levels and feeds no engine:
 * there is nothing to record (-ENOTSUP).
 *
 * Live times are seconds since vmp_source_record() on CLOCK_MONOTONIC
 * (the sample's time: every call of one estimator step has it); a trace
 * source keeps its file's times.
 *
 * The estimator kinds also hand over their inputs (the tap's `sample`
 * and `gone`): every counter snapshot they stepped with becomes `# sample`
 * comment lines (samples.h), which replay skips and `vmpressure estimate`
 * (estimate.c) runs through the estimator again. The recorder itself
 * (vmp_recorder_*, record.h) knows nothing of sources, so that estimate.c
 * writes its re-estimated trace with it too.
 *
 * One thing vmptrace cannot say: a group's removal. A cgroup that vanishes
 * mid-run takes its engine group, and what its window had accumulated,
 * with it; in the replay the group lives on. Only a cgroup recreated at
 * the same path within the run can then differ (its first window starts
 * from the old residue, under 512 pages). The sample lines do say it
 * (`# sample-gone`), so `vmpressure estimate` drops the group as the live
 * source did.
 */
#include "sources/source.h"
#include "util/util.h"
#include "util/clock.h"
#include "sources/record.h"
#include "trace/samples.h"
#include "sources/tap.h"
#include "trace/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vmp_recorder {
	struct vmp_tap tap;
	vmp_record_fn fn;
	void *arg;
	unsigned flags;      /* VMP_TAP_F_* of the kind */
	uint64_t t0_ns;      /* subtracted from live times */
	unsigned next_id;
	int err;             /* the first error; nothing is written after it */
	bool ended;
	bool samples_header; /* `# samples 1` written */
	/* paths declared so far: open addressing, power-of-two size */
	char **set;
	size_t setcap, setn;
	uint64_t last_id;    /* vmp_group_id() of the last group seen: declared */
	bool have_last;
	char buf[2 * 4096 + 128];
};

static bool set_has(const struct vmp_recorder *rec, const char *path)
{
	if (!rec->setcap)
		return false;
	for (size_t i = vmp__hash_str(path) & (rec->setcap - 1);; i = (i + 1) & (rec->setcap - 1)) {
		if (!rec->set[i])
			return false;
		if (!strcmp(rec->set[i], path))
			return true;
	}
}

static int set_add(struct vmp_recorder *rec, const char *path)
{
	if ((rec->setn + 1) * 2 > rec->setcap) {
		size_t ncap = rec->setcap ? rec->setcap * 2 : 16;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < rec->setcap; i++) {
			if (!rec->set[i])
				continue;
			size_t j = vmp__hash_str(rec->set[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = rec->set[i];
		}
		free(rec->set);
		rec->set = ns;
		rec->setcap = ncap;
	}
	char *dup = strdup(path);
	if (!dup)
		return -ENOMEM;
	size_t j = vmp__hash_str(path) & (rec->setcap - 1);
	while (rec->set[j])
		j = (j + 1) & (rec->setcap - 1);
	rec->set[j] = dup;
	rec->setn++;
	return 0;
}

/* Pass n bytes of rec->buf (or the error of formatting them) on. */
static void put(struct vmp_recorder *rec, int n)
{
	if (rec->err)
		return;
	if (n < 0) {
		/* A cgroup name with a space or a control character: vmptrace
		 * cannot hold it, and a file without its records would not
		 * replay to the counts delivered. */
		rec->err = n == -EINVAL ? -EILSEQ : n;
		return;
	}
	rec->fn(rec->buf, (size_t)n, rec->arg);
}

/* The `group` records of g and its undeclared ancestors, root first. */
static void declare(struct vmp_recorder *rec, vmp_group *g)
{
	uint64_t id = vmp_group_id(g);
	if (rec->err || (rec->have_last && rec->last_id == id))
		return;
	const char *path = vmp_group_path(g);
	if (!set_has(rec, path)) {
		vmp_group *p = vmp_group_parent(g);
		if (p)
			declare(rec, p);
		if (rec->err)
			return;
		/* A group removed and created again at the same path (a
		 * cgroup recreated) keeps its one declaration. */
		int rc = set_add(rec, path);
		if (rc) {
			rec->err = rc;
			return;
		}
		put(rec, vmp__trace_fmt_group(rec->buf, sizeof(rec->buf), path, p ? vmp_group_path(p) : NULL));
	}
	rec->last_id = id;
	rec->have_last = true;
}

static void on_call(void *arg, const struct vmp_tap_call *c)
{
	struct vmp_recorder *rec = arg;
	if (rec->err || rec->ended)
		return;
	if (c->kind == VMP_TAP_WORK && !(rec->flags & VMP_TAP_F_WORK))
		return; /* the inline executor: see the kind's set_tap */
	declare(rec, c->g);
	uint64_t t = c->t_ns > rec->t0_ns ? c->t_ns - rec->t0_ns : 0;
	const char *path = vmp_group_path(c->g);
	switch (c->kind) {
	case VMP_TAP_ACCOUNT:
		put(rec, vmp__trace_fmt_vmpressure(rec->buf, sizeof(rec->buf), t, path, c->tree, c->scanned,
						  c->reclaimed, c->gfp));
		break;
	case VMP_TAP_PRIO:
		put(rec, vmp__trace_fmt_prio(rec->buf, sizeof(rec->buf), t, path, c->prio, c->gfp));
		break;
	case VMP_TAP_WORK:
		put(rec, vmp__trace_fmt_work(rec->buf, sizeof(rec->buf), t, path));
		break;
	}
}

static void samples_header(struct vmp_recorder *rec)
{
	if (rec->samples_header)
		return;
	rec->samples_header = true;
	put(rec, vmp__samples_fmt_header(rec->buf, sizeof(rec->buf)));
}

static void on_sample(void *arg, uint64_t t_ns, const struct vmp_est_machine *m,
		      const struct vmp_est_sched *s, size_t n, vmp_group *const *groups,
		      const struct vmp_est_cgroup *c)
{
	struct vmp_recorder *rec = arg;
	if (rec->err || rec->ended)
		return;
	samples_header(rec);
	uint64_t t = t_ns > rec->t0_ns ? t_ns - rec->t0_ns : 0;
	put(rec, vmp__samples_fmt_step(rec->buf, sizeof(rec->buf), t, n, m, s));
	for (size_t i = 0; i < n && !rec->err; i++)
		put(rec, vmp__samples_fmt_cgroup(rec->buf, sizeof(rec->buf), vmp_group_path(groups[i]), &c[i]));
}

/* "# estimator <text>": a comment to vmptrace and the sample lines, read
 * back by vmp_estimate_run() (docs/estimator.md). */
static void on_note(void *arg, const char *text)
{
	struct vmp_recorder *rec = arg;
	if (rec->err || rec->ended || strchr(text, '\n'))
		return;
	int n = snprintf(rec->buf, sizeof(rec->buf), "# estimator %s\n", text);
	put(rec, n > 0 && (size_t)n < sizeof(rec->buf) ? n : -ENOBUFS);
}

void vmp__recorder_gone(struct vmp_recorder *rec, const char *path)
{
	if (rec->err || rec->ended)
		return;
	samples_header(rec);
	put(rec, vmp__samples_fmt_gone(rec->buf, sizeof(rec->buf), path));
}

static void on_gone(void *arg, vmp_group *g)
{
	struct vmp_recorder *rec = arg;
	if (!vmp_group_parent(g))
		return;
	vmp__recorder_gone(rec, vmp_group_path(g));
	if (rec->have_last && rec->last_id == vmp_group_id(g))
		rec->have_last = false;
}

/* ---- the recorder ------------------------------------------------------- */

int vmp__recorder_new(struct vmp_recorder **out, vmp_record_fn fn, void *arg)
{
	struct vmp_recorder *rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->fn = fn;
	rec->arg = arg;
	rec->tap.call = on_call;
	rec->tap.sample = on_sample;
	rec->tap.gone = on_gone;
	rec->tap.note = on_note;
	rec->tap.arg = rec;
	*out = rec;
	return 0;
}

const struct vmp_tap *vmp__recorder_tap(struct vmp_recorder *rec)
{
	return &rec->tap;
}

void vmp__recorder_start(struct vmp_recorder *rec, unsigned flags, uint64_t t0_ns)
{
	rec->flags = flags;
	rec->t0_ns = t0_ns;
	int rc = set_add(rec, "/");
	if (rc == 0)
		put(rec, vmp__trace_fmt_group(rec->buf, sizeof(rec->buf), "/", NULL));
	else
		rec->err = rc;
}

void vmp__recorder_listen(struct vmp_recorder *rec, unsigned id, vmp_group *g, vmp_level level,
			 vmp_mode mode)
{
	if (rec->err || rec->ended)
		return;
	if (id > VMP_TRACE_MAX_ID) {
		rec->err = -ERANGE;
		return;
	}
	declare(rec, g);
	put(rec, vmp__trace_fmt_listen(rec->buf, sizeof(rec->buf), id, vmp_group_path(g), level, mode));
}

void vmp__recorder_expect(struct vmp_recorder *rec, unsigned id, uint64_t count)
{
	if (!rec->err && !rec->ended)
		put(rec, vmp__trace_fmt_expect(rec->buf, sizeof(rec->buf), id, count));
}

int vmp__recorder_end(struct vmp_recorder *rec)
{
	rec->ended = true;
	return rec->err;
}

int vmp__recorder_err(const struct vmp_recorder *rec)
{
	return rec->err;
}

void vmp__record_free(struct vmp_recorder *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->setcap; i++)
		free(rec->set[i]);
	free(rec->set);
	free(rec);
}

/* ---- recording a source ------------------------------------------------- */

void vmp__record_listen(struct vmp_recorder *rec, struct vmp_sub *sub, vmp_group *g)
{
	if (rec->err || rec->ended)
		return;
	if (rec->next_id > VMP_TRACE_MAX_ID) {
		rec->err = -ERANGE;
		return;
	}
	sub->rec_id = rec->next_id++;
	sub->recorded = true;
	vmp__recorder_listen(rec, sub->rec_id, g, sub->level, sub->mode);
}

VMP_EXPORT int vmp_source_record(vmp_source *src, vmp_record_fn fn, void *arg)
{
	if (!src || !fn)
		return -EINVAL;
	if (!src->ops->set_tap)
		return -ENOTSUP;
	if (src->rec || src->subs)
		return -EBUSY;
	struct vmp_recorder *rec;
	int rc = vmp__recorder_new(&rec, fn, arg);
	if (rc)
		return rc;
	unsigned flags = 0;
	rc = src->ops->set_tap(src, &rec->tap, &flags);
	if (rc) {
		vmp__record_free(rec);
		return rc;
	}
	src->rec = rec;
	vmp__recorder_start(rec, flags, (flags & VMP_TAP_F_TRACE_TIME) ? 0 : vmp__mono_ns());
	return 0;
}

VMP_EXPORT int vmp_source_record_end(vmp_source *src)
{
	if (!src || !src->rec || src->rec->ended)
		return -EINVAL;
	struct vmp_recorder *rec = src->rec;
	/* `expect` in ascending id order: subscriptions are a newest-first
	 * list, and ids were given in subscription order. */
	for (unsigned id = 0; id < rec->next_id && !rec->err; id++)
		for (struct vmp_sub *s = src->subs; s; s = s->next)
			if (s->recorded && s->rec_id == id)
				vmp__recorder_expect(rec, id, s->delivered);
	unsigned dummy;
	src->ops->set_tap(src, NULL, &dummy);
	return vmp__recorder_end(rec);
}
