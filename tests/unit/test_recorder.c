/* SPDX-License-Identifier: MIT */
/*
 * The library side of `vmpressure record` and `vmpressure plot`:
 *  - the vmptrace writer: every record it formats parses back, through
 *    the reader, to the same fields; names the format cannot hold and
 *    short buffers are refused;
 *  - vmp_source_record(): a trace source's recording replays to the
 *    counts it delivered and to the original file's count; the API's
 *    refusals (after subscribing, twice, the v1 source);
 *  - vmp_replay_run_hooks(): the same counts as vmp_replay_run(), every
 *    notification's window among the windows reported, a group hook per
 *    `group` record.
 * usage: test_record TRACE...
 */
#include "check.h"
#include "vmpressure.h"
#include "trace/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the writer --------------------------------------------------------- */

static struct vmp_trace_rec last;
static char lastbuf[256];
static int grab(const struct vmp_trace_rec *rec, void *arg, struct vmp_error *err)
{
	(void)arg, (void)err;
	last = *rec;
	return 0;
}

static bool span_is(struct vmp_span s, const char *want)
{
	return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static bool reparse(const char *text, int n)
{
	struct vmp_error err = {0};
	if (n <= 0 || (size_t)n >= sizeof(lastbuf))
		return false;
	memcpy(lastbuf, text, (size_t)n);
	return vmp__trace_parse(lastbuf, (size_t)n, grab, NULL, &err) == 0;
}

static void writer(void)
{
	char b[200];
	int n = vmp__trace_fmt_vmpressure(b, sizeof(b), 13035614123u, "aa/ab", true, UINT64_MAX, 7, 0x112c4a);
	CHECK(reparse(b, n) && last.kind == VMP_REC_VMPRESSURE && span_is(last.t, "13.035614") &&
		      span_is(last.group, "aa/ab") && last.tree && last.scanned == UINT64_MAX && last.reclaimed == 7 &&
		      last.gfp == 0x112c4a,
	      "vmpressure record round trip (%.*s)", n > 0 ? n - 1 : 0, b);
	n = vmp__trace_fmt_prio(b, sizeof(b), 5, "/", -1, 0xca);
	CHECK(reparse(b, n) && last.kind == VMP_REC_PRIO && span_is(last.t, "0.000000") && last.prio == -1 &&
		      span_is(last.group, "/"),
	      "prio record round trip (%.*s)", n > 0 ? n - 1 : 0, b);
	n = vmp__trace_fmt_work(b, sizeof(b), 2000000000u, "g");
	CHECK(reparse(b, n) && last.kind == VMP_REC_WORK && span_is(last.t, "2.000000"), "work record round trip");
	n = vmp__trace_fmt_group(b, sizeof(b), "a/b", "a");
	CHECK(reparse(b, n) && last.kind == VMP_REC_GROUP && span_is(last.group, "a/b") && span_is(last.parent, "a"),
	      "group record round trip");
	n = vmp__trace_fmt_group(b, sizeof(b), "/", NULL);
	CHECK(n > 0 && !strcmp(b, "group / -\n"), "the root's group record");
	n = vmp__trace_fmt_listen(b, sizeof(b), 65535, "a", VMP_LEVEL_MEDIUM, VMP_MODE_LOCAL);
	CHECK(reparse(b, n) && last.kind == VMP_REC_LISTEN && last.id == 65535 && span_is(last.args, "medium,local"),
	      "listen record round trip");
	n = vmp__trace_fmt_listen(b, sizeof(b), 1, "a", VMP_LEVEL_LOW, VMP_MODE_DEFAULT);
	CHECK(n > 0 && !strcmp(b, "listen 1 a low\n"), "the default mode is the bare level, as the kernel's syntax");
	n = vmp__trace_fmt_expect(b, sizeof(b), 3, 18446744073709551615u);
	CHECK(reparse(b, n) && last.kind == VMP_REC_EXPECT && last.count == UINT64_MAX, "expect record round trip");
	CHECK(vmp__trace_fmt_vmpressure(b, sizeof(b), 0, "a b", true, 1, 1, 0xca) == -EINVAL, "a space in a name: refused");
	CHECK(vmp__trace_fmt_group(b, sizeof(b), "a\nb", "/") == -EINVAL, "a newline in a name: refused");
	CHECK(vmp__trace_fmt_work(b, sizeof(b), 0, "") == -EINVAL, "an empty name: refused");
	CHECK(vmp__trace_fmt_listen(b, sizeof(b), 65536, "a", VMP_LEVEL_LOW, VMP_MODE_DEFAULT) == -EINVAL,
	      "a listener id beyond the format's: refused");
	CHECK(vmp__trace_fmt_work(b, 8, 0, "group") == -ENOBUFS, "a short buffer: -ENOBUFS");
}

/* ---- recording a trace source ----------------------------------------- */

static uint64_t seen;
static uint64_t clock_gap;   /* time_ns - mono_ns of the first event */
static unsigned gap_changed; /* events at another distance between the clocks */
static void on_src(const struct vmp_source_event *ev, void *arg)
{
	(void)arg;
	if (!(ev->flags & VMP_EVENT_REMOVED)) {
		if (!seen)
			clock_gap = ev->time_ns - ev->mono_ns;
		else if (ev->time_ns - ev->mono_ns != clock_gap || !ev->mono_ns)
			gap_changed++;
		seen += ev->count;
	}
}

/* Record the playback of `path` for a listener on `group` `args`; the
 * recording's count, or UINT64_MAX. */
static uint64_t record_trace(const char *path, const char *group, const char *args, struct check_text *out)
{
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.kind = VMP_SOURCE_TRACE;
	cfg.trace_path = path;
	cfg.trace_speed = 0;
	vmp_source *src;
	REQUIRE(vmp_source_new(&src, &cfg, NULL) == 0, "trace source on %s", path);
	CHECK(vmp_source_record(src, NULL, NULL) == -EINVAL, "record without a callback: -EINVAL");
	CHECK(vmp_source_record_end(src) == -EINVAL, "record_end when not recording: -EINVAL");
	REQUIRE(vmp_source_record(src, check_text_add, out) == 0, "record");
	CHECK(vmp_source_record(src, check_text_add, out) == -EBUSY, "recording twice: -EBUSY");
	vmp_sub *sub;
	seen = 0;
	gap_changed = 0;
	REQUIRE(vmp_source_subscribe(src, group, args, on_src, NULL, &sub) == 0, "subscribe %s", group);
	/* At speed 0 the whole file plays within a few dispatches. */
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = {.fd = vmp_source_fd(src), .events = POLLIN};
		if (poll(&p, 1, 20) == 0 && i > 10)
			break;
		REQUIRE(vmp_source_dispatch(src) == 0, "dispatch");
	}
	CHECK(vmp_source_record_end(src) == 0, "record_end: 0");
	CHECK(vmp_source_record_end(src) == -EINVAL, "record_end twice: -EINVAL");
	CHECK(gap_changed == 0, "playback: every event's time_ns and mono_ns on the file's one timeline (%u apart)",
	      gap_changed);
	vmp_source_unsubscribe(src, sub);
	vmp_source_free(src);
	return seen;
}

