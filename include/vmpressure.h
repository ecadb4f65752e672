/* SPDX-License-Identifier: MIT */
/*
 * libvmpressure — the Linux kernel's memory pressure notification mechanism
 * (mm/vmpressure.c), as an embeddable userspace library.
 *
 * Conventions: every handle is opaque; functions that can fail return 0 or a
 * negative errno value and write their out-parameters only on success;
 * every *_free()/destroy accepting a pointer is a no-op on NULL. The library
 * never logs and never exits.
 *
 * Rules referenced as R-n are those of docs/kernel-vmpressure-spec.md.
 *
 * Names: vmp_<object>_<verb>() acts on an object, vmp_<object>_<field>()
 * reads one of its properties (vmp_group_path(), vmp_source_kind(),
 * vmp_debounce_stats()); vmp__* names are the library's own and never
 * part of this interface.
 *
 * The parts, in this order: the mechanism (levels, contexts, groups,
 * listeners, accounting); sources, which feed it from a live kernel or a
 * file, and their recordings; vmptrace files (replay, offline
 * re-estimation); consumers (the debounced level state, the OOM
 * forecast, shell actions).
 */
#ifndef VMPRESSURE_H
#define VMPRESSURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMP_VERSION_MAJOR 0
#define VMP_VERSION_MINOR 2
#define VMP_VERSION_PATCH 0
#define VMP_VERSION_HEX                                                        \
	((VMP_VERSION_MAJOR << 16) | (VMP_VERSION_MINOR << 8) | VMP_VERSION_PATCH)
#define VMP_VERSION_STRING "0.2.0"

/* The run-time library's version, as VMP_VERSION_HEX. */
unsigned vmp_version(void);

/* ======================================================================
 * Conventions shared by every part
 * ====================================================================== */

/* ---- Error detail ------------------------------------------------------ */

/*
 * A function that can say more than its errno takes an optional last
 * argument `struct vmp_error *err` (NULL: no detail). It clears *err on
 * entry; on failure it fills in msg (what was wrong, quoting the bytes,
 * and where it helps what to do), and line and path when the error is
 * about a line of a file.
 */
struct vmp_error {
	unsigned long line;      /* 1-based; 0 when not about one line */
	char path[256];          /* the file it is about; "" for a buffer or none */
	char msg[256];
};

/* ======================================================================
 * The mechanism: levels, the engine context, groups, listeners,
 * accounting and deferred evaluation
 * ====================================================================== */

/* ---- Constants of the mechanism (spec §2) ------------------------------ */

#define VMP_WINDOW 512u         /* scanned pages per evaluation window */
#define VMP_MED_THRESHOLD 60u   /* pressure >= 60 %: medium */
#define VMP_CRIT_THRESHOLD 95u  /* pressure >= 95 %: critical */
#define VMP_CRIT_PRIO 3         /* reclaim priority <= 3 injects 512/0 */
#define VMP_MAX_ARGS_LEN 19u    /* registration args beyond this are cut */

/* GFP bits that make a reclaim context count: HIGHMEM|MOVABLE|IO|FS. */
#define VMP_GFP_RELEVANT_DEFAULT 0xcau

typedef enum vmp_level {
	VMP_LEVEL_LOW = 0,
	VMP_LEVEL_MEDIUM = 1,
	VMP_LEVEL_CRITICAL = 2,
} vmp_level;

typedef enum vmp_mode {
	VMP_MODE_DEFAULT = 0,
	VMP_MODE_HIERARCHY = 1,
	VMP_MODE_LOCAL = 2,
} vmp_mode;

/* "low", "medium", "critical"; NULL for an out-of-range value. */
const char *vmp_level_name(vmp_level level);
/* "default", "hierarchy", "local"; NULL for an out-of-range value. */
const char *vmp_mode_name(vmp_mode mode);

/* ---- The level formula (spec §4) --------------------------------------- */

/* Flags for vmp_calc(). */
#define VMP_CALC_UL32 0x1u    /* 32-bit kernel: unsigned long is 32 bits */
#define VMP_CALC_NO_GUARD 0x2u /* kernels before v4.11: no r >= s guard */

/*
 * The kernel's pressure percentage and level for one window, with the
 * kernel's exact truncating, wrapping unsigned-long arithmetic.
 * -EINVAL if scanned is 0 (the kernel never evaluates an empty window).
 * Where scanned + reclaimed wraps to 0 the kernel divides by zero; this
 * library defines that case as pressure 100, CRITICAL (see level.c).
 */
int vmp_calc(uint64_t scanned, uint64_t reclaimed, unsigned flags,
	     uint64_t *pressure, vmp_level *level);

/* ---- Registration arguments (spec R-14) -------------------------------- */

/*
 * Parse "level[,mode]" exactly as memory.pressure_level registration does:
 * only the first 19 bytes count, tokens are exact and case-sensitive,
 * anything after a second comma is ignored. -EINVAL on a syntax error.
 */
int vmp_parse_args(const char *args, vmp_level *level, vmp_mode *mode);

/* ---- Engine context and executors -------------------------------------- */

typedef struct vmp_ctx vmp_ctx;
typedef struct vmp_group vmp_group;

/* Where deferred evaluations run (spec R-9). */
typedef enum vmp_executor {
	/* One or more worker threads: production use. */
	VMP_EXECUTOR_THREAD = 0,
	/* In the caller, right after the call that filled the window. */
	VMP_EXECUTOR_INLINE = 1,
	/* Only when vmp_group_run_job() is called: kernel-timed replay. */
	VMP_EXECUTOR_MANUAL = 2,
} vmp_executor;

/* Context flags. */
#define VMP_CTX_CGROUP_V1 0x1u   /* legacy hierarchy: local path off (F1) */
#define VMP_CTX_NO_GUARD 0x2u    /* pre-v4.11 formula (VMP_CALC_NO_GUARD) */
#define VMP_CTX_UL32 0x4u        /* emulate a 32-bit kernel's arithmetic */

struct vmp_config {
	unsigned flags;              /* VMP_CTX_* */
	vmp_executor executor;
	unsigned threads;            /* worker threads; 0 means 1 */
	uint32_t gfp_relevant;       /* 0 means VMP_GFP_RELEVANT_DEFAULT */
	/* Monotonic clock in ns, for the socket-pressure deadline;
	 * NULL means CLOCK_MONOTONIC. */
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
};

/* Fill *cfg with the defaults: thread executor, one worker, v2 rules. */
void vmp_config_init(struct vmp_config *cfg);

/* A new context with its root group. cfg NULL means the defaults. */
int vmp_ctx_new(vmp_ctx **out, const struct vmp_config *cfg);
/* Waits for pending evaluations, removes every group (their listeners get
 * the removal signal), stops the workers and frees everything. */
void vmp_ctx_free(vmp_ctx *ctx);
/* Wait until no evaluation is pending or running in the whole context. */
int vmp_ctx_flush(vmp_ctx *ctx);

