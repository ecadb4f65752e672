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
	if (nf < 4 || nf > 7)
		return fail(msg, cap, EPROTO,
			    "subscribe takes a cgroup, args and one or two of 'eventfd', 'stream', and 'debounce[=CONFIG]', "
			    "'forecast[=SECONDS]' (%zu fields)",
			    nf);
	const struct field *dflag = NULL, *fflag = NULL;
	for (size_t i = 3; i < nf; i++) {
		bool is_db = field_is(&f[i], "debounce") || (f[i].n > 9 && !memcmp(f[i].p, "debounce=", 9));
		bool is_fc = field_is(&f[i], "forecast") || (f[i].n > 9 && !memcmp(f[i].p, "forecast=", 9));
		if (is_fc && !fflag)
			fflag = &f[i];
		else if (is_fc)
			return fail(msg, cap, EPROTO, "flag 'forecast' given twice");
		else if (field_is(&f[i], "eventfd") && !req->eventfd)
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
			return fail(msg, cap, EPROTO,
				    "unknown flag '%.*s%s' (eventfd, stream, debounce[=CONFIG], forecast[=SECONDS])",
				    clip(&f[i], 64), f[i].p, f[i].n > 64 ? "..." : "");
	}
	if (dflag && !req->stream)
		return fail(msg, cap, EPROTO, "'debounce' needs 'stream': transitions are stream events");
	if (fflag && !req->stream)
		return fail(msg, cap, EPROTO, "'forecast' needs 'stream': forecasts are stream events");
	if (fflag && fflag->n > 9) {
		/* SECONDS: digits, an optional fraction of up to 3 digits; 0.1 to 86400 */
		double v = 0, sc = 1;
		size_t i = 9, fr = 0;
		bool dot = false, ok = true;
		for (; i < fflag->n && ok; i++) {
			char ch = fflag->p[i];
			if (ch == '.' && !dot && i > 9)
				dot = true;
			else if (ch >= '0' && ch <= '9' && (!dot || fr < 3) && i < 9 + 9) {
				if (dot) {
					sc /= 10;
					v += (ch - '0') * sc;
					fr++;
				} else
					v = v * 10 + (ch - '0');
			} else
				ok = false;
		}
		if (!ok || (dot && !fr) || v < 0.1 || v > 86400)
			return fail(msg, cap, EINVAL, "bad forecast threshold '%.*s': seconds, 0.1 to 86400 (3 decimals)",
				    clip(fflag, 64) > 9 ? clip(fflag, 64) - 9 : 0, fflag->p + 9);
		req->forecast_s = v;
	}
	req->forecast = fflag != NULL;
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
	struct vmp_error cerr;
	if (vmp_cgroup_normalize(cg, cgn, req->cgroup, sizeof(req->cgroup), &cerr))
		return fail(msg, cap, EINVAL, "bad cgroup path '%.*s%s': %s", clip(&f[1], 64), f[1].p,
			    f[1].n > 64 ? "..." : "", cerr.msg);
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
	req->level = VMP_LEVEL_LOW;
	req->mode = VMP_MODE_DEFAULT;
	req->eventfd = req->stream = false;
	req->debounce = false;
	req->forecast = false;
	req->forecast_s = 0;
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

/* ---- JSON -------------------------------------------------------------------- */

void vmpd_json_string(struct vmp__buf *b, const char *s, size_t n)
{
	if (!s) {
		vmp__buf_puts(b, "null");
		return;
	}
	vmp__buf_add(b, "\"", 1);
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
			k = vmp__utf8_len(u + i, n - i);
			if (!k) {
				esc = "\\ufffd";
				k = 1;
			}
		}
		if (esc) {
			vmp__buf_add(b, s + i - run, run);
			run = 0;
			vmp__buf_puts(b, esc);
		} else
			run += k;
		i += k;
	}
	vmp__buf_add(b, s + n - run, run);
	vmp__buf_add(b, "\"", 1);
}

void vmpd_json_cstring(struct vmp__buf *b, const char *s)
{
	vmpd_json_string(b, s, s ? strlen(s) : 0);
}

static void json_double(struct vmp__buf *b, double v, int prec, bool null_if_negative)
{
	if (!isfinite(v) || (null_if_negative && v < 0))
		vmp__buf_puts(b, "null");
	else
		vmp__buf_printf(b, "%.*f", prec, v);
}