static uint64_t replay_count(const char *buf, size_t len, unsigned id, bool *expect_ok)
{
	vmp_replay *r;
	struct vmp_error err = {0};
	int rc = vmp_replay_run(buf, len, NULL, NULL, &r, &err);
	CHECK(rc == 0, "the recording replays (line %lu: %s)", err.line, err.msg);
	if (rc)
		return UINT64_MAX;
	uint64_t c = UINT64_MAX;
	*expect_ok = true;
	for (size_t i = 0; i < vmp_replay_listener_count(r); i++) {
		struct vmp_replay_listener l;
		vmp_replay_listener(r, i, &l);
		if (l.id == id)
			c = l.count;
		if (!l.has_expect || l.expect != l.count)
			*expect_ok = false;
	}
	vmp_replay_free(r);
	return c;
}

static void recording(const char *path)
{
	struct check_text t = {0};
	uint64_t delivered = record_trace(path, "/", "low,hierarchy", &t);
	bool ok = false;
	uint64_t got = replay_count(t.p, t.n, 0, &ok);
	CHECK(got == delivered && ok, "%s: the recording of / low,hierarchy replays to the %llu delivered (%llu), "
				      "its expect records hold", path, (unsigned long long)delivered,
	      (unsigned long long)got);
	CHECK(delivered > 0, "%s: the root hears every window in hierarchy mode (%llu)", path,
	      (unsigned long long)delivered);
	/* against the original: its own replay, with that listener alone */
	size_t len;
	char *orig = check_slurp(path, &len);
	struct check_text alone = {0};
	bool put = false;
	for (char *line = orig, *end; line < orig + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(orig + len - line));
		if (!end)
			end = orig + len;
		size_t n = (size_t)(end - line);
		if ((n > 7 && !memcmp(line, "listen ", 7)) || (n > 7 && !memcmp(line, "expect ", 7)))
			continue;
		if (!put && n && line[0] != '#' && memcmp(line, "group ", 6)) {
			check_text_add("listen 0 / low,hierarchy\n", 25, &alone);
			put = true;
		}
		check_text_add(line, n, &alone);
		check_text_add("\n", 1, &alone);
	}
	uint64_t want = replay_count(alone.p, alone.n, 0, &ok);
	CHECK(want == delivered, "%s: ... the original's count for that listener (%llu)", path,
	      (unsigned long long)want);
	CHECK(strstr(t.p, "group / -\n") == t.p, "%s: the recording starts with the root", path);
	CHECK((strstr(orig, "\nwork ") != NULL) == (strstr(t.p, "\nwork ") != NULL),
	      "%s: kernel timing (work records) kept as it was", path);
	free(orig);
	free(alone.p);
	free(t.p);
}