/* ---- Groups ------------------------------------------------------------ */

/* The root group ("/"), which lives as long as the context. */
vmp_group *vmp_ctx_root(vmp_ctx *ctx);

/*
 * Create group `name` (one path component: no '/', not "." or "..", at most
 * 255 bytes) below `parent`. -EEXIST if it exists, -EINVAL for a bad name,
 * -ENOENT if the parent was destroyed.
 */
int vmp_group_new(vmp_group *parent, const char *name, vmp_group **out);

/* Find a live group by path ("/" for the root, "a/b" or "/a/b" below it).
 * The pointer stays valid until the group is destroyed, or longer if the
 * caller holds a reference (vmp_group_ref). -ENOENT if there is none. */
int vmp_group_lookup(vmp_ctx *ctx, const char *path, vmp_group **out);

/*
 * Remove a group (cgroup rmdir, R-22): it leaves the lookup table, its
 * pending evaluation is flushed, each of its listeners is signalled once
 * more (callbacks see VMP_EVENT_REMOVED) and dropped. -EBUSY while it has
 * live children, -EPERM for the root. The memory is freed once the last
 * reference is gone; accounting to a removed group is still safe for
 * holders of a reference.
 */
int vmp_group_destroy(vmp_group *g);

/* Like vmp_group_lookup(), but takes a reference (under the same lock as
 * the lookup, so it cannot race with the group's removal). Release it
 * with vmp_group_unref(). */
int vmp_group_lookup_ref(vmp_ctx *ctx, const char *path, vmp_group **out);

/* Keep a group's memory alive across a concurrent vmp_group_destroy(). */
vmp_group *vmp_group_ref(vmp_group *g);
void vmp_group_unref(vmp_group *g);

/* A number that identifies the group within its context and is never
 * reused, not even by a group created later at the same path or address. */
uint64_t vmp_group_id(const vmp_group *g);

/* "/" for the root, else "a/b" (no leading slash), as in vmptrace files. */
const char *vmp_group_path(const vmp_group *g);
vmp_group *vmp_group_parent(const vmp_group *g);

/* ---- Listeners (spec §7, §8) ------------------------------------------- */

/* Event flags: of struct vmp_event, and of struct vmp_source_event. */
#define VMP_EVENT_REMOVED 0x1u     /* the group was destroyed: last event */
#define VMP_EVENT_NO_EVIDENCE 0x2u /* source events: scanned/reclaimed/pressure unknown */
#define VMP_EVENT_ESTIMATED 0x4u   /* source events: from the v2/machine estimator */

struct vmp_event {
	unsigned flags;          /* VMP_EVENT_* */
	vmp_level level;         /* evaluated level (a removal: min_level) */
	uint64_t scanned;        /* the evaluated window */
	uint64_t reclaimed;
	uint64_t pressure;       /* percent, as the kernel computed it */
	vmp_group *origin;       /* the group the window was accounted to */
	vmp_group *group;        /* the listener's group */
	vmp_level min_level;     /* the listener's registration */
	vmp_mode mode;
};

/*
 * Called from the evaluating thread with the group's listener lock held:
 * it must not register or unregister listeners of that group (that
 * returns -EDEADLK) and should return quickly.
 */
typedef void (*vmp_notify_fn)(const struct vmp_event *ev, void *arg);

/*
 * Register an eventfd (the kernel's counter semantics: +1 per fire) or a
 * callback with "level[,mode]" args (vmp_parse_args). The newest
 * registration is first in delivery order. Duplicates are allowed.
 */
int vmp_listen_eventfd(vmp_group *g, int efd, const char *args);
int vmp_listen_callback(vmp_group *g, const char *args, vmp_notify_fn fn,
			void *arg);

/* Remove the newest registration with this eventfd / callback and arg.
 * -ENOENT if there is none. No event reaches it after this returns. */
int vmp_unlisten_eventfd(vmp_group *g, int efd);
int vmp_unlisten_callback(vmp_group *g, vmp_notify_fn fn, void *arg);

/* ---- Accounting and deferred evaluation (spec §5, §6, R-9) ------------- */

/*
 * vmpressure(gfp, memcg, tree, scanned, reclaimed). g NULL means the root.
 * Never sleeps and takes no mutex; safe from any number of threads.
 */
void vmp_account(vmp_ctx *ctx, vmp_group *g, uint32_t gfp, bool tree,
		 uint64_t scanned, uint64_t reclaimed);

/* vmpressure_prio(): prio <= 3 accounts a synthetic 512 scanned, 0
 * reclaimed on the tree path. */
void vmp_account_prio(vmp_ctx *ctx, vmp_group *g, uint32_t gfp, int prio);

/*
 * Run g's deferred evaluation now, over whatever its tree accumulator
 * holds (a kernel `work` item running). For the manual executor this is
 * the only way evaluations happen. -EBUSY if another thread is running it.
 */
int vmp_group_run_job(vmp_group *g);

/* True while g or an ancestor is within 1 s of a local-path evaluation of
 * medium or above. */
bool vmp_group_socket_pressure(const vmp_group *g);

/* ======================================================================
 * Sources (a real kernel feeding the engine) and recording
 * ====================================================================== */

/* ---- Sources ----------------------------------------------------------- */

/*
 * A source watches a live machine and notifies subscriptions with the
 * kernel's semantics:
 *  - cgroup v1: the kernel's own memory.pressure_level, registered through
 *    cgroup.event_control and relayed (exact by construction);
 *  - cgroup v2: an estimator turning memory.stat / memory.events /
 *    memory.pressure deltas into origin-attributed windows for the engine;
 *  - machine: /proc/vmstat and /proc/pressure/memory for the root ("/").
 * A source is driven by the caller's loop: poll vmp_source_fd() for input,
 * call vmp_source_dispatch() when it is readable. Callbacks run inside
 * dispatch, in the caller's thread. Not thread-safe: one thread per source.
 */
typedef struct vmp_source vmp_source;
typedef struct vmp_sub vmp_sub;

/* Not a typedef: vmp_source_kind() is the getter. */
enum vmp_source_kind {
	VMP_SOURCE_AUTO = 0,    /* v1 if a v1 memory controller is mounted, else v2 */
	VMP_SOURCE_V1 = 1,      /* kernel passthrough */
	VMP_SOURCE_V2 = 2,      /* estimator on cgroup v2 counters */
	VMP_SOURCE_MACHINE = 3, /* /proc/vmstat estimator, "/" only */
	VMP_SOURCE_TRACE = 4,   /* a vmptrace file played back in real time */
};