static void reply_head(struct vmp__buf *b, const char *verb, bool ok)
{
	vmp__buf_puts(b, "{\"reply\":");
	vmpd_json_cstring(b, verb);
	vmp__buf_puts(b, ok ? ",\"ok\":true" : ",\"ok\":false");
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

void vmpd_fmt_error(struct vmp__buf *b, enum vmpd_verb verb, int err, const char *msg)
{
	reply_head(b, verb_name(verb), false);
	vmp__buf_puts(b, ",\"error\":\"");
	vmp__buf_puts(b, vmpd_errno_name(err));
	vmp__buf_puts(b, "\",\"message\":");
	vmpd_json_cstring(b, msg ? msg : "");
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_hello(struct vmp__buf *b)
{
	reply_head(b, "hello", true);
	vmp__buf_printf(b, ",\"version\":%d}\n", VMPD_PROTOCOL_VERSION);
}

static void sub_fields(struct vmp__buf *b, const struct vmpd_sub_info *s)
{
	vmp__buf_printf(b, "\"id\":%" PRIu64 ",\"cgroup\":", s->id);
	vmpd_json_cstring(b, s->cgroup);
	vmp__buf_puts(b, ",\"args\":");
	vmpd_json_cstring(b, s->args);
	vmp__buf_puts(b, s->eventfd ? ",\"eventfd\":true" : ",\"eventfd\":false");
	vmp__buf_puts(b, s->stream ? ",\"stream\":true" : ",\"stream\":false");
	if (s->debounce) {
		vmp__buf_puts(b, ",\"debounce\":");
		vmpd_json_cstring(b, s->debounce);
	}
	if (s->forecast > 0) {
		vmp__buf_puts(b, ",\"forecast\":");
		json_double(b, s->forecast, 3, true);
	}
}

void vmpd_fmt_subscribed(struct vmp__buf *b, const struct vmpd_sub_info *s)
{
	reply_head(b, "subscribe", true);
	vmp__buf_puts(b, ",");
	sub_fields(b, s);
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_unsubscribed(struct vmp__buf *b, uint64_t id)
{
	reply_head(b, "unsubscribe", true);
	vmp__buf_printf(b, ",\"id\":%" PRIu64 "}\n", id);
}

void vmpd_fmt_list_begin(struct vmp__buf *b)
{
	reply_head(b, "list", true);
	vmp__buf_puts(b, ",\"subscriptions\":[");
}

void vmpd_fmt_list_item(struct vmp__buf *b, const struct vmpd_sub_info *s, bool first)
{
	vmp__buf_puts(b, first ? "{" : ",{");
	sub_fields(b, s);
	vmp__buf_printf(b, ",\"events\":%" PRIu64 "}", s->events);
}

void vmpd_fmt_list_end(struct vmp__buf *b)
{
	vmp__buf_puts(b, "]}\n");
}

void vmpd_fmt_status(struct vmp__buf *b, const struct vmpd_status *s)
{
	reply_head(b, "status", true);
	vmp__buf_printf(b, ",\"version\":%d,\"source\":", VMPD_PROTOCOL_VERSION);
	vmpd_json_cstring(b, s->source);
	vmp__buf_puts(b, ",\"uptime_s\":");
	json_double(b, s->uptime_s, 3, true);
	vmp__buf_printf(b,
			",\"clients\":%" PRIu64 ",\"subscriptions\":%" PRIu64 ",\"events\":%" PRIu64
			",\"dropped\":%" PRIu64,
			s->clients, s->subscriptions, s->events, s->dropped);
	if (s->scope) {
		vmp__buf_puts(b, ",\"scope\":");
		vmpd_json_cstring(b, s->scope);
	}
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_time(struct vmp__buf *b, uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		vmp__buf_puts(b, "null");
		return;
	}
	vmp__buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns / 1000000u % 1000u));
}

void vmpd_fmt_pressure_tail(struct vmp__buf *b, const struct vmp_source_event *ev)
{
	vmp__buf_puts(b, "\"time\":");
	vmpd_fmt_time(b, ev->time_ns);
	vmp__buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, ev->cgroup);
	vmp__buf_puts(b, ",\"origin\":");
	vmpd_json_cstring(b, ev->flags & VMP_EVENT_NO_EVIDENCE ? NULL : ev->origin);
	vmp__buf_puts(b, ",\"level\":");
	vmpd_json_cstring(b, vmp_level_name(ev->level));
	vmp__buf_printf(b, ",\"count\":%" PRIu64, ev->count);
	if (ev->flags & VMP_EVENT_NO_EVIDENCE)
		vmp__buf_puts(b, ",\"scanned\":null,\"reclaimed\":null,\"pressure\":null");
	else
		vmp__buf_printf(b, ",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"pressure\":%" PRIu64,
				ev->scanned, ev->reclaimed, ev->pressure);
	vmp__buf_puts(b, ",\"psi_some_avg10\":");
	json_double(b, ev->psi_some_avg10, 2, true);
	vmp__buf_puts(b, ",\"psi_full_avg10\":");
	json_double(b, ev->psi_full_avg10, 2, true);
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_pressure(struct vmp__buf *b, uint64_t id, const char *tail, size_t tail_len)
{
	vmp__buf_printf(b, "{\"event\":\"pressure\",\"id\":%" PRIu64 ",", id);
	vmp__buf_add(b, tail, tail_len);
}

void vmpd_fmt_transition(struct vmp__buf *b, uint64_t id, const char *cgroup,
			 const struct vmp_transition *t)
{
	const struct vmp_debounce_evidence *e = &t->ev;
	vmp__buf_printf(b, "{\"event\":\"transition\",\"id\":%" PRIu64 ",\"time\":", id);
	vmpd_fmt_time(b, t->time_ns);
	vmp__buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, cgroup);
	vmp__buf_printf(b, ",\"from\":\"%s\",\"to\":\"%s\",\"cause\":\"%s\"", vmp_state_name(t->from),
			vmp_state_name(t->to), vmp_cause_name(t->cause));
	vmp__buf_puts(b, ",\"previous_s\":");
	json_double(b, (double)t->prev_duration_ns / 1e9, 3, true);
	vmp__buf_puts(b, ",\"held_s\":");
	json_double(b, (double)t->held_ns / 1e9, 3, true);
	vmp__buf_puts(b, ",\"window_s\":");
	json_double(b, (double)e->window_ns / 1e9, 3, true);
	vmp__buf_printf(b, ",\"low\":%" PRIu64 ",\"medium\":%" PRIu64 ",\"critical\":%" PRIu64 ",\"with_evidence\":%" PRIu64,
			e->count[0], e->count[1], e->count[2], e->with_evidence);
	if (e->with_evidence)
		vmp__buf_printf(b, ",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"max_pressure\":%" PRIu64,
				e->scanned, e->reclaimed, e->max_pressure);
	else
		vmp__buf_puts(b, ",\"scanned\":null,\"reclaimed\":null,\"max_pressure\":null");
	vmp__buf_puts(b, ",\"psi_some_avg10\":");
	json_double(b, e->psi_some_avg10, 2, true);
	vmp__buf_puts(b, ",\"psi_full_avg10\":");
	json_double(b, e->psi_full_avg10, 2, true);
	vmp__buf_puts(b, ",\"trigger_level\":");
	vmpd_json_cstring(b, e->triggered ? vmp_level_name(e->trigger_level) : NULL);
	vmp__buf_puts(b, ",\"origin\":");
	vmpd_json_cstring(b, e->triggered ? e->origin : NULL);
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_removed(struct vmp__buf *b, uint64_t id, uint64_t time_ns, const char *cgroup)
{
	vmp__buf_printf(b, "{\"event\":\"removed\",\"id\":%" PRIu64 ",\"time\":", id);
	vmpd_fmt_time(b, time_ns);
	vmp__buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, cgroup);
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_forecast(struct vmp__buf *b, uint64_t id, uint64_t time_ns, const char *cgroup,
		       const struct vmp_fc_result *r)
{
	vmp__buf_printf(b, "{\"event\":\"%s\",\"id\":%" PRIu64 ",\"time\":", vmp_fc_event_name(r->event), id);
	vmpd_fmt_time(b, time_ns);
	vmp__buf_puts(b, ",\"cgroup\":");
	vmpd_json_cstring(b, cgroup);
	vmp__buf_printf(b, ",\"cause\":\"%s\",\"eta\":", vmp_fc_cause_name(r->cause));
	json_double(b, r->eta, 3, true);
	vmp__buf_puts(b, ",\"decider\":");
	vmpd_json_cstring(b, r->path);
	vmp__buf_printf(b,
			",\"limit\":%" PRIu64 ",\"usage\":%" PRIu64 ",\"unreclaimable\":%" PRIu64
			",\"growth\":%.0f,\"reclaimable\":%" PRIu64 ",\"swap_usage\":%" PRIu64 ",\"swap_free\":%" PRIu64
			",\"headroom\":%.0f,\"refaults\":",
			r->limit, r->usage, r->unreclaimable, r->growth, r->reclaimable, r->swap_usage, r->swap_free,
			r->headroom);
	json_double(b, r->refaults, 1, true);
	vmp__buf_puts(b, ",\"efficiency\":");
	json_double(b, r->efficiency, 3, true);
	vmp__buf_puts(b, ",\"psi_some_avg10\":");
	json_double(b, r->psi_some_avg10, 2, true);
	vmp__buf_puts(b, ",\"psi_full_avg10\":");
	json_double(b, r->psi_full_avg10, 2, true);
	vmp__buf_puts(b, "}\n");
}

void vmpd_fmt_dropped(struct vmp__buf *b, uint64_t count)
{
	vmp__buf_printf(b, "{\"event\":\"dropped\",\"count\":%" PRIu64 "}\n", count);
}
