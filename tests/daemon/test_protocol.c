/* SPDX-License-Identifier: MIT */
/*
 * The daemon's pure protocol layer (src/daemon/protocol.c, access.c):
 * framing, every request kind and every error of docs/protocol.md, the
 * exact text of replies and events, JSON escaping of odd cgroup names,
 * and the permission rule. No daemon runs here.
 */
#include "../unit/check.h"
#include "daemon.h"
#include "json_check.h"
#include "protocol.h"

#include <errno.h>
#include <math.h>

/* ---- helpers ---------------------------------------------------------------- */

static int parse(const char *line, struct vmpd_request *req, char *msg, size_t cap)
{
	return vmpd_parse_request(line, strlen(line), req, msg, cap);
}

static int perr(const char *line)
{
	static struct vmpd_request req;
	char msg[512];
	return parse(line, &req, msg, sizeof(msg));
}

static const char *buf_str(struct vmp__buf *b)
{
	return b->len ? b->p : "";
}

/* Feed s to a framer in chunks of `chunk`, collect lines as "L:<text>" and
 * overlong marks as "O", joined by '|'. */
static void frame_all(const char *s, size_t n, size_t chunk, char *out, size_t cap)
{
	struct vmpd_framer f;
	vmpd_framer_init(&f);
	size_t o = 0, i = 0;
	out[0] = 0;
	for (;;) {
		const char *line;
		size_t len;
		enum vmpd_frame r;
		while ((r = vmpd_framer_next(&f, &line, &len)) != VMPD_FRAME_NONE) {
			if (r == VMPD_FRAME_LINE)
				o += (size_t)snprintf(out + o, cap - o, "%sL:%.*s", o ? "|" : "", (int)len, line);
			else
				o += (size_t)snprintf(out + o, cap - o, "%sO", o ? "|" : "");
			if (o >= cap)
				return;
		}
		if (i == n)
			break;
		size_t room;
		char *p = vmpd_framer_space(&f, &room);
		size_t k = n - i < chunk ? n - i : chunk;
		if (k > room)
			k = room;
		memcpy(p, s + i, k);
		vmpd_framer_commit(&f, k);
		i += k;
	}
}

/* ---- framing ------------------------------------------------------------------- */

static void test_framing(void)
{
	char out[8192];
	const char *s = "hello 1\nlist\n\nstatus\npartial";
	size_t chunks[] = {1, 2, 3, 7, 1024};
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		frame_all(s, strlen(s), chunks[c], out, sizeof(out));
		CHECK(!strcmp(out, "L:hello 1|L:list|L:|L:status"), "lines in chunks of %zu: %s", chunks[c], out);
	}

	/* The limit: 1023 bytes + newline fit, 1024 + newline do not. */
	static char big[5000];
	memset(big, 'a', 1023);
	big[1023] = '\n';
	memcpy(big + 1024, "list\n", 5);
	for (size_t c = 0; c < 3; c++) {
		size_t chunk = c == 0 ? 1 : c == 1 ? 100 : 4096;
		frame_all(big, 1029, chunk, out, sizeof(out));
		CHECK(strlen(out) == 2 + 1023 + 7 && !strncmp(out, "L:aaa", 5) && !strcmp(out + 1025, "|L:list"),
		      "a 1024-byte line (newline included) is accepted (chunk %zu)", chunk);
	}
	memset(big, 'b', 1024);
	big[1024] = '\n';
	memcpy(big + 1025, "list\n", 5);
	for (size_t c = 0; c < 3; c++) {
		size_t chunk = c == 0 ? 1 : c == 1 ? 100 : 4096;
		frame_all(big, 1030, chunk, out, sizeof(out));
		CHECK(!strcmp(out, "O|L:list"), "a 1025-byte line is overlong, reported once, the next line kept (chunk %zu): %.40s",
		      chunk, out);
	}
	/* A very long line, and lines after it in the same chunk. */
	memset(big, 'c', 4000);
	memcpy(big + 4000, "\nstatus\nlist\n", 13);
	frame_all(big, 4013, 4096, out, sizeof(out));
	CHECK(!strcmp(out, "O|L:status|L:list"), "a 4000-byte line is reported once: %s", out);
	frame_all(big, 4013, 333, out, sizeof(out));
	CHECK(!strcmp(out, "O|L:status|L:list"), "... also in odd chunks: %s", out);
	/* Two overlong lines in a row */
	memset(big, 'd', 2100);
	big[1500] = '\n';
	big[2099] = '\n';
	memcpy(big + 2100, "x\n", 2);
	frame_all(big, 2102, 4096, out, sizeof(out));
	char expect[700] = "O|L:";
	memset(expect + 4, 'd', 598);
	strcpy(expect + 4 + 598, "|L:x");
	CHECK(!strcmp(out, expect), "an overlong line, then a 598-byte line, then another");
	/* NUL bytes are carried to the parser (which rejects them). */
	frame_all("a\0b\n", 4, 4, out, sizeof(out));
	CHECK(!memcmp(out, "L:a", 3), "a NUL byte does not end a line");
}

/* ---- requests ------------------------------------------------------------------- */