struct vmp_source_config {
	enum vmp_source_kind kind;
	/* Roots, so that tests can use fixture trees. NULL: the system's
	 * (/sys/fs/cgroup/memory for v1, /sys/fs/cgroup for v2, /proc). */
	const char *cgroup_root;
	const char *proc_root;
	unsigned idle_interval_ms; /* estimator sampling when calm; 0: 1000 */
	unsigned busy_interval_ms; /* under pressure; 0: 100 */
	/* VMP_SOURCE_TRACE: the file, its speed (2.0 plays twice as fast;
	 * 0 as fast as possible), and whether to wait for vmp_source_start(). */
	const char *trace_path;
	double trace_speed;
	bool trace_hold;
};

struct vmp_source_event {
	unsigned flags;           /* VMP_EVENT_* */
	vmp_level level;
	const char *cgroup;       /* the subscription's cgroup, "/" for the root */
	const char *origin;       /* where the window was accounted; NULL if unknown */
	uint64_t scanned, reclaimed, pressure;
	double psi_some_avg10;    /* the cgroup's memory.pressure; negative if unknown */
	double psi_full_avg10;
	uint64_t time_ns;         /* CLOCK_REALTIME: for people */
	uint64_t mono_ns;         /* CLOCK_MONOTONIC, the same moment: for timing
				   * (a trace source: both on the file's timeline) */
	uint64_t count;           /* notifications this event stands for (>= 1) */
};

typedef void (*vmp_source_fn)(const struct vmp_source_event *ev, void *arg);

void vmp_source_config_init(struct vmp_source_config *cfg);
/* -ENOENT if the requested kind is not available on this machine (AUTO
 * with an explicit cgroup_root finds v1 or v2 there or fails: -ENOENT,
 * -ENOTDIR, -EINVAL for "", never the machine instead); for a
 * trace, the errors of vmp_replay_run() (err naming the file and line) or
 * of reading the file (err naming it). */
int vmp_source_new(vmp_source **out, const struct vmp_source_config *cfg, struct vmp_error *err);
void vmp_source_free(vmp_source *src);
/* The kind it is (AUTO resolved); VMP_SOURCE_AUTO for NULL. */
enum vmp_source_kind vmp_source_kind(const vmp_source *src);
/* "auto", "cgroup-v1", "cgroup-v2", "machine", "trace" (the names events
 * and actions report, VMP_SOURCE); NULL for an out-of-range value. */
const char *vmp_source_kind_name(enum vmp_source_kind kind);

/*
 * A cgroup path as every part takes it (subscriptions, vmpressured's
 * requests and options): relative to the cgroup root, '/'-separated;
 * leading, trailing and repeated '/' dropped; "" and "/" are the root,
 * written "/". The len bytes at path need not be NUL-terminated; out gets
 * the normal form, NUL-terminated. -EINVAL (err naming the byte) for a "."
 * or ".." component, a component over 255 bytes, or a control character
 * (0x00-0x1f, 0x7f: in no cgroup name one can type, and they would break
 * line-based output); -ENAMETOOLONG if the result does not fit in cap.
 */
int vmp_cgroup_normalize(const char *path, size_t len, char *out, size_t cap, struct vmp_error *err);

/*
 * Subscribe to `cgroup` (relative to the cgroup root, as
 * vmp_cgroup_normalize() takes it; "/" for the root or the whole machine) with "level[,mode]" args. -ENOENT: no such cgroup;
 * -EINVAL: bad args or path; -EACCES: not permitted. After the cgroup is
 * removed the subscription gets one event with VMP_EVENT_REMOVED and is
 * dead: unsubscribe it.
 */
int vmp_source_subscribe(vmp_source *src, const char *cgroup, const char *args,
			 vmp_source_fn fn, void *arg, vmp_sub **out);
void vmp_source_unsubscribe(vmp_source *src, vmp_sub *sub);

/* Start a held trace source; a no-op for the others. */
int vmp_source_start(vmp_source *src);

/* A pollable fd (readable when dispatch has work), and the dispatcher
 * (never blocks). Dispatch returns 0 or -errno of a fatal error. */
int vmp_source_fd(const vmp_source *src);
int vmp_source_dispatch(vmp_source *src);

/* ---- Recording (vmpressure record) ------------------------------------ */

/*
 * The engine calls an estimator or trace source makes, as vmptrace v1
 * text that vmp_replay_run() reproduces. From vmp_source_record() on, fn gets whole lines ('\n'-terminated, in
 * file order, inside dispatch and subscribe): `group` records as groups
 * first appear, a `listen` record per subscription made after it (ids 0,
 * 1, ... in subscription order), and `vmpressure`, `prio` (and for a
 * kernel-timed trace `work`) records. Live times are seconds since
 * vmp_source_record(); a trace source keeps its file's. Call it before the
 * first subscription (-EBUSY otherwise, or if already recording).
 * -ENOTSUP for the cgroup v1 source: it relays the kernel's own levels,
 * with no engine calls to record.
 */
typedef void (*vmp_record_fn)(const char *text, size_t len, void *arg);
int vmp_source_record(vmp_source *src, vmp_record_fn fn, void *arg);
/*
 * End the recording: an `expect` record per recorded subscription still
 * subscribed, with the notifications delivered to it, then nothing more.
 * Returns 0, or the error that stopped the recording early (the text
 * passed so far is then incomplete): -EILSEQ for a cgroup name vmptrace
 * cannot hold (a space or a control character), -ENOMEM, -ERANGE (more
 * than 65536 subscriptions). -EINVAL if not recording.
 */
int vmp_source_record_end(vmp_source *src);

/* ======================================================================
 * vmptrace files (docs/vmptrace.md): replay and offline re-estimation
 * ====================================================================== */

/* ---- Replay ------------------------------------------------------------ */

typedef struct vmp_replay vmp_replay;


/* Called for every notification during a replay: t is the record's time
 * text exactly as in the file. */
typedef void (*vmp_replay_event_fn)(const char *t, size_t tlen,
				    unsigned listener_id, vmp_level level,
				    void *arg);

/*
 * Parse and replay a whole vmptrace v1 buffer. On a malformed trace:
 * -EINVAL with err naming the line; nothing of the replay is kept.
 */
int vmp_replay_run(const char *buf, size_t len, vmp_replay_event_fn ev,
		   void *ev_arg, vmp_replay **out, struct vmp_error *err);
void vmp_replay_free(vmp_replay *r);

/* Listeners of a replay, in ascending id order. */
size_t vmp_replay_listener_count(const vmp_replay *r);
struct vmp_replay_listener {
	unsigned id;
	uint64_t count;          /* notifications delivered */
	bool has_expect;         /* the file has an `expect` record for it */
	uint64_t expect;
};
int vmp_replay_listener(const vmp_replay *r, size_t index,
			struct vmp_replay_listener *out);
/*
 * The same replay, reporting what plots and analyses need. Every hook may
 * be NULL. t/tlen: the time text of the record being replayed. On a
 * malformed trace the hooks may have seen the lines before the bad one.
 */
