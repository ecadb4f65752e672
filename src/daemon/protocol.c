/* SPDX-License-Identifier: MIT */
/*
 * The control protocol, pure part (see protocol.h and docs/protocol.md).
 *
 * Parsing is deliberately unforgiving: a request is printable ASCII, its
 * fields are separated by exactly one space, and every field is checked in
 * full. A daemon that guesses what a client meant ends up with two dialects
 * to support; one that rejects everything it does not understand, with a
 * reason, has one. Syntax errors (EPROTO) are reported before semantic ones
 * (EINVAL), so a malformed line never gets a misleading reason.
 */
#include "protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- framing ------------------------------------------------------------ */

void vmpd_framer_init(struct vmpd_framer *f)
{
	f->start = f->len = 0;
	f->discarding = false;
}

char *vmpd_framer_space(struct vmpd_framer *f, size_t *room)
{
	/* Consumed bytes are dropped lazily, here, so that a line returned by
	 * next() is never moved while the caller may still look at it. */
	if (f->start) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->start = 0;
	}
	*room = sizeof(f->buf) - f->len;
	return f->buf + f->len;
}

void vmpd_framer_commit(struct vmpd_framer *f, size_t n)
{
	if (n > sizeof(f->buf) - f->len)
		n = sizeof(f->buf) - f->len;
	f->len += n;
}

size_t vmpd_framer_pending(const struct vmpd_framer *f)
{
	return f->len - f->start;
}

enum vmpd_frame vmpd_framer_next(struct vmpd_framer *f, const char **line, size_t *len)
{
	for (;;) {
		char *p = f->buf + f->start;
		size_t avail = f->len - f->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		if (f->discarding) {
			if (!nl) {
				f->start = f->len = 0;
				return VMPD_FRAME_NONE;
			}
			f->start += (size_t)(nl - p) + 1;
			f->discarding = false;
			continue;
		}
		if (nl) {
			*line = p;
			*len = (size_t)(nl - p);
			f->start += *len + 1;
			return VMPD_FRAME_LINE;
		}
		/* No newline in a full buffer: the line has at least
		 * VMPD_LINE_MAX bytes before its newline, one too many. */
		if (f->start == 0 && f->len == sizeof(f->buf)) {
			f->start = f->len = 0;
			f->discarding = true;
			return VMPD_FRAME_OVERLONG;
		}
		return VMPD_FRAME_NONE;
	}
}

/* ---- requests ------------------------------------------------------------ */

struct field {
	const char *p;
	size_t n;
	bool quoted; /* "..." (docs/protocol.md): p and n include the quotes */
};

static bool field_is(const struct field *f, const char *s)
{
	return strlen(s) == f->n && memcmp(f->p, s, f->n) == 0;
}

/* For "%.*s": a field is not NUL-terminated, so its length bounds it. */
static int clip(const struct field *f, size_t max)
{
	return (int)(f->n < max ? f->n : max);
}

#define MAX_FIELDS 7 /* one more than any request has, to detect extra ones */

int vmpd_cgroup_normalize(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	while (i < len) {
		while (i < len && in[i] == '/')
			i++;
		if (i == len)
			break;
		size_t s = i;
		while (i < len && in[i] != '/')
			i++;
		size_t n = i - s;
		if ((n == 1 && in[s] == '.') || (n == 2 && in[s] == '.' && in[s + 1] == '.'))
			return -EINVAL;
		if (n > 255)
			return -EINVAL;
		if (o + (o ? 1 : 0) + n + 1 > cap)
			return -EINVAL;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + s, n);
		o += n;
	}
	if (!o) {
		if (cap < 2)
			return -EINVAL;
		out[o++] = '/';
	}
	out[o] = 0;
	return 0;
}

void vmpd_canonical_args(vmp_level level, vmp_mode mode, char *out, size_t cap)
{
	const char *l = vmp_level_name(level), *m = vmp_mode_name(mode);
	if (mode == VMP_MODE_DEFAULT || !m)
		snprintf(out, cap, "%s", l ? l : "low");
	else
		snprintf(out, cap, "%s,%s", l ? l : "low", m);
}

