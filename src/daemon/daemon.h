/* SPDX-License-Identifier: MIT */
/*
 * vmpressured's shared state and the interfaces between its files:
 *
 *   main.c          options, startup, signals, readiness (sd_notify)
 *   socket.c        the control socket: path checks, stale socket, bind
 *   loop.c          the epoll loop: what is ready, then the end-of-round
 *                   work the modules registered (it names none of them)
 *   client.c        one connection: buffers, non-blocking I/O, SCM_RIGHTS,
 *                   peer credentials
 *   requests.c      what each request does, and its reply
 *   subscriptions.c one source subscription per distinct (cgroup, level,
 *                   mode), shared by its members (struct vmpd_member: a
 *                   kind's event, transition, removed); the client kinds
 *                   (eventfd, stream, debounced stream)
 *   access.c        the read-permission rule for SO_PEERCRED credentials
 *   actions.c       --exec: a shell command per event of a member of the
 *                   daemon's own; exec_spec.c parses the option, pure
 *   protocol.c      parsing and JSON formatting, pure
 *   log.c           the log (stderr or a file, reopened on SIGHUP)
 *   service.c       sd_notify, the watchdog, locked memory, the fd store
 *   mpwatch/        memory-pressure endpoints for systemd's
 *                   $MEMORY_PRESSURE_WATCH clients (mpwatch_parse.c: pure)
 *   metrics/        Prometheus metrics: metrics_serve.c the per-listener
 *                   counts (a listener watch), the textfile,
 *                   --metrics-cgroup; metrics_http.c the loopback HTTP
 *                   endpoint; metrics.h the pure parts
 *   forecasts.c     OOM forecasts of the cgroups someone follows (a
 *                   subscription's `forecast` flag, --metrics-cgroup)
 *
 * Everything runs in one thread; nothing blocks except epoll_wait().
 */
#ifndef VMPD_DAEMON_H
#define VMPD_DAEMON_H

#include "metrics.h"
#include "protocol.h"
#include "clock.h" /* src/lib/util: vmp__mono_s(), CLOCK_MONOTONIC seconds */
#include "vmpressure.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Limits of docs/protocol.md. */
#define VMPD_MAX_CLIENTS 4096u
#define VMPD_UID_SHARE 4u    /* a uid but 0: at most 1/4 of the connections */
#define VMPD_ROOT_RESERVE 8u /* the last 1/8 of them: uid 0 only */
#define VMPD_MAX_SUBS 256u          /* per connection */
/* Debounced subscriptions per uid but 0: each holds a debouncer (~4 KiB),
 * so as many as one connection may hold subscriptions, not 256 per
 * connection (issue 12: 1000 x 256 of them took 1.1 GB). */
#define VMPD_UID_DEBOUNCED VMPD_MAX_SUBS
#define VMPD_MAX_QUEUE (256u << 10) /* queued output per connection */
/* --exec actions: each is a subscription and a runner; a machine needs a
 * handful, and a fixed table keeps option parsing allocation-free. */
#define VMPD_MAX_EXEC 64u
#define VMPD_MAX_EXEC_TEXT "64"

/* Exit statuses (vmpressured(8)). Chosen in main() only: every other
 * function returns 0 or -errno, with the reason logged or in an err
 * buffer. */
enum {
	VMPD_EXIT_OK = 0,          /* stopped by SIGTERM or SIGINT */
	VMPD_EXIT_BADTRACE = 2,    /* --trace FILE is not a valid vmptrace file */
	VMPD_EXIT_RUNNING = 3,     /* another daemon answers on the socket */
	VMPD_EXIT_USAGE = 64,      /* bad command line */
	VMPD_EXIT_UNAVAILABLE = 69, /* the requested source is not available */
	VMPD_EXIT_SOFTWARE = 70,   /* the source failed while running */
	VMPD_EXIT_OSERR = 71,      /* a system call needed at startup failed */
	VMPD_EXIT_CANTCREAT = 73,  /* cannot create the socket, its directory, the log */
	VMPD_EXIT_IOERR = 74,      /* cannot read --trace FILE */
};

