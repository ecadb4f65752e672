/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the samples line format (src/lib/trace/samples.c,
 * docs/vmptrace.md "Samples") and offline re-estimation on arbitrary bytes.
 *
 * The contract checked, beyond "no crash, no leak, no hang":
 *  - vmp__samples_parse() returns 0 or -EINVAL; on -EINVAL err.line names a
 *    line of the input and the message a byte ("byte N:", N inside that
 *    line) unless it is about a step the file ends inside; the step count
 *    is written only on success;
 *  - every step it reports: strictly increasing times, a line inside the
 *    input, paths inside the buffer that the writer accepts, at most once
 *    per step; formatting each snapshot and parsing that again gives the
 *    same snapshot (the writer writes what the reader reads);
 *  - inputs of at most 8 KiB whose numbers are all small (the estimator's
 *    work grows with the counters) also go through vmp_estimate_run():
 *    0, -EINVAL or -ENODATA, -ENODATA exactly when the parse found no
 *    step; on success the re-estimated recording replays with every count
 *    equal to its expect record, and estimates again to the same counts.
 */
#include "vmpressure.h"
#include "trace/samples.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u * 1024u)
#define ESTIMATE_MAX 8192u

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_samples: check failed: %s: ", #cond);      \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

struct seen {
	const char *buf;
	size_t len;
	unsigned long lines;
	size_t steps;
	bool stepped;
	uint64_t last_t;
};

static bool same_cg(const struct vmp_est_cgroup *a, const struct vmp_est_cgroup *b)
{
	bool psi = (a->psi_some_avg10 < 0) == (b->psi_some_avg10 < 0) &&
		   (a->psi_full_avg10 < 0) == (b->psi_full_avg10 < 0);
	return a->valid == b->valid && a->pgscan == b->pgscan && a->pgsteal == b->pgsteal &&
	       a->have_direct == b->have_direct && a->pgscan_direct == b->pgscan_direct &&
	       a->pgsteal_direct == b->pgsteal_direct && a->high == b->high && a->max == b->max &&
	       a->oom == b->oom && a->oom_kill == b->oom_kill && a->have_local == b->have_local &&
	       a->local_high == b->local_high && a->local_max == b->local_max && a->local_oom == b->local_oom &&
	       a->have_lists == b->have_lists && a->file_lru == b->file_lru && a->have_anon == b->have_anon &&
	       a->anon_lru == b->anon_lru && a->have_swap == b->have_swap &&
	       a->swap == b->swap && a->psi_some_total == b->psi_some_total && a->psi_full_total == b->psi_full_total && psi;
}

static int reparse(const struct vmp_samples_rec *r, void *arg, struct vmp_error *err)
{
	(void)err;
	if (r->kind == VMP_SAMPLES_STEP && r->n == 1)
		*(struct vmp_est_cgroup *)arg = r->c[0];
	return 0;
}

static int on_rec(const struct vmp_samples_rec *r, void *arg, struct vmp_error *err)
{
	struct seen *s = arg;
	(void)err;
	CHECK(r->line >= 1 && r->line <= s->lines, "line %lu of %lu", r->line, s->lines);
	if (r->kind == VMP_SAMPLES_GONE) {
		CHECK(r->path.p >= s->buf && r->path.p + r->path.n <= s->buf + s->len && r->path.n, "gone path");
		return 0;
	}
	CHECK(!s->stepped || r->t_ns > s->last_t, "time not increasing");
	s->stepped = true;
	s->last_t = r->t_ns;
	s->steps++;
	for (size_t i = 0; i < r->n; i++) {
		struct vmp_span p = r->paths[i];
		CHECK(p.p >= s->buf && p.p + p.n <= s->buf + s->len && p.n, "path outside the input");
		for (size_t j = 0; j < i; j++)
			CHECK(r->paths[j].n != p.n || memcmp(r->paths[j].p, p.p, p.n), "a path twice in a step");
		char path[4200];
		if (p.n >= sizeof(path))
			continue;
		memcpy(path, p.p, p.n);
		path[p.n] = 0;
		char line[8192], doc[8400];
		int n = vmp__samples_fmt_cgroup(line, sizeof(line), path, &r->c[i]);
		CHECK(n > 0, "the writer refuses what the reader accepted: %d", n);
		int dn = snprintf(doc, sizeof(doc), "# samples 1\n# sample 1.000000000 1 -\n%s", line);
		CHECK(dn > 0 && (size_t)dn < sizeof(doc), "doc");
		struct vmp_est_cgroup back = {0};
		struct vmp_error e2;
		CHECK(vmp__samples_parse(doc, (size_t)dn, reparse, &back, NULL, &e2) == 0, "reparse: %s", e2.msg);
		CHECK(same_cg(&back, &r->c[i]), "the snapshot changed through the writer: %s", line);
	}
	if (r->sched)
		CHECK(r->sched->cpus >= 1 && r->sched->cpus <= VMP_EST_SCHED_MAX_CPUS, "sched cpus %u", r->sched->cpus);
	if ((r->m && r->m->valid) || r->sched) {
		char line[1024];
		CHECK(vmp__samples_fmt_step(line, sizeof(line), r->t_ns, r->n, r->m, r->sched) > 0,
		      "step writer");
	}
	return 0;
}