/* A decimal number: "0" or no leading zero, at most 20 digits, fits. */
static bool parse_u64(const struct field *f, uint64_t *out)
{
	if (f->n == 0 || f->n > 20 || (f->n > 1 && f->p[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < f->n; i++) {
		unsigned d = (unsigned)(f->p[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int fail(char *msg, size_t cap, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *msg, size_t cap, int err, const char *fmt, ...)
{
	if (cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A quoted cgroup's bytes: \\ \" and \xHH (any byte but NUL: a name
 * with spaces, quotes or non-ASCII bytes). 0, or EPROTO with the offset. */
static int unquote(const struct field *f, char *out, size_t *olen, char *msg, size_t cap)
{
	size_t o = 0;
	for (size_t i = 1; i + 1 < f->n; i++) {
		char c = f->p[i];
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		char e = f->p[i + 1];
		if (e == '\\' || e == '"') {
			out[o++] = e;
			i++;
		} else if (e == 'x' && i + 3 < f->n && hexval(f->p[i + 2]) >= 0 && hexval(f->p[i + 3]) >= 0) {
			int v = hexval(f->p[i + 2]) * 16 + hexval(f->p[i + 3]);
			if (!v)
				return fail(msg, cap, EPROTO, "\\x00 in the quoted cgroup (byte %zu): a name has no NUL",
					    i);
			out[o++] = (char)v;
			i += 3;
		} else
			return fail(msg, cap, EPROTO,
				    "unknown escape at byte %zu of the quoted cgroup: use \\\\, \\\" or \\xHH", i);
	}
	*olen = o;
	return 0;
}

static int parse_subscribe(const struct field *f, size_t nf, struct vmpd_request *req, char *msg,
			   size_t cap)
{
	if (nf < 4 || nf > 6)
		return fail(msg, cap, EPROTO,
			    "subscribe takes a cgroup, args and one or two of 'eventfd', 'stream', and 'debounce[=CONFIG]' (%zu fields)",
			    nf);
	const struct field *dflag = NULL;
	for (size_t i = 3; i < nf; i++) {
		bool is_db = field_is(&f[i], "debounce") || (f[i].n > 9 && !memcmp(f[i].p, "debounce=", 9));
		if (field_is(&f[i], "eventfd") && !req->eventfd)
			req->eventfd = true;
		else if (field_is(&f[i], "stream") && !req->stream)
			req->stream = true;
		else if (is_db && !dflag)
			dflag = &f[i];
		else if (field_is(&f[i], "eventfd") || field_is(&f[i], "stream"))
			return fail(msg, cap, EPROTO, "flag '%.*s' given twice", (int)f[i].n, f[i].p);
		else if (is_db)
			return fail(msg, cap, EPROTO, "flag 'debounce' given twice");
		else
			return fail(msg, cap, EPROTO, "unknown flag '%.*s%s' (eventfd, stream, debounce[=CONFIG])",
				    clip(&f[i], 64), f[i].p, f[i].n > 64 ? "..." : "");
	}
	if (dflag && !req->stream)
		return fail(msg, cap, EPROTO, "'debounce' needs 'stream': transitions are stream events");
	if (!req->eventfd && !req->stream)
		return fail(msg, cap, EPROTO, "subscribe needs 'eventfd' or 'stream' (or both)");
	char raw[VMPD_LINE_MAX];
	const char *cg = f[1].p;
	size_t cgn = f[1].n;
	if (f[1].quoted) {
		int rc = unquote(&f[1], raw, &cgn, msg, cap);
		if (rc)
			return rc;
		cg = raw;
	}
	if (vmpd_cgroup_normalize(cg, cgn, req->cgroup, sizeof(req->cgroup)))
		return fail(msg, cap, EINVAL,
			    "bad cgroup path '%.*s%s': '.' and '..' components and names over 255 bytes are not allowed",
			    clip(&f[1], 64), f[1].p, f[1].n > 64 ? "..." : "");
	memcpy(req->args, f[2].p, f[2].n);
	req->args[f[2].n] = 0;
	if (vmp_parse_args(req->args, &req->level, &req->mode))
		return fail(msg, cap, EINVAL,
			    "bad args '%.64s%s': use level[,mode] (levels: low medium critical; modes: default hierarchy local)",
			    req->args, f[2].n > 64 ? "..." : "");
	if (dflag) {
		char text[VMPD_LINE_MAX];
		struct vmp_error err;
		size_t n = dflag->n > 9 ? dflag->n - 9 : 0;
		memcpy(text, dflag->p + 9, n);
		text[n] = 0;
		if (vmp_debounce_parse(text, &req->debounce_cfg, &err))
			return fail(msg, cap, EINVAL, "bad debounce config (after 'debounce='): %s", err.msg);
		req->debounce = true;
	}
	return 0;
}

int vmpd_parse_request(const char *line, size_t len, struct vmpd_request *req, char *msg,
		       size_t cap)
{
	memset(req, 0, offsetof(struct vmpd_request, cgroup));
	req->cgroup[0] = req->args[0] = 0;
	req->eventfd = req->stream = false;
	req->debounce = false;
	vmp_debounce_config_init(&req->debounce_cfg);
	req->id = 0;
	req->version = 0;
	if (cap)
		msg[0] = 0;
	if (len >= VMPD_LINE_MAX)
		return fail(msg, cap, EMSGSIZE, "request longer than %u bytes", VMPD_LINE_MAX);
	if (len == 0)
		return fail(msg, cap, EPROTO, "empty request");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c > 0x7e)
			return fail(msg, cap, EPROTO, "byte 0x%02x at offset %zu is not printable ASCII", c, i);
	}
	if (line[0] == ' ' || line[len - 1] == ' ')
		return fail(msg, cap, EPROTO, "leading or trailing space");

	struct field f[MAX_FIELDS];
	size_t nf = 0;
	for (size_t i = 0; i < len;) {
		size_t s = i;
		bool quoted = line[i] == '"';
		if (quoted) {
			/* To its closing quote; a backslash takes the next byte with it. */
			for (i++; i < len && line[i] != '"'; i++)
				if (line[i] == '\\' && i + 1 < len)
					i++;
			if (i == len)
				return fail(msg, cap, EPROTO, "the quoted field at offset %zu has no closing '\"'", s);
			i++;
			if (i < len && line[i] != ' ')
				return fail(msg, cap, EPROTO, "a quoted field ends at its closing '\"' (offset %zu)", i - 1);
		} else
			while (i < len && line[i] != ' ')
				i++;
		if (i == s)
			return fail(msg, cap, EPROTO, "fields are separated by exactly one space");
		if (nf == MAX_FIELDS) {
			nf++;
			break;
		}
		f[nf].p = line + s;
		f[nf].n = i - s;
		f[nf].quoted = quoted;
		nf++;
		if (i < len)
			i++; /* the one space */
	}

	const struct field *verb = &f[0];
	if (field_is(verb, "hello")) {
		req->verb = VMPD_VERB_HELLO;
		if (nf != 2)
			return fail(msg, cap, EPROTO, "usage: hello 1");
		uint64_t v;
		if (!parse_u64(&f[1], &v))
			return fail(msg, cap, EPROTO, "protocol version '%.*s%s' is not a number", clip(&f[1], 32),
				    f[1].p, f[1].n > 32 ? "..." : "");
		if (v != VMPD_PROTOCOL_VERSION)
			return fail(msg, cap, EPROTO, "unsupported protocol version %" PRIu64 " (this daemon speaks %d)",
				    v, VMPD_PROTOCOL_VERSION);
		req->version = (unsigned)v;
		return 0;
	}
	if (field_is(verb, "subscribe")) {
		req->verb = VMPD_VERB_SUBSCRIBE;
		return parse_subscribe(f, nf, req, msg, cap);
	}
	if (field_is(verb, "unsubscribe")) {
		req->verb = VMPD_VERB_UNSUBSCRIBE;
		if (nf != 2)
			return fail(msg, cap, EPROTO, "usage: unsubscribe ID");
		if (!parse_u64(&f[1], &req->id))
			return fail(msg, cap, EPROTO, "subscription id '%.*s%s' is not a decimal number", clip(&f[1], 32), f[1].p,
				    f[1].n > 32 ? "..." : "");
		return 0;
	}
	if (field_is(verb, "list") || field_is(verb, "status")) {
		req->verb = field_is(verb, "list") ? VMPD_VERB_LIST : VMPD_VERB_STATUS;
		if (nf != 1)
			return fail(msg, cap, EPROTO, "%s takes no arguments",
				    req->verb == VMPD_VERB_LIST ? "list" : "status");
		return 0;
	}
	return fail(msg, cap, EPROTO, "unknown request '%.*s%s' (hello, subscribe, unsubscribe, list, status)",
		    clip(verb, 32), verb->p, verb->n > 32 ? "..." : "");
}

const char *vmpd_errno_name(int err)
{
	switch (err < 0 ? -err : err) {
	case EPROTO: return "EPROTO";
	case EMSGSIZE: return "EMSGSIZE";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case ENOTSUP: return "ENOTSUP";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EBUSY: return "EBUSY";
	case ENOTDIR: return "ENOTDIR";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EAGAIN: return "EAGAIN";
	default: return "EIO";
	}
}

/* ---- text buffer ------------------------------------------------------------- */

void vmpd_buf_init(struct vmpd_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

void vmpd_buf_free(struct vmpd_buf *b)
{
	free(b->p);
	vmpd_buf_init(b);
}

void vmpd_buf_reset(struct vmpd_buf *b)
{
	b->len = 0;
	b->oom = false;
}

static bool reserve(struct vmpd_buf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void vmpd_buf_add(struct vmpd_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void vmpd_buf_puts(struct vmpd_buf *b, const char *s)
{
	vmpd_buf_add(b, s, strlen(s));
}

void vmpd_buf_printf(struct vmpd_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		vmpd_buf_add(b, tmp, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- JSON -------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

void vmpd_json_string(struct vmpd_buf *b, const char *s, size_t n)
{
	if (!s) {
		vmpd_buf_puts(b, "null");
		return;
	}
	vmpd_buf_add(b, "\"", 1);
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* bytes copied verbatim, flushed in one go */
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t k = 1;
		const char *esc = NULL;
		char tmp[8];
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\r')
			esc = "\\r";
		else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			esc = tmp;
		} else if (c >= 0x80) {
			k = utf8_len(u + i, n - i);
			if (!k) {
				esc = "\\ufffd";
				k = 1;
			}
		}
		if (esc) {
			vmpd_buf_add(b, s + i - run, run);
			run = 0;
			vmpd_buf_puts(b, esc);
		} else
			run += k;
		i += k;
	}
	vmpd_buf_add(b, s + n - run, run);
	vmpd_buf_add(b, "\"", 1);
}

void vmpd_json_cstring(struct vmpd_buf *b, const char *s)
{
	vmpd_json_string(b, s, s ? strlen(s) : 0);
}

static void json_double(struct vmpd_buf *b, double v, int prec, bool null_if_negative)
{
	if (!isfinite(v) || (null_if_negative && v < 0))
		vmpd_buf_puts(b, "null");
	else
		vmpd_buf_printf(b, "%.*f", prec, v);
}

static void reply_head(struct vmpd_buf *b, const char *verb, bool ok)
{
	vmpd_buf_puts(b, "{\"reply\":");
	vmpd_json_cstring(b, verb);
	vmpd_buf_puts(b, ok ? ",\"ok\":true" : ",\"ok\":false");
}

static const char *verb_name(enum vmpd_verb v)
{
	switch (v) {
	case VMPD_VERB_HELLO: return "hello";
	case VMPD_VERB_SUBSCRIBE: return "subscribe";
	case VMPD_VERB_UNSUBSCRIBE: return "unsubscribe";
	case VMPD_VERB_LIST: return "list";
	case VMPD_VERB_STATUS: return "status";
	default: return NULL;
	}
}

void vmpd_fmt_error(struct vmpd_buf *b, enum vmpd_verb verb, int err, const char *msg)
{
	reply_head(b, verb_name(verb), false);
	vmpd_buf_puts(b, ",\"error\":\"");
	vmpd_buf_puts(b, vmpd_errno_name(err));
	vmpd_buf_puts(b, "\",\"message\":");
	vmpd_json_cstring(b, msg ? msg : "");
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_hello(struct vmpd_buf *b)
{
	reply_head(b, "hello", true);
	vmpd_buf_printf(b, ",\"version\":%d}\n", VMPD_PROTOCOL_VERSION);
}

static void sub_fields(struct vmpd_buf *b, const struct vmpd_sub_info *s)
{
	vmpd_buf_printf(b, "\"id\":%" PRIu64 ",\"cgroup\":", s->id);
	vmpd_json_cstring(b, s->cgroup);
	vmpd_buf_puts(b, ",\"args\":");
	vmpd_json_cstring(b, s->args);
	vmpd_buf_puts(b, s->eventfd ? ",\"eventfd\":true" : ",\"eventfd\":false");
	vmpd_buf_puts(b, s->stream ? ",\"stream\":true" : ",\"stream\":false");
	if (s->debounce) {
		vmpd_buf_puts(b, ",\"debounce\":");
		vmpd_json_cstring(b, s->debounce);
	}
}

void vmpd_fmt_subscribed(struct vmpd_buf *b, const struct vmpd_sub_info *s)
{
	reply_head(b, "subscribe", true);
	vmpd_buf_puts(b, ",");
	sub_fields(b, s);
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_unsubscribed(struct vmpd_buf *b, uint64_t id)
{
	reply_head(b, "unsubscribe", true);
	vmpd_buf_printf(b, ",\"id\":%" PRIu64 "}\n", id);
}

void vmpd_fmt_list_begin(struct vmpd_buf *b)
{
	reply_head(b, "list", true);
	vmpd_buf_puts(b, ",\"subscriptions\":[");
}

void vmpd_fmt_list_item(struct vmpd_buf *b, const struct vmpd_sub_info *s, bool first)
{
	vmpd_buf_puts(b, first ? "{" : ",{");
	sub_fields(b, s);
	vmpd_buf_printf(b, ",\"events\":%" PRIu64 "}", s->events);
}

void vmpd_fmt_list_end(struct vmpd_buf *b)
{
	vmpd_buf_puts(b, "]}\n");
}

void vmpd_fmt_status(struct vmpd_buf *b, const struct vmpd_status *s)
{
	reply_head(b, "status", true);
	vmpd_buf_printf(b, ",\"version\":%d,\"source\":", VMPD_PROTOCOL_VERSION);
	vmpd_json_cstring(b, s->source);
	vmpd_buf_puts(b, ",\"uptime_s\":");
	json_double(b, s->uptime_s, 3, true);
	vmpd_buf_printf(b,
			",\"clients\":%" PRIu64 ",\"subscriptions\":%" PRIu64 ",\"events\":%" PRIu64
			",\"dropped\":%" PRIu64,
			s->clients, s->subscriptions, s->events, s->dropped);
	if (s->scope) {
		vmpd_buf_puts(b, ",\"scope\":");
		vmpd_json_cstring(b, s->scope);
	}
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_time(struct vmpd_buf *b, uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		vmpd_buf_puts(b, "null");
		return;
	}
	vmpd_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns / 1000000u % 1000u));
}

void vmpd_fmt_pressure_tail(struct vmpd_buf *b, const struct vmp_source_event *ev)
{
	vmpd_buf_puts(b, "\"time\":");
	vmpd_fmt_time(b, ev->time_ns);
	vmpd_buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, ev->cgroup);
	vmpd_buf_puts(b, ",\"origin\":");
	vmpd_json_cstring(b, ev->flags & VMP_EVENT_NO_EVIDENCE ? NULL : ev->origin);
	vmpd_buf_puts(b, ",\"level\":");
	vmpd_json_cstring(b, vmp_level_name(ev->level));
	vmpd_buf_printf(b, ",\"count\":%" PRIu64, ev->count);
	if (ev->flags & VMP_EVENT_NO_EVIDENCE)
		vmpd_buf_puts(b, ",\"scanned\":null,\"reclaimed\":null,\"pressure\":null");
	else
		vmpd_buf_printf(b, ",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"pressure\":%" PRIu64,
				ev->scanned, ev->reclaimed, ev->pressure);
	vmpd_buf_puts(b, ",\"psi_some_avg10\":");
	json_double(b, ev->psi_some_avg10, 2, true);
	vmpd_buf_puts(b, ",\"psi_full_avg10\":");
	json_double(b, ev->psi_full_avg10, 2, true);
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_pressure(struct vmpd_buf *b, uint64_t id, const char *tail, size_t tail_len)
{
	vmpd_buf_printf(b, "{\"event\":\"pressure\",\"id\":%" PRIu64 ",", id);
	vmpd_buf_add(b, tail, tail_len);
}

void vmpd_fmt_transition(struct vmpd_buf *b, uint64_t id, const char *cgroup,
			 const struct vmp_transition *t)
{
	const struct vmp_debounce_evidence *e = &t->ev;
	vmpd_buf_printf(b, "{\"event\":\"transition\",\"id\":%" PRIu64 ",\"time\":", id);
	vmpd_fmt_time(b, t->time_ns);
	vmpd_buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, cgroup);
	vmpd_buf_printf(b, ",\"from\":\"%s\",\"to\":\"%s\",\"cause\":\"%s\"", vmp_state_name(t->from),
			vmp_state_name(t->to), vmp_cause_name(t->cause));
	vmpd_buf_puts(b, ",\"previous_s\":");
	json_double(b, (double)t->prev_duration_ns / 1e9, 3, true);
	vmpd_buf_puts(b, ",\"held_s\":");
	json_double(b, (double)t->held_ns / 1e9, 3, true);
	vmpd_buf_puts(b, ",\"window_s\":");
	json_double(b, (double)e->window_ns / 1e9, 3, true);
	vmpd_buf_printf(b, ",\"low\":%" PRIu64 ",\"medium\":%" PRIu64 ",\"critical\":%" PRIu64 ",\"with_evidence\":%" PRIu64,
			e->count[0], e->count[1], e->count[2], e->with_evidence);
	if (e->with_evidence)
		vmpd_buf_printf(b, ",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"max_pressure\":%" PRIu64,
				e->scanned, e->reclaimed, e->max_pressure);
	else
		vmpd_buf_puts(b, ",\"scanned\":null,\"reclaimed\":null,\"max_pressure\":null");
	vmpd_buf_puts(b, ",\"psi_some_avg10\":");
	json_double(b, e->psi_some_avg10, 2, true);
	vmpd_buf_puts(b, ",\"psi_full_avg10\":");
	json_double(b, e->psi_full_avg10, 2, true);
	vmpd_buf_puts(b, ",\"trigger_level\":");
	vmpd_json_cstring(b, e->triggered ? vmp_level_name(e->trigger_level) : NULL);
	vmpd_buf_puts(b, ",\"origin\":");
	vmpd_json_cstring(b, e->triggered ? e->origin : NULL);
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_removed(struct vmpd_buf *b, uint64_t id, uint64_t time_ns, const char *cgroup)
{
	vmpd_buf_printf(b, "{\"event\":\"removed\",\"id\":%" PRIu64 ",\"time\":", id);
	vmpd_fmt_time(b, time_ns);
	vmpd_buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, cgroup);
	vmpd_buf_puts(b, "}\n");
}

void vmpd_fmt_dropped(struct vmpd_buf *b, uint64_t count)
{
	vmpd_buf_printf(b, "{\"event\":\"dropped\",\"count\":%" PRIu64 "}\n", count);
}
