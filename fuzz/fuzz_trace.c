/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vmp_replay_run() on arbitrary bytes (docs/vmptrace.md).
 *
 * The contract checked, beyond "no crash, no leak, no hang":
 *  - the result is 0 or -EINVAL (malloc does not fail here);
 *  - on -EINVAL: *out is untouched, err.line names a line of the input
 *    (1 .. number of lines), err.msg is a non-empty NUL-terminated string;
 *  - on success: the listener queries work, ids ascend strictly and are at
 *    most 65535, every listener's count equals the notifications that the
 *    event callback saw for it, there is one listener per `listen` line and
 *    one expectation per `expect` line, kernel timing is on exactly when a
 *    line starts with "work ", every record line other than `listen`
 *    is single-space separated printable text of a known kind, and every
 *    `listen` line's args are valid by the R-14 reference (ref_args.h);
 *  - every event names a time inside the input, a valid level and id;
 *  - a second run without an event callback and without an error report
 *    (small inputs), through vmp_replay_run_hooks(), gives the same result,
 *    one event hook per notification, one listen hook per listener, and
 *    every window and event hook with a valid level and an origin;
 *  - (NULL, 0) is an empty trace, (NULL, n) and a NULL out are -EINVAL.
 *
 * Inputs above 64 KiB are skipped: the parser is linear, bigger inputs
 * only slow the search down (run.sh also passes -max_len).
 */
#include "vmpressure.h"
#include "ref_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u * 1024u)
#define RERUN_MAX 4096u
#define MAX_ID 65535u

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_trace: check failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

struct tally {
	const char *buf;
	size_t len;
	uint64_t count[MAX_ID + 1];
	unsigned touched[MAX_ID + 1]; /* ids with count != 0, to reset cheaply */
	size_t ntouched;
	uint64_t events;
};

static struct tally T;

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void on_event(const char *t, size_t tlen, unsigned id, vmp_level level, void *arg)
{
	struct tally *ta = arg;
	CHECK(ta == &T, "wrong callback argument");
	CHECK(t >= ta->buf && tlen >= 1 && tlen <= ta->len && t + tlen <= ta->buf + ta->len,
	      "event time outside the input");
	CHECK(is_digit(t[0]) && is_digit(t[tlen - 1]), "event time '%.*s' is not a time", (int)tlen, t);
	CHECK(id <= MAX_ID, "listener id %u", id);
	CHECK((unsigned)level <= VMP_LEVEL_CRITICAL, "level %d", (int)level);
	if (ta->count[id]++ == 0)
		ta->touched[ta->ntouched++] = id;
	ta->events++;
}

static void tally_reset(struct tally *ta)
{
	for (size_t i = 0; i < ta->ntouched; i++)
		ta->count[ta->touched[i]] = 0;
	ta->ntouched = 0;
	ta->events = 0;
}

static bool starts(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && memcmp(p, word, w) == 0;
}

/* What can be told about a trace without parsing it for real. */
struct scan {
	unsigned long lines;
	size_t listen, expect;
	bool work;
	bool bad_line; /* a record line a strict reader must reject */
};

