/* SPDX-License-Identifier: MIT */
/*
 * The metrics' pure parts (src/daemon/metrics/metrics.c, http.c, procself.c):
 * the exposition's structure and escaping, the HTTP request parser on
 * valid, malformed, partial and oversize heads, the responses, and the
 * /proc/self/stat parser. No daemon runs here.
 *
 * usage: test_daemon_metrics [PROMTOOL]: with a promtool that runs
 * (tests/daemon/promtool.sh finds one), the exposition of awkward cgroup
 * names is also checked by `promtool check metrics` (else that check is
 * skipped, saying so).
 */
#include "../unit/check.h"
#include "metrics.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *str(const struct vmp__buf *b)
{
	return b->len ? b->p : "";
}

/* ---- exposition ------------------------------------------------------------ */

static void label_value_tests(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} v[] = {
		{"a/b", 3, "a/b"},
		{"a\\b", 3, "a\\\\b"},
		{"a\"b", 3, "a\\\"b"},
		{"a\nb", 3, "a\\nb"},
		{"\\\"\n", 3, "\\\\\\\"\\n"},
		{"caf\xc3\xa9", 5, "caf\xc3\xa9"},                 /* valid UTF-8 kept */
		{"x\xff" "y", 3, "x\xef\xbf\xbdy"},              /* invalid byte: U+FFFD */
		{"\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd"},     /* overlong NUL */
		{"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
		{"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"},     /* truncated */
		{"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},     /* 4 bytes */
		{"tab\there", 8, "tab\there"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vmp__buf b;
		vmp__buf_init(&b);
		vmpd_prom_label_value(&b, v[i].in, v[i].n);
		CHECK(b.len == strlen(v[i].out) && !memcmp(str(&b), v[i].out, b.len),
		      "label value %zu escaped as the format says", i);
		vmp__buf_free(&b);
	}
}

/* The sample's metric name (up to '{' or ' '). */
static size_t name_len(const char *line)
{
	size_t k = 0;
	while (line[k] && line[k] != '{' && line[k] != ' ')
		k++;
	return k;
}

/* Structural checks of an exposition: every family's HELP then TYPE, its
 * samples right after, no family twice, counters named _total. Returns
 * the number of problems, and counts lines matching `want`. */
static int structure(const char *text, const char *want, int *found)
{
	int bad = 0;
	char fam[128] = "", seen[64][128];
	int nseen = 0;
	bool help = false;
	*found = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			return bad + 1; /* the last line must end in a newline */
		char line[4096];
		size_t n = (size_t)(nl - p);
		if (n >= sizeof(line))
			return bad + 1;
		memcpy(line, p, n);
		line[n] = 0;
		p = nl + 1;
		if (want && !strcmp(line, want))
			++*found;
		if (!strncmp(line, "# HELP ", 7)) {
			size_t k = name_len(line + 7);
			snprintf(fam, sizeof(fam), "%.*s", (int)k, line + 7);
			for (int i = 0; i < nseen; i++)
				bad += !strcmp(seen[i], fam);
			if (nseen < 64)
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", fam);
			help = true;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			size_t k = name_len(line + 7);
			bad += !help || strncmp(line + 7, fam, k) || fam[k];
			const char *type = line + 7 + k + 1;
			bool counter = !strcmp(type, "counter");
			bad += !counter && strcmp(type, "gauge");
			size_t fl = strlen(fam);
			bad += counter != (fl > 6 && !strcmp(fam + fl - 6, "_total"));
			help = false;
		} else {
			size_t k = name_len(line);
			bad += strncmp(line, fam, k) != 0 || fam[k] != 0; /* not in its family */
		}
	}
	return bad;
}

static struct vmpd_series series(const char *cgroup, const char *args, vmp_level min)
{
	return (struct vmpd_series){.cgroup = cgroup, .args = args, .min_level = min, .last_time = -1};
}

static const char *promtool;

/* promtool check metrics on text: 0 good, 1 bad, -1 promtool unusable. */
static int promtool_check(const char *text, size_t n, char *out, size_t cap)
{
	if (!promtool)
		return -1;
	char path[] = "/tmp/vmp-metrics-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	bool ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "'%s' check metrics <'%s' 2>&1", promtool, path);
	FILE *f = ok ? popen(cmd, "r") : NULL;
	size_t got = f ? fread(out, 1, cap - 1, f) : 0;
	out[got] = 0;
	int st = f ? pclose(f) : -1;
	unlink(path);
	if (!f || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) == 127 || WEXITSTATUS(st) == 126)
		return -1;
	return WEXITSTATUS(st) != 0 || got > 0; /* lint problems print, and exit 3 */
}