struct vmpd;

/* What epoll hands back: the fd and who handles it. */
struct vmpd_io {
	int fd;
	void (*ready)(struct vmpd *d, struct vmpd_io *io, uint32_t events);
};

/*
 * Work a module does at the end of each loop round, registered with
 * vmpd_loop_at_round_end(): the loop knows no module. The steps run in
 * this order, the hooks of one step in the order they were added.
 */
enum vmpd_round_step {
	/* what the source's callbacks could not do: the source may not be
	 * called from inside its own dispatch */
	VMPD_ROUND_RELEASE,
	/* timers for what the round changed */
	VMPD_ROUND_TIMERS,
	/* output queued during the round: a burst of events costs one write
	 * per peer rather than one per event */
	VMPD_ROUND_WRITE,
	/* what was closed during the round: a later entry of the same batch
	 * may still have pointed to it */
	VMPD_ROUND_FREE,
	VMPD_ROUND_STEPS,
};

struct vmpd_round_hook {
	void (*run)(struct vmpd *d);
	struct vmpd_round_hook *next;
};

struct vmpd_listener_stats;

/* Who sees every notification of every listener, members or not: the
 * metrics (vmpd_subs_watch()). */
struct vmpd_listener_watch {
	void (*event)(struct vmpd *d, struct vmpd_listener_stats *st, const struct vmp_source_event *ev);
	/* Its cgroup went away; pinned: it was vmpd_sub_pin()'s. */
	void (*removed)(struct vmpd *d, const char *cgroup, bool pinned);
};

struct vmpd_client;
struct vmpd_shared;
struct vmpd_member;

/*
 * A member of a shared subscription (subscriptions.c): whoever wants the
 * source's notifications of one (cgroup, level, mode). Each kind (a
 * client's eventfd, stream or debounced stream; a memory-pressure
 * endpoint; an --exec action) says what it does with them. Called from
 * inside vmp_source_dispatch(): queue work, never call the source.
 */
struct vmpd_member_ops {
	/* A notification; NULL: nothing beyond the debouncer's feed (a
	 * member with a debouncer is fed every notification after this). */
	void (*event)(struct vmpd_member *m, const struct vmp_source_event *ev);
	/* A transition of the member's debouncer, its time on CLOCK_REALTIME. */
	void (*transition)(struct vmpd_member *m, const struct vmp_transition *t);
	/* The cgroup went away: the last call. The member has already left
	 * (vmpd_member_leave() must not be called) and may be freed here. */
	void (*removed)(struct vmpd_member *m, const struct vmp_source_event *ev);
};

struct vmpd_member {
	const struct vmpd_member_ops *ops;
	struct vmpd_shared *shared;       /* NULL: not a member (now) */
	vmp_debounce *db;                 /* with one, it also gets transitions */
	uint64_t events;                  /* notifications delivered */
	struct vmpd_member *snext, **sprev; /* the shared subscription's list */
	struct vmpd_member *dnext, **dprev; /* the debounced ones, ticked together */
	size_t hpos;                      /* 1 + its place in the due heap; 0: not in it */
	uint64_t due;                     /* vmp_debounce_next_ns() when last changed */
};

/* One subscription of one client (an id of that connection): a member of
 * one of the three client kinds (subscriptions.c). */
struct vmpd_csub {
	struct vmpd_member m;
	uint64_t id;
	struct vmpd_client *client;
	char *args;        /* as the client wrote them, for replies */
	int efd;           /* -1 unless the client asked for an eventfd */
	bool stream;
	char *db_text;     /* debounced: its canonical config, for replies */
	struct vmpd_fcsink *fc; /* `forecast`: its forecasts (forecasts.c) */
	double fc_warn;         /* their threshold, for replies */
	struct vmpd_csub *cnext, **cprev; /* the client's list */
};

