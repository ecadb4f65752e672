/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what a client of the metrics endpoint can send, to
 * the daemon's HTTP request parser (src/daemon/metrics/http.c, pure), and the
 * bytes of a cgroup name, to the exposition's label escaping
 * (src/daemon/metrics/metrics.c). Checked, aborting on any violation:
 *  - the parser answers only 0, 200, 400, 404, 405, 414, 431 or 505; 0
 *    only while more bytes could still help (not at end of input, under
 *    8 KiB); a reason always;
 *  - an answer does not depend on what follows: once a prefix has an
 *    answer, every longer prefix has the same one (so the way a
 *    connection's bytes were cut into reads never matters);
 *  - a 200 is GET or HEAD of /metrics, its head ends in '\n' within the
 *    input, and that head alone parses the same;
 *  - the response around any answer has one blank line and a
 *    Content-Length equal to the body that follows it;
 *  - an escaped label value is valid UTF-8 with no raw '"' or newline,
 *    and unescapes to the input wherever the input was valid UTF-8.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_http: check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                 \
		}                                                                \
	} while (0)

static bool known(int st)
{
	return st == 0 || st == 200 || st == 400 || st == 404 || st == 405 || st == 414 || st == 431 ||
	       st == 505;
}

/* Length of the well-formed UTF-8 sequence at s, 0 if none. Written from
 * the Unicode standard's table of well-formed byte sequences (ranges of
 * each byte), not by decoding as metrics.c does: the two must agree. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	static const struct {
		unsigned char lead_lo, lead_hi, second_lo, second_hi, len;
	} rows[] = {
		{0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
		{0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
		{0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi)
			continue;
		size_t k = rows[r].len;
		if (k == 1)
			return 1;
		if (n < k || s[1] < rows[r].second_lo || s[1] > rows[r].second_hi)
			return 0;
		for (size_t i = 2; i < k; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		return k;
	}
	return 0;
}

static void check_label(const uint8_t *data, size_t size)
{
	struct vmp__buf b;
	vmp__buf_init(&b);
	vmpd_prom_label_value(&b, (const char *)data, size);
	CHECK(!b.oom);
	const unsigned char *o = (const unsigned char *)b.p;
	bool valid_in = true;
	for (size_t i = 0; i < size;) {
		size_t k = utf8_valid_prefix(data + i, size - i);
		if (!k) {
			valid_in = false;
			break;
		}
		i += k;
	}
	/* Output: valid UTF-8, no raw quote or newline, escapes well formed;
	 * unescaped, it is the input when the input was valid. */
	unsigned char *un = malloc(b.len + 1);
	CHECK(un);
	size_t u = 0;
	for (size_t i = 0; i < b.len;) {
		CHECK(o[i] != '"' && o[i] != '\n');
		if (o[i] == '\\') {
			CHECK(i + 1 < b.len && (o[i + 1] == '\\' || o[i + 1] == '"' || o[i + 1] == 'n'));
			un[u++] = o[i + 1] == 'n' ? '\n' : o[i + 1];
			i += 2;
			continue;
		}
		size_t k = utf8_valid_prefix(o + i, b.len - i);
		CHECK(k);
		memcpy(un + u, o + i, k);
		u += k;
		i += k;
	}
	if (valid_in)
		CHECK(u == size && (size == 0 || !memcmp(un, data, size)));
	free(un);
	vmp__buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct vmpd_http_request r, r2;
	int all = vmpd_http_parse(s, size, false, &r);
	CHECK(known(all) && (all || size < VMPD_HTTP_HEAD_MAX));
	CHECK(!all || r.reason);
	int fin = vmpd_http_parse(s, size, true, &r2);
	CHECK(fin != 0 && known(fin) && r2.reason);
	CHECK(!all || fin == all);
	if (all == 200) {
		CHECK(r.head_len > 0 && r.head_len <= size && s[r.head_len - 1] == '\n');
		CHECK(!memcmp(s, r.head ? "HEAD /metrics" : "GET /metrics", r.head ? 13 : 12));
		struct vmpd_http_request r3;
		CHECK(vmpd_http_parse(s, r.head_len, false, &r3) == 200 && r3.head_len == r.head_len &&
		      r3.head == r.head);
	}
	/* Prefixes: an answer, once given, stays. Sixteen cut points. */
	for (int k = 1; k <= 16; k++) {
		size_t cut = size * (size_t)k / 17;
		struct vmpd_http_request rp;
		int st = vmpd_http_parse(s, cut, false, &rp);
		CHECK(known(st));
		CHECK(st == 0 || st == all);
	}
	/* The response around the answer. */
	int status = fin;
	struct vmp__buf b;
	vmp__buf_init(&b);
	const char *body = status == 200 ? "up 1\n" : r2.reason;
	size_t bn = strlen(body);
	vmpd_http_response(&b, status, false, body, bn);
	CHECK(!b.oom);
	vmp__buf_add(&b, "", 1);
	const char *end = strstr(b.p, "\r\n\r\n");
	CHECK(end && strstr(end + 4, "\r\n\r\n") == NULL);
	const char *cl = strstr(b.p, "Content-Length: ");
	CHECK(cl && cl < end && strtoul(cl + 16, NULL, 10) == bn && strlen(end + 4) == bn);
	vmp__buf_free(&b);

	check_label(data, size);
	return 0;
}