static void exposition_tests(void)
{
	struct vmpd_series s[4];
	s[0] = series("/", "low,hierarchy", VMP_LEVEL_LOW);
	s[0].notifications[0] = 5, s[0].notifications[1] = 2, s[0].notifications[2] = 1;
	s[0].evidence = true, s[0].scanned = 4096, s[0].reclaimed = 1000;
	s[0].have_pressure = true, s[0].pressure = 97;
	s[0].level = 3, s[0].last_time = 1796000000.25;
	s[1] = series("we\"ird\\na\nme\xff", "medium", VMP_LEVEL_MEDIUM);
	s[1].evidence = true, s[1].notifications[1] = 7;
	s[1].have_pressure = true, s[1].pressure = 100;
	s[2] = series("a/b", "critical,local", VMP_LEVEL_CRITICAL);
	s[2].evidence = true, s[2].have_pressure = true, s[2].pressure = 5;
	struct vmpd_procinfo p = {.have_stat = true, .cpu_seconds = 1.5, .start_time = 1796000000.5,
				  .virtual_bytes = 1 << 20, .resident_bytes = 4096,
				  .have_fds = true, .open_fds = 7, .have_max_fds = true, .max_fds = 1024};
	struct vmpd_daemoninfo di = {.version = "0.1.0", .source = "trace", .clients = 2,
				     .subscriptions = 3, .listeners = 4, .dropped = 9};
	struct vmp__buf b;
	vmp__buf_init(&b);
	vmpd_metrics_format(&b, s, 3, &p, &di);
	vmp__buf_add(&b, "", 1);
	REQUIRE(!b.oom, "formatted");
	const char *t = b.p;
	int found;
	CHECK(structure(t, NULL, &found) == 0, "every family once, HELP and TYPE before its samples");
	CHECK(strstr(t, "vmpressure_notifications_total{cgroup=\"/\",args=\"low,hierarchy\",level=\"medium\"} 2\n") != NULL,
	      "a notification counter with its labels");
	CHECK(strstr(t, "cgroup=\"we\\\"ird\\\\na\\nme\xef\xbf\xbd\",args=\"medium\",level=\"medium\"} 7\n") != NULL,
	      "the odd cgroup name escaped in the labels");
	CHECK(!strstr(t, "args=\"medium\",level=\"low\""), "no series for a level below the listener's");
	CHECK(strstr(t, "vmpressure_pressure_ratio{cgroup=\"/\",args=\"low,hierarchy\"} 0.97\n") &&
		      strstr(t, "args=\"medium\"} 1.00\n") && strstr(t, "args=\"critical,local\"} 0.05\n"),
	      "pressure as a ratio, exact");
	CHECK(strstr(t, "vmpressure_level{cgroup=\"/\",args=\"low,hierarchy\"} 3\n") &&
		      strstr(t, "vmpressure_level{cgroup=\"a/b\",args=\"critical,local\"} 0\n"),
	      "the level gauge: 3 critical, 0 none");
	CHECK(strstr(t, "vmpressure_scanned_pages_total{cgroup=\"/\",args=\"low,hierarchy\"} 4096\n") &&
		      strstr(t, "vmpressure_reclaimed_pages_total{cgroup=\"/\",args=\"low,hierarchy\"} 1000\n"),
	      "scanned and reclaimed counters");
	structure(t, "vmpressure_last_notification_timestamp_seconds{cgroup=\"/\",args=\"low,hierarchy\"} 1796000000.25",
		  &found);
	CHECK(found == 1 && !strstr(t, "_timestamp_seconds{cgroup=\"a/b\""),
	      "the last notification's time only where there was one");
	CHECK(strstr(t, "process_cpu_seconds_total 1.5\n") && strstr(t, "process_open_fds 7\n") &&
		      strstr(t, "process_max_fds 1024\n") && strstr(t, "process_resident_memory_bytes 4096\n") &&
		      strstr(t, "process_start_time_seconds 1796000000.5\n"),
	      "process_* values");
	CHECK(strstr(t, "vmpressured_build_info{version=\"0.1.0\",source=\"trace\"} 1\n") &&
		      strstr(t, "vmpressured_stream_events_dropped_total 9\n"),
	      "the daemon's own");
	char out[4096];
	int pc = promtool_check(t, strlen(t), out, sizeof(out));
	if (pc < 0)
		printf("ok %d - # SKIP promtool check metrics: no usable promtool (scripts/deps.sh test "
		       "extracts one)\n", ++check_count);
	else
		CHECK(pc == 0, "promtool check metrics accepts it: %s", out);
	vmp__buf_free(&b);

	/* The v1 passthrough: no evidence, so no evidence families at all. */
	struct vmpd_series v1 = series("/", "low", VMP_LEVEL_LOW);
	v1.notifications[0] = 3;
	vmp__buf_init(&b);
	vmpd_metrics_format(&b, &v1, 1, NULL, NULL);
	vmp__buf_add(&b, "", 1);
	CHECK(!strstr(b.p, "scanned") && !strstr(b.p, "reclaimed") && !strstr(b.p, "pressure_ratio") &&
		      strstr(b.p, "level=\"low\"} 3\n"),
	      "without evidence: counts only, no scanned/reclaimed/pressure series");
	CHECK(structure(b.p, NULL, &found) == 0, "... and well formed");
	vmp__buf_free(&b);

	/* Nothing watched: no listener families, still valid. */
	vmp__buf_init(&b);
	vmpd_metrics_format(&b, NULL, 0, &p, &di);
	vmp__buf_add(&b, "", 1);
	CHECK(!strstr(b.p, "vmpressure_") && strstr(b.p, "vmpressured_clients 2\n"),
	      "no listener: no listener family");
	vmp__buf_free(&b);
}

