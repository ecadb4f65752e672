/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what a vmpressured client can send, through the
 * daemon's pure protocol layer (src/daemon/protocol.c).
 *
 * The first input byte seeds how the rest is cut into reads; the rest is
 * fed to the framer as a client's byte stream. Checked, aborting on any
 * violation:
 *  - framing equals an independent reference (split at '\n'; a segment of
 *    1024 bytes or more is one OVERLONG, even when its newline never
 *    comes), whatever the read sizes;
 *  - every line parses to 0, EPROTO or EINVAL; a line with a byte outside
 *    0x20..0x7e, a leading, trailing or double space is EPROTO;
 *  - a parsed request round-trips: its canonical text parses to the same
 *    request; a normalised cgroup is "/" or has no empty, "." or ".."
 *    component, and normalising it again changes nothing;
 *  - every reply and event built from it (the error with its message, the
 *    subscribe reply, a list item, a pressure event whose origin is the raw
 *    line, bytes and all) is exactly one valid JSON line (json_check.h).
 */
#include "protocol.h"
#include "json_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_request: %s: line \"", what);
	for (size_t i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)line[i];
		fprintf(stderr, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
	}
	fprintf(stderr, "\" (%zu bytes)\n", len);
	abort();
}

static struct vmp__buf out;

static void must_be_json(const char *what, const char *line, size_t len)
{
	if (out.oom || !json_valid_line(out.p, out.len))
		fail(what, line, len);
	vmp__buf_reset(&out);
}