/* A file descriptor to pass with the byte at `off` of the output queue. */
struct vmpd_passfd {
	size_t off;
	int fd;
};

/* One connection (client.c). */
struct vmpd_client {
	struct vmpd_io io;
	struct vmpd *d;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups (SO_PEERGROUPS) */
	size_t ngroups;

	struct vmpd_framer *in; /* only while a partial line is buffered */
	bool rd_eof;       /* the peer shut down its sending side */
	/* Output: out[head, len) is unsent; fds[] ascend by offset. */
	char *out;
	size_t head, len, cap;
	struct vmpd_passfd *fds;
	size_t nfds, fdcap;
	bool dropping;     /* stream events dropped until the queue drains */
	uint64_t dropped;  /* since the last `dropped` event */
	uint32_t want;     /* the epoll interest now registered */

	struct vmpd_csub *subs;
	unsigned nsubs;
	uint64_t next_id;

	bool closed, is_dirty;
	struct vmpd_client *next, **prev; /* d->clients */
	struct vmpd_client *dirty_next;   /* d->dirty */
	struct vmpd_client *dead_next;    /* d->dead */
};

struct vmpd_subs; /* subscriptions.c */
struct vmpd_metrics; /* metrics_serve.c */

/* What one source subscription (listener) was told, for the metrics. */
struct vmpd_listener_stats {
	uint64_t n[3];              /* notifications by vmp_level */
	uint64_t scanned, reclaimed; /* evidence of the notified windows */
	uint64_t pressure;          /* the last window with evidence */
	bool have_pressure;
	double last_mono[3];        /* vmp__mono_s() of the last one by level; 0: none */
	uint64_t last_time_ns;      /* CLOCK_REALTIME of the last one; 0: none */
};

struct vmpd {
	/* set up by main.c */
	vmp_source *src;
	const char *source_name;
	bool check_access;       /* cgroup directories exist: check permissions */
	const char *cgroup_root; /* where they are */
	unsigned max_clients;

	/* loop.c */
	int epfd;
	struct vmpd_io listener, signals, source, backoff;
	bool running;
	int error;               /* -errno that stopped the loop; 0: a signal */
	struct vmpd_round_hook *round_end[VMPD_ROUND_STEPS];
	void (*on_signal)(struct vmpd *d, int signo); /* main.c */

	/* client.c */
	struct vmpd_client *clients;  /* every open connection */
	struct vmpd_client *dirty;    /* with output to flush this round */
	struct vmpd_client *dead;     /* closed, freed at the end of the round */
	unsigned nclients;
	struct vmpd_uidc **uids;      /* connections per uid (their shares) */
	uint64_t accept_refused;      /* over the connection limit */
	struct vmpd_round_hook clients_flush, clients_reap;

	/* mpwatch.c */
	struct vmpd_mpws *mpw;

	/* actions.c */
	struct vmpd_actions *actions;

	/* subscriptions.c */
	struct vmpd_subs *subs;
	uint64_t nsubs;               /* client subscriptions */
	uint64_t events, dropped;     /* totals, for status */
	const struct vmpd_listener_watch *watch; /* NULL: none */

	/* forecasts.c: the readers' kind and roots (kind AUTO: none yet) */
	struct vmp_source_config fc_cfg;
	struct vmpd_fcs *fcs;

	/* metrics_serve.c; NULL when metrics are off */
	struct vmpd_metrics *metrics;
	bool evidence;                /* the source reports windows (not v1) */

	size_t freed_since_trim;      /* buffer bytes freed (loop.c trims) */
	double last_trim;

	double t0;                    /* CLOCK_MONOTONIC at startup */
	struct vmp__buf scratch;      /* formatting, reused */
};

