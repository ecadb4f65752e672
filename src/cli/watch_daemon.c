/* SPDX-License-Identifier: MIT */
/*
 * vmpressure watch through vmpressured: connect to its socket, subscribe
 * with a stream, and turn its JSON events back into the library's
 * struct vmp_source_event, so that cmd_watch.c prints them exactly as it
 * prints the events of an in-process source.
 *
 * The CLI and the daemon share only the library and docs/protocol.md, so
 * this file speaks the protocol as documented and parses JSON itself: a
 * small strict reader of one flat object per line is all it needs.
 *
 * A daemon that goes away (restarted, killed) is not the end of a watch:
 * watch_daemon_reconnect() connects again and repeats the handshake and
 * the subscription, as docs/protocol.md says a client does; cmd_watch.c
 * decides when to try and reports the gap.
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long the handshake may take before we give up on the daemon. */
#define HANDSHAKE_MS 5000
#define MAX_LINE (1 << 20)

struct watch_daemon {
	int fd; /* -1 while disconnected */
	char *buf;
	size_t len, cap;
	uint64_t id;
	vmp_level level;
	char source[32];
	uint64_t dropped;
	double uptime_s; /* the daemon's, at the last handshake; -1: not said */
	/* what to do again on reconnect */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *cgroup, *args;
	enum vmp_source_kind want;
};

/* ---- one flat JSON object ---------------------------------------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR };

struct jfield {
	char key[32];
	enum jtype type;
	char str[512]; /* J_STR, decoded; J_NUM/J_BOOL as text */
};

struct jobj {
	struct jfield f[24];
	int n;
};

static void put_utf8(char *out, size_t cap, size_t *o, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80)
		b[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	if (*o + n < cap) {
		memcpy(out + *o, b, n);
		*o += n;
	}
}

static bool hex4(const char **p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = (*p)[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d > 15)
			return false;
		*v = *v << 4 | d;
	}
	*p += 4;
	return true;
}

/* A JSON string at *p (at its opening quote) into out; *p after it. */
static bool jstring(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t o = 0;
	if (*s++ != '"')
		return false;
	while (*s && *s != '"') {
		if (*s != '\\') {
			if (o + 1 < cap)
				out[o++] = *s;
			s++;
			continue;
		}
		s++;
		unsigned cp;
		switch (*s++) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!hex4(&s, &cp))
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff && s[0] == '\\' && s[1] == 'u') {
				unsigned lo;
				const char *q = s + 2;
				if (hex4(&q, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					s = q;
				}
			}
			break;
		default:
			return false;
		}
		put_utf8(out, cap, &o, cp);
	}
	if (*s != '"')
		return false;
	out[o] = 0;
	*p = s + 1;
	return true;
}

/* Parse {"k":v,...} with scalar values; nested values are skipped. */
static bool jparse(const char *line, struct jobj *obj)
{
	const char *p = line;
	obj->n = 0;
	if (*p++ != '{')
		return false;
	if (*p == '}')
		return true;
	for (;;) {
		struct jfield tmp, *f = obj->n < (int)(sizeof(obj->f) / sizeof(obj->f[0])) ? &obj->f[obj->n] : &tmp;
		if (!jstring(&p, f->key, sizeof(f->key)) || *p++ != ':')
			return false;
		f->str[0] = 0;
		if (*p == '"') {
			f->type = J_STR;
			if (!jstring(&p, f->str, sizeof(f->str)))
				return false;
		} else if (!strncmp(p, "null", 4)) {
			f->type = J_NULL;
			p += 4;
		} else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
			f->type = J_BOOL;
			snprintf(f->str, sizeof(f->str), "%s", *p == 't' ? "true" : "false");
			p += *p == 't' ? 4 : 5;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			f->type = J_NUM;
			size_t n = strspn(p, "-+.eE0123456789");
			snprintf(f->str, sizeof(f->str), "%.*s", (int)n, p);
			p += n;
		} else if (*p == '[' || *p == '{') {
			int depth = 0; /* skipped: no string in our nested values has brackets that matter */
			bool instr = false;
			for (; *p; p++) {
				if (instr) {
					if (*p == '\\' && p[1])
						p++;
					else if (*p == '"')
						instr = false;
				} else if (*p == '"')
					instr = true;
				else if (*p == '[' || *p == '{')
					depth++;
				else if ((*p == ']' || *p == '}') && --depth == 0) {
					p++;
					break;
				}
			}
			f->type = J_NULL;
		} else
			return false;
		if (f != &tmp)
			obj->n++;
		if (*p == ',') {
			p++;
			continue;
		}
		return *p == '}' && p[1] == 0;
	}
}

