/* SPDX-License-Identifier: MIT */
/*
 * The control protocol of docs/protocol.md, as pure functions: framing of
 * the byte stream into request lines, parsing of one request, and the JSON
 * text of every reply and event. Nothing here does I/O, allocates a file
 * descriptor or reads a clock, so that all of it can be unit-tested and
 * fuzzed on its own (tests/daemon/test_protocol.c, fuzz/fuzz_request.c).
 */
#ifndef VMPD_PROTOCOL_H
#define VMPD_PROTOCOL_H

#include "vmpressure.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMPD_PROTOCOL_VERSION 1
/* A request line, its newline included, is at most this long. */
#define VMPD_LINE_MAX 1024u

/* ---- framing ------------------------------------------------------------ */

/*
 * Splits what a client sends into lines. The caller reads into the space
 * vmpd_framer_space() gives, commits what it read, then takes items with
 * vmpd_framer_next() until it says NONE. A line that does not fit (1024
 * bytes without a newline) is reported once as OVERLONG as soon as that is
 * known, and its remainder up to the next newline is discarded.
 */
struct vmpd_framer {
	char buf[VMPD_LINE_MAX];
	size_t start, len; /* buf[start, len) is unconsumed */
	bool discarding;   /* inside the remainder of an overlong line */
};

enum vmpd_frame {
	VMPD_FRAME_NONE = 0, /* need more bytes */
	VMPD_FRAME_LINE,     /* a complete line (its newline not included) */
	VMPD_FRAME_OVERLONG, /* a line longer than VMPD_LINE_MAX */
};

void vmpd_framer_init(struct vmpd_framer *f);
/* Where to read to, and how much fits (never 0 after next() said NONE). */
char *vmpd_framer_space(struct vmpd_framer *f, size_t *room);
void vmpd_framer_commit(struct vmpd_framer *f, size_t n);
/* *line points into the framer; it stays valid until the next call. */
enum vmpd_frame vmpd_framer_next(struct vmpd_framer *f, const char **line, size_t *len);
/* Bytes buffered that are not yet part of a returned line. */
size_t vmpd_framer_pending(const struct vmpd_framer *f);

/* ---- requests ------------------------------------------------------------ */

enum vmpd_verb {
	VMPD_VERB_NONE = 0, /* not recognised: the reply's "reply" is null */
	VMPD_VERB_HELLO,
	VMPD_VERB_SUBSCRIBE,
	VMPD_VERB_UNSUBSCRIBE,
	VMPD_VERB_LIST,
	VMPD_VERB_STATUS,
};

struct vmpd_request {
	enum vmpd_verb verb;
	/* subscribe */
	char cgroup[VMPD_LINE_MAX]; /* normalised: "/" or "a/b" */
	char args[VMPD_LINE_MAX];   /* as the client wrote them */
	vmp_level level;
	vmp_mode mode;
	bool eventfd, stream;
	bool debounce; /* "debounce[=CONFIG]": transitions instead of pressure events */
	bool forecast; /* "forecast[=SECONDS]": the stream carries OOM forecasts too */
	double forecast_s; /* its threshold; 0: the model's default */
	struct vmp_debounce_config debounce_cfg;
	/* unsubscribe */
	uint64_t id;
	/* hello */
	unsigned version;
};

/*
 * Parse one request line (without its newline). Returns 0, or the errno
 * value of the error reply (EPROTO, EINVAL) with a human-readable reason in
 * msg. req->verb is set whenever the verb was recognised, even on error,
 * so that the error reply names it.
 */
int vmpd_parse_request(const char *line, size_t len, struct vmpd_request *req, char *msg,
		       size_t msgcap);

/* A client's cgroup path is normalised by the library's rule,
 * vmp_cgroup_normalize() (which also refuses control characters). */

/* The canonical args a shared source subscription is made with: the
 * level alone for the default mode, else "level,mode". */
void vmpd_canonical_args(vmp_level level, vmp_mode mode, char *out, size_t cap);

/* "EPROTO" for EPROTO, etc.; "EIO" for an errno the protocol never sends. */
const char *vmpd_errno_name(int err);

/* ---- JSON output ----------------------------------------------------------- */

/* Text is built in struct vmp__buf (src/lib/util/util.h: a growing
 * buffer that sets oom instead of failing; the caller checks at the end). */
/* A JSON string of the n bytes at s: quotes, backslashes, control bytes
 * and DEL escaped; valid UTF-8 kept; a byte that is not valid UTF-8
 * becomes U+FFFD. NULL gives null. */
void vmpd_json_string(struct vmp__buf *b, const char *s, size_t n);
void vmpd_json_cstring(struct vmp__buf *b, const char *s);

/* Every function below appends exactly one line, '\n' included. */

void vmpd_fmt_error(struct vmp__buf *b, enum vmpd_verb verb, int err, const char *msg);
void vmpd_fmt_hello(struct vmp__buf *b);

struct vmpd_sub_info {
	uint64_t id;
	const char *cgroup;
	const char *args;
	bool eventfd, stream;
	const char *debounce; /* the canonical config; NULL: not debounced */
	double forecast;  /* the forecast threshold in seconds; 0: no forecasts */
	uint64_t events; /* notifications delivered */
};
void vmpd_fmt_subscribed(struct vmp__buf *b, const struct vmpd_sub_info *s);
void vmpd_fmt_unsubscribed(struct vmp__buf *b, uint64_t id);
/* The list reply in three steps, so that the caller can walk its own
 * structures: begin, one item per subscription, end. */
void vmpd_fmt_list_begin(struct vmp__buf *b);
void vmpd_fmt_list_item(struct vmp__buf *b, const struct vmpd_sub_info *s, bool first);
void vmpd_fmt_list_end(struct vmp__buf *b);

struct vmpd_status {
	const char *source;
	double uptime_s;
	uint64_t clients, subscriptions, events, dropped;
	const char *scope; /* NULL: the daemon's totals; "uid": the peer uid's */
};
void vmpd_fmt_status(struct vmp__buf *b, const struct vmpd_status *s);

/*
 * A pressure event is the same for every subscriber of one shared source
 * subscription except for the id. vmpd_fmt_pressure_tail() formats the
 * common part once; vmpd_fmt_pressure() puts the id in front of it.
 */
void vmpd_fmt_pressure_tail(struct vmp__buf *b, const struct vmp_source_event *ev);
void vmpd_fmt_pressure(struct vmp__buf *b, uint64_t id, const char *tail, size_t tail_len);
/* A debounced subscription's level transition (docs/protocol.md). */
void vmpd_fmt_transition(struct vmp__buf *b, uint64_t id, const char *cgroup,
			 const struct vmp_transition *t);
void vmpd_fmt_removed(struct vmp__buf *b, uint64_t id, uint64_t time_ns, const char *cgroup);
/* A `forecast` subscription's forecast or its clearing (docs/protocol.md). */
void vmpd_fmt_forecast(struct vmp__buf *b, uint64_t id, uint64_t time_ns, const char *cgroup,
		       const struct vmp_fc_result *r);
void vmpd_fmt_dropped(struct vmp__buf *b, uint64_t count);

/* "2026-11-25T17:04:44.149Z": UTC, milliseconds. */
void vmpd_fmt_time(struct vmp__buf *b, uint64_t realtime_ns);

#endif