/* ---- loop.c ---- */
void vmpd_signal_set(sigset_t *mask);
int vmpd_loop_init(struct vmpd *d);
void vmpd_loop_fini(struct vmpd *d);
int vmpd_loop_add(struct vmpd *d, struct vmpd_io *io, uint32_t events);
int vmpd_loop_mod(struct vmpd *d, struct vmpd_io *io, uint32_t events);
void vmpd_loop_del(struct vmpd *d, struct vmpd_io *io);
/* Run until d->running is false: 0 (stopped), or the -errno that stopped
 * it (the source failed), logged. */
int vmpd_loop_run(struct vmpd *d);
/* Run h->run at the end of every round, at that step (h is the caller's
 * until vmpd_loop_cancel_hook()). */
void vmpd_loop_at_round_end(struct vmpd *d, enum vmpd_round_step step, struct vmpd_round_hook *h);
void vmpd_loop_cancel_hook(struct vmpd *d, struct vmpd_round_hook *h);
/* Stop accepting for a while (out of file descriptors). */
void vmpd_loop_accept_backoff(struct vmpd *d);

/* ---- client.c ---- */
/* Register the clients' end-of-round work; after vmpd_loop_init(). */
void vmpd_clients_init(struct vmpd *d);
void vmpd_client_accept(struct vmpd *d);
/* A reply line: never dropped. fd >= 0: attach a copy of it (SCM_RIGHTS)
 * to the sendmsg() carrying the line's first byte. -ENOMEM/-EMFILE if
 * the copy cannot be made; the line is not queued then. */
int vmpd_client_reply(struct vmpd_client *c, const char *s, size_t n, int fd);
/* A stream event: dropped (and counted) if the queue is full; `must`
 * events (removal) are queued regardless. */
void vmpd_client_event(struct vmpd_client *c, const char *s, size_t n, bool must);
/* A stream event that could not even be formatted: count it as dropped. */
void vmpd_client_drop(struct vmpd_client *c);
void vmpd_client_close(struct vmpd_client *c, const char *why);
void vmpd_clients_close_all(struct vmpd *d);
/* Open connections of this uid; the table freed at the end. */
unsigned vmpd_uid_conns(struct vmpd *d, uid_t uid);
/* Debounced subscriptions of this uid's connections: add delta (while it
 * has a connection), return the count. */
unsigned vmpd_uid_debounced(struct vmpd *d, uid_t uid, int delta);
void vmpd_uids_free(struct vmpd *d);
/* The peer's credentials may read this cgroup (normalised, below
 * d->cgroup_root; access.c): 0, -ENOENT (none), -EACCES (including
 * below a directory it may not search), or another -errno of stat(). */
int vmpd_client_check_access(const struct vmpd_client *c, const char *cgroup);

/* ---- requests.c ---- */
void vmpd_request(struct vmpd *d, struct vmpd_client *c, const char *line, size_t len);
void vmpd_request_overlong(struct vmpd *d, struct vmpd_client *c);

/* ---- forecasts.c ---- */
struct vmpd_fcsink;
/* A forecast event of a followed cgroup; time_ns on CLOCK_REALTIME. */
typedef void vmpd_fc_fn(void *arg, const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns);
/* Follow cgroup's forecast with threshold warn_s (0: the model's
 * default). 0 or -errno: ENOTSUP (a trace source), ENOENT, EINVAL, ENOMEM. */
int vmpd_fc_add(struct vmpd *d, const char *cgroup, double warn_s, vmpd_fc_fn *fn, void *arg,
		struct vmpd_fcsink **out);
void vmpd_fc_release(struct vmpd *d, struct vmpd_fcsink *k);
/* Every follower: its cgroup, threshold and latest eta (negative: none). */
typedef void vmpd_fc_each_fn(void *arg, const char *cgroup, double warn_s, double eta);
void vmpd_fc_foreach(struct vmpd *d, vmpd_fc_each_fn *fn, void *arg);
void vmpd_fc_fini(struct vmpd *d);
/* vmp_forecast_config_init()'s warn_s, for replies. */
#define VMPD_FORECAST_DEFAULT_S 30.0
/* A client subscription's forecast (arg: its vmpd_csub): a stream event. */
void vmpd_sub_forecast(void *arg, const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns);