static void test_requests(void)
{
	struct vmpd_request req;
	char msg[512];

	CHECK(parse("hello 1", &req, msg, sizeof(msg)) == 0 && req.verb == VMPD_VERB_HELLO && req.version == 1,
	      "hello 1");
	CHECK(parse("hello 2", &req, msg, sizeof(msg)) == EPROTO && req.verb == VMPD_VERB_HELLO &&
		      strstr(msg, "unsupported protocol version 2"),
	      "hello 2: EPROTO, unsupported version (%s)", msg);
	CHECK(perr("hello") == EPROTO, "hello without a version: EPROTO");
	CHECK(perr("hello 1 1") == EPROTO, "hello with two versions: EPROTO");
	CHECK(perr("hello 01") == EPROTO, "hello 01: EPROTO (no leading zero)");
	CHECK(perr("hello one") == EPROTO, "hello one: EPROTO");
	CHECK(perr("hello 99999999999999999999999") == EPROTO, "hello with a huge version: EPROTO");

	CHECK(parse("subscribe a/b low,hierarchy eventfd", &req, msg, sizeof(msg)) == 0 &&
		      req.verb == VMPD_VERB_SUBSCRIBE && !strcmp(req.cgroup, "a/b") &&
		      !strcmp(req.args, "low,hierarchy") && req.level == VMP_LEVEL_LOW &&
		      req.mode == VMP_MODE_HIERARCHY && req.eventfd && !req.stream,
	      "subscribe a/b low,hierarchy eventfd");
	CHECK(parse("subscribe / critical stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "/") &&
		      req.level == VMP_LEVEL_CRITICAL && req.mode == VMP_MODE_DEFAULT && !req.eventfd && req.stream,
	      "subscribe / critical stream");
	CHECK(parse("subscribe x medium,local stream eventfd", &req, msg, sizeof(msg)) == 0 && req.eventfd &&
		      req.stream && req.mode == VMP_MODE_LOCAL && req.level == VMP_LEVEL_MEDIUM,
	      "flags in either order");
	CHECK(parse("subscribe x low eventfd stream", &req, msg, sizeof(msg)) == 0 && req.eventfd && req.stream,
	      "both flags");
	CHECK(parse("subscribe //a///b// low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "a/b"),
	      "slashes collapsed: %s", req.cgroup);
	CHECK(parse("subscribe /// low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "/"),
	      "only slashes: the root");
	CHECK(parse("subscribe a low,hierarchy,whatever stream", &req, msg, sizeof(msg)) == 0 &&
		      req.mode == VMP_MODE_HIERARCHY,
	      "args: the kernel ignores what follows a second comma");
	CHECK(parse("subscribe a..b low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "a..b"),
	      "'a..b' is a name, not '..'");
	CHECK(parse("subscribe .hidden low stream", &req, msg, sizeof(msg)) == 0, "'.hidden' is a name");
	CHECK(parse("subscribe a\"b\\c low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "a\"b\\c"),
	      "quotes and backslashes are printable ASCII");

	/* EPROTO: the shape of the request */
	CHECK(perr("subscribe a low") == EPROTO, "subscribe without a flag: EPROTO");
	CHECK(perr("subscribe a") == EPROTO, "subscribe without args: EPROTO");
	CHECK(perr("subscribe") == EPROTO, "subscribe alone: EPROTO");
	CHECK(perr("subscribe a low eventfd eventfd") == EPROTO, "a flag twice: EPROTO");
	CHECK(perr("subscribe a low stream stream") == EPROTO, "stream twice: EPROTO");
	CHECK(perr("subscribe a low events") == EPROTO, "an unknown flag: EPROTO");
	CHECK(perr("subscribe a low Stream") == EPROTO, "flags are case-sensitive");
	CHECK(perr("subscribe a low eventfd stream x") == EPROTO, "a third flag: EPROTO");
	CHECK(perr("subscribe a low eventfd stream x y z w") == EPROTO, "many fields: EPROTO");
	CHECK(perr("subscribe .. low bogus") == EPROTO, "a bad flag is reported before a bad path");
	CHECK(perr("subscribe a nonsense bogus") == EPROTO, "a bad flag is reported before bad args");

	/* EINVAL: the content */
	CHECK(parse("subscribe .. low stream", &req, msg, sizeof(msg)) == EINVAL && req.verb == VMPD_VERB_SUBSCRIBE,
	      "'..': EINVAL (%s)", msg);
	CHECK(perr("subscribe a/../../etc low stream") == EINVAL, "'a/../../etc': EINVAL");
	CHECK(perr("subscribe /.. low stream") == EINVAL, "'/..': EINVAL");
	CHECK(perr("subscribe a/.. low stream") == EINVAL, "'a/..': EINVAL");
	CHECK(perr("subscribe ./a low stream") == EINVAL, "'./a': EINVAL");
	/* The library's rule (vmp_cgroup_normalize): no control character,
	 * which the daemon's own normaliser used to let through. */
	CHECK(parse("subscribe a/b\x01" "c low stream", &req, msg, sizeof(msg)) != 0,
	      "a control character in a request's cgroup: refused (%s)", msg);
	CHECK(perr("subscribe a\x7f low stream") != 0, "DEL in a request's cgroup: refused");
	char longname[600];
	snprintf(longname, sizeof(longname), "subscribe a/%0256d low stream", 7);
	CHECK(perr(longname) == EINVAL, "a 256-byte component: EINVAL");
	snprintf(longname, sizeof(longname), "subscribe a/%0255d low stream", 7);
	CHECK(perr(longname) == 0, "a 255-byte component is fine");
	CHECK(parse("subscribe a lowx stream", &req, msg, sizeof(msg)) == EINVAL && strstr(msg, "lowx"),
	      "bad level: EINVAL naming it (%s)", msg);
	CHECK(perr("subscribe a Low stream") == EINVAL, "levels are case-sensitive");
	CHECK(perr("subscribe a low,hier stream") == EINVAL, "bad mode: EINVAL");
	CHECK(perr("subscribe a ,low stream") == EINVAL, "empty level: EINVAL");
	CHECK(perr("subscribe a low, stream") == EINVAL, "empty mode: EINVAL");

	/* unsubscribe */
	CHECK(parse("unsubscribe 3", &req, msg, sizeof(msg)) == 0 && req.verb == VMPD_VERB_UNSUBSCRIBE && req.id == 3,
	      "unsubscribe 3");
	CHECK(parse("unsubscribe 0", &req, msg, sizeof(msg)) == 0 && req.id == 0, "unsubscribe 0 parses (ENOENT later)");
	CHECK(parse("unsubscribe 18446744073709551615", &req, msg, sizeof(msg)) == 0 && req.id == UINT64_MAX,
	      "unsubscribe of the largest id");
	CHECK(perr("unsubscribe 18446744073709551616") == EPROTO, "an id that does not fit: EPROTO");
	CHECK(perr("unsubscribe 007") == EPROTO, "leading zeros: EPROTO");
	CHECK(perr("unsubscribe -1") == EPROTO, "negative: EPROTO");
	CHECK(perr("unsubscribe +1") == EPROTO, "plus sign: EPROTO");
	CHECK(perr("unsubscribe 1x") == EPROTO, "trailing garbage: EPROTO");
	CHECK(perr("unsubscribe") == EPROTO, "no id: EPROTO");
	CHECK(perr("unsubscribe 1 2") == EPROTO, "two ids: EPROTO");

	/* list, status */
	CHECK(parse("list", &req, msg, sizeof(msg)) == 0 && req.verb == VMPD_VERB_LIST, "list");
	CHECK(parse("status", &req, msg, sizeof(msg)) == 0 && req.verb == VMPD_VERB_STATUS, "status");
	CHECK(parse("list all", &req, msg, sizeof(msg)) == EPROTO && req.verb == VMPD_VERB_LIST, "list all: EPROTO");
	CHECK(perr("status now") == EPROTO, "status now: EPROTO");

	/* bytes and spaces */
	CHECK(parse("", &req, msg, sizeof(msg)) == EPROTO && req.verb == VMPD_VERB_NONE, "empty line: EPROTO");
	CHECK(parse("LIST", &req, msg, sizeof(msg)) == EPROTO && req.verb == VMPD_VERB_NONE, "verbs are case-sensitive");
	CHECK(parse("frobnicate", &req, msg, sizeof(msg)) == EPROTO && strstr(msg, "frobnicate"),
	      "unknown verb: EPROTO naming it (%s)", msg);
	CHECK(perr(" list") == EPROTO, "leading space");
	CHECK(perr("list ") == EPROTO, "trailing space");
	CHECK(perr("unsubscribe  1") == EPROTO, "two spaces");
	CHECK(perr("unsubscribe\t1") == EPROTO, "a tab");
	CHECK(perr("list\r") == EPROTO, "CR (CRLF line ends are not accepted)");
	CHECK(perr("list\x7f") == EPROTO, "DEL");
	CHECK(perr("subscribe caf\xc3\xa9 low stream") == EPROTO, "UTF-8 in a request: EPROTO (ASCII only)");
	CHECK(vmpd_parse_request("li\0st", 5, &req, msg, sizeof(msg)) == EPROTO && strstr(msg, "0x00"),
	      "a NUL byte: EPROTO naming it (%s)", msg);
	static char huge[2000];
	memset(huge, 'a', sizeof(huge));
	CHECK(vmpd_parse_request(huge, 1024, &req, msg, sizeof(msg)) == EMSGSIZE, "1024 bytes without newline: EMSGSIZE");
	CHECK(vmpd_parse_request(huge, 1023, &req, msg, sizeof(msg)) == EPROTO, "1023 bytes: parsed (unknown verb)");
	/* A tiny message buffer truncates, never overflows. */
	char tiny[8];
	CHECK(parse("frobnicate", &req, tiny, sizeof(tiny)) == EPROTO && strlen(tiny) == 7, "message truncated to its buffer");
	CHECK(parse("frobnicate", &req, NULL, 0) == EPROTO, "no message buffer at all");

	/* Fields running to the end of a buffer without a NUL: the message
	 * must not read past them (ASan watches this). */
	char *edge = malloc(9);
	memcpy(edge, "hello xyz", 9);
	CHECK(vmpd_parse_request(edge, 9, &req, msg, sizeof(msg)) == EPROTO && strstr(msg, "'xyz'"),
	      "an unterminated field is quoted by its length (%s)", msg);
	free(edge);
}

/* ---- formatting ------------------------------------------------------------------- */

#define CHECK_LINE(b, expect, ...)                                                       \
	do {                                                                             \
		CHECK(!strcmp(buf_str(b), expect), __VA_ARGS__);                         \
		if (strcmp(buf_str(b), expect))                                          \
			printf("#  got:      %s#  expected: %s", buf_str(b), expect);    \
		CHECK(json_valid_line((b)->p, (b)->len), "... and it is one valid JSON line"); \
	} while (0)

static void test_replies(void)
{
	struct vmp__buf b;
	vmp__buf_init(&b);

	vmpd_fmt_hello(&b);
	CHECK_LINE(&b, "{\"reply\":\"hello\",\"ok\":true,\"version\":1}\n", "hello reply");

	vmp__buf_reset(&b);
	struct vmpd_sub_info s = {.id = 3, .cgroup = "a/b", .args = "low,hierarchy", .eventfd = true};
	vmpd_fmt_subscribed(&b, &s);
	CHECK_LINE(&b,
		   "{\"reply\":\"subscribe\",\"ok\":true,\"id\":3,\"cgroup\":\"a/b\",\"args\":\"low,hierarchy\","
		   "\"eventfd\":true,\"stream\":false}\n",
		   "subscribe reply, as in the protocol document");

	vmp__buf_reset(&b);
	vmpd_fmt_error(&b, VMPD_VERB_SUBSCRIBE, ENOENT, "no such cgroup: a/x");
	CHECK_LINE(&b,
		   "{\"reply\":\"subscribe\",\"ok\":false,\"error\":\"ENOENT\",\"message\":\"no such cgroup: a/x\"}\n",
		   "error reply, as in the protocol document");

	vmp__buf_reset(&b);
	vmpd_fmt_error(&b, VMPD_VERB_NONE, EMSGSIZE, "too long");
	CHECK_LINE(&b, "{\"reply\":null,\"ok\":false,\"error\":\"EMSGSIZE\",\"message\":\"too long\"}\n",
		   "an unrecognised request: reply null");

	vmp__buf_reset(&b);
	vmpd_fmt_unsubscribed(&b, 3);
	CHECK_LINE(&b, "{\"reply\":\"unsubscribe\",\"ok\":true,\"id\":3}\n", "unsubscribe reply");

	vmp__buf_reset(&b);
	vmpd_fmt_list_begin(&b);
	s.events = 12;
	vmpd_fmt_list_item(&b, &s, true);
	struct vmpd_sub_info s2 = {.id = 4, .cgroup = "/", .args = "critical", .stream = true, .events = 0};
	vmpd_fmt_list_item(&b, &s2, false);
	vmpd_fmt_list_end(&b);
	CHECK_LINE(&b,
		   "{\"reply\":\"list\",\"ok\":true,\"subscriptions\":[{\"id\":3,\"cgroup\":\"a/b\",\"args\":"
		   "\"low,hierarchy\",\"eventfd\":true,\"stream\":false,\"events\":12},{\"id\":4,\"cgroup\":\"/\","
		   "\"args\":\"critical\",\"eventfd\":false,\"stream\":true,\"events\":0}]}\n",
		   "list reply with two subscriptions");
	vmp__buf_reset(&b);
	vmpd_fmt_list_begin(&b);
	vmpd_fmt_list_end(&b);
	CHECK_LINE(&b, "{\"reply\":\"list\",\"ok\":true,\"subscriptions\":[]}\n", "empty list");

	vmp__buf_reset(&b);
	struct vmpd_status st = {.source = "cgroup-v1", .uptime_s = 12.5, .clients = 3, .subscriptions = 5,
				 .events = 120, .dropped = 0};
	vmpd_fmt_status(&b, &st);
	CHECK_LINE(&b,
		   "{\"reply\":\"status\",\"ok\":true,\"version\":1,\"source\":\"cgroup-v1\",\"uptime_s\":12.500,"
		   "\"clients\":3,\"subscriptions\":5,\"events\":120,\"dropped\":0}\n",
		   "status reply");
	vmp__buf_reset(&b);
	st.uptime_s = NAN;
	vmpd_fmt_status(&b, &st);
	CHECK(strstr(buf_str(&b), "\"uptime_s\":null") && json_valid_line(b.p, b.len), "NaN becomes null");
	vmp__buf_reset(&b);
	st.uptime_s = 1;
	st.scope = "uid";
	vmpd_fmt_status(&b, &st);
	CHECK(strstr(buf_str(&b), "\"dropped\":0,\"scope\":\"uid\"}\n") && json_valid_line(b.p, b.len),
	      "a status of one uid's share says so");

	/* every errno name the protocol documents */
	static const struct {
		int e;
		const char *n;
	} names[] = {{EPROTO, "EPROTO"}, {EMSGSIZE, "EMSGSIZE"}, {EINVAL, "EINVAL"}, {ENOENT, "ENOENT"},
		     {EACCES, "EACCES"}, {EMFILE, "EMFILE"},     {ENOTSUP, "ENOTSUP"}, {-ENOENT, "ENOENT"},
		     {12345, "EIO"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(!strcmp(vmpd_errno_name(names[i].e), names[i].n), "errno name %s", names[i].n);
	vmp__buf_free(&b);
}

static void test_events(void)
{
	struct vmp__buf b, tail;
	vmp__buf_init(&b);
	vmp__buf_init(&tail);
	/* 2026-11-25T17:04:44.149Z */
	uint64_t t = 1795626284ull * 1000000000ull + 149000000ull;
	struct vmp_source_event ev = {
		.level = VMP_LEVEL_MEDIUM,
		.cgroup = "a/b",
		.origin = "a/b/c",
		.scanned = 512,
		.reclaimed = 100,
		.pressure = 80,
		.psi_some_avg10 = 1.25,
		.psi_full_avg10 = 0.10,
		.time_ns = t,
		.count = 1,
	};
	vmpd_fmt_pressure_tail(&tail, &ev);
	vmpd_fmt_pressure(&b, 3, tail.p, tail.len);
	CHECK_LINE(&b,
		   "{\"event\":\"pressure\",\"id\":3,\"time\":\"2026-11-25T17:04:44.149Z\",\"cgroup\":\"a/b\","
		   "\"origin\":\"a/b/c\",\"level\":\"medium\",\"count\":1,\"scanned\":512,\"reclaimed\":100,"
		   "\"pressure\":80,\"psi_some_avg10\":1.25,\"psi_full_avg10\":0.10}\n",
		   "pressure event, as in the protocol document");

	/* v1 passthrough: no evidence, no PSI */
	ev.flags = VMP_EVENT_NO_EVIDENCE;
	ev.origin = NULL;
	ev.psi_some_avg10 = ev.psi_full_avg10 = -1;
	ev.level = VMP_LEVEL_CRITICAL;
	ev.count = 7;
	vmp__buf_reset(&tail);
	vmp__buf_reset(&b);
	vmpd_fmt_pressure_tail(&tail, &ev);
	vmpd_fmt_pressure(&b, 18446744073709551615ull, tail.p, tail.len);
	CHECK_LINE(&b,
		   "{\"event\":\"pressure\",\"id\":18446744073709551615,\"time\":\"2026-11-25T17:04:44.149Z\","
		   "\"cgroup\":\"a/b\",\"origin\":null,\"level\":\"critical\",\"count\":7,\"scanned\":null,"
		   "\"reclaimed\":null,\"pressure\":null,\"psi_some_avg10\":null,\"psi_full_avg10\":null}\n",
		   "pressure event without evidence: nulls");
	/* The same tail serves several subscribers. */
	vmp__buf_reset(&b);
	vmpd_fmt_pressure(&b, 4, tail.p, tail.len);
	CHECK(!strncmp(buf_str(&b), "{\"event\":\"pressure\",\"id\":4,\"time\"", 33), "one tail, another id");

	vmp__buf_reset(&b);
	vmpd_fmt_removed(&b, 3, t, "a/b");
	CHECK_LINE(&b, "{\"event\":\"removed\",\"id\":3,\"time\":\"2026-11-25T17:04:44.149Z\",\"cgroup\":\"a/b\"}\n",
		   "removed event");
	vmp__buf_reset(&b);
	vmpd_fmt_dropped(&b, 17);
	CHECK_LINE(&b, "{\"event\":\"dropped\",\"count\":17}\n", "dropped event");

	vmp__buf_reset(&b);
	vmpd_fmt_time(&b, 0);
	CHECK(!strcmp(buf_str(&b), "\"1970-01-01T00:00:00.000Z\""), "the epoch: %s", buf_str(&b));
	vmp__buf_free(&b);
	vmp__buf_free(&tail);
}

static void test_escaping(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
		const char *what;
	} cases[] = {
		{"plain/name", 10, "\"plain/name\"", "plain"},
		{"a\"b", 3, "\"a\\\"b\"", "a quote"},
		{"a\\b", 3, "\"a\\\\b\"", "a backslash"},
		{"\\\"", 2, "\"\\\\\\\"\"", "backslash then quote"},
		{"a\nb\tc\rd", 7, "\"a\\nb\\tc\\rd\"", "newline, tab, CR"},
		{"\x01\x1f", 2, "\"\\u0001\\u001f\"", "control bytes"},
		{"x\x7fy", 3, "\"x\\u007fy\"", "DEL"},
		{"a\0b", 3, "\"a\\u0000b\"", "an embedded NUL"},
		{"caf\xc3\xa9", 5, "\"caf\xc3\xa9\"", "valid UTF-8 is kept"},
		{"\xe2\x82\xac\xf0\x9f\x90\xa7", 7, "\"\xe2\x82\xac\xf0\x9f\x90\xa7\"", "3- and 4-byte UTF-8 kept"},
		{"a\xffz", 3, "\"a\\ufffdz\"", "a byte that is never UTF-8"},
		{"\xc3", 1, "\"\\ufffd\"", "a truncated sequence"},
		{"\xc0\x80", 2, "\"\\ufffd\\ufffd\"", "an overlong NUL"},
		{"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate"},
		{"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF"},
		{"\xe2\x82", 2, "\"\\ufffd\\ufffd\"", "a sequence cut at the end"},
		{"", 0, "\"\"", "empty"},
	};
	struct vmp__buf b;
	vmp__buf_init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vmp__buf_reset(&b);
		vmpd_json_string(&b, cases[i].in, cases[i].n);
		CHECK(b.len == strlen(cases[i].out) && !memcmp(b.p, cases[i].out, b.len), "JSON string: %s", cases[i].what);
	}
	vmp__buf_reset(&b);
	vmpd_json_cstring(&b, NULL);
	CHECK(!strcmp(buf_str(&b), "null"), "NULL is null");

	/* Odd cgroup names in whole lines stay valid JSON. */
	static const char *const odd[] = {"we\"ird", "back\\slash", "new\nline", "tab\there", "\xff\xfe",
					  "caf\xc3\xa9/\xe2\x98\x83", "}{\",\":", "\x1b[31mred"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct vmp_source_event ev = {.cgroup = odd[i], .origin = odd[i], .count = 1, .time_ns = 1,
					      .psi_some_avg10 = -1, .psi_full_avg10 = -1};
		struct vmp__buf tail;
		vmp__buf_init(&tail);
		vmpd_fmt_pressure_tail(&tail, &ev);
		vmp__buf_reset(&b);
		vmpd_fmt_pressure(&b, 1, tail.p, tail.len);
		bool ok = json_valid_line(b.p, b.len);
		vmp__buf_reset(&b);
		vmpd_fmt_removed(&b, 1, 1, odd[i]);
		ok = ok && json_valid_line(b.p, b.len);
		vmp__buf_reset(&b);
		struct vmpd_sub_info s = {.id = 1, .cgroup = odd[i], .args = odd[i]};
		vmpd_fmt_subscribed(&b, &s);
		ok = ok && json_valid_line(b.p, b.len);
		vmp__buf_reset(&b);
		vmpd_fmt_error(&b, VMPD_VERB_SUBSCRIBE, EINVAL, odd[i]);
		ok = ok && json_valid_line(b.p, b.len);
		CHECK(ok, "odd cgroup name %zu gives valid JSON lines", i);
		vmp__buf_free(&tail);
	}
	/* Escaping grows the text: a buffer that has to reallocate. */
	static char many[3000];
	memset(many, '"', sizeof(many));
	vmp__buf_reset(&b);
	vmpd_json_string(&b, many, sizeof(many));
	CHECK(b.len == 2 * sizeof(many) + 2 && !b.oom, "3000 quotes: 6002 bytes");
	vmp__buf_reset(&b);
	vmp__buf_printf(&b, "%s-%0500d", "x", 1);
	CHECK(b.len == 502, "printf longer than the stack buffer");
	vmp__buf_free(&b);
}

static void test_normalize(void)
{
	char out[64];
	struct vmp_error e;
	CHECK(vmp_cgroup_normalize("a/b", 3, out, sizeof(out), NULL) == 0 && !strcmp(out, "a/b"), "a/b");
	CHECK(vmp_cgroup_normalize("", 0, out, sizeof(out), NULL) == 0 && !strcmp(out, "/"), "empty: the root");
	CHECK(vmp_cgroup_normalize("/a/", 3, out, sizeof(out), NULL) == 0 && !strcmp(out, "a"), "/a/");
	CHECK(vmp_cgroup_normalize("//a//b/", 7, out, sizeof(out), NULL) == 0 && !strcmp(out, "a/b"), "//a//b/");
	CHECK(vmp_cgroup_normalize("abcdef", 6, out, 4, &e) == -ENAMETOOLONG, "a result that does not fit: ENAMETOOLONG");
	CHECK(vmp_cgroup_normalize("abc", 3, out, 4, NULL) == 0 && !strcmp(out, "abc"), "a result that just fits");
	CHECK(vmp_cgroup_normalize("a/../b", 6, out, sizeof(out), &e) == -EINVAL && strstr(e.msg, "byte 2"),
	      "a '..' component: EINVAL naming the byte (%s)", e.msg);
	CHECK(vmp_cgroup_normalize("a/b\x01" "c", 5, out, sizeof(out), &e) == -EINVAL && strstr(e.msg, "byte 3") &&
		      strstr(e.msg, "control character"),
	      "a control character: EINVAL naming the byte (%s)", e.msg);
	CHECK(vmp_cgroup_normalize("a\x7f", 2, out, sizeof(out), &e) == -EINVAL, "DEL: EINVAL");
	CHECK(vmp_cgroup_normalize("a\0b", 3, out, sizeof(out), &e) == -EINVAL, "a NUL inside len: EINVAL");
	vmpd_canonical_args(VMP_LEVEL_LOW, VMP_MODE_DEFAULT, out, sizeof(out));
	CHECK(!strcmp(out, "low"), "canonical low,default is low");
	vmpd_canonical_args(VMP_LEVEL_CRITICAL, VMP_MODE_LOCAL, out, sizeof(out));
	CHECK(!strcmp(out, "critical,local"), "canonical critical,local");
	vmpd_canonical_args(VMP_LEVEL_MEDIUM, VMP_MODE_HIERARCHY, out, sizeof(out));
	CHECK(!strcmp(out, "medium,hierarchy"), "canonical medium,hierarchy");
}

static void test_access(void)
{
	struct stat st = {0};
	gid_t groups[] = {10, 20};
	st.st_uid = 1000;
	st.st_gid = 20;
	st.st_mode = S_IFDIR | 0750;
	CHECK(vmpd_may_read(&st, 0, 0, NULL, 0), "root may always read");
	CHECK(vmpd_may_read(&st, 1000, 1000, NULL, 0), "the owner with u+r");
	CHECK(vmpd_may_read(&st, 1001, 20, NULL, 0), "the primary group with g+r");
	CHECK(vmpd_may_read(&st, 1001, 1001, groups, 2), "a supplementary group with g+r");
	CHECK(!vmpd_may_read(&st, 1001, 1001, NULL, 0), "others without o+r");
	st.st_mode = S_IFDIR | 0075;
	CHECK(!vmpd_may_read(&st, 1000, 20, NULL, 0), "the owner class decides: u-r denies the owner though g+r, o+r");
	CHECK(!vmpd_may_read(&st, 1001, 1001, NULL, 0) == false, "others with o+r");
	st.st_mode = S_IFDIR | 0704;
	CHECK(!vmpd_may_read(&st, 1001, 20, NULL, 0), "group class without g+r is denied though o+r");
	st.st_mode = S_IFDIR | 0755;
	CHECK(vmpd_may_read(&st, 65534, 65534, NULL, 0), "0755: everybody");

	/* The walk: root 0755, secret 0700 (root's), child 0755. */
	struct vmpd_chain ch = {.n = 3, .ncomp = 2};
	const char *cg = "secret/child";
	ch.perm[0] = (struct vmpd_perm){S_IFDIR | 0755, 0, 0};
	ch.perm[1] = (struct vmpd_perm){S_IFDIR | 0700, 0, 0};
	ch.perm[2] = (struct vmpd_perm){S_IFDIR | 0755, 0, 0};
	ch.end[0] = 0;
	ch.end[1] = 6;
	ch.end[2] = strlen(cg);
	struct vmpd_cred nobody = {65534, 65534, NULL, 0}, root = {0, 0, NULL, 0};
	CHECK(vmpd_chain_check(&ch, &nobody) == -EACCES, "a 0755 cgroup below a 0700 parent: EACCES");
	CHECK(vmpd_chain_check(&ch, &root) == 0, "root may");
	ch.perm[1].mode = S_IFDIR | 0711;
	CHECK(vmpd_chain_check(&ch, &nobody) == 0, "a parent with search but no read permission lets it through");
	ch.perm[1].mode = S_IFDIR | 0700;
	ch.n = 2;
	ch.err = -ENOENT; /* secret/nonexistent */
	CHECK(vmpd_chain_check(&ch, &nobody) == -EACCES, "a missing name below the 0700 parent: EACCES too (no oracle)");
	ch.perm[1].mode = S_IFDIR | 0755;
	CHECK(vmpd_chain_check(&ch, &nobody) == -ENOENT, "... below a searchable one: ENOENT");
	ch.n = 3;
	ch.err = 0;
	ch.perm[1].mode = S_IFDIR | 0700;
	CHECK(vmpd_chain_visible(&ch, 0, &nobody) == 0, "origin secret/child under a 0700 secret, seen from /: the root");
	CHECK(vmpd_chain_visible(&ch, 0, &root) == strlen(cg), "... root sees all of it");
	ch.perm[1].mode = S_IFDIR | 0755;
	ch.perm[2].mode = S_IFDIR | 0700;
	ch.perm[2].uid = 1000;
	CHECK(vmpd_chain_visible(&ch, 0, &nobody) == 6, "a 0700 child of a readable secret: secret");
	struct vmpd_cred owner = {1000, 1000, NULL, 0};
	CHECK(vmpd_chain_visible(&ch, 0, &owner) == strlen(cg), "... its owner sees the child");
	ch.perm[1].mode = S_IFDIR | 0711;
	CHECK(vmpd_chain_visible(&ch, 1, &owner) == 6, "a parent it may search but not list hides the child's name");
}

static void test_quoting(void)
{
	struct vmpd_request req;
	char msg[512];
	CHECK(parse("subscribe \"my job/a b\" low stream", &req, msg, sizeof(msg)) == 0 &&
		      !strcmp(req.cgroup, "my job/a b"),
	      "a quoted cgroup with spaces");
	CHECK(parse("subscribe \"caf\\xc3\\xa9\" low eventfd", &req, msg, sizeof(msg)) == 0 &&
		      !strcmp(req.cgroup, "caf\xc3\xa9"),
	      "\\xHH bytes: UTF-8 caf\xc3\xa9");
	CHECK(parse("subscribe \"\\\"q\\\\\" low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "\"q\\"),
	      "\\\" and \\\\ escapes");
	CHECK(parse("subscribe a\\b low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "a\\b"),
	      "unquoted: a backslash is itself, as before");
	CHECK(parse("subscribe \"a  b\" low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "a  b"),
	      "two spaces inside quotes are the name's");
	CHECK(parse("subscribe \"\" low stream", &req, msg, sizeof(msg)) == 0 && !strcmp(req.cgroup, "/"),
	      "an empty quoted cgroup is the root");
	CHECK(perr("subscribe \"a b low stream") == EPROTO, "no closing quote: EPROTO");
	CHECK(perr("subscribe \"a\"b low stream") == EPROTO, "a byte after the closing quote: EPROTO");
	CHECK(perr("subscribe \"\\q\" low stream") == EPROTO, "an unknown escape: EPROTO");
	CHECK(perr("subscribe \"\\x00\" low stream") == EPROTO, "\\x00: EPROTO");
	CHECK(perr("subscribe \"\\x2e\\x2e\" low stream") == EINVAL, "an escaped '..' is still refused (EINVAL)");
	CHECK(perr("subscribe \"a\" \"low\" stream") == EINVAL, "quotes are for the cgroup: quoted args do not parse");
}

static void test_debounce(void)
{
	struct vmpd_request req;
	char msg[512];
	CHECK(parse("subscribe a/b low stream", &req, msg, sizeof(msg)) == 0 && !req.debounce && !req.forecast,
	      "no debounce flag: raw");
	CHECK(parse("subscribe a/b low forecast stream", &req, msg, sizeof(msg)) == 0 && req.forecast &&
		      req.forecast_s == 0,
	      "forecast: the default threshold");
	CHECK(parse("subscribe a/b low stream eventfd debounce forecast=12.5", &req, msg, sizeof(msg)) == 0 &&
		      req.forecast && req.forecast_s == 12.5 && req.debounce && req.eventfd,
	      "forecast=12.5 with every other flag");
	CHECK(parse("subscribe a/b low debounce stream", &req, msg, sizeof(msg)) == 0 && req.debounce && req.stream &&
		      req.debounce_cfg.enter == 2 && req.debounce_cfg.window_ns == 1000000000ull,
	      "debounce alone: the defaults, before or after stream");
	CHECK(parse("subscribe a/b medium,local eventfd stream debounce=enter=4,leave=1,dwell=0s,psi=full:2", &req, msg,
		    sizeof(msg)) == 0 &&
		      req.debounce && req.eventfd && req.debounce_cfg.enter == 4 && req.debounce_cfg.leave == 1 &&
		      req.debounce_cfg.dwell_ns == 0 && req.debounce_cfg.psi == VMP_DEBOUNCE_PSI_FULL,
	      "debounce=CONFIG with eventfd and stream (six fields)");
	static const struct {
		const char *line;
		int err;
		const char *msg;
	} bad[] = {
		{"subscribe a low debounce", EPROTO, "needs 'stream'"},
		{"subscribe a low eventfd debounce", EPROTO, "needs 'stream'"},
		{"subscribe a low stream debounce debounce=enter=3", EPROTO, "given twice"},
		{"subscribe a low stream debounce=", EPROTO, "unknown flag"},
		{"subscribe a low stream debouncex", EPROTO, "unknown flag"},
		{"subscribe a low stream eventfd debounce forecast extra", EPROTO, "fields"},
		{"subscribe a low stream eventfd debounce extra", EPROTO, "unknown flag"},
		{"subscribe a low eventfd forecast", EPROTO, "'forecast' needs 'stream'"},
		{"subscribe a low stream forecast forecast=3", EPROTO, "'forecast' given twice"},
		{"subscribe a low stream forecast=0", EINVAL, "bad forecast threshold '0'"},
		{"subscribe a low stream forecast=1.2345", EINVAL, "bad forecast threshold"},
		{"subscribe a low stream forecast=1e3", EINVAL, "bad forecast threshold"},
		{"subscribe a low stream forecast=", EPROTO, "unknown flag"},
		{"subscribe a low stream debounce=window=0s", EINVAL, "byte 7: window '0s'"},
		{"subscribe a low stream debounce=enter=2,leave=2", EINVAL, "leave must be below enter"},
		{"subscribe a/../b low stream debounce=enter=0", EINVAL, "bad cgroup path"},
		{"subscribe a lo stream debounce=enter=0", EINVAL, "bad args"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i].line, &req, msg, sizeof(msg));
		CHECK(rc == bad[i].err && strstr(msg, bad[i].msg), "'%s': %s", bad[i].line, msg);
	}
	/* A transition event: one valid JSON line with every field. */
	struct vmp__buf b;
	vmp__buf_init(&b);
	struct vmp_transition t = {.from = VMP_STATE_LOW, .to = VMP_STATE_CRITICAL, .cause = VMP_CAUSE_CONFIRMED,
				   .time_ns = 1764000000123000000ull, .prev_duration_ns = 2500000000ull,
				   .held_ns = 300000000ull,
				   .ev = {.window_ns = 1000000000ull, .count = {3, 1, 2}, .with_evidence = 6,
					  .scanned = 3072, .reclaimed = 100, .max_pressure = 99, .psi_some_avg10 = 12.5,
					  .psi_full_avg10 = -1, .triggered = true, .trigger_level = VMP_LEVEL_CRITICAL,
					  .origin = "a/\"b"}};
	vmpd_fmt_transition(&b, 7, "a", &t);
	CHECK_LINE(&b,
		   "{\"event\":\"transition\",\"id\":7,\"time\":\"2025-11-24T16:00:00.123Z\",\"cgroup\":\"a\",\"from\":\"low\","
		   "\"to\":\"critical\",\"cause\":\"confirmed\",\"previous_s\":2.500,\"held_s\":0.300,\"window_s\":1.000,"
		   "\"low\":3,\"medium\":1,\"critical\":2,\"with_evidence\":6,\"scanned\":3072,\"reclaimed\":100,"
		   "\"max_pressure\":99,\"psi_some_avg10\":12.50,\"psi_full_avg10\":null,\"trigger_level\":\"critical\","
		   "\"origin\":\"a/\\\"b\"}\n",
		   "transition event, as in the protocol document");
	vmp__buf_reset(&b);
	t.ev.with_evidence = 0;
	t.ev.triggered = false;
	vmpd_fmt_transition(&b, 7, "a", &t);
	CHECK(strstr(b.p, "\"scanned\":null,\"reclaimed\":null,\"max_pressure\":null") &&
		      strstr(b.p, "\"trigger_level\":null,\"origin\":null") && json_valid_line(b.p, b.len),
	      "without evidence and raised by time: nulls");
	vmp__buf_reset(&b);
	struct vmpd_sub_info s = {.id = 3, .cgroup = "a", .args = "low", .stream = true,
				  .debounce = "window=1s,enter=2,leave=0,dwell=2s,psi=off"};
	vmpd_fmt_subscribed(&b, &s);
	CHECK_LINE(&b,
		   "{\"reply\":\"subscribe\",\"ok\":true,\"id\":3,\"cgroup\":\"a\",\"args\":\"low\",\"eventfd\":false,"
		   "\"stream\":true,\"debounce\":\"window=1s,enter=2,leave=0,dwell=2s,psi=off\"}\n",
		   "a debounced subscription's reply names its config");
	vmp__buf_free(&b);
}

int main(void)
{
	test_framing();
	test_requests();
	test_replies();
	test_events();
	test_escaping();
	test_normalize();
	test_access();
	test_quoting();
	test_debounce();
	return check_done("daemon protocol");
}