/* Every number in the input is below 2^20 (and the lines are few):
 * estimating it is quick. */
static bool small_numbers(const char *p, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		run = p[i] >= '0' && p[i] <= '9' ? run + 1 : 0;
		if (run > 6)
			return false;
	}
	return true;
}

struct text {
	char *p;
	size_t n, cap;
};

static void on_text(const char *s, size_t n, void *arg)
{
	struct text *t = arg;
	if (t->n + n > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		while (ncap < t->n + n)
			ncap *= 2;
		t->p = realloc(t->p, ncap);
		CHECK(t->p, "realloc");
		t->cap = ncap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
}

static void estimate(const char *buf, size_t size, size_t steps, bool parsed)
{
	struct vmp_estimate_config cfg;
	vmp_estimate_config_init(&cfg);
	/* one input, several settings: the first byte picks them */
	unsigned pick = size ? (unsigned char)buf[0] : 0;
	cfg.prio = pick & 0x1f;
	cfg.window_pages = (pick & 0x60) == 0x60 ? 256 : (pick & 0x20) ? 1024 : VMP_WINDOW;
	struct vmp_estimate_listen extra = {"a", "low,local"};
	if (pick & 0x80) {
		cfg.listen = &extra;
		cfg.nlisten = 1;
	}
	struct text out = {0};
	vmp_estimate *e = NULL;
	struct vmp_error err;
	int rc = vmp_estimate_run(buf, size, &cfg, on_text, &out, &e, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA, "estimate rc %d", rc);
	CHECK(!parsed || rc != -ENODATA || steps == 0, "-ENODATA with %zu steps", steps);
	CHECK(!parsed || rc != 0 || steps > 0, "success without a step");
	if (rc) {
		CHECK(!e, "out written on failure");
		CHECK(memchr(err.msg, 0, sizeof(err.msg)) && err.msg[0], "no message");
		free(out.p);
		return;
	}
	vmp_replay *r = NULL;
	struct vmp_error rerr;
	CHECK(vmp_replay_run(out.p, out.n, NULL, NULL, &r, &rerr) == 0, "the re-estimated recording: line %lu: %s",
	      rerr.line, rerr.msg);
	size_t n = vmp_estimate_listener_count(e);
	CHECK(vmp_replay_listener_count(r) == n, "listeners %zu vs %zu", vmp_replay_listener_count(r), n);
	vmp_estimate *e2 = NULL;
	CHECK(vmp_estimate_run(out.p, out.n, &cfg, NULL, NULL, &e2, &rerr) == 0, "again: %s", rerr.msg);
	for (size_t i = 0; i < n; i++) {
		struct vmp_estimate_listener l, l2;
		struct vmp_replay_listener rl;
		CHECK(vmp_estimate_listener(e, i, &l) == 0 && vmp_replay_listener(r, i, &rl) == 0, "listener %zu", i);
		CHECK(rl.id == l.id && rl.has_expect && rl.expect == l.count && rl.count == l.count,
		      "listener %u: estimated %llu, replayed %llu", l.id, (unsigned long long)l.count,
		      (unsigned long long)rl.count);
		CHECK(l.by_level[0] + l.by_level[1] + l.by_level[2] == l.count, "levels");
		/* the extra listener is a recorded one the second time */
		CHECK(vmp_estimate_listener(e2, i, &l2) == 0 && l2.count == l.count, "again: listener %u", l.id);
	}
	vmp_replay_free(r);
	vmp_estimate_free(e2);
	vmp_estimate_free(e);
	free(out.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	const char *buf = (const char *)data;
	struct seen s = {.buf = buf, .len = size};
	for (size_t i = 0; i < size; i++)
		s.lines += buf[i] == '\n';
	if (size && buf[size - 1] != '\n')
		s.lines++;
	struct vmp_error err;
	memset(&err, 0xa5, sizeof(err));
	size_t steps = 12345;
	int rc = vmp__samples_parse(buf, size, on_rec, &s, &steps, &err);
	if (rc) {
		CHECK(rc == -EINVAL, "rc %d", rc);
		CHECK(steps == 12345, "steps written on failure");
		CHECK(err.line >= 1 && err.line <= s.lines, "error line %lu of %lu", err.line, s.lines);
		CHECK(memchr(err.msg, 0, sizeof(err.msg)) && err.msg[0], "no message");
		CHECK(!strncmp(err.msg, "byte ", 5) || strstr(err.msg, "the file ends"), "no byte named: %s", err.msg);
		if (!strncmp(err.msg, "byte ", 5)) {
			/* the byte is inside its line (or just past its end) */
			const char *p = buf, *end = buf + size;
			for (unsigned long l = 1; l < err.line; l++)
				p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			unsigned long b = strtoul(err.msg + 5, NULL, 10);
			CHECK(b >= 1 && b <= len + 1, "byte %lu of a %zu-byte line", b, len);
		}
	} else {
		CHECK(steps == s.steps, "%zu steps, %zu seen", steps, s.steps);
	}
	if (size <= ESTIMATE_MAX && small_numbers(buf, size))
		estimate(buf, size, s.steps, rc == 0);
	return 0;
}