struct vmp_replay_hooks {
	/* each `group` record: parent NULL for the root */
	void (*group)(const char *path, const char *parent, void *arg);
	/* each `listen` record: args as in the file, cut to 19 bytes */
	void (*listen)(unsigned id, const char *group, const char *args, void *arg);
	/* each evaluated window, whether or not a listener heard it: ev has
	 * level, scanned, reclaimed, pressure and origin (group is NULL) */
	void (*window)(const char *t, size_t tlen, const struct vmp_event *ev, void *arg);
	/* each counted notification: ev->group is the listener's group,
	 * ev->origin the group whose window it was */
	void (*event)(const char *t, size_t tlen, unsigned listener_id, const struct vmp_event *ev,
		      void *arg);
	void *arg;
};
int vmp_replay_run_hooks(const char *buf, size_t len, const struct vmp_replay_hooks *hooks,
			 vmp_replay **out, struct vmp_error *err);

/* True if the file had `work` records (kernel timing). */
bool vmp_replay_kernel_timing(const vmp_replay *r);

/* ---- Offline re-estimation (vmpressure estimate) ---------------------- */

/*
 * A recording of a cgroup v2 or machine source (vmp_source_record) keeps,
 * besides the engine calls, every counter snapshot the estimator stepped
 * with, as `# sample` comment lines (docs/vmptrace.md, "Samples").
 * vmp_estimate_run() runs the estimator again over them with other
 * settings, into an engine with the recording's listeners (registered at
 * their place in the file) and any extra ones.
 *
 * prio: which evidence stands in for the kernel's priority path
 * (vmpressure_prio(), which the counters do not show); see the theory of
 * operation in src/lib/estimator/estimator.c:
 */
#define VMP_ESTIMATE_PRIO_DEFICIT 0x1u  /* calls that freed under 32 pages each failed */
#define VMP_ESTIMATE_PRIO_OOM 0x2u      /* an oom event implies 18 failed calls (+ up to 17 after a kill) */
#define VMP_ESTIMATE_PRIO_LEARN 0x4u    /* refine DEFICIT with the learned pages per call */
#define VMP_ESTIMATE_PRIO_PSI_FULL 0x8u /* a failed call per interval of >= 7 % full stall
					 * (a candidate, off by default) */
#define VMP_ESTIMATE_PRIO_ONSET 0x10u   /* an episode's first injections meet the latest real pages */
#define VMP_ESTIMATE_PRIO_GRACE 0x20u   /* a shortfall the next interval repays is no failure */
#define VMP_ESTIMATE_PRIO_HIGH 0x40u    /* memory.high calls below priority 4, from the file LRU */
#define VMP_ESTIMATE_PRIO_DEPTH_MAX 0x80u /* the same for memory.max calls (for ONSET, classic LRU) */
#define VMP_ESTIMATE_PRIO_SWEEP 0x100u  /* a call that scanned most of the LRU and freed nothing
					 * (needs anon_lru and file_lru samples) */
#define VMP_ESTIMATE_PRIO_OWNSTALL 0x400u /* an origin whose PSI stall is all an origin's below it:
					   * its calls stalled nobody, none failed */
#define VMP_ESTIMATE_PRIO_KILLSEEN 0x800u /* the failed calls after an OOM kill: no more than
					   * the interval's reclaim calls (`max` events) show */
#define VMP_ESTIMATE_PRIO_CROWD 0x1000u /* kernels from 6.6 with tasks waiting for the CPUs:
					 * the kernel's job runs after fewer injections
					 * (needs sched samples, /proc/schedstat) */
#define VMP_ESTIMATE_PRIO_DEFAULT                                                             \
	(VMP_ESTIMATE_PRIO_DEFICIT | VMP_ESTIMATE_PRIO_OOM | VMP_ESTIMATE_PRIO_LEARN |          \
	 VMP_ESTIMATE_PRIO_ONSET | VMP_ESTIMATE_PRIO_GRACE | VMP_ESTIMATE_PRIO_HIGH |             \
	 VMP_ESTIMATE_PRIO_DEPTH_MAX | VMP_ESTIMATE_PRIO_SWEEP | VMP_ESTIMATE_PRIO_OWNSTALL |    \
	 VMP_ESTIMATE_PRIO_KILLSEEN | VMP_ESTIMATE_PRIO_CROWD)

struct vmp_estimate_listen {
	const char *group; /* "/" or "a/b" */
	const char *args;  /* "level[,mode]" */
};

struct vmp_estimate_config {
	unsigned prio;          /* VMP_ESTIMATE_PRIO_*; the default: what live sources use */
	unsigned window_pages;  /* pages per evaluation window the estimator feeds; 0: VMP_WINDOW */
	/* extra listeners, ids after the recording's highest, registered
	 * before the first sample */
	const struct vmp_estimate_listen *listen;
	size_t nlisten;
	/* The kernel stood in for (docs/estimator.md, "Kernels each rule was
	 * measured on"). kernel: a release as uname(2) gives it
	 * ("6.12.95+deb12-amd64"); NULL: the recording's `# estimator` line
	 * (the live source's, from the machine it ran on), else unknown.
	 * lru_gen: 1 MGLRU on, 0 off, -1 as recorded (else unknown).
	 * fail_passes: priority loops injected per failed reclaim call; 0 as
	 * recorded (else 1). */
	const char *kernel;
	int lru_gen;
	unsigned fail_passes;
};

/* The settings live sources use. */
void vmp_estimate_config_init(struct vmp_estimate_config *cfg);

typedef struct vmp_estimate vmp_estimate;

/*
 * Re-estimate a recording (a whole vmptrace buffer; cfg NULL: the
 * defaults, which reproduce the recording's own engine calls exactly).
 * If fn is set it gets the re-estimated recording, in whole lines: the
 * sample lines again, the new engine calls, the listeners and `expect`
 * records with the new counts (a file that replay --check accepts).
 * -EINVAL with err naming the line (and byte) for a malformed trace or
 * sample line or a bad extra listener (line 0); -ENODATA (err says so) if
 * the file has no sample lines; -ENOMEM; the recorder's error (-EILSEQ).
 */
int vmp_estimate_run(const char *buf, size_t len, const struct vmp_estimate_config *cfg,
		     vmp_record_fn fn, void *fn_arg, vmp_estimate **out,
		     struct vmp_error *err);
void vmp_estimate_free(vmp_estimate *e);

struct vmp_estimate_listener {
	unsigned id;
	const char *group;       /* valid until vmp_estimate_free() */
	const char *args;
	bool extra;              /* from cfg->listen, not the recording */
	uint64_t count;          /* notifications, re-estimated */
	uint64_t by_level[3];
	bool has_expect;         /* the recording has an `expect` record for it */
	uint64_t expect;
};
/* Listeners in ascending id order. */
size_t vmp_estimate_listener_count(const vmp_estimate *e);
int vmp_estimate_listener(const vmp_estimate *e, size_t index, struct vmp_estimate_listener *out);

