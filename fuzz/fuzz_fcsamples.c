/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the forecast's sample lines (src/lib/trace/fcsamples.c,
 * docs/vmptrace.md "Forecast samples") replayed through the model on
 * arbitrary bytes.
 *
 * The contract checked, beyond "no crash, no leak, no hang":
 *  - vmp_forecast_replay() returns 0, -EINVAL or -ENODATA; on -EINVAL the
 *    error names a line of the input (or the line after its last, for a
 *    file that ends inside a sample) and, for a line, a byte in it;
 *    *samples is written only on success;
 *  - every sample it replays is one the writer accepts, and formatting it
 *    and replaying that text gives the same forecasts (the writer writes
 *    what the reader reads): checked by replaying the re-formatted lines
 *    and comparing each result's event, cause and eta.
 */
#include "vmpressure.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u * 1024u)

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_fcsamples: check failed: %s: ", #cond);    \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

struct run {
	char *text; /* the samples, formatted again */
	size_t len, cap;
	struct vmp_fc_result *r;
	size_t n, rcap;
	bool oom;
};

static void on_sample(const struct vmp_fc_sample *s, const struct vmp_fc_result *r, void *arg)
{
	struct run *u = arg;
	if (u->oom)
		return;
	if (u->len + 65536 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 1 << 17;
		char *p = realloc(u->text, cap);
		if (!p) {
			u->oom = true;
			return;
		}
		u->text = p;
		u->cap = cap;
	}
	if (!u->len) {
		int k = vmp_fc_format_header(u->text, u->cap);
		CHECK(k > 0, "header");
		u->len = (size_t)k;
	}
	int k = vmp_fc_format_sample(s, u->text + u->len, u->cap - u->len);
	if (k == -ENOSPC) {
		u->oom = true; /* a sample of thousands of groups: not re-checked */
		return;
	}
	CHECK(k > 0, "a replayed sample the writer refuses (%d)", k);
	u->len += (size_t)k;
	if (u->n == u->rcap) {
		size_t cap = u->rcap ? u->rcap * 2 : 64;
		struct vmp_fc_result *p = realloc(u->r, cap * sizeof(*p));
		if (!p) {
			u->oom = true;
			return;
		}
		u->r = p;
		u->rcap = cap;
	}
	u->r[u->n++] = *r;
}

struct cmp {
	const struct run *first;
	size_t i;
};

static void on_again(const struct vmp_fc_sample *s, const struct vmp_fc_result *r, void *arg)
{
	(void)s;
	struct cmp *c = arg;
	CHECK(c->i < c->first->n, "more samples the second time");
	const struct vmp_fc_result *a = &c->first->r[c->i++];
	CHECK(a->event == r->event && a->cause == r->cause && a->warning == r->warning,
	      "another forecast from the re-formatted sample %zu", c->i);
	/* times are written with 6 decimals: etas may differ in the last digits */
	CHECK((a->eta < 0) == (r->eta < 0) && (a->eta < 0 || fabs(a->eta - r->eta) <= 1e-3 * (1 + a->eta)),
	      "eta %g then %g", a->eta, r->eta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	const char *buf = (const char *)data;
	unsigned long lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	struct run u = {0};
	struct vmp_error err;
	uint64_t n = 12345;
	int rc = vmp_forecast_replay(buf, size, NULL, on_sample, &u, &n, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA || rc == -ENOMEM, "rc %d", rc);
	if (rc == -EINVAL)
		CHECK(err.line >= 1 && err.line <= lines + 1 && err.msg[0], "line %lu of %lu: %s", err.line, lines,
		      err.msg);
	if (rc)
		CHECK(n == 12345, "*samples written on failure");
	if (rc == 0 && !u.oom) {
		CHECK(n == u.n, "%llu samples, %zu replayed", (unsigned long long)n, u.n);
		struct cmp c = {&u, 0};
		int rc2 = vmp_forecast_replay(u.text, u.len, NULL, on_again, &c, NULL, &err);
		CHECK(rc2 == 0 && c.i == u.n, "the re-formatted samples: rc %d (%lu: %s), %zu of %zu", rc2, err.line,
		      err.msg, c.i, u.n);
	}
	free(u.text);
	free(u.r);
	return 0;
}