static const struct jfield *jget(const struct jobj *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->f[i].key, key))
			return &o->f[i];
	return NULL;
}

static const char *jstr(const struct jobj *o, const char *key)
{
	const struct jfield *f = jget(o, key);
	return f && f->type == J_STR ? f->str : NULL;
}

static bool jnum(const struct jobj *o, const char *key, double *v)
{
	const struct jfield *f = jget(o, key);
	if (!f || f->type != J_NUM)
		return false;
	*v = strtod(f->str, NULL);
	return true;
}

static bool ju64(const struct jobj *o, const char *key, uint64_t *v)
{
	const struct jfield *f = jget(o, key);
	if (!f || f->type != J_NUM || f->str[0] == '-')
		return false;
	*v = strtoull(f->str, NULL, 10);
	return true;
}

static bool jtrue(const struct jobj *o, const char *key)
{
	const struct jfield *f = jget(o, key);
	return f && f->type == J_BOOL && !strcmp(f->str, "true");
}

/* "2026-11-25T17:04:44.149Z" */
static uint64_t parse_time(const char *s)
{
	struct tm tm = {0};
	unsigned ms = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	return (uint64_t)t * 1000000000u + (uint64_t)ms * 1000000u;
}

/* ---- connection ----------------------------------------------------------------- */

static int fill(struct watch_daemon *wd)
{
	if (wd->cap - wd->len < 4096) {
		if (wd->cap >= MAX_LINE)
			return -EMSGSIZE;
		size_t cap = wd->cap ? wd->cap * 2 : 16384;
		char *b = realloc(wd->buf, cap);
		if (!b)
			return -ENOMEM;
		wd->buf = b;
		wd->cap = cap;
	}
	ssize_t n = recv(wd->fd, wd->buf + wd->len, wd->cap - wd->len - 1, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	wd->len += (size_t)n;
	return 0;
}

/* The next complete line, NUL-terminated in place; NULL if none. The
 * caller consumes it with consume(). */
static char *next_line(struct watch_daemon *wd, size_t *used)
{
	char *nl = wd->len ? memchr(wd->buf, '\n', wd->len) : NULL;
	if (!nl)
		return NULL;
	*nl = 0;
	*used = (size_t)(nl - wd->buf) + 1;
	return wd->buf;
}

static void consume(struct watch_daemon *wd, size_t used)
{
	memmove(wd->buf, wd->buf + used, wd->len - used);
	wd->len -= used;
}

/* Wait for one reply line (no events can come before our subscription). */
static int read_reply(struct watch_daemon *wd, struct jobj *obj, double deadline)
{
	for (;;) {
		size_t used;
		char *l = next_line(wd, &used);
		if (l) {
			bool ok = jparse(l, obj);
			consume(wd, used);
			if (!ok)
				return -EPROTO;
			if (!jget(obj, "reply"))
				continue;
			return 0;
		}
		int ms = (int)((deadline - vmp__mono_s()) * 1000);
		if (ms <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = wd->fd, .events = POLLIN};
		int n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			int rc = fill(wd);
			if (rc && rc != -EAGAIN)
				return rc;
		}
	}
}

/* A name the protocol can carry: printable ASCII, no space. */
/* The cgroup as a request field (docs/protocol.md): as it is if it is
 * printable ASCII without spaces and does not start with a quote, else
 * quoted, with \\ \" and \xHH for the rest. */