struct vmp_estimate_stats {
	uint64_t steps;          /* samples stepped */
	uint64_t cgroup_samples; /* cgroup snapshots in them */
	uint64_t windows;        /* evaluations from real scan deltas */
	uint64_t prio_windows;   /* priority-path injections */
	uint64_t failed_calls;   /* estimated reclaim calls that failed */
};
void vmp_estimate_stats(const vmp_estimate *e, struct vmp_estimate_stats *out);

/* ======================================================================
 * Consumers: the debounced level state, the OOM forecast, and actions
 * ====================================================================== */

/* ---- Debounced level state (docs/debounce.md) ------------------------- */

/*
 * For a consumer that wants "we are in medium pressure now" rather than a
 * stream of windows: a pure, deterministic state machine fed with the raw
 * notifications and with clock ticks, raising level transitions with
 * hysteresis, a minimum dwell and optional PSI confirmation; every
 * transition carries its evidence. docs/debounce.md explains the rules and
 * how the defaults were measured. The clock is the caller's: every input
 * carries its time (any monotonic nanosecond scale, the same for all
 * inputs of one debouncer). Not thread-safe: one thread per debouncer.
 */
typedef enum vmp_state {
	VMP_STATE_NONE = 0,     /* no pressure */
	VMP_STATE_LOW = 1,
	VMP_STATE_MEDIUM = 2,
	VMP_STATE_CRITICAL = 3,
} vmp_state;

/* "none", "low", "medium", "critical"; NULL for an out-of-range value. */
const char *vmp_state_name(vmp_state state);

typedef enum vmp_debounce_psi {
	VMP_DEBOUNCE_PSI_OFF = 0, /* transitions up are raised at once */
	VMP_DEBOUNCE_PSI_SOME = 1, /* ... only once PSI some avg10 >= psi_min */
	VMP_DEBOUNCE_PSI_FULL = 2, /* ... only once PSI full avg10 >= psi_min */
} vmp_debounce_psi;

struct vmp_debounce_config {
	uint64_t window_ns; /* notifications are counted over this window */
	unsigned enter;     /* >= enter notifications at level >= L: enter L */
	unsigned leave;     /* <= leave of them: L's evidence is gone (< enter) */
	uint64_t dwell_ns;  /* least time in a state before going down */
	vmp_debounce_psi psi;
	double psi_min;     /* percent, 0..100 */
};

/* The measured defaults (docs/debounce.md). */
void vmp_debounce_config_init(struct vmp_debounce_config *cfg);

/*
 * Parse "key=value,..." over the defaults: window=DUR, enter=N, leave=N,
 * dwell=DUR, psi=some:X|full:X|off (DUR: digits with an optional fraction
 * and a unit, ms or s). Every key at most once; "" is the defaults.
 * -EINVAL with the reason (naming the byte offset) in err->msg; *cfg is
 * written only on success.
 */
int vmp_debounce_parse(const char *s, struct vmp_debounce_config *cfg, struct vmp_error *err);
/* The canonical text of a config (parses back to the same config).
 * -ENOSPC if it does not fit in cap, -EINVAL for an invalid config. */
int vmp_debounce_format(const struct vmp_debounce_config *cfg, char *buf, size_t cap);

/* One raw notification (from a source event: vmp_debounce_input_from_event). */
struct vmp_debounce_input {
	uint64_t time_ns;          /* the debouncer's clock */
	vmp_level level;
	uint64_t count;            /* notifications it stands for; 0 means 1 */
	bool has_evidence;         /* scanned, reclaimed, pressure are known */
	uint64_t scanned, reclaimed, pressure;
	const char *origin;        /* may be NULL; only passed through */
	double psi_some_avg10;     /* negative: unknown */
	double psi_full_avg10;
	uint64_t real_ns;          /* the same moment on CLOCK_REALTIME; 0: unknown */
};

/*
 * The one way from a source event to debounce input: time_ns is the
 * event's mono_ns (an event without one, mono_ns 0, e.g. rebuilt from
 * vmpressured's stream, which carries the wall time only, is placed at its
 * time_ns's distance from the wall clock now), real_ns its time_ns; the
 * level and count; scanned, reclaimed and pressure unless the event has
 * VMP_EVENT_NO_EVIDENCE (then 0 and has_evidence false); the origin
 * whenever the event names one (it is not part of that evidence: a relayed
 * kernel event has none, an estimated one has it whatever its numbers);
 * the PSI. in->origin points into ev. -EINVAL for a removal
 * (VMP_EVENT_REMOVED: not a notification) or NULL.
 */
int vmp_debounce_input_from_event(const struct vmp_source_event *ev, struct vmp_debounce_input *in);

/* What justified a transition: the window at the moment it was raised. */
struct vmp_debounce_evidence {
	uint64_t window_ns;
	uint64_t count[3];         /* notifications in the window, by level */
	uint64_t with_evidence;    /* of them, with scanned/reclaimed known */
	uint64_t scanned, reclaimed; /* summed over those */
	uint64_t max_pressure;     /* the highest of their pressures */
	double psi_some_avg10;     /* the latest known; negative: unknown */
	double psi_full_avg10;
	bool triggered;            /* raised by a notification (else by time) */
	vmp_level trigger_level;   /* that notification, if triggered */
	uint64_t trigger_pressure; /* if it had evidence, else 0 */
	const char *origin;        /* its origin, valid during the callback */
};

typedef enum vmp_transition_cause {
	VMP_CAUSE_ENTER = 0,     /* up: the window reached `enter` */
	VMP_CAUSE_CONFIRMED = 1, /* up: held, then confirmed by PSI */
	VMP_CAUSE_LEAVE = 2,     /* down: evidence at `leave`, dwell over */
} vmp_transition_cause;

/* "enter", "confirmed", "leave"; NULL for an out-of-range value. */
const char *vmp_cause_name(vmp_transition_cause cause);

struct vmp_transition {
	vmp_state from, to;
	vmp_transition_cause cause;
	uint64_t time_ns;          /* the input's clock */
	uint64_t real_ns;          /* on CLOCK_REALTIME: time_ns moved by the latest
				    * input's real_ns - time_ns; 0 if none had one */
	uint64_t prev_duration_ns; /* how long `from` lasted (0: since creation) */
	uint64_t held_ns;          /* how long it waited for PSI */
	struct vmp_debounce_evidence ev;
};

typedef void (*vmp_transition_fn)(const struct vmp_transition *t, void *arg);
typedef struct vmp_debounce vmp_debounce;

/* cfg NULL: the defaults. -EINVAL for an invalid config or no fn. */
int vmp_debounce_new(vmp_debounce **out, const struct vmp_debounce_config *cfg,
		     vmp_transition_fn fn, void *arg);
void vmp_debounce_free(vmp_debounce *d);
/*
 * Feed one notification / let time pass. Transitions due before the
 * input's time (a level left while nothing came) are raised first, at the
 * time they were due, so the result does not depend on how often the
 * caller ticks. A time before the latest one counts as the latest one.
 * -EINVAL for a level out of range.
 */
