/* SPDX-License-Identifier: MIT */
/*
 * vmpressured's Prometheus metrics, the pure parts (docs/metrics.md):
 *
 *   metrics.c   the text exposition format (version 0.0.4) of a snapshot
 *   http.c      a strict, bounded parser of one HTTP/1.x request head, and
 *               the response around a body
 *   procself.c  the Prometheus client conventions' process_* values, from
 *               /proc/self (the parse of /proc/self/stat is pure)
 *
 * Nothing in metrics.c or http.c does I/O or reads a clock, so both are
 * unit-tested (tests/daemon/test_metrics.c) and the parser is fuzzed
 * (fuzz/fuzz_http.c). The daemon side, which collects a snapshot and serves
 * it, is metrics_serve.c (textfile, timers, collection) and metrics_http.c
 * (the loopback listener and its connections).
 */
#ifndef VMPD_METRICS_H
#define VMPD_METRICS_H

#include "protocol.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the exposition (metrics.c) ------------------------------------------ */

/* The encoding of vmpressure_level. */
enum { VMPD_METRIC_LEVEL_NONE = 0 }; /* then 1 + vmp_level: low 1, medium 2, critical 3 */
/*
 * vmpressure_level decays: it is the highest level notified in the last
 * this many seconds, 0 when there was none. Notifications are edges (a
 * window evaluated), not a state, so "the current level" needs a horizon;
 * 30 s spans two scrapes at the usual 15 s interval, so a burst between
 * two scrapes is still seen by the second, and a calm cgroup reads 0
 * within half a minute.
 */
#define VMPD_METRIC_LEVEL_HOLD_S 30

/* One listener: a source subscription (cgroup, args), what it was told. */
struct vmpd_series {
	const char *cgroup;     /* "/" or "a/b" */
	const char *args;       /* canonical: "low", "medium,hierarchy", ... */
	vmp_level min_level;    /* levels below it are never notified: not exported */
	uint64_t notifications[3]; /* by vmp_level */
	bool evidence;          /* the source reports each window's scanned/reclaimed */
	uint64_t scanned, reclaimed; /* sums over the notified windows */
	bool have_pressure;     /* a window with evidence was notified */
	uint64_t pressure;      /* the last such window's, percent */
	unsigned level;         /* VMPD_METRIC_LEVEL_NONE or 1 + vmp_level */
	double last_time;       /* the last notification, Unix seconds; < 0: none */
};

/* The daemon's own numbers; each process_* value only if its `have_` is set. */
struct vmpd_procinfo {
	bool have_stat;
	double cpu_seconds;     /* utime + stime */
	double start_time;      /* Unix seconds */
	uint64_t virtual_bytes, resident_bytes;
	bool have_fds;
	uint64_t open_fds;
	bool have_max_fds;
	uint64_t max_fds;       /* the soft RLIMIT_NOFILE */
};

/* A --metrics-cgroup's OOM forecast: vmpressure_oom_eta_seconds. */
struct vmpd_eta {
	const char *cgroup;
	double eta;             /* seconds; negative: none (+Inf) */
};

struct vmpd_daemoninfo {
	const char *version, *source;
	uint64_t clients, subscriptions, listeners, dropped;
	const struct vmpd_eta *etas; /* sorted by cgroup */
	size_t netas;
};

/*
 * Append the whole exposition: every family once, HELP and TYPE first,
 * its samples together, series in the order given (the caller sorts).
 * Families with no sample (no listener yet, or a source without evidence)
 * are left out.
 */
void vmpd_metrics_format(struct vmp__buf *b, const struct vmpd_series *s, size_t n,
			 const struct vmpd_procinfo *p, const struct vmpd_daemoninfo *di);

/* A label value's text (without the quotes): backslash, double quote and
 * newline escaped as the format says; a byte that is not valid UTF-8
 * (the format is UTF-8; a cgroup name is any bytes) becomes U+FFFD. */
void vmpd_prom_label_value(struct vmp__buf *b, const char *s, size_t n);

/* ---- HTTP (http.c) ------------------------------------------------------- */

/* Request head limits: what Prometheus sends is ~250 bytes. */
#define VMPD_HTTP_HEAD_MAX 8192u   /* request line, headers, blank line */
#define VMPD_HTTP_LINE_MAX 1024u   /* the request line */
#define VMPD_HTTP_HEADERS_MAX 64u

struct vmpd_http_request {
	int status;          /* 200, 400, 404, 405, 414, 431, 505 */
	bool head;           /* HEAD: no body in the response */
	size_t head_len;     /* bytes of the head (valid when status is 200) */
	const char *reason;  /* why, for the log: a static string */
};

/*
 * Parse the request head at buf[0, len). Returns 0 while more bytes are
 * needed (and could still make a valid head), otherwise the status to
 * answer, with *out filled: 200 for GET or HEAD of /metrics (a query
 * string is ignored), 404 another path, 405 another method, 400 anything
 * malformed (or eof before the head ended), 414 a request line over
 * 1024 bytes, 431 a head over the other limits,
 * 505 an HTTP version other than 1.0 and 1.1. A request with a body
 * (Content-Length other than 0, Transfer-Encoding) is 400: GET has none.
 */
int vmpd_http_parse(const char *buf, size_t len, bool eof, struct vmpd_http_request *out);

/* A complete response, always `Connection: close`. A 200 has the
 * exposition's content type; an error a one-line text/plain body. With
 * head set the body is left out (Content-Length stays the body's). */
void vmpd_http_response(struct vmp__buf *b, int status, bool head, const char *body, size_t n);

#define VMPD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- /proc/self (procself.c) --------------------------------------------- */

/* The fields of a /proc/PID/stat line we need, in clock ticks and pages.
 * -EINVAL if the line does not have them. */
struct vmpd_procstat {
	uint64_t utime, stime, starttime, vsize, rss;
};
int vmpd_procstat_parse(const char *s, size_t n, struct vmpd_procstat *out);

/* Fill p from /proc/self; what cannot be read is left out (have_ false). */
void vmpd_procinfo_read(struct vmpd_procinfo *p);

#endif