static void refusals(void)
{
	/* a cgroup v1 fixture: the kernel's own levels, nothing to record */
	char root[] = "/tmp/vmp-rec-XXXXXX", p[64];
	REQUIRE(mkdtemp(root), "mkdtemp");
	snprintf(p, sizeof(p), "%s/cgroup.event_control", root);
	FILE *f = fopen(p, "w");
	REQUIRE(f, "fixture");
	fclose(f);
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.kind = VMP_SOURCE_V1;
	cfg.cgroup_root = root;
	vmp_source *src;
	if (vmp_source_new(&src, &cfg, NULL) == 0) {
		struct check_text t = {0};
		CHECK(vmp_source_record(src, check_text_add, &t) == -ENOTSUP, "the v1 source: -ENOTSUP");
		vmp_source_free(src);
	} else {
		CHECK(true, "# the v1 source does not start on a fixture here");
	}
	unlink(p);
	rmdir(root);
}

/* ---- replay hooks ------------------------------------------------------- */

struct hookstat {
	uint64_t groups, listens, windows, events, bad_origin, bad_pressure;
	uint64_t wp[3]; /* windows per level */
	const vmp_group *lastw_origin;
	uint64_t lastw_pressure;
};

static void h_group(const char *path, const char *parent, void *arg)
{
	struct hookstat *h = arg;
	h->groups++;
	if ((parent == NULL) != (strcmp(path, "/") == 0))
		h->bad_origin++;
}
static void h_listen(unsigned id, const char *group, const char *args, void *arg)
{
	(void)id, (void)group, (void)args;
	((struct hookstat *)arg)->listens++;
}
static void h_window(const char *t, size_t tlen, const struct vmp_event *ev, void *arg)
{
	struct hookstat *h = arg;
	(void)t, (void)tlen;
	h->windows++;
	h->wp[ev->level]++;
	h->lastw_origin = ev->origin;
	h->lastw_pressure = ev->pressure;
	if (ev->group)
		h->bad_origin++;
}
static void h_event(const char *t, size_t tlen, unsigned id, const struct vmp_event *ev, void *arg)
{
	struct hookstat *h = arg;
	(void)t, (void)tlen, (void)id;
	h->events++;
	/* a notification is delivered during its window's evaluation: the
	 * window reported last */
	if (ev->origin != h->lastw_origin)
		h->bad_origin++;
	if (ev->pressure != h->lastw_pressure)
		h->bad_pressure++;
}