int vmp_debounce_feed(vmp_debounce *d, const struct vmp_debounce_input *in);
int vmp_debounce_tick(vmp_debounce *d, uint64_t now_ns);
/* When a tick may next raise a transition; UINT64_MAX if only a
 * notification can. */
uint64_t vmp_debounce_next_ns(const vmp_debounce *d);
vmp_state vmp_debounce_state(const vmp_debounce *d);

struct vmp_debounce_stats {
	uint64_t notifications;    /* counts fed */
	uint64_t transitions;
	uint64_t held;             /* transitions up held for PSI */
	uint64_t confirmed;        /* of them, later confirmed */
	uint64_t abandoned;        /* ... given up: the evidence went first */
};
void vmp_debounce_stats(const vmp_debounce *d, struct vmp_debounce_stats *st);

/* ---- OOM forecast (src/lib/forecast/; docs/forecast.md) ---------------- */

/*
 * A pure model that predicts, from a group's counters and those of every
 * ancestor (and the machine's), how long until the OOM killer acts at the
 * present trend: counters and the caller's time in, a forecast with its
 * evidence out; no I/O, no clock. A forecast handle follows one watched
 * cgroup. Not thread-safe: one thread per handle.
 *
 * What decides: for each group on the path with a limit (and the machine),
 * what reclaim cannot free (usage less the file LRU and reclaimable slab,
 * plus what is in swap) against the limit (memory.max, plus the swap the
 * group may still use); its growth is a regression over a short and a
 * long window, taken at its lower confidence bound; eta = headroom /
 * growth, the earliest over the path. A group below its memory.high is
 * throttled there before it reaches max: it does not decide until past it.
 */
#define VMP_FC_UNLIMITED UINT64_MAX

/* Flags of a struct vmp_fc_group. */
#define VMP_FC_GONE 0x1u        /* could not be read: vanished (or changed shape) */
#define VMP_FC_HAVE_USAGE 0x2u  /* usage is known (else anon+shmem+unevictable+slab) */
#define VMP_FC_HAVE_SWAP 0x4u   /* swap_usage / swap_max are known */
#define VMP_FC_HAVE_RECLAIM 0x8u /* pgscan / pgsteal are known */

/* One cgroup at one sample, in bytes (counters in pages or events). */
struct vmp_fc_group {
	const char *path;       /* identifies it across samples ("/" or "a/b") */
	unsigned flags;         /* VMP_FC_* */
	uint64_t usage;         /* memory.current, memory.usage_in_bytes */
	uint64_t max;           /* memory.max, memory.limit_in_bytes; VMP_FC_UNLIMITED */
	uint64_t high;          /* memory.high; VMP_FC_UNLIMITED if none (v1) */
	uint64_t swap_usage;    /* memory.swap.current (v1: memsw.usage - usage) */
	uint64_t swap_max;      /* memory.swap.max (v1: memsw.limit - limit); VMP_FC_UNLIMITED */
	uint64_t anon, shmem, unevictable;
	uint64_t file;          /* the file LRU: active_file + inactive_file */
	uint64_t slab_reclaimable, slab_unreclaimable;
	/* counters (a decrease means a new cgroup under the same name) */
	uint64_t refaults;      /* workingset_refault_anon + _file */
	uint64_t pgscan, pgsteal;
	uint64_t oom_kills;     /* memory.events oom_kill, memory.oom_control oom_kill */
};

/* The machine (/proc/meminfo, /proc/vmstat), bytes. */
struct vmp_fc_machine {
	uint64_t mem_total, mem_available, swap_total, swap_free;
	uint64_t oom_kills;     /* /proc/vmstat oom_kill (counter) */
};

struct vmp_fc_sample {
	double time;            /* seconds on any monotonic scale, the same for a handle */
	/* the watched group first, then each ancestor up to the topmost */
	const struct vmp_fc_group *groups;
	size_t ngroups;
	const struct vmp_fc_machine *machine; /* NULL: unknown */
	double psi_some_avg10, psi_full_avg10; /* the watched group's; negative: unknown */
};

struct vmp_forecast_config {
	double warn_s;          /* warn when eta falls under this */
	double window_s;        /* the short regression window */
	double long_s;          /* the long one (slow leaks) */
	double sigma;           /* growth is slope - sigma * its standard error */
	unsigned confirm;       /* consecutive samples under warn_s before a warning */
	double least_s;         /* ... none of them under this (unless warn_s is): a first warning this far ahead or none */
	double reraise;         /* re-raise when eta < reraise * what the last warning left */
	double clear;           /* clear once eta > clear * warn_s (or none) ... */
	double clear_hold_s;    /* ... for this long */
};

/* The defaults (docs/forecast.md says how each was chosen). */
void vmp_forecast_config_init(struct vmp_forecast_config *cfg);
/*
 * Parse "key=value,..." over the defaults: warn=DUR, window=DUR, long=DUR,
 * sigma=X, confirm=N, least=DUR, reraise=X, clear=X, hold=DUR (DUR: a decimal with
 * an optional unit, ms or s; seconds without). Every key at most once.
 * -EINVAL with the reason (naming the byte offset) in err->msg; *cfg is
 * written only on success.
 */
int vmp_forecast_parse(const char *s, struct vmp_forecast_config *cfg, struct vmp_error *err);

typedef enum vmp_fc_event {
	VMP_FC_EVENT_NONE = 0,
	VMP_FC_EVENT_WARN = 1,  /* eta fell under warn_s, or well below the last warning's */
	VMP_FC_EVENT_CLEAR = 2, /* the approach is over (see cause) */
} vmp_fc_event;

typedef enum vmp_fc_cause {
	VMP_FC_CAUSE_NONE = 0,
	VMP_FC_CAUSE_ETA = 1,     /* warn: eta under warn_s; clear: eta rose (hysteresis) */
	VMP_FC_CAUSE_RERAISE = 2, /* warn: eta dropped substantially since the last one */
	VMP_FC_CAUSE_KILLED = 3,  /* clear: an OOM kill on the path */
	VMP_FC_CAUSE_GONE = 4,    /* clear: the watched cgroup vanished */
} vmp_fc_cause;

/* "none", "forecast", "forecast-clear"; "none", "eta", "reraise",
 * "killed", "gone". NULL for an out-of-range value. */
const char *vmp_fc_event_name(vmp_fc_event e);
const char *vmp_fc_cause_name(vmp_fc_cause c);