#define VMPD_QUOTED_MAX 4200
static void quote_cgroup(const char *in, char *out, size_t cap)
{
	bool plain = *in != '"';
	for (const unsigned char *p = (const unsigned char *)in; *p && plain; p++)
		plain = *p > 0x20 && *p < 0x7f;
	if (plain) {
		snprintf(out, cap, "%s", in);
		return;
	}
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 6 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o++] = '"';
	out[o] = 0;
}

/* Connect and run the handshake on a new socket: 0 with wd->fd set;
 * WATCH_NO_DAEMON; or -errno of the daemon's error reply (message in err). */
static int handshake(struct watch_daemon *wd, char *err, size_t errcap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, wd->path, strlen(wd->path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WATCH_NO_DAEMON;
	/* A daemon so busy that its backlog is full is no better than none. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return WATCH_NO_DAEMON;
	}
	wd->fd = fd;
	wd->len = 0;
	wd->uptime_s = -1;

	char req[1100], cg[VMPD_QUOTED_MAX];
	quote_cgroup(wd->cgroup, cg, sizeof(cg));
	int n = snprintf(req, sizeof(req), "hello 1\nstatus\nsubscribe %s %s stream\n", cg, wd->args);
	if (n < 0 || (size_t)n >= 1024) { /* longer than a request may be: in-process */
		close(fd);
		wd->fd = -1;
		return WATCH_NO_DAEMON;
	}
	int rc = 0;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		rc = WATCH_NO_DAEMON;
	double deadline = vmp__mono_s() + HANDSHAKE_MS / 1000.0;
	struct jobj *o = malloc(sizeof(*o));
	if (!o)
		rc = -ENOMEM;
	/* hello */
	if (!rc && (read_reply(wd, o, deadline) || !jtrue(o, "ok"))) {
		fprintf(stderr, "%s watch: %s does not speak protocol 1; watching in-process\n", prog, wd->path);
		rc = WATCH_NO_DAEMON;
	}
	/* status: the daemon's source */
	if (!rc && !read_reply(wd, o, deadline) && jstr(o, "source")) {
		snprintf(wd->source, sizeof(wd->source), "%.31s", jstr(o, "source"));
		jnum(o, "uptime_s", &wd->uptime_s);
	} else if (!rc)
		rc = WATCH_NO_DAEMON;
	if (!rc && wd->want != VMP_SOURCE_AUTO && vmp_source_kind_name(wd->want) &&
	    strcmp(wd->source, vmp_source_kind_name(wd->want)) != 0)
		rc = WATCH_NO_DAEMON; /* the daemon watches with another source than asked for */
	/* subscribe */
	if (!rc) {
		if (read_reply(wd, o, deadline))
			rc = WATCH_NO_DAEMON;
		else if (!jtrue(o, "ok")) {
			const char *e = jstr(o, "error"), *m = jstr(o, "message");
			static const struct {
				const char *name;
				int err;
			} map[] = {{"ENOENT", ENOENT}, {"EINVAL", EINVAL},   {"EACCES", EACCES},
				   {"ENOTSUP", ENOTSUP}, {"EMFILE", EMFILE}, {"EPROTO", EPROTO}};
			rc = -EIO;
			for (size_t i = 0; e && i < sizeof(map) / sizeof(map[0]); i++)
				if (!strcmp(e, map[i].name))
					rc = -map[i].err;
			snprintf(err, errcap, "%s", m ? m : e ? e : "error");
		} else if (!ju64(o, "id", &wd->id))
			rc = WATCH_NO_DAEMON;
	}
	free(o);
	if (rc) {
		close(wd->fd);
		wd->fd = -1;
	}
	return rc;
}