static void hooks(const char *path)
{
	size_t len;
	char *buf = check_slurp(path, &len);
	struct hookstat h = {0};
	struct vmp_replay_hooks hk = {h_group, h_listen, h_window, h_event, &h};
	vmp_replay *r, *r0;
	struct vmp_error err = {0};
	REQUIRE(vmp_replay_run_hooks(buf, len, &hk, &r, &err) == 0, "%s: replay with hooks", path);
	REQUIRE(vmp_replay_run(buf, len, NULL, NULL, &r0, &err) == 0, "%s: replay", path);
	uint64_t total = 0;
	bool same = vmp_replay_listener_count(r) == vmp_replay_listener_count(r0);
	for (size_t i = 0; same && i < vmp_replay_listener_count(r); i++) {
		struct vmp_replay_listener a, b;
		vmp_replay_listener(r, i, &a);
		vmp_replay_listener(r0, i, &b);
		same = a.id == b.id && a.count == b.count;
		total += a.count;
	}
	CHECK(same, "%s: hooks change no count", path);
	CHECK_EQ_U64(h.events, total, "%s: one event hook per counted notification", path);
	CHECK_EQ_U64(h.listens, vmp_replay_listener_count(r), "%s: one listen hook per listener", path);
	uint64_t ngroups = 0;
	for (const char *p = buf; (p = strstr(p, "group ")) != NULL; p++)
		if (p == buf || p[-1] == '\n')
			ngroups++;
	CHECK_EQ_U64(h.groups, ngroups, "%s: one group hook per group record", path);
	CHECK(h.windows > 0 && h.windows >= h.wp[2], "%s: windows reported (%llu)", path, (unsigned long long)h.windows);
	CHECK(h.bad_origin == 0 && h.bad_pressure == 0, "%s: each notification comes from the window just reported", path);
	vmp_replay_free(r);
	vmp_replay_free(r0);
	free(buf);
}

/* A trace source that cannot load says which file and line, in err. */
static void trace_errors(void)
{
	char path[] = "/tmp/vmp-badtrace-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0, "mkstemp");
	static const char bad[] = "# vmptrace 1\ngroup / -\nlisten 0 / low\nvmpressure 0.5 / 1 512 x 0xca\n";
	REQUIRE(write(fd, bad, sizeof(bad) - 1) == (ssize_t)sizeof(bad) - 1, "write %s", path);
	close(fd);
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.kind = VMP_SOURCE_TRACE;
	cfg.trace_path = path;
	vmp_source *src = NULL;
	struct vmp_error err;
	CHECK(vmp_source_new(&src, &cfg, &err) == -EINVAL && err.line == 4 && !strcmp(err.path, path) &&
		      strstr(err.msg, "'x'"),
	      "a malformed trace: err names file, line and bytes (%s:%lu: %s)", err.path, err.line, err.msg);
	unlink(path);
	CHECK(vmp_source_new(&src, &cfg, &err) == -ENOENT && err.line == 0 && !strcmp(err.path, path) &&
		      strstr(err.msg, "cannot open"),
	      "a missing trace: err names it (%s: %s)", err.path, err.msg);
}

int main(int argc, char **argv)
{
	REQUIRE(argc > 1, "usage: test_record TRACE...");
	writer();
	refusals();
	trace_errors();
	for (int a = 1; a < argc; a++) {
		hooks(argv[a]);
		recording(argv[a]);
	}
	return check_done("record");
}