/* ---- HTTP ---------------------------------------------------------------- */

static int parse(const char *s, bool eof, struct vmpd_http_request *r)
{
	return vmpd_http_parse(s, strlen(s), eof, r);
}

static int status(const char *s)
{
	struct vmpd_http_request r;
	return parse(s, true, &r);
}

#define GOOD "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9101\r\nUser-Agent: Prometheus/2.42.0\r\n" \
	     "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"

static void http_tests(void)
{
	struct vmpd_http_request r;
	CHECK(parse(GOOD, false, &r) == 200 && !r.head && r.head_len == strlen(GOOD),
	      "a Prometheus scrape: 200, the whole head consumed");
	CHECK(parse(GOOD "GET /x HTTP/1.1\r\n", false, &r) == 200 && r.head_len == strlen(GOOD),
	      "bytes after the head are not part of it");
	bool prefixes = true;
	for (size_t i = 0; i < strlen(GOOD); i++) {
		prefixes &= vmpd_http_parse(GOOD, i, false, &r) == 0;
		prefixes &= vmpd_http_parse(GOOD, i, true, &r) == 400;
	}
	CHECK(prefixes, "every proper prefix waits for more, and is 400 at end of input");
	CHECK(status("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == 200 &&
		      (parse("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false, &r), r.head),
	      "HEAD: 200 without a body");
	CHECK(status("GET /metrics HTTP/1.1\nHost: x\n\n") == 200, "lone LF line endings");
	CHECK(status("GET /metrics HTTP/1.0\r\n\r\n") == 200, "HTTP/1.0 needs no Host");
	CHECK(status("GET /metrics?name[]=up HTTP/1.1\r\nHost: x\r\n\r\n") == 200, "a query string is ignored");
	CHECK(status("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") == 200,
	      "Content-Length: 0");
	CHECK(status("GET /metrics HTTP/1.1\r\nhOsT:x\r\nX-Empty:\r\n\r\n") == 200,
	      "header names any case, values may be empty");

	static const struct {
		const char *req;
		int status;
		const char *what;
	} v[] = {
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404, "another path"},
		{"GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404, "a longer path"},
		{"GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", 404, "a trailing slash"},
		{"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "POST"},
		{"get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "methods are case-sensitive"},
		{"DELETE /other HTTP/1.1\r\nHost: x\r\n\r\n", 404, "another method, another path"},
		{"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0"},
		{"GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n", 505, "HTTP/1.2"},
		{"GET /metrics HTTP/1.1x\r\nHost: x\r\n\r\n", 400, "junk after the version"},
		{"GET /metrics http/1.1\r\nHost: x\r\n\r\n", 400, "a lower-case version"},
		{"GET /metrics\r\n\r\n", 400, "HTTP/0.9 style"},
		{"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "two spaces"},
		{" GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a leading space"},
		{"\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "a leading empty line"},
		{"GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "absolute-form target"},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "asterisk-form target"},
		{"GET /met\x7frics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "DEL in the target"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400, "a bare CR in a header"},
		{"GET /metrics HTTP/1.1\rHost: x\r\n\r\n", 400, "a bare CR ending a line"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x01" "b\r\n\r\n", 400, "a control byte"},
		{"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400, "a header without a colon"},
		{"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400, "a space before the colon"},
		{"GET /metrics HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", 400, "an empty header name"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, "obsolete line folding"},
		{"GET /metrics HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "two Host headers"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400, "a body"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "a negative length"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "an empty length"},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked"},
		{"", 400, "nothing, then end of input"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int st = status(v[i].req);
		CHECK(st == v[i].status, "%s: %d (got %d, %s)", v[i].what, v[i].status, st,
		      (parse(v[i].req, true, &r), r.reason));
	}
	char nul[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a_b\r\n\r\n";
	nul[strlen("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a")] = 0;
	CHECK(vmpd_http_parse(nul, sizeof(nul) - 1, false, &r) == 400, "a NUL byte: 400");

	/* Oversize: known as soon as the limit is passed, not at the end. */
	static char big[20000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	CHECK(vmpd_http_parse(big, 1024, false, &r) == 414, "a request line of 1024 bytes without its end: 414");
	CHECK(vmpd_http_parse(big, 1023, false, &r) == 0, "... 1023 bytes may still end well");
	size_t o = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	while (o < 9000)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "X-Pad: %0100d\r\n", 0);
	CHECK(vmpd_http_parse(big, o, false, &r) == 431, "a head past 8 KiB: 431 before its end");
	/* Exactly 8192 bytes, blank line included: accepted. */
	o = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	size_t pad = VMPD_HTTP_HEAD_MAX - o - 4;
	memset(big + o, 'p', pad);
	memcpy(big + o + pad, "\r\n\r\n", 4);
	CHECK(vmpd_http_parse(big, VMPD_HTTP_HEAD_MAX, false, &r) == 200 && r.head_len == VMPD_HTTP_HEAD_MAX,
	      "a head of exactly 8192 bytes: 200");
	big[o + pad] = 'p'; /* one more byte: 8193 */
	memcpy(big + o + pad + 1, "\r\n\r\n", 4);
	CHECK(vmpd_http_parse(big, VMPD_HTTP_HEAD_MAX + 1, false, &r) == 431, "8193 bytes: 431");
	o = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "X-%d: y\r\n", i);
	o += (size_t)snprintf(big + o, sizeof(big) - o, "\r\n");
	CHECK(vmpd_http_parse(big, o, false, &r) == 431, "65 header lines: 431");

	/* Responses. */
	struct vmp__buf b;
	vmp__buf_init(&b);
	vmpd_http_response(&b, 200, false, "x 1\n", 4);
	vmp__buf_add(&b, "", 1);
	CHECK(!strcmp(b.p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			   "Content-Length: 4\r\nConnection: close\r\n\r\nx 1\n"),
	      "a 200 response, exactly");
	vmp__buf_reset(&b);
	vmpd_http_response(&b, 200, true, "x 1\n", 4);
	vmp__buf_add(&b, "", 1);
	CHECK(strstr(b.p, "Content-Length: 4\r\n") && !strstr(b.p, "x 1"), "HEAD: the length, no body");
	vmp__buf_reset(&b);
	vmpd_http_response(&b, 405, false, "no\n", 3);
	vmp__buf_add(&b, "", 1);
	CHECK(!strncmp(b.p, "HTTP/1.1 405 Method Not Allowed\r\n", 33) && strstr(b.p, "Allow: GET, HEAD\r\n"),
	      "405 says what is allowed");
	vmp__buf_free(&b);
}

/* ---- /proc/self/stat ---------------------------------------------------- */

static void procstat_tests(void)
{
	/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss ... */
	const char *line = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 -5 1 0 "
			   "987654 5840896 1023 18446744073709551615 1 1 0 0 0 0 0\n";
	struct vmpd_procstat st;
	int rc = vmpd_procstat_parse(line, strlen(line), &st);
	CHECK(rc == 0 && st.utime == 250 && st.stime == 50 && st.starttime == 987654 &&
		      st.vsize == 5840896 && st.rss == 1023,
	      "fields counted from the last ')': a command name with spaces and parentheses");
	CHECK(vmpd_procstat_parse(line, 40, &st) == -EINVAL, "a cut line: -EINVAL");
	CHECK(vmpd_procstat_parse("1234 comm S 1", 13, &st) == -EINVAL, "no parentheses: -EINVAL");
	const char *huge = "1 (x) S 1 2 3 4 5 6 7 8 9 10 99999999999999999999999 12 13 14 15 16 17 "
			   "18 19 20 21 22";
	CHECK(vmpd_procstat_parse(huge, strlen(huge), &st) == -EINVAL,
	      "a number past 2^64: -EINVAL");
	struct vmpd_procinfo p;
	vmpd_procinfo_read(&p);
	CHECK(p.have_stat && p.resident_bytes > 0 && p.start_time > 1e9 && p.have_fds && p.open_fds >= 3 &&
		      p.have_max_fds,
	      "this process's own values read from /proc/self");
}

int main(int argc, char **argv)
{
	if (argc > 1 && access(argv[1], X_OK) == 0)
		promtool = argv[1];
	label_value_tests();
	exposition_tests();
	http_tests();
	procstat_tests();
	return check_done("metrics");
}
