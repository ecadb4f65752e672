/* SPDX-License-Identifier: MIT */
/* The vmptrace v1 reader (docs/vmptrace.md): syntax only, one record at a
 * time, no allocation. What the records mean is replay.c's business. */
#ifndef VMP_TRACE_H
#define VMP_TRACE_H

#include "vmpressure.h"
#include "export.h"
#include "error.h"

enum vmp_trace_kind {
	VMP_REC_GROUP,
	VMP_REC_LISTEN,
	VMP_REC_VMPRESSURE,
	VMP_REC_PRIO,
	VMP_REC_WORK,
	VMP_REC_EXPECT,
};

/* A string inside the parsed buffer: not NUL-terminated. */
struct vmp_span {
	const char *p;
	size_t n;
};

struct vmp_trace_rec {
	enum vmp_trace_kind kind;
	unsigned long line;
	struct vmp_span t;      /* vmpressure, prio, work */
	struct vmp_span group;  /* all but expect */
	struct vmp_span parent; /* group: "-" for the root */
	struct vmp_span args;   /* listen: the rest of the line */
	unsigned id;            /* listen, expect */
	bool tree;              /* vmpressure */
	uint64_t scanned, reclaimed; /* vmpressure */
	uint64_t count;         /* expect */
	uint32_t gfp;           /* vmpressure, prio */
	int prio;               /* prio */
};

/* Largest listener id accepted ("a small non-negative integer"). */
#define VMP_TRACE_MAX_ID 65535u

/* Returns 0, or a negative value to stop the parse (err already set). */
typedef int (*vmp_trace_fn)(const struct vmp_trace_rec *rec, void *arg,
			    struct vmp_error *err);

/* Parse buf, calling fn for each record in order. -EINVAL and *err on the
 * first malformed line, or whatever fn returned. */
int vmp__trace_parse(const char *buf, size_t len, vmp_trace_fn fn, void *arg,
		    struct vmp_error *err);

/* True if the buffer holds a `work` record: the file uses kernel timing. */
bool vmp__trace_has_work(const char *buf, size_t len);

/* writer.c: one record as text ending in '\n', into buf. The length
 * written, -ENOBUFS if it does not fit, -EINVAL for a name the format
 * cannot hold (vmp__trace_name_ok) or a bad id/level/mode. Times in ns. */
bool vmp__trace_name_ok(const char *s);
int vmp__trace_fmt_group(char *buf, size_t cap, const char *path, const char *parent);
int vmp__trace_fmt_listen(char *buf, size_t cap, unsigned id, const char *group, vmp_level level,
			 vmp_mode mode);
int vmp__trace_fmt_vmpressure(char *buf, size_t cap, uint64_t t_ns, const char *group, bool tree,
			     uint64_t scanned, uint64_t reclaimed, uint32_t gfp);
int vmp__trace_fmt_prio(char *buf, size_t cap, uint64_t t_ns, const char *group, int prio, uint32_t gfp);
int vmp__trace_fmt_work(char *buf, size_t cap, uint64_t t_ns, const char *group);
int vmp__trace_fmt_expect(char *buf, size_t cap, unsigned id, uint64_t count);

#endif