/* The forecast after a sample, and its evidence (of the deciding group). */
struct vmp_fc_result {
	vmp_fc_event event;
	vmp_fc_cause cause;
	bool warning;           /* a warning stands (after this sample) */
	double eta;             /* seconds; negative: none (not growing, no limit) */
	int decider;            /* index in the sample's groups; -1 the machine; -2 none */
	const char *path;       /* that group's path ("machine"); valid until the next step */
	uint64_t limit;         /* its limit: max (the machine: MemTotal) */
	uint64_t usage;
	uint64_t unreclaimable; /* in memory */
	uint64_t reclaimable;   /* file LRU + reclaimable slab */
	uint64_t swap_usage, swap_free; /* swap used, and still usable */
	double headroom;        /* bytes: limit + swap usable - unreclaimable - swap used */
	double growth;          /* bytes/s of unreclaimable + swap, the slope deciding */
	double refaults;        /* refaults per second (short window); negative: unknown */
	double efficiency;      /* pgsteal / pgscan (short window); negative: unknown */
	double psi_some_avg10, psi_full_avg10;
	uint64_t warnings;      /* warnings raised so far */
};

typedef struct vmp_forecast vmp_forecast;

/* cfg NULL: the defaults. -EINVAL for an invalid config. */
int vmp_forecast_new(vmp_forecast **out, const struct vmp_forecast_config *cfg);
void vmp_forecast_free(vmp_forecast *fc);
/*
 * Step with one sample; *out is the forecast after it. A time before the
 * previous one is -EINVAL (nothing changes). A sample whose watched group
 * is VMP_FC_GONE, or has no groups, clears a standing warning (gone) and
 * forgets the history. Groups whose path changed, counters went down or
 * that are gone lose their history; an OOM kill on the path ends the
 * approach (clear, killed) and restarts the trends.
 */
int vmp_forecast_step(vmp_forecast *fc, const struct vmp_fc_sample *s, struct vmp_fc_result *out);

/*
 * The forecast's inputs on a live machine: the watched cgroup and every
 * ancestor (cgroup v2: memory.current, .max, .high, .stat, .swap.current,
 * .swap.max, .events, .pressure; cgroup v1: memory.usage_in_bytes,
 * .limit_in_bytes, .memsw.*, .stat's total_*, .oom_control), and
 * /proc/meminfo and /proc/vmstat. Files are opened once and re-read with
 * pread. cfg: kind (AUTO as vmp_source_new() detects it; MACHINE: the
 * machine alone, cgroup "/") and the roots; the rest is ignored.
 * The caller samples at its own pace (VMP_FC_INTERVAL_MS).
 */
typedef struct vmp_fc_reader vmp_fc_reader;

/* The sampling period the defaults are made for: the short window must
 * hold about ten points (docs/forecast.md). */
#define VMP_FC_INTERVAL_MS 100u

/* -ENOENT: no such cgroup (or no memory controller there); -EINVAL: a bad
 * path or config; -ENOMEM; err says which (and names the directory). */
int vmp_fc_reader_new(vmp_fc_reader **out, const struct vmp_source_config *cfg, const char *cgroup,
		      struct vmp_error *err);
void vmp_fc_reader_free(vmp_fc_reader *r);
/* VMP_SOURCE_V1, _V2 or _MACHINE. */
enum vmp_source_kind vmp_fc_reader_kind(const vmp_fc_reader *r);
/*
 * Read one sample stamped `time`. *out points into the reader: valid
 * until the next read or free. A group that vanished or whose files
 * changed shape is VMP_FC_GONE in it (and vmp_fc_reader_problem() says
 * which file and why); 0 unless out of memory.
 */
int vmp_fc_reader_read(vmp_fc_reader *r, double time, struct vmp_fc_sample *out);
/* The latest read's first problem ("PATH: what"), or NULL. */
const char *vmp_fc_reader_problem(const vmp_fc_reader *r);

/* ---- Actions: a shell command per event -------------------------------- */

/*
 * A runner runs one shell command (`/bin/sh -c COMMAND`) for each event it
 * is given, with the event's evidence in environment variables. It is
 * driven by the caller's loop, as a source: poll vmp_exec_fd(), call
 * vmp_exec_dispatch() when it is readable. Not thread-safe: one thread per
 * runner. It never installs a signal handler and waits only for the pids
 * it started (waitid() on each pid; pidfd_open() to learn of the exit
 * without SIGCHLD), so a program's other children are its own. A program
 * that sets SIGCHLD to SIG_IGN, or reaps with waitpid(-1), takes the
 * runner's children from it: their results then say -ECHILD.
 *
 * Rate and overlap: at most one command runs at a time, and two starts
 * are at least interval_ms apart. An event that cannot start a run at
 * once becomes the pending run; a later one replaces it (the replaced
 * event is counted as coalesced), so a burst costs one run now and one
 * with the latest evidence once the current run is over and the interval
 * has passed.
 *
 * The child: its own process group (the timeout signals the whole group),
 * stdin /dev/null, stdout and stderr the caller's (or stdout_fd /
 * stderr_fd), every other descriptor closed, signal mask empty and every
 * disposition default, and the caller's environment less every VMP_*
 * variable, plus the event's variables (see vmp_exec_trigger_event()).
 */
typedef struct vmp_exec vmp_exec;

/* Starts at least this far apart unless configured otherwise: pressure
 * events come in bursts of hundreds a second; one fork a second bounds
 * what a burst costs while an action still follows within a second. */
#define VMP_EXEC_DEFAULT_INTERVAL_MS 1000u
/* After a timeout's SIGTERM, the group gets SIGKILL this much later. */
#define VMP_EXEC_KILL_GRACE_MS 2000u

struct vmp_exec_result {
	int pid;              /* 0 if the command could not be started */
	int error;            /* -errno: fork() failed (pid 0), or the exit was
			       * reaped by someone else (-ECHILD); else 0 */
	int exit_code;        /* its exit status, or -1 if it did not exit */
	int signal;           /* the signal that killed it, or 0 */
	bool timed_out;       /* the runner signalled it for passing timeout_ms */
	uint64_t duration_ns; /* from fork to reaping */
	uint64_t events;      /* events it stood for: 1 + those coalesced into it */
};

/* Called from vmp_exec_dispatch() when a run is over (or failed to
 * start). It may call vmp_exec_trigger*(), not vmp_exec_free(). */
typedef void (*vmp_exec_fn)(const struct vmp_exec_result *r, void *arg);

struct vmp_exec_config {
	const char *command;  /* required; run as `sh -c COMMAND` */
	const char *shell;    /* NULL: /bin/sh */
	unsigned interval_ms; /* least time between two starts (0: none) */
	unsigned timeout_ms;  /* 0: none; else SIGTERM to the group past it,
			       * SIGKILL VMP_EXEC_KILL_GRACE_MS later */
	int stdout_fd;        /* -1: the caller's standard output */
	int stderr_fd;        /* -1: the caller's standard error */
	vmp_exec_fn on_exit;  /* may be NULL */
	void *arg;
};

struct vmp_exec_stats {
	uint64_t events;      /* vmp_exec_trigger*() calls accepted */
	uint64_t runs;        /* commands started */
	uint64_t coalesced;   /* events replaced by a later one before their run */
	uint64_t failed;      /* runs that exited non-zero, were killed, or
			       * could not start */
	uint64_t timed_out;   /* runs signalled for their timeout */
	uint64_t pending;     /* 1 while a run waits for its turn */
};

