/* SPDX-License-Identifier: MIT */
/* Internal: what every kind of source shares (source.c), and the kinds. */
#ifndef VMP_SOURCE_H
#define VMP_SOURCE_H

#include "vmpressure.h"
#include "export.h"
#include "error.h"

#include <sys/epoll.h>
#include <sys/types.h>

struct vmp_source;
struct vmp_tap;

/* The epoll tag of every fd a source watches: who handles it. */
struct vmp_watch {
	int (*ready)(struct vmp_source *src, struct vmp_watch *w, uint32_t events);
	int fd;
};

struct vmp_sub {
	struct vmp_sub *next;
	struct vmp_source *src;
	char *cgroup;          /* normalized: "/" or "a/b" */
	char *args;            /* as given */
	vmp_level level;
	vmp_mode mode;
	vmp_source_fn fn;
	void *arg;
	bool dead;             /* removal delivered */
	bool recorded;         /* has a `listen` record (record.c) */
	unsigned rec_id;       /* its id there */
	uint64_t delivered;    /* notifications delivered (counts), for `expect` */
	void *kind_data;       /* the kind's per-subscription state */
};

struct vmp_psi_pair {
	double some, full; /* avg10; negative: unknown */
};

struct vmp_source_ops {
	int (*init)(struct vmp_source *src, struct vmp_error *err); /* err: as vmp_source_new()'s */
	void (*fini)(struct vmp_source *src);
	int (*subscribe)(struct vmp_source *src, struct vmp_sub *sub);
	void (*unsubscribe)(struct vmp_source *src, struct vmp_sub *sub);
	int (*start)(struct vmp_source *src); /* optional */
	/* optional: the PSI to report with an event of a listener on g */
	struct vmp_psi_pair (*psi)(struct vmp_source *src, vmp_group *g);
	/* optional: route the kind's engine calls through tap (NULL: stop);
	 * *flags gets VMP_TAP_F_*. Kinds without it feed no engine (v1). */
	int (*set_tap)(struct vmp_source *src, const struct vmp_tap *tap, unsigned *flags);
};

#define VMP_TAP_F_WORK 0x1u       /* the engine evaluates only in run_job: record `work` */
#define VMP_TAP_F_TRACE_TIME 0x2u /* call times are a trace's own, not CLOCK_MONOTONIC */

struct vmp_source {
	struct vmp_source_config cfg;
	enum vmp_source_kind kind;
	const struct vmp_source_ops *ops;
	char *cgroup_root;
	char *proc_root;
	int epfd;
	struct vmp_sub *subs;
	void *kind_data;
	/* Non-zero: the time of the events being emitted (the trace source's
	 * timeline), instead of the clocks', on each clock. */
	uint64_t event_time_ns, event_mono_ns;
	struct vmp_recorder *rec; /* vmp_source_record(), record.c */
};

extern const struct vmp_source_ops vmp__source_v1_ops;
extern const struct vmp_source_ops vmp__source_est_ops; /* v2 and machine */
extern const struct vmp_source_ops vmp__source_trace_ops;

/* source.c */
/* What VMP_SOURCE_AUTO means on this machine (or below cfg's roots):
 * 0 and *kind, or -errno for an explicit cgroup root that is neither
 * hierarchy (source.c says which). */
int vmp__source_detect(const struct vmp_source_config *cfg, enum vmp_source_kind *kind);
int vmp__source_watch(struct vmp_source *src, struct vmp_watch *w, uint32_t events);
void vmp__source_unwatch(struct vmp_source *src, struct vmp_watch *w);
void vmp__source_emit(struct vmp_sub *sub, struct vmp_source_event *ev);

/* Engine-backed kinds: a subscription is a callback listener on group g,
 * whose events become source events. */
int vmp__source_engine_subscribe(struct vmp_sub *sub, vmp_group *g);
void vmp__source_engine_unsubscribe(struct vmp_sub *sub);


/* record.c */
struct vmp_recorder;
void vmp__record_listen(struct vmp_recorder *rec, struct vmp_sub *sub, vmp_group *g);
void vmp__record_free(struct vmp_recorder *rec);

/* paths.c: "/" or "a/b" from user input; NULL if it escapes the root. */
char *vmp__cgroup_normalize(const char *path);
char *vmp__path_join(const char *root, const char *rel, const char *file);

#endif