/* ---- subscriptions.c ---- */
/* After vmpd_loop_init(): also registers its end-of-round work. */
int vmpd_subs_init(struct vmpd *d);
void vmpd_subs_fini(struct vmpd *d);
/* A client subscription to (req->cgroup, req->level, req->mode), sharing
 * the source subscription if one exists. 0 or -errno (from the source:
 * ENOENT, EINVAL, EACCES, ENOTSUP; EMFILE/ENFILE for the eventfd). */
int vmpd_sub_add(struct vmpd *d, struct vmpd_client *c, const struct vmpd_request *req,
		 struct vmpd_csub **out);
/* End a client subscription: its eventfd closed, the source subscription
 * released with its last user. Not from inside vmp_source_dispatch(). */
void vmpd_sub_release(struct vmpd *d, struct vmpd_csub *cs);
/* A member of the daemon's own (an endpoint, an action), m owned by the
 * caller: m->ops set, the rest zero. With db, a debouncer feeds
 * m->ops->transition. 0 or -errno as vmpd_sub_add(); m is a member
 * until vmpd_member_leave() or its ops->removed(). */
int vmpd_member_join(struct vmpd *d, struct vmpd_member *m, const char *cgroup, vmp_level level,
		     vmp_mode mode, const struct vmp_debounce_config *db);
/* Not from inside vmp_source_dispatch(). Nothing if m is not a member. */
void vmpd_member_leave(struct vmpd *d, struct vmpd_member *m);
size_t vmpd_subs_shared_count(const struct vmpd *d);
/* The normalised cgroup of a member. */
const char *vmpd_member_cgroup(const struct vmpd_member *m);
/* The normalised cgroup of a client subscription. */
const char *vmpd_sub_cgroup(const struct vmpd_csub *cs);
/* A source subscription that lives as long as the daemon (or its cgroup),
 * members or not: --metrics-cgroup. Shared with clients like theirs. */
int vmpd_sub_pin(struct vmpd *d, const char *cgroup, vmp_level level, vmp_mode mode);
/* Every source subscription, removed ones excluded. */
typedef void vmpd_listener_fn(void *arg, const char *cgroup, vmp_level level, vmp_mode mode,
			      const struct vmpd_listener_stats *st);
void vmpd_subs_foreach(struct vmpd *d, vmpd_listener_fn *fn, void *arg);
/* w sees every listener's notifications from now on (one watch). */
void vmpd_subs_watch(struct vmpd *d, const struct vmpd_listener_watch *w);

/* ---- mpwatch.c ---- */
struct vmpd_mpw_spec;
/* Bind every endpoint's socket: before the control socket, so that a
 * daemon that answers there is ready on its endpoints too. 0 or -errno of
 * vmpd_socket_open(), the reason logged. */
int vmpd_mpw_open(struct vmpd *d, const struct vmpd_mpw_spec *specs, size_t n);
/* Watch the sockets and subscribe; after vmpd_loop_init(), vmpd_subs_init().
 * 0 or -errno, the reason logged: a subscription's error (ENOENT is not
 * one: the cgroup may come later) or a system call's. */