/* Defaults: VMP_EXEC_DEFAULT_INTERVAL_MS, no timeout, fds -1. */
void vmp_exec_config_init(struct vmp_exec_config *cfg);
/* -EINVAL without a command; -ENOMEM; -errno of epoll/timerfd. */
int vmp_exec_new(vmp_exec **out, const struct vmp_exec_config *cfg);
/* A run still going is killed (SIGKILL to its group) and reaped, without
 * a callback; a pending run is dropped. Wait while vmp_exec_busy() first
 * to let them finish. */
void vmp_exec_free(vmp_exec *x);
/* Pollable (readable when dispatch has work); the same fd for life. */
int vmp_exec_fd(const vmp_exec *x);
/* Reap, time out, start the pending run. Never blocks. 0 or -errno. */
int vmp_exec_dispatch(vmp_exec *x);
/* A run is going or pending. */
bool vmp_exec_busy(const vmp_exec *x);
void vmp_exec_stats(const vmp_exec *x, struct vmp_exec_stats *st);

/*
 * An event: run the command now if it may, else make this the pending
 * run. env holds n "NAME=value" strings (copied; NAME of [A-Za-z0-9_],
 * not starting with a digit); a later duplicate NAME wins. -EINVAL for a
 * malformed string. A run that cannot start (fork fails) is reported
 * through the callback (called from inside this function then), not here.
 */
int vmp_exec_trigger(vmp_exec *x, const char *const *env, size_t n);

/*
 * A source event, its evidence as these variables (absent evidence leaves
 * a variable unset):
 *   VMP_EVENT      pressure, or removed (VMP_EVENT_REMOVED)
 *   VMP_CGROUP     the subscription's cgroup ("/" for the root)
 *   VMP_LEVEL      low, medium or critical (unset for a removal)
 *   VMP_PRESSURE, VMP_SCANNED, VMP_RECLAIMED
 *                  the window (unset with VMP_EVENT_NO_EVIDENCE)
 *   VMP_ORIGIN     where the window was accounted (unset if unknown)
 *   VMP_COUNT      notifications the event stands for
 *   VMP_TIME       the event's time, UTC: 2026-11-25T18:15:15.683Z
 *   VMP_SOURCE     `source` if not NULL (cgroup-v1, cgroup-v2, machine, trace)
 *   VMP_PSI_SOME_AVG10, VMP_PSI_FULL_AVG10
 *                  the cgroup's memory.pressure, when known
 *   VMP_ESTIMATED  1 if the window came from an estimator (else unset)
 *   VMP_COALESCED  how many earlier events this run replaced (set at start)
 * then the n `extra` "NAME=value" strings, which may override any of them.
 */
int vmp_exec_trigger_event(vmp_exec *x, const struct vmp_source_event *ev, const char *source,
			   const char *const *extra, size_t nextra);
/*
 * A debounced transition (vmp_debounce_*) to an action runner: the
 * variables of vmp_exec_trigger_event(), with
 *   VMP_EVENT      transition
 *   VMP_LEVEL, VMP_PREV_LEVEL
 *                  the state entered and the one left: none, low, medium,
 *                  critical
 *   VMP_CAUSE      enter, confirmed or leave
 *   VMP_PRESSURE   the highest pressure in the transition's window, and
 *   VMP_SCANNED, VMP_RECLAIMED their sums (unset if no notification in it
 *                  had evidence)
 *   VMP_ORIGIN     the triggering notification's (unset if time raised it)
 *   VMP_COUNT      the notifications in the window
 *   VMP_PSI_SOME_AVG10, VMP_PSI_FULL_AVG10  each when known
 * time_ns is the transition's time on CLOCK_REALTIME, VMP_TIME (the
 * debouncer's clock is the caller's: t->real_ns where its inputs carried
 * the wall time). -EINVAL for a state out of range.
 */
int vmp_exec_trigger_transition(vmp_exec *x, const struct vmp_transition *t, const char *cgroup,
				uint64_t time_ns, const char *source, const char *const *extra,
				size_t nextra);

/*
 * A forecast event (r->event WARN or CLEAR) to an action runner:
 *   VMP_EVENT      forecast or forecast-clear
 *   VMP_CGROUP     the watched cgroup
 *   VMP_CAUSE      eta, reraise, killed or gone
 *   VMP_ETA        seconds until the OOM kill at the present trend (unset: none)
 *   VMP_DECIDER    the group whose limit decides ("machine": MemAvailable), and
 *                  its VMP_LIMIT, VMP_USAGE, VMP_UNRECLAIMABLE, VMP_RECLAIMABLE,
 *                  VMP_SWAP_FREE, VMP_HEADROOM (bytes), VMP_GROWTH (bytes/s)
 *   VMP_REFAULTS   refaults per second, VMP_EFFICIENCY pgsteal/pgscan (when known)
 *   VMP_TIME, VMP_SOURCE, VMP_PSI_SOME_AVG10, VMP_PSI_FULL_AVG10 as for events
 * -EINVAL for a result that is no event.
 */
int vmp_exec_trigger_forecast(vmp_exec *x, const struct vmp_fc_result *r, const char *cgroup,
			      uint64_t time_ns, const char *source, const char *const *extra,
			      size_t nextra);

/*
 * Forecast samples in recordings (docs/vmptrace.md, "Forecast samples"):
 * every sample the model stepped with, as `# fcsample` comment lines that
 * replay skips, so that vmp_forecast_replay() runs the model again over
 * exactly that input with other settings.
 *
 * The header line "# fcsamples 1\n" into buf; then one sample's lines
 * (time as seconds with 6 decimals). The length written, -ENOSPC if it
 * does not fit, -EILSEQ for a cgroup path with a space or a control
 * character (vmptrace cannot hold it), -EINVAL.
 */
int vmp_fc_format_header(char *buf, size_t cap);
int vmp_fc_format_sample(const struct vmp_fc_sample *s, char *buf, size_t cap);

/* Called for each sample replayed, with the model's result for it. */
typedef void (*vmp_fc_replay_fn)(const struct vmp_fc_sample *s, const struct vmp_fc_result *r, void *arg);
/*
 * Parse the forecast sample lines of a vmptrace buffer (every other line
 * is left alone) and step a model (cfg NULL: the defaults) with each;
 * *samples gets their number (may be NULL). -EINVAL with *err naming the
 * line and byte for a malformed sample line or a time going back;
 * -ENODATA (err says so) when the buffer has none; -ENOMEM.
 */
int vmp_forecast_replay(const char *buf, size_t len, const struct vmp_forecast_config *cfg,
			vmp_fc_replay_fn fn, void *arg, uint64_t *samples, struct vmp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* VMPRESSURE_H */
