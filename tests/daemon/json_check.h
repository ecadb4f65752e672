/* SPDX-License-Identifier: MIT */
/*
 * A strict JSON checker for the daemon's output lines (RFC 8259 grammar):
 * one object, then exactly one '\n', nothing after. Strings must be valid
 * UTF-8 without raw control bytes. Used by the protocol unit test and the
 * request fuzzer, so that every line the formatter can produce is checked
 * by something that was not written to agree with it.
 */
#ifndef VMPD_JSON_CHECK_H
#define VMPD_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jc {
	const unsigned char *p, *end;
	int depth;
};

static bool jc_value(struct jc *j);

static void jc_ws(struct jc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool jc_lit(struct jc *j, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool jc_hex4(struct jc *j, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		if (j->p >= j->end)
			return false;
		unsigned char c = *j->p++;
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		*v = *v << 4 | d;
	}
	return true;
}

static bool jc_string(struct jc *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = *j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			unsigned char e = *j->p++;
			if (e == 'u') {
				unsigned v;
				if (!jc_hex4(j, &v))
					return false;
				if (v >= 0xd800 && v <= 0xdbff) { /* needs a low surrogate */
					unsigned w;
					if (!jc_lit(j, "\\u") || !jc_hex4(j, &w) || w < 0xdc00 || w > 0xdfff)
						return false;
				} else if (v >= 0xdc00 && v <= 0xdfff)
					return false;
			} else if (!strchr("\"\\/bfnrt", e) || e == 0)
				return false;
			continue;
		}
		if (c < 0x80) {
			j->p++;
			continue;
		}
		size_t need;
		unsigned cp;
		if (c >= 0xc2 && c <= 0xdf)
			need = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 4, cp = c & 0x07;
		else
			return false;
		if ((size_t)(j->end - j->p) < need)
			return false;
		for (size_t i = 1; i < need; i++) {
			if ((j->p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (j->p[i] & 0x3f);
		}
		if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		j->p += need;
	}
	return false;
}

static bool jc_number(struct jc *j)
{
	const unsigned char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return false;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		const unsigned char *d = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == d)
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		const unsigned char *d = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == d)
			return false;
	}
	return j->p > s;
}

static bool jc_container(struct jc *j, char open, char close, bool object)
{
	if (++j->depth > 64)
		return false;
	j->p++; /* open */
	(void)open;
	jc_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		jc_ws(j);
		if (object) {
			if (!jc_string(j))
				return false;
			jc_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!jc_value(j))
			return false;
		jc_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

static bool jc_value(struct jc *j)
{
	jc_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return jc_container(j, '{', '}', true);
	case '[':
		return jc_container(j, '[', ']', false);
	case '"':
		return jc_string(j);
	case 't':
		return jc_lit(j, "true");
	case 'f':
		return jc_lit(j, "false");
	case 'n':
		return jc_lit(j, "null");
	default:
		return jc_number(j);
	}
}

/* One JSON object and a single trailing '\n', nothing else. */
static inline bool json_valid_line(const char *s, size_t n)
{
	if (n < 3 || s[n - 1] != '\n' || memchr(s, '\n', n - 1))
		return false;
	struct jc j = {(const unsigned char *)s, (const unsigned char *)s + n - 1, 0};
	if (*j.p != '{' || !jc_value(&j))
		return false;
	return j.p == j.end;
}

#endif