int vmpd_mpw_start(struct vmpd *d);
/* Close every endpoint client, release the subscriptions, remove the sockets. */
void vmpd_mpw_fini(struct vmpd *d);
/* ---- metrics_serve.c ---- */
struct vmpd_metrics_watch {
	char cgroup[VMPD_LINE_MAX];
	vmp_level level;
	vmp_mode mode;
	const char *text; /* as given, for messages */
};
struct vmpd_metrics_config {
	const char *textfile;
	double interval;  /* seconds between textfile writes */
	const char *listen;
	struct vmpd_metrics_watch *watch;
	size_t nwatch;
};
#define VMPD_METRICS_INTERVAL_DEFAULT 15.0
#define VMPD_METRICS_WATCH_MAX 256 /* --metrics-cgroup options */
#define VMPD_METRICS_DEFAULT_ARGS "low,hierarchy"
/* "CGROUP[:ARGS]" of --metrics-cgroup; 0 or -EINVAL with the reason. */
int vmpd_metrics_parse_watch(const char *arg, struct vmpd_metrics_watch *w, char *err, size_t cap);
/* After the source and the loop exist: the listeners of --metrics-cgroup.
 * 0 or the -errno of a subscription, logged. */
int vmpd_metrics_init(struct vmpd *d, const struct vmpd_metrics_config *cfg);
/* Then the outputs: --metrics-listen, --metrics-textfile. 0 or -errno,
 * logged. */
int vmpd_metrics_open(struct vmpd *d, const struct vmpd_metrics_config *cfg);
void vmpd_metrics_fini(struct vmpd *d);
/* The whole exposition, now, into b. */
void vmpd_metrics_snapshot(struct vmpd *d, struct vmp__buf *b);

/* ---- metrics_http.c ---- */
struct vmpd_httpd;
/* Validate --metrics-listen: loopback only. 0 or -EINVAL with the reason. */
int vmpd_httpd_parse_addr(const char *s, void *sockaddr_storage, unsigned *len, char *err,
			  size_t cap);
/* 0 or -errno (the reason logged by the caller); *out on success. */
int vmpd_httpd_open(struct vmpd *d, const char *addr, struct vmpd_httpd **out, char *where,
		    size_t wcap);
void vmpd_httpd_close(struct vmpd *d, struct vmpd_httpd *h);
void vmpd_httpd_reap(struct vmpd *d, struct vmpd_httpd *h);

/* ---- access.c ---- */
/* Peer credentials (SO_PEERCRED, SO_PEERGROUPS). */
struct vmpd_cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};
struct vmpd_perm {
	mode_t mode;
	uid_t uid;
	gid_t gid;
};
/* The directories from the cgroup root down to a cgroup: perm[0] the
 * root, perm[i] the i-th component, which ends at cgroup[end[i]]. n are
 * loaded; err (-errno) is why the walk stopped before the last one. */
#define VMPD_CHAIN_MAX (VMPD_LINE_MAX / 2 + 2)
struct vmpd_chain {
	size_t n, ncomp;
	int err;
	struct vmpd_perm perm[VMPD_CHAIN_MAX];
	size_t end[VMPD_CHAIN_MAX];
};
/* Pure: the owner class's read bit (uid 0 always may). */
bool vmpd_may_read(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups,
		   size_t ngroups);
/* stat() the root and lstat() each directory below it down to `cgroup`
 * (normalised: "/" or "a/b"). Returns ch->err. */
int vmpd_chain_load(struct vmpd_chain *ch, const char *root, const char *cgroup);
/* Pure: 0 if these credentials may read the cgroup (search on every
 * directory above it, read on it); -EACCES at the first directory they may
 * not search, whatever is below it; -ENOENT for a missing component they
 * could see is missing; another -errno of the walk. */
int vmpd_chain_check(const struct vmpd_chain *ch, const struct vmpd_cred *cr);
/* Pure: how much of `cgroup` (its length in bytes) these credentials may
 * see, for `origin` (docs/protocol.md): the longest prefix of at least
 * `from` components such that they may read every directory from
 * component `from` down to it and search every one above it. A subscriber
 * knows the first `from` components (its subscription's cgroup): never
 * less than those. */
size_t vmpd_chain_visible(const struct vmpd_chain *ch, size_t from, const struct vmpd_cred *cr);
/* Both steps. */
int vmpd_cgroup_access(const char *root, const char *cgroup, const struct vmpd_cred *cr);