static void scan(const char *buf, size_t len, struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	const char *p = buf, *end = buf + len;
	while (p < end) {
		sc->lines++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[0] != '#') {
			if (starts(p, n, "listen "))
				sc->listen++;
			else if (starts(p, n, "expect "))
				sc->expect++;
			else if (starts(p, n, "work "))
				sc->work = true;
			else if (!starts(p, n, "group ") && !starts(p, n, "vmpressure ") &&
				 !starts(p, n, "prio "))
				sc->bad_line = true;
			if (starts(p, n, "listen ")) {
				/* the args, after the third space, must be R-14 valid */
				const char *a = p;
				for (int k = 0; k < 3 && a; k++) {
					a = memchr(a, ' ', (size_t)(p + n - a));
					if (a)
						a++;
				}
				char args[REF_MAX_ARGS + 1];
				size_t an = a ? (size_t)(p + n - a) : 0;
				int lv, md;
				memcpy(args, a ? a : "", an < REF_MAX_ARGS ? an : REF_MAX_ARGS);
				args[an < REF_MAX_ARGS ? an : REF_MAX_ARGS] = 0;
				if (!a || memchr(a, 0, an) || ref_parse_args(args, &lv, &md) != 0)
					sc->bad_line = true;
			} else {
				/* printable fields, single spaces, none at the ends */
				if (p[0] == ' ' || p[n - 1] == ' ')
					sc->bad_line = true;
				for (size_t i = 0; i < n; i++) {
					unsigned char c = (unsigned char)p[i];
					if (c < 0x20 || c == 0x7f || (c == ' ' && i + 1 < n && p[i + 1] == ' '))
						sc->bad_line = true;
				}
			}
		}
		p += n + 1;
	}
}

struct result {
	int rc;
	struct vmp_error err;
	size_t n;
	struct vmp_replay_listener *l;
	bool kernel_timing;
};

/* What the hooks of the second run saw. */
static struct {
	uint64_t events, listens, groups, windows;
} H;

static void h_group(const char *path, const char *parent, void *arg)
{
	(void)arg;
	CHECK(path && (parent == NULL) == (strcmp(path, "/") == 0), "group hook: parent of '%s'", path);
	H.groups++;
}
static void h_listen(unsigned id, const char *group, const char *args, void *arg)
{
	(void)arg;
	CHECK(id <= MAX_ID && group && args && strlen(args) <= 19, "listen hook %u", id);
	H.listens++;
}
static void h_window(const char *t, size_t tlen, const struct vmp_event *ev, void *arg)
{
	(void)arg;
	CHECK(t && tlen && ev->origin && !ev->group && (unsigned)ev->level <= VMP_LEVEL_CRITICAL, "window hook");
	H.windows++;
}
static void h_event(const char *t, size_t tlen, unsigned id, const struct vmp_event *ev, void *arg)
{
	(void)arg;
	CHECK(t && tlen && id <= MAX_ID && ev->origin && ev->group && (unsigned)ev->level <= VMP_LEVEL_CRITICAL,
	      "event hook");
	H.events++;
}

/* with_events false: no callback and no error report (err NULL), through
 * vmp_replay_run_hooks(). */
