/* SPDX-License-Identifier: MIT */
/*
 * vmptrace v1 reader. Strict: single spaces between fields, no trailing
 * space, numbers in exactly the documented forms, unknown record kinds
 * rejected. Every error names the line and the field, and shows the bytes
 * that were wrong (escaped if not printable). Blank lines and `#` comments
 * are skipped.
 *
 * It is written for speed (replay must exceed 100 MB/s of trace text):
 * one pass, memchr for line ends, no allocation, no locale-dependent
 * strto* calls.
 */
#include "trace/trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Show at most 40 bytes of a field, escaping what a terminal would hide. */
static const char *show(struct vmp_span s, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < s.n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (i == 40) {
			o += (size_t)snprintf(buf + o, cap - o, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\'')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
	}
	buf[o < cap ? o : cap - 1] = 0;
	return buf;
}

static bool parse_u64(struct vmp_span s, uint64_t *out)
{
	if (s.n == 0 || s.n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return false;
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_gfp(struct vmp_span s, uint32_t *out)
{
	if (s.n < 3 || s.n > 10 || s.p[0] != '0' || s.p[1] != 'x')
		return false;
	uint32_t v = 0;
	for (size_t i = 2; i < s.n; i++) {
		char c = s.p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

static bool parse_int(struct vmp_span s, int *out)
{
	bool neg = s.n > 0 && s.p[0] == '-';
	struct vmp_span d = {s.p + neg, s.n - neg};
	uint64_t v;
	if (!parse_u64(d, &v) || v > (neg ? 2147483648u : 2147483647u))
		return false;
	*out = neg ? (int)(-(int64_t)v) : (int)v;
	return true;
}

/* Seconds: digits, optionally '.' and more digits. */
static bool valid_time(struct vmp_span s)
{
	size_t i = 0;
	while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
		i++;
	if (i == 0)
		return false;
	if (i == s.n)
		return true;
	if (s.p[i++] != '.' || i == s.n)
		return false;
	for (; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

static bool valid_name(struct vmp_span s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

#define MAX_FIELDS 7

/* Split a line at single spaces. The last field of `listen` (args) keeps
 * the rest of the line, spaces included, so the caller passes `rest_at`. */
static int split(const char *p, size_t n, struct vmp_span *f, int rest_at)
{
	int k = 0;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == ' ') {
			if (k == MAX_FIELDS)
				return MAX_FIELDS + 1;
			f[k].p = p + start;
			f[k].n = i - start;
			k++;
			if (k == rest_at && i < n) {
				f[k].p = p + i + 1;
				f[k].n = n - i - 1;
				return k + 1;
			}
			start = i + 1;
		}
	}
	return k;
}

bool vmp__trace_has_work(const char *buf, size_t len)
{
	if (len >= 5 && memcmp(buf, "work ", 5) == 0)
		return true;
	const char *p = buf, *end = buf + len;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if ((size_t)(end - p) >= 5 && memcmp(p, "work ", 5) == 0)
			return true;
	}
	return false;
}

struct kind_desc {
	const char *name;
	enum vmp_trace_kind kind;
	int nfields; /* including the kind */
	const char *usage;
};

static const struct kind_desc kinds[] = {
	{"vmpressure", VMP_REC_VMPRESSURE, 7, "vmpressure <t> <group> <tree> <scanned> <reclaimed> <gfp>"},
	{"prio", VMP_REC_PRIO, 5, "prio <t> <group> <prio> <gfp>"},
	{"work", VMP_REC_WORK, 3, "work <t> <group>"},
	{"group", VMP_REC_GROUP, 3, "group <name> <parent>"},
	{"listen", VMP_REC_LISTEN, 4, "listen <id> <group> <args>"},
	{"expect", VMP_REC_EXPECT, 3, "expect <id> <n>"},
};

#define BAD(field, what)                                                       \
	do {                                                                   \
		char sb[200];                                                  \
		vmp__errorf(err, line, "%s: %s '%s' is not %s", k->name,  \
				 field, show(f[fi], sb, sizeof(sb)), what);     \
		return -EINVAL;                                                \
	} while (0)

static int parse_line(const char *p, size_t n, unsigned long line, struct vmp_trace_rec *rec,
		      struct vmp_error *err)
{
	struct vmp_span f[MAX_FIELDS + 1];
	size_t kl = 0;
	while (kl < n && p[kl] != ' ')
		kl++;
	const struct kind_desc *k = NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == kl && memcmp(kinds[i].name, p, kl) == 0)
			k = &kinds[i];
	if (!k) {
		char sb[200];
		vmp__errorf(err, line, "unknown record kind '%s'",
				 show((struct vmp_span){p, kl}, sb, sizeof(sb)));
		return -EINVAL;
	}
	int nf = split(p, n, f, k->kind == VMP_REC_LISTEN ? 3 : -1);
	if (nf != k->nfields) {
		vmp__errorf(err, line, "%s: expected %d fields separated by single spaces, found %d (usage: %s)",
				 k->name, k->nfields - 1, nf - 1, k->usage);
		return -EINVAL;
	}
	for (int i = 1; i < nf; i++)
		if (f[i].n == 0) {
			vmp__errorf(err, line, "%s: field %d is empty (a double or trailing space?)", k->name, i);
			return -EINVAL;
		}
	memset(rec, 0, sizeof(*rec));
	rec->kind = k->kind;
	rec->line = line;
	int fi = 1;
	uint64_t v;
	switch (k->kind) {
	case VMP_REC_VMPRESSURE:
	case VMP_REC_PRIO:
	case VMP_REC_WORK:
		if (!valid_time(f[fi]))
			BAD("time", "seconds (digits, optionally '.' and digits)");
		rec->t = f[fi++];
		if (!valid_name(f[fi]))
			BAD("group", "a group name");
		rec->group = f[fi++];
		if (k->kind == VMP_REC_VMPRESSURE) {
			if (f[fi].n != 1 || (f[fi].p[0] != '0' && f[fi].p[0] != '1'))
				BAD("tree", "0 or 1");
			rec->tree = f[fi++].p[0] == '1';
			if (!parse_u64(f[fi], &rec->scanned))
				BAD("scanned", "an unsigned 64-bit decimal");
			fi++;
			if (!parse_u64(f[fi], &rec->reclaimed))
				BAD("reclaimed", "an unsigned 64-bit decimal");
			fi++;
		} else if (k->kind == VMP_REC_PRIO) {
			if (!parse_int(f[fi], &rec->prio))
				BAD("prio", "a 32-bit signed decimal");
			fi++;
		}
		if (k->kind != VMP_REC_WORK && !parse_gfp(f[fi], &rec->gfp))
			BAD("gfp", "a 32-bit hex mask written 0x...");
		break;
	case VMP_REC_GROUP:
		if (!valid_name(f[fi]))
			BAD("name", "a group name");
		rec->group = f[fi++];
		if (!valid_name(f[fi]))
			BAD("parent", "a group name or '-'");
		rec->parent = f[fi];
		break;
	case VMP_REC_LISTEN:
	case VMP_REC_EXPECT:
		if (!parse_u64(f[fi], &v) || v > VMP_TRACE_MAX_ID)
			BAD("id", "a listener id from 0 to 65535");
		rec->id = (unsigned)v;
		fi++;
		if (k->kind == VMP_REC_LISTEN) {
			if (!valid_name(f[fi]))
				BAD("group", "a group name");
			rec->group = f[fi++];
			if (memchr(f[fi].p, 0, f[fi].n))
				BAD("args", "text without NUL bytes");
			rec->args = f[fi];
		} else {
			if (!parse_u64(f[fi], &rec->count))
				BAD("count", "an unsigned 64-bit decimal");
		}
		break;
	}
	return 0;
}

int vmp__trace_parse(const char *buf, size_t len, vmp_trace_fn fn, void *arg, struct vmp_error *err)
{
	const char *p = buf, *end = buf + len;
	unsigned long line = 0;
	struct vmp_trace_rec rec;

	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[0] != '#') {
			int rc = parse_line(p, n, line, &rec, err);
			if (!rc)
				rc = fn(&rec, arg, err);
			if (rc)
				return rc;
		}
		p += n + 1;
	}
	return 0;
}