/* ---- exec_spec.c (pure) ---- */
struct vmpd_exec_spec {
	char cgroup[VMPD_LINE_MAX]; /* normalised: "/" or "a/b" */
	char args[32];              /* canonical (vmpd_canonical_args) */
	vmp_level level;
	vmp_mode mode;
	bool debounce;              /* per transition, with db */
	struct vmp_debounce_config db;
	bool forecast;              /* per OOM forecast event, not a level */
	double forecast_s;          /* its threshold; 0: the model's default */
	const char *command;        /* into the parsed text */
};
/* "CGROUP LEVEL[,MODE] [debounce[=CONFIG]] COMMAND..." or
 * "CGROUP forecast[=SECONDS] COMMAND...": 0, or -EINVAL with the byte
 * offset and the reason in msg. */
int vmpd_exec_spec_parse(const char *text, struct vmpd_exec_spec *out, char *msg, size_t msgcap);

/* ---- actions.c ---- */
/* Subscribe each --exec SPEC (already checked with vmpd_exec_spec_parse())
 * and add its runner to the loop. 0, or -errno with the reason in err. */
int vmpd_actions_start(struct vmpd *d, char *const *specs, size_t n, unsigned interval_ms,
		       unsigned timeout_ms, char *err, size_t errcap);
/* Log each action's counts, release its subscription, kill a run still
 * going. Before the clients and subscriptions are torn down. */
void vmpd_actions_stop(struct vmpd *d);

/* ---- socket.c ---- */
struct vmpd_socket {
	int fd;
	dev_t dev;
	ino_t ino;
};
/* 0 or -errno with the reason in err: EADDRINUSE another daemon answers
 * there, ENAMETOOLONG the path does not fit, EEXIST something else is at
 * the path, others of mkdir(), socket(), bind(), listen(). */
int vmpd_socket_open(struct vmpd_socket *s, const char *path, mode_t mode, char *err,
		     size_t errcap);
/* Close it and remove the path if it is still the socket we bound. */
void vmpd_socket_close(struct vmpd_socket *s, const char *path);

/* ---- service.c ---- */
/* An sd_notify(3) datagram to $NOTIFY_SOCKET, if set (the socket kept). */
void vmpd_notify(const char *msg);
/* mlockall() unless !on; what it could not do is logged, never fatal. */
void vmpd_lock_memory(bool on);
/* malloc_trim(0), with the memory unlocked around it when it is locked. */
void vmpd_trim_memory(void);
/* WATCHDOG=1 from the loop every $WATCHDOG_USEC / 2, if that is set for
 * us; after vmpd_loop_init(). 0 or -errno. */
int vmpd_watchdog_start(struct vmpd *d);
/* Before vmpd_loop_fini(). */
void vmpd_service_fini(struct vmpd *d);
/* systemd's file descriptor store: keep fd across a restart under name
 * (0 or -errno; -ENOTCONN without $NOTIFY_SOCKET), forget it again. */
int vmpd_fdstore_add(int fd, const char *name);
void vmpd_fdstore_remove(const char *name);
bool vmpd_fdstore_on(void);
/* What the store handed back at startup ($LISTEN_FDS for our pid, with
 * $LISTEN_FDNAMES); taken once, the variables unset. The count. */
struct vmpd_listen_fd {
	int fd;
	char name[256];
};
size_t vmpd_listen_fds(struct vmpd_listen_fd *out, size_t max);

/* ---- log.c ---- */
enum { VMPD_LOG_ERR = 3, VMPD_LOG_WARNING = 4, VMPD_LOG_INFO = 6, VMPD_LOG_DEBUG = 7 };
/* NULL: stderr. -errno if the file cannot be opened. */
int vmpd_log_open(const char *path);
/* SIGHUP: open the path again (after logrotate moved it). */
int vmpd_log_reopen(void);
const char *vmpd_log_path(void); /* NULL: stderr */
void vmpd_log_close(void);
void vmpd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