static void run(const char *buf, size_t len, bool with_events, struct result *res)
{
	vmp_replay *const sentinel = (vmp_replay *)(uintptr_t)0x5a5a5a50;
	vmp_replay *r = sentinel;

	memset(res, 0, sizeof(*res));
	memset(&res->err, 0xa5, sizeof(res->err));
	static const struct vmp_replay_hooks hooks = {h_group, h_listen, h_window, h_event, NULL};
	memset(&H, 0, sizeof(H));
	if (with_events)
		res->rc = vmp_replay_run(buf, len, on_event, &T, &r, &res->err);
	else
		res->rc = vmp_replay_run_hooks(buf, len, &hooks, &r, NULL);
	if (res->rc != 0) {
		CHECK(r == sentinel, "out written on failure");
		return;
	}
	CHECK(r != NULL && r != sentinel, "no replay on success");
	res->kernel_timing = vmp_replay_kernel_timing(r);
	res->n = vmp_replay_listener_count(r);
	res->l = calloc(res->n ? res->n : 1, sizeof(*res->l));
	CHECK(res->l != NULL, "calloc");
	for (size_t i = 0; i < res->n; i++) {
		CHECK(vmp_replay_listener(r, i, &res->l[i]) == 0, "listener %zu of %zu", i, res->n);
		CHECK(res->l[i].id <= MAX_ID, "id %u", res->l[i].id);
		CHECK(i == 0 || res->l[i].id > res->l[i - 1].id, "ids not ascending at %zu", i);
	}
	struct vmp_replay_listener dummy;
	CHECK(vmp_replay_listener(r, res->n, &dummy) == -EINVAL, "index past the end accepted");
	CHECK(vmp_replay_listener(r, 0, NULL) == -EINVAL, "NULL out accepted");
	vmp_replay_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	/* libFuzzer's buffer is exactly `size` bytes: an overread past the end
	 * of the trace is an ASan report. */
	const char *buf = (const char *)data;
	struct scan sc;
	scan(buf, size, &sc);

	tally_reset(&T);
	T.buf = buf;
	T.len = size;
	struct result a;
	run(buf, size, true, &a);

	if (a.rc != 0) {
		CHECK(a.rc == -EINVAL, "rc %d", a.rc);
		CHECK(a.err.line >= 1 && a.err.line <= sc.lines, "error line %lu of %lu", a.err.line,
		      sc.lines);
		CHECK(memchr(a.err.msg, 0, sizeof(a.err.msg)) != NULL, "message not terminated");
		CHECK(a.err.msg[0] != 0, "empty message for line %lu", a.err.line);
	} else {
		CHECK(!sc.bad_line, "accepted a malformed record line");
		CHECK(a.n == sc.listen, "%zu listeners for %zu listen lines", a.n, sc.listen);
		CHECK(a.kernel_timing == sc.work, "kernel timing %d, work records %d", a.kernel_timing,
		      sc.work);
		size_t expects = 0;
		uint64_t total = 0;
		for (size_t i = 0; i < a.n; i++) {
			expects += a.l[i].has_expect;
			total += a.l[i].count;
			CHECK(a.l[i].count == T.count[a.l[i].id], "listener %u: count %llu, %llu events seen",
			      a.l[i].id, (unsigned long long)a.l[i].count,
			      (unsigned long long)T.count[a.l[i].id]);
		}
		CHECK(expects == sc.expect, "%zu expectations for %zu expect lines", expects, sc.expect);
		CHECK(total == T.events, "%llu counted, %llu events", (unsigned long long)total,
		      (unsigned long long)T.events);
	}

	if (size <= RERUN_MAX) {
		struct result b;
		run(buf, size, false, &b);
		CHECK(b.rc == a.rc, "rerun rc %d vs %d", b.rc, a.rc);
		if (!a.rc) {
			CHECK(b.n == a.n && b.kernel_timing == a.kernel_timing, "rerun differs");
			CHECK(H.events == T.events && H.listens == a.n, "hooks: %llu events, %llu listens",
			      (unsigned long long)H.events, (unsigned long long)H.listens);
			for (size_t i = 0; i < a.n; i++)
				CHECK(a.l[i].id == b.l[i].id && a.l[i].count == b.l[i].count &&
					      a.l[i].has_expect == b.l[i].has_expect &&
					      a.l[i].expect == b.l[i].expect,
				      "rerun differs for listener %u", a.l[i].id);
		}
		free(b.l);
	}
	free(a.l);

	/* An empty trace may come as (NULL, 0); NULL with a length may not. */
	if (size == 0) {
		vmp_replay *r = NULL;
		CHECK(vmp_replay_run(NULL, 0, on_event, &T, &r, NULL) == 0 && r, "(NULL, 0) rejected");
		CHECK(vmp_replay_listener_count(r) == 0, "listeners in (NULL, 0)");
		vmp_replay_free(r);
		r = NULL;
		CHECK(vmp_replay_run(NULL, 1, NULL, NULL, &r, NULL) == -EINVAL && !r, "(NULL, 1) accepted");
		CHECK(vmp_replay_run("", 0, NULL, NULL, NULL, NULL) == -EINVAL, "NULL out accepted");
	}

	/* NULL handles are harmless. */
	vmp_replay_free(NULL);
	CHECK(vmp_replay_listener_count(NULL) == 0, "count of NULL");
	CHECK(!vmp_replay_kernel_timing(NULL), "timing of NULL");
	return 0;
}