static bool cgroup_ok(const char *cg)
{
	if (!strcmp(cg, "/"))
		return true;
	size_t n = strlen(cg);
	if (!n || cg[0] == '/' || cg[n - 1] == '/' || strstr(cg, "//"))
		return false;
	for (const char *p = cg; *p;) {
		const char *e = strchr(p, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if ((k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.') || k > 255)
			return false;
		p += k + (e ? 1 : 0);
	}
	return true;
}

/* A cgroup as a request field, by the documented rule: quoted when it has
 * a byte outside 0x21..0x7e or starts with '"'. */
static void quote(const char *cg, char *out, size_t cap)
{
	bool plain = cg[0] != '"';
	for (const unsigned char *p = (const unsigned char *)cg; *p && plain; p++)
		plain = *p > 0x20 && *p < 0x7f;
	if (plain) {
		snprintf(out, cap, "%s", cg);
		return;
	}
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)cg; *p && o + 6 < cap; p++)
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	out[o++] = '"';
	out[o] = 0;
}

static void check_line(const char *line, size_t len)
{
	static struct vmpd_request req, again;
	char msg[512];
	int rc = vmpd_parse_request(line, len, &req, msg, sizeof(msg));
	if (rc != 0 && rc != EPROTO && rc != EINVAL)
		fail("unexpected result", line, len);
	bool bad_bytes = false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			bad_bytes = true;
	/* Spaces: none leading or trailing, none doubled outside a quoted
	 * field (a field that starts with '"' runs to its closing quote, a
	 * backslash taking the next byte along: docs/protocol.md). */
	bool bad_spaces = len && (line[0] == ' ' || line[len - 1] == ' ');
	for (size_t i = 0, start = 1; i < len && !bad_spaces; i++) {
		if (start && line[i] == '"') {
			for (i++; i < len && line[i] != '"'; i++)
				if (line[i] == '\\')
					i++;
			start = 0;
			continue;
		}
		if (line[i] == ' ' && i + 1 < len && line[i + 1] == ' ')
			bad_spaces = true;
		start = line[i] == ' ';
	}
	if ((bad_bytes || bad_spaces || len == 0) && rc != EPROTO)
		fail("a malformed line was not EPROTO", line, len);
	if (rc && !msg[0])
		fail("an error without a message", line, len);

	vmpd_fmt_error(&out, req.verb, rc ? rc : EPROTO, msg);
	must_be_json("error reply", line, len);
	/* The raw line as a cgroup/origin: arbitrary bytes must still make JSON. */
	struct vmp_source_event ev = {.cgroup = "x", .count = 1, .time_ns = 1, .psi_some_avg10 = -1,
				      .psi_full_avg10 = 2.5};
	char *raw = malloc(len + 1);
	if (!raw)
		return;
	memcpy(raw, line, len);
	raw[len] = 0; /* an embedded NUL ends it early, as for any C string */
	ev.origin = raw;
	ev.cgroup = raw;
	vmp__buf_reset(&out);
	struct vmp__buf tail;
	vmp__buf_init(&tail);
	vmpd_fmt_pressure_tail(&tail, &ev);
	vmpd_fmt_pressure(&out, 7, tail.p, tail.len);
	must_be_json("pressure event with the line as its origin", line, len);
	vmpd_fmt_removed(&out, 7, 1, raw);
	must_be_json("removed event", line, len);
	vmp__buf_free(&tail);
	free(raw);
	if (rc)
		return;

	/* A parsed request round-trips through its canonical text. */
	char canon[3 * VMPD_LINE_MAX], qcg[5 * VMPD_LINE_MAX];
	switch (req.verb) {
	case VMPD_VERB_HELLO:
		snprintf(canon, sizeof(canon), "hello %u", req.version);
		break;
	case VMPD_VERB_SUBSCRIBE:
		if (!cgroup_ok(req.cgroup))
			fail("badly normalised cgroup", line, len);
		char twice[VMPD_LINE_MAX];
		if (vmp_cgroup_normalize(req.cgroup, strlen(req.cgroup), twice, sizeof(twice), NULL) ||
		    strcmp(twice, req.cgroup))
			fail("normalising is not idempotent", line, len);
		if (!req.eventfd && !req.stream)
			fail("a subscription without eventfd or stream", line, len);
		quote(req.cgroup, qcg, sizeof(qcg));
		snprintf(canon, sizeof(canon), "subscribe %s %s%s%s", qcg, req.args,
			 req.eventfd ? " eventfd" : "", req.stream ? " stream" : "");
		struct vmpd_sub_info si = {.id = 1, .cgroup = req.cgroup, .args = req.args, .eventfd = req.eventfd,
					   .stream = req.stream};
		vmpd_fmt_subscribed(&out, &si);
		must_be_json("subscribe reply", line, len);
		vmpd_fmt_list_begin(&out);
		vmpd_fmt_list_item(&out, &si, true);
		vmpd_fmt_list_item(&out, &si, false);
		vmpd_fmt_list_end(&out);
		must_be_json("list reply", line, len);
		break;
	case VMPD_VERB_UNSUBSCRIBE:
		snprintf(canon, sizeof(canon), "unsubscribe %llu", (unsigned long long)req.id);
		break;
	case VMPD_VERB_LIST:
		snprintf(canon, sizeof(canon), "list");
		break;
	case VMPD_VERB_STATUS:
		snprintf(canon, sizeof(canon), "status");
		break;
	default:
		fail("success without a verb", line, len);
	}
	size_t cl = strlen(canon);
	if (cl >= VMPD_LINE_MAX)
		return; /* a normalised path can only be shorter; args as given */
	if (vmpd_parse_request(canon, cl, &again, msg, sizeof(msg)) != 0 || again.verb != req.verb ||
	    strcmp(again.cgroup, req.cgroup) || strcmp(again.args, req.args) || again.level != req.level ||
	    again.mode != req.mode || again.eventfd != req.eventfd || again.stream != req.stream ||
	    again.id != req.id || again.version != req.version)
		fail("the canonical text does not parse to the same request", line, len);
}

/* The reference framing: the items the framer must produce, in order. */
struct item {
	bool overlong;
	size_t off, len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	static struct item ref[70000];
	if (n >= 70000)
		return 0;
	size_t nref = 0;
	for (size_t s = 0; s <= n;) {
		const char *nl = memchr(in + s, '\n', n - s);
		size_t e = nl ? (size_t)(nl - in) : n;
		if (e - s >= VMPD_LINE_MAX)
			ref[nref++] = (struct item){.overlong = true};
		else if (nl)
			ref[nref++] = (struct item){.off = s, .len = e - s};
		if (!nl)
			break;
		s = e + 1;
	}

	struct vmpd_framer *f = malloc(sizeof(*f));
	if (!f)
		return 0;
	vmpd_framer_init(f);
	size_t i = 0, got = 0;
	unsigned x = seed * 2654435761u + 1;
	for (;;) {
		const char *line;
		size_t len;
		enum vmpd_frame r;
		while ((r = vmpd_framer_next(f, &line, &len)) != VMPD_FRAME_NONE) {
			if (got == nref)
				fail("the framer produced more items than the reference", "", 0);
			struct item *it = &ref[got++];
			if (r == VMPD_FRAME_OVERLONG) {
				if (!it->overlong)
					fail("OVERLONG where the reference has a line", in + it->off, it->len);
				continue;
			}
			if (it->overlong || len != it->len || memcmp(line, in + it->off, len))
				fail("a line differs from the reference", line, len);
			check_line(line, len);
		}
		if (i == n)
			break;
		size_t room;
		char *p = vmpd_framer_space(f, &room);
		if (!room)
			fail("no room after NONE", "", 0);
		x = x * 1103515245u + 12345u;
		size_t k = 1 + (x >> 16) % (seed & 1 ? 7u : 1500u);
		if (k > room)
			k = room;
		if (k > n - i)
			k = n - i;
		memcpy(p, in + i, k);
		vmpd_framer_commit(f, k);
		i += k;
	}
	if (got != nref)
		fail("the framer produced fewer items than the reference", "", 0);
	free(f);
	return 0;
}