int watch_daemon_open(struct watch_daemon **out, const char *path, const char *cgroup, const char *args,
		      enum vmp_source_kind want, char *err, size_t errcap)
{
	struct watch_daemon *wd;
	if (!path || strlen(path) >= sizeof(wd->path) || strlen(cgroup) + strlen(args) > 900)
		return WATCH_NO_DAEMON; /* not something the daemon can serve */
	wd = calloc(1, sizeof(*wd));
	if (!wd)
		return -ENOMEM;
	wd->fd = -1;
	memcpy(wd->path, path, strlen(path) + 1);
	wd->cgroup = strdup(cgroup);
	wd->args = strdup(args);
	wd->want = want;
	vmp_mode mode;
	vmp_parse_args(args, &wd->level, &mode);
	int rc = wd->cgroup && wd->args ? handshake(wd, err, errcap) : -ENOMEM;
	if (rc) {
		watch_daemon_close(wd);
		return rc;
	}
	*out = wd;
	return 0;
}

int watch_daemon_reconnect(struct watch_daemon *wd, char *err, size_t errcap)
{
	if (wd->fd >= 0) {
		close(wd->fd);
		wd->fd = -1;
	}
	return handshake(wd, err, errcap);
}

double watch_daemon_uptime(const struct watch_daemon *wd)
{
	return wd->uptime_s;
}

const char *watch_daemon_source(const struct watch_daemon *wd)
{
	return wd->source;
}

int watch_daemon_fd(const struct watch_daemon *wd)
{
	return wd->fd;
}

static void deliver(struct watch_daemon *wd, const struct jobj *o, vmp_source_fn fn, void *arg)
{
	const char *kind = jstr(o, "event");
	uint64_t id = 0;
	if (!kind)
		return;
	if (!strcmp(kind, "dropped")) {
		uint64_t n = 0;
		ju64(o, "count", &n);
		wd->dropped += n;
		fprintf(stderr, "%s: vmpressured dropped %llu events: they came faster than they were read\n", prog,
			(unsigned long long)n);
		return;
	}
	if (!ju64(o, "id", &id) || id != wd->id)
		return;
	struct vmp_source_event ev = {
		.cgroup = jstr(o, "cgroup"),
		.origin = jstr(o, "origin"),
		.time_ns = parse_time(jstr(o, "time")),
		.psi_some_avg10 = -1,
		.psi_full_avg10 = -1,
		.count = 1,
		.level = wd->level,
	};
	if (!strcmp(kind, "removed")) {
		ev.flags = VMP_EVENT_REMOVED | VMP_EVENT_NO_EVIDENCE;
		ev.origin = NULL;
	} else if (!strcmp(kind, "pressure")) {
		const char *lv = jstr(o, "level");
		for (int l = 0; lv && l <= VMP_LEVEL_CRITICAL; l++)
			if (!strcmp(lv, vmp_level_name((vmp_level)l)))
				ev.level = (vmp_level)l;
		ju64(o, "count", &ev.count);
		if (!ju64(o, "scanned", &ev.scanned) || !ju64(o, "reclaimed", &ev.reclaimed) ||
		    !ju64(o, "pressure", &ev.pressure))
			ev.flags |= VMP_EVENT_NO_EVIDENCE;
		double some, full;
		if (jnum(o, "psi_some_avg10", &some) && jnum(o, "psi_full_avg10", &full)) {
			ev.psi_some_avg10 = some;
			ev.psi_full_avg10 = full;
		}
	} else
		return;
	if (!ev.cgroup)
		ev.cgroup = "?";
	fn(&ev, arg);
}

int watch_daemon_dispatch(struct watch_daemon *wd, vmp_source_fn fn, void *arg)
{
	int rc = fill(wd);
	if (rc == -EAGAIN)
		return 0;
	struct jobj *o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	size_t used;
	char *l;
	while ((l = next_line(wd, &used))) {
		if (jparse(l, o))
			deliver(wd, o, fn, arg);
		consume(wd, used);
	}
	free(o);
	return rc;
}

void watch_daemon_close(struct watch_daemon *wd)
{
	if (!wd)
		return;
	if (wd->fd >= 0)
		close(wd->fd);
	free(wd->buf);
	free(wd->cgroup);
	free(wd->args);
	free(wd);
}
