/* SPDX-License-Identifier: MIT */
/*
 * vmpressured: memory pressure subscriptions over a Unix socket.
 *
 * A foreground daemon in the systemd style: no fork, no pid file, logs to
 * standard error (or --log-file), readiness and shutdown announced with
 * sd_notify datagrams when $NOTIFY_SOCKET is set (service.c, with the
 * watchdog and the memory locking).
 *
 * Startup order matters: the source is created before the socket is bound,
 * so that a daemon that cannot watch anything never appears to answer; and
 * READY=1 is sent only once the socket accepts connections.
 *
 * Signals arrive through a signalfd (loop.c): SIGTERM and SIGINT stop the
 * loop (then clients are closed, the socket removed); SIGHUP reopens the
 * log file; SIGUSR1 starts a trace source held by --trace-hold.
 */
#include "daemon.h"
#include "mpwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/vmpressure/control"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressured [options]\n"
		"\n"
		"Serve memory pressure subscriptions (the kernel's low/medium/critical levels\n"
		"of mm/vmpressure.c) over a Unix socket; see vmpressured(8) and\n"
		"docs/protocol.md. Runs in the foreground.\n"
		"\n"
		"  --socket PATH        the control socket (" DEFAULT_SOCKET ")\n"
		"  --socket-mode MODE   its permissions, octal (0666: any local user may\n"
		"                       connect; each subscription is checked against the\n"
		"                       client's credentials)\n"
		"  --source K           auto, v1, v2, machine or trace (auto)\n"
		"  --cgroup-root DIR    the memory cgroup hierarchy (/sys/fs/cgroup/memory on\n"
		"                       v1, /sys/fs/cgroup on v2)\n"
		"  --proc-root DIR      /proc, for the machine source\n"
		"  --trace FILE         play a vmptrace file back (implies --source trace)\n"
		"  --speed X            trace speed: X times real time, 0 as fast as possible (1)\n"
		"  --trace-hold         start the trace only on SIGUSR1\n"
		"  --log-file PATH      log there instead of standard error; SIGHUP reopens it\n"
		"  --metrics-textfile PATH  write Prometheus metrics to PATH (atomically, for\n"
		"                       node_exporter's textfile collector); see docs/metrics.md\n"
		"  --metrics-interval S how often to write it, seconds >= 0.1 (15)\n"
		"  --metrics-listen ADDR:PORT  serve GET /metrics over HTTP; loopback only:\n"
		"                       127.0.0.1:PORT, [::1]:PORT or localhost:PORT\n"
		"  --metrics-cgroup CGROUP[:ARGS]  a listener for the metrics alone, ARGS as\n"
		"                       a subscription's (low,hierarchy); repeatable. Without\n"
		"                       it: / with low,hierarchy. Client subscriptions have\n"
		"                       series too\n"
		"  --memory-pressure-endpoint 'PATH CGROUP ARGS [MODE]'\n"
		"                       a socket at PATH for systemd's memory pressure protocol\n"
		"                       ($MEMORY_PRESSURE_WATCH, sd_event_add_memory_pressure()):\n"
		"                       its clients are woken at each notification of CGROUP\n"
		"                       at ARGS (level[,mode]); MODE: octal, 0666. Repeatable;\n"
		"                       docs/memory-pressure-watch.md\n"
		"  --exec 'CGROUP LEVEL[,MODE] [debounce[=CONFIG]] COMMAND'\n"
		"                       run /bin/sh -c COMMAND for each notification of CGROUP\n"
		"                       at LEVEL[,MODE], with its evidence in VMP_* variables;\n"
		"                       one run at a time; with debounce, once per debounced\n"
		"                       transition (docs/debounce.md). Repeatable; vmpressured(8)\n"
		"  --exec 'CGROUP forecast[=SECONDS] COMMAND'\n"
		"                       the same for each OOM forecast of CGROUP (its eta under\n"
		"                       SECONDS, 30) and its clearing (docs/forecast.md)\n"
		"  --exec-interval S    least time between two starts of one action (1; 0: none)\n"
		"  --exec-timeout S     SIGTERM an action's process group after S seconds,\n"
		"                       SIGKILL 2 s later (default: no timeout)\n"
		"  --no-mlock           do not lock the daemon's memory (mlockall)\n"
		"  -h, --help           this text\n"
		"  -V, --version        the version\n"
		"\n"
		"exit status: 0 stopped by SIGTERM/SIGINT, 2 malformed trace file, 3 another\n"
		"daemon answers on the socket, 64 usage, 69 source not available here (or an\n"
		"--exec cgroup cannot be watched),\n"
		"70 the source failed, 71 system error, 73 cannot create the socket or log,\n"
		"74 cannot read the trace file\n");
}

static void on_signal(struct vmpd *d, int signo)
{
	switch (signo) {
	case SIGTERM:
	case SIGINT:
		vmpd_log(VMPD_LOG_INFO, "%s: stopping", strsignal(signo));
		d->running = false;
		break;
	case SIGHUP: {
		int rc = vmpd_log_reopen();
		if (rc)
			vmpd_log(VMPD_LOG_ERR, "SIGHUP: cannot reopen the log file %s: %s; still writing to the old one",
				 vmpd_log_path(), rc == -EINVAL ? "not a regular file now (a FIFO or a device)" : strerror(-rc));
		else
			vmpd_log(VMPD_LOG_INFO, "SIGHUP: log reopened");
		break;
	}
	case SIGUSR1: {
		int rc = vmp_source_start(d->src);
		if (rc)
			vmpd_log(VMPD_LOG_ERR, "SIGUSR1: cannot start the source: %s", strerror(-rc));
		else
			vmpd_log(VMPD_LOG_INFO, "SIGUSR1: source started");
		break;
	}
	default:
		break;
	}
}

/*
 * Memory after a burst. Output queues of slow readers grow to a few hundred
 * KiB each and are freed when they drain. glibc serves big blocks with mmap
 * (returned to the kernel on free) only until the first such free: then it
 * raises its threshold and later bursts come from the heap, which freed
 * blocks in the middle keep resident. A fixed threshold keeps every queue
 * over 64 KiB in its own mapping, so a daemon shrinks back after a burst;
 * the heap's top is trimmed beyond 128 KiB.
 */
static void tune_malloc(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

/* The soft descriptor limit up to the hard one: every eventfd subscription
 * and every client is a descriptor (up to 4096 connections). */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * VMPD_MAX_CLIENTS + 64)
		vmpd_log(VMPD_LOG_WARNING,
			 "the descriptor limit is %llu: fewer than %u clients with an eventfd each",
			 (unsigned long long)rl.rlim_cur, VMPD_MAX_CLIENTS);
}

enum {
	OPT_SOCKET = 256,
	OPT_SOCKET_MODE,
	OPT_SOURCE,
	OPT_CGROUP_ROOT,
	OPT_PROC_ROOT,
	OPT_TRACE,
	OPT_SPEED,
	OPT_TRACE_HOLD,
	OPT_LOG_FILE,
	OPT_METRICS_TEXTFILE,
	OPT_METRICS_INTERVAL,
	OPT_METRICS_LISTEN,
	OPT_METRICS_CGROUP,
	OPT_MP_ENDPOINT,
	OPT_EXEC,
	OPT_EXEC_INTERVAL,
	OPT_EXEC_TIMEOUT,
	OPT_NO_MLOCK,
};

/* Endpoints per daemon: one per service (or level) that wants them. */
#define MAX_MP_ENDPOINTS 64

static const struct option long_opts[] = {
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT},
	{"proc-root", required_argument, NULL, OPT_PROC_ROOT},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"speed", required_argument, NULL, OPT_SPEED},
	{"trace-hold", no_argument, NULL, OPT_TRACE_HOLD},
	{"log-file", required_argument, NULL, OPT_LOG_FILE},
	{"metrics-textfile", required_argument, NULL, OPT_METRICS_TEXTFILE},
	{"metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{"metrics-cgroup", required_argument, NULL, OPT_METRICS_CGROUP},
	{"memory-pressure-endpoint", required_argument, NULL, OPT_MP_ENDPOINT},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"exec-interval", required_argument, NULL, OPT_EXEC_INTERVAL},
	{"exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT},
	{"no-mlock", no_argument, NULL, OPT_NO_MLOCK},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* What the command line asked for. */
struct opts {
	bool help, version;
	const char *socket_path, *log_file;
	mode_t socket_mode;
	struct vmp_source_config cfg;
	bool mlock;
	struct vmpd_mpw_spec *mp_specs; /* MAX_MP_ENDPOINTS */
	size_t n_mp;
	struct vmpd_metrics_config mcfg;
	char **execs;                   /* VMPD_MAX_EXEC */
	size_t nexec;
	unsigned exec_interval, exec_timeout;
};

/* A usage error: one line, and where the options are. -EINVAL. */
static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmpressured: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(vmpressured --help lists the options)\n");
	return -EINVAL;
}

/* --exec-interval, --exec-timeout: seconds, to whole milliseconds, up to a day. */
static bool parse_ms(const char *s, unsigned *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !*s || !(v >= 0) || v > 86400)
		return false;
	*ms = (unsigned)(v * 1000 + 0.5);
	return true;
}

/* One option and its value: 0 or -EINVAL, the message printed. */
static int parse_opt(struct opts *o, int opt, bool *source_set, bool *speed_set, bool *exec_opt)
{
	char *end;
	char merr[1600];
	struct vmp_source_config *cfg = &o->cfg;
	struct vmpd_metrics_config *mcfg = &o->mcfg;
	switch (opt) {
	case OPT_SOCKET:
		o->socket_path = optarg;
		return 0;
	case OPT_SOCKET_MODE: {
		errno = 0;
		unsigned long m = strtoul(optarg, &end, 8);
		if (errno || *end || !*optarg || optarg[0] == '-' || optarg[0] == '+' || m > 0777)
			return bad("--socket-mode '%s': an octal mode such as 0660", optarg);
		o->socket_mode = (mode_t)m;
		return 0;
	}
	case OPT_SOURCE: {
		static const char *const k[] = {"auto", "v1", "v2", "machine", "trace"};
		int found = -1;
		for (int i = 0; i < 5; i++)
			if (!strcmp(optarg, k[i]))
				found = i;
		if (found < 0)
			return bad("--source '%s': use auto, v1, v2, machine or trace", optarg);
		cfg->kind = (enum vmp_source_kind)found;
		*source_set = true;
		return 0;
	}
	case OPT_CGROUP_ROOT:
		cfg->cgroup_root = optarg;
		return 0;
	case OPT_PROC_ROOT:
		cfg->proc_root = optarg;
		return 0;
	case OPT_TRACE:
		cfg->trace_path = optarg;
		return 0;
	case OPT_SPEED:
		errno = 0;
		cfg->trace_speed = strtod(optarg, &end);
		if (errno || *end || !*optarg || !(cfg->trace_speed >= 0) || !isfinite(cfg->trace_speed))
			return bad("--speed '%s': a number >= 0 (0: as fast as possible)", optarg);
		*speed_set = true;
		return 0;
	case OPT_TRACE_HOLD:
		cfg->trace_hold = true;
		return 0;
	case OPT_LOG_FILE:
		o->log_file = optarg;
		return 0;
	case OPT_METRICS_TEXTFILE:
		if (!*optarg)
			return bad("%s--metrics-textfile needs a path", "");
		mcfg->textfile = optarg;
		return 0;
	case OPT_METRICS_INTERVAL:
		errno = 0;
		mcfg->interval = strtod(optarg, &end);
		if (errno || *end || !*optarg || !(mcfg->interval >= 0.1) || mcfg->interval > 86400)
			return bad("--metrics-interval '%s': seconds, from 0.1 to 86400", optarg);
		return 0;
	case OPT_METRICS_LISTEN: {
		struct sockaddr_storage ss;
		unsigned sl;
		if (vmpd_httpd_parse_addr(optarg, &ss, &sl, merr, sizeof(merr)))
			return bad("%s", merr);
		mcfg->listen = optarg;
		return 0;
	}
	case OPT_METRICS_CGROUP:
		if (mcfg->nwatch == VMPD_METRICS_WATCH_MAX)
			return bad("--metrics-cgroup '%s': more than 256 of them", optarg);
		if (vmpd_metrics_parse_watch(optarg, &mcfg->watch[mcfg->nwatch], merr, sizeof(merr)))
			return bad("%s", merr);
		mcfg->nwatch++;
		return 0;
	case OPT_EXEC: {
		struct vmpd_exec_spec *spec = malloc(sizeof(*spec));
		char msg[256];
		int bad_spec = !spec || vmpd_exec_spec_parse(optarg, spec, msg, sizeof(msg));
		free(spec);
		if (bad_spec) {
			fprintf(stderr, "vmpressured: --exec '%s': %s\n", optarg, spec ? msg : "out of memory");
			fprintf(stderr, "(the form is --exec 'CGROUP LEVEL[,MODE] [debounce[=CONFIG]] COMMAND')\n");
			return -EINVAL;
		}
		if (o->nexec == VMPD_MAX_EXEC)
			return bad("--exec '%s': more than " VMPD_MAX_EXEC_TEXT " actions", optarg);
		o->execs[o->nexec++] = optarg;
		return 0;
	}
	case OPT_EXEC_INTERVAL:
	case OPT_EXEC_TIMEOUT: {
		bool iv = opt == OPT_EXEC_INTERVAL;
		*exec_opt = true;
		if (!parse_ms(optarg, iv ? &o->exec_interval : &o->exec_timeout) || (!iv && !o->exec_timeout))
			return bad(iv ? "--exec-interval '%s': seconds, 0 to 86400"
				      : "--exec-timeout '%s': seconds, 0.001 to 86400", optarg);
		return 0;
	}
	case OPT_MP_ENDPOINT: {
		char err[256];
		if (o->n_mp == MAX_MP_ENDPOINTS)
			return bad("--memory-pressure-endpoint '%s': more than 64 endpoints", optarg);
		if (vmpd_mpw_parse_spec(optarg, &o->mp_specs[o->n_mp], err, sizeof(err))) {
			fprintf(stderr, "vmpressured: --memory-pressure-endpoint '%s': %s\n", optarg, err);
			return -EINVAL;
		}
		for (size_t i = 0; i < o->n_mp; i++)
			if (!strcmp(o->mp_specs[i].path, o->mp_specs[o->n_mp].path))
				return bad("--memory-pressure-endpoint: %s is given twice", o->mp_specs[i].path);
		o->n_mp++;
		return 0;
	}
	case OPT_NO_MLOCK:
		o->mlock = false;
		return 0;
	case 'h':
		o->help = true;
		return 0;
	case 'V':
		o->version = true;
		return 0;
	default: /* '?': parse_opts() says which */
		return -EINVAL;
	}
}

/* The command line into o: 0 or -EINVAL, the message printed. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	/* static: 256 x 1 KiB and 64 x 4 KiB, only touched as far as used */
	static struct vmpd_metrics_watch metrics_watch[VMPD_METRICS_WATCH_MAX];
	static struct vmpd_mpw_spec mp_specs[MAX_MP_ENDPOINTS];
	static char *execs[VMPD_MAX_EXEC];
	*o = (struct opts){
		.socket_path = DEFAULT_SOCKET,
		.socket_mode = 0666,
		.mlock = true,
		.mp_specs = mp_specs,
		.mcfg = {.watch = metrics_watch},
		.execs = execs,
		.exec_interval = VMP_EXEC_DEFAULT_INTERVAL_MS,
	};
	struct vmp_source_config *cfg = &o->cfg;
	vmp_source_config_init(cfg);
	bool source_set = false, speed_set = false, exec_opt = false;
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hV", long_opts, NULL)) != -1) {
		int rc = opt == '?' ? bad("unknown option or missing value: '%s'", argv[optind - 1])
				    : parse_opt(o, opt, &source_set, &speed_set, &exec_opt);
		if (rc)
			return rc;
		if (o->help || o->version)
			return 0;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (exec_opt && !o->nexec)
		return bad("%s--exec-interval and --exec-timeout need --exec", "");
	if (cfg->trace_path && !source_set)
		cfg->kind = VMP_SOURCE_TRACE;
	if (cfg->kind == VMP_SOURCE_TRACE && !cfg->trace_path)
		return bad("%s--source trace needs --trace FILE", "");
	if (cfg->kind != VMP_SOURCE_TRACE && (cfg->trace_path || speed_set || cfg->trace_hold))
		return bad("%s--trace, --speed and --trace-hold are for the trace source", "");
	for (size_t i = 0; i < o->n_mp; i++)
		if (!strcmp(o->mp_specs[i].path, o->socket_path))
			return bad("--memory-pressure-endpoint %s: that is the control socket", o->socket_path);
	if (cfg->kind == VMP_SOURCE_TRACE && !speed_set)
		cfg->trace_speed = 1;
	const struct vmpd_metrics_config *mcfg = &o->mcfg;
	if ((mcfg->nwatch || mcfg->interval > 0) && !mcfg->textfile && !mcfg->listen)
		return bad("%s--metrics-cgroup and --metrics-interval need --metrics-textfile or --metrics-listen", "");
	if (mcfg->interval > 0 && !mcfg->textfile)
		return bad("%s--metrics-interval is for --metrics-textfile", "");
	return 0;
}

/* The steps of a start, in order: where one failed says what the exit
 * status is (main()). */
enum step {
	STEP_SOURCE,    /* vmp_source_new() */
	STEP_RIGHTS,    /* the source cannot register here (cgroup v1 without root) */
	STEP_SOCKET,    /* the endpoints' sockets, the control socket */
	STEP_LOOP,      /* epoll, signalfd, timers */
	STEP_LISTENERS, /* --metrics-cgroup's subscriptions */
	STEP_METRICS,   /* --metrics-listen, --metrics-textfile */
	STEP_ENDPOINTS, /* the endpoints' subscriptions */
	STEP_ACTIONS,   /* --exec's subscriptions and runners */
	STEP_WATCHDOG,
	STEP_RUN,       /* the loop ran: it stopped */
};

/*
 * On cgroup v1 each subscription writes the cgroup's cgroup.event_control,
 * which only root may (its mode is 0222 owned by root, or the cgroup's
 * owner on a delegated tree). A daemon without that right would announce
 * that it serves and then refuse every subscription, so it refuses to
 * start instead: 0 or -EACCES (or the errno of faccessat()), logged.
 */
static int check_rights(const struct vmpd *d)
{
	if (vmp_source_kind(d->src) != VMP_SOURCE_V1)
		return 0;
	char path[4200];
	snprintf(path, sizeof(path), "%s/cgroup.event_control", d->cgroup_root);
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
		return 0;
	int rc = -errno;
	vmpd_log(VMPD_LOG_ERR,
		 "the cgroup-v1 source cannot register with the kernel: %s: %s (uid %ld); registering "
		 "needs root (write access to cgroup.event_control): start vmpressured as root, or with "
		 "--source machine (the whole machine, from /proc/vmstat)",
		 path, strerror(-rc), (long)geteuid());
	return rc;
}

/* Everything up to the loop, then the loop: 0 once it stopped on a signal,
 * or the -errno of the step that failed (*failed), logged. */
static int start_and_run(struct vmpd *d, const struct opts *o, struct vmp_error *terr,
			 struct vmpd_socket *sock, enum step *failed)
{
	const struct vmp_source_config *cfg = &o->cfg;
	*failed = STEP_SOURCE;
	int rc = vmp_source_new(&d->src, cfg, terr);
	if (rc) {
		if (cfg->kind == VMP_SOURCE_TRACE && terr->line)
			vmpd_log(VMPD_LOG_ERR, "%s:%lu: %s", cfg->trace_path, terr->line, terr->msg);
		else if (cfg->kind == VMP_SOURCE_TRACE && rc == -EINVAL && terr->msg[0]) /* not a regular file */
			vmpd_log(VMPD_LOG_ERR, "--trace %s: %s", cfg->trace_path, terr->msg);
		else if (cfg->kind == VMP_SOURCE_AUTO && cfg->cgroup_root)
			vmpd_log(VMPD_LOG_ERR,
				 "no source: --cgroup-root '%s' is %s; give a cgroup v1 memory or v2 hierarchy (or "
				 "no --cgroup-root for this machine's)",
				 cfg->cgroup_root,
				 rc == -ENOTDIR	 ? "not a directory"
				 : rc == -EINVAL ? "empty"
				 : rc == -ENOENT ? "neither (no such directory, or no cgroup.event_control nor "
						   "cgroup.controllers in it)"
						 : strerror(-rc));
		else if (cfg->kind == VMP_SOURCE_TRACE)
			vmpd_log(VMPD_LOG_ERR, "cannot load the trace %s: %s", cfg->trace_path, strerror(-rc));
		else
			vmpd_log(VMPD_LOG_ERR, "no %s source on this machine (cgroup root %s): %s",
				 cfg->kind == VMP_SOURCE_AUTO ? "usable" : vmp_source_kind_name(cfg->kind),
				 cfg->cgroup_root ? cfg->cgroup_root : "the default", strerror(-rc));
		return rc;
	}
	enum vmp_source_kind kind = vmp_source_kind(d->src);
	d->source_name = vmp_source_kind_name(kind);
	d->check_access = kind == VMP_SOURCE_V1 || kind == VMP_SOURCE_V2;
	d->fc_cfg = *cfg; /* the forecasts read the same tree */
	d->fc_cfg.kind = kind;
	d->cgroup_root = cfg->cgroup_root ? cfg->cgroup_root
			 : kind == VMP_SOURCE_V1 ? "/sys/fs/cgroup/memory"
						 : "/sys/fs/cgroup";
	*failed = STEP_RIGHTS;
	if ((rc = check_rights(d)) != 0)
		return rc;

	*failed = STEP_SOCKET;
	char err[512];
	rc = vmpd_mpw_open(d, o->mp_specs, o->n_mp);
	if (!rc && (rc = vmpd_socket_open(sock, o->socket_path, o->socket_mode, err, sizeof(err))))
		vmpd_log(VMPD_LOG_ERR, "%s", err);
	if (rc)
		return rc;
	d->listener.fd = sock->fd;
	*failed = STEP_LOOP;
	rc = vmpd_loop_init(d);
	if (!rc)
		vmpd_clients_init(d);
	if (!rc)
		rc = vmpd_subs_init(d);
	if (rc) {
		vmpd_log(VMPD_LOG_ERR, "cannot set up the event loop: %s", strerror(-rc));
		return rc;
	}
	*failed = STEP_LISTENERS;
	if ((rc = vmpd_metrics_init(d, &o->mcfg)) != 0)
		return rc;
	*failed = STEP_METRICS;
	if ((rc = vmpd_metrics_open(d, &o->mcfg)) != 0)
		return rc;
	*failed = STEP_ENDPOINTS;
	if ((rc = vmpd_mpw_start(d)) != 0)
		return rc;
	*failed = STEP_ACTIONS;
	rc = vmpd_actions_start(d, o->execs, o->nexec, o->exec_interval, o->exec_timeout, err, sizeof(err));
	if (rc) {
		vmpd_log(VMPD_LOG_ERR, "%s", err);
		return rc;
	}
	*failed = STEP_WATCHDOG;
	if ((rc = vmpd_watchdog_start(d)) != 0) {
		vmpd_log(VMPD_LOG_ERR, "cannot set up the watchdog timer: %s", strerror(-rc));
		return rc;
	}

	*failed = STEP_RUN;
	vmpd_log(VMPD_LOG_INFO, "serving on %s (mode %04o) with the %s source%s", o->socket_path,
		 (unsigned)o->socket_mode, d->source_name, cfg->trace_hold ? ", held until SIGUSR1" : "");
	char ready[700];
	snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving on %s (%s source)", o->socket_path,
		 d->source_name);
	vmpd_notify(ready);
	rc = vmpd_loop_run(d);
	vmpd_notify("STOPPING=1");
	return rc;
}

/* Exit statuses, from the -errno of what failed. */
static int socket_status(int rc)
{
	switch (-rc) {
	case EADDRINUSE: return VMPD_EXIT_RUNNING;
	case ENAMETOOLONG: return VMPD_EXIT_USAGE;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS: return VMPD_EXIT_OSERR;
	default: return VMPD_EXIT_CANTCREAT;
	}
}

/* A subscription the configuration asks for (--exec, --metrics-cgroup, an
 * endpoint): the source cannot serve it, or the system failed. */
static int subscribe_status(int rc)
{
	switch (-rc) {
	case ENOENT:
	case EINVAL:
	case EACCES:
	case EPERM:
	case ENOTSUP: return VMPD_EXIT_UNAVAILABLE;
	default: return VMPD_EXIT_OSERR;
	}
}

static int exit_status(enum step failed, int rc, const struct opts *o, const struct vmp_error *terr)
{
	switch (failed) {
	case STEP_SOURCE:
		if (o->cfg.kind != VMP_SOURCE_TRACE)
			return VMPD_EXIT_UNAVAILABLE;
		return terr->line || rc == -EINVAL ? VMPD_EXIT_BADTRACE : VMPD_EXIT_IOERR;
	case STEP_RIGHTS:
		return VMPD_EXIT_UNAVAILABLE;
	case STEP_SOCKET:
		return socket_status(rc);
	case STEP_LISTENERS:
	case STEP_ENDPOINTS:
	case STEP_ACTIONS:
		return subscribe_status(rc);
	case STEP_METRICS:
		return rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ? VMPD_EXIT_OSERR : VMPD_EXIT_CANTCREAT;
	case STEP_RUN:
		return rc ? VMPD_EXIT_SOFTWARE : VMPD_EXIT_OK;
	case STEP_LOOP:
	case STEP_WATCHDOG:
	default:
		return VMPD_EXIT_OSERR;
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(&o, argc, argv))
		return VMPD_EXIT_USAGE;
	if (o.help) {
		usage(stdout);
		return VMPD_EXIT_OK;
	}
	if (o.version) {
		unsigned v = vmp_version();
		printf("vmpressured %s (libvmpressure %u.%u.%u, protocol %d)\n", VMP_VERSION_STRING, v >> 16,
		       (v >> 8) & 0xff, v & 0xff, VMPD_PROTOCOL_VERSION);
		return VMPD_EXIT_OK;
	}

	int rc = vmpd_log_open(o.log_file);
	if (rc) {
		fprintf(stderr, "vmpressured: cannot open the log file %s: %s\n", o.log_file,
			rc == -EINVAL ? "not a regular file (a FIFO or a device)" : strerror(-rc));
		return VMPD_EXIT_CANTCREAT;
	}

	/* Before any thread or descriptor exists: the signals go to the
	 * signalfd only, and a client that vanishes is an EPIPE, not a kill. */
	sigset_t mask;
	vmpd_signal_set(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	tune_malloc();
	vmpd_lock_memory(o.mlock);

	struct vmpd d = {.epfd = -1, .signals.fd = -1, .backoff.fd = -1, .listener.fd = -1};
	d.max_clients = VMPD_MAX_CLIENTS;
	d.t0 = vmp__mono_s();
	vmp__buf_init(&d.scratch);
	d.on_signal = on_signal;
	struct vmpd_socket sock = {.fd = -1};
	struct vmp_error terr = {0};
	enum step failed;
	rc = start_and_run(&d, &o, &terr, &sock, &failed);
	int status = exit_status(failed, rc, &o, &terr);

	/* Each of these undoes what its step did, and nothing if it did not run. */
	vmpd_actions_stop(&d);
	vmpd_clients_close_all(&d);
	vmpd_mpw_fini(&d);
	vmpd_metrics_fini(&d);
	vmpd_fc_fini(&d);
	vmpd_subs_fini(&d);
	vmp_source_free(d.src);
	vmpd_socket_close(&sock, o.socket_path);
	vmpd_service_fini(&d);
	vmpd_loop_fini(&d);
	vmp__buf_free(&d.scratch);
	if (failed == STEP_RUN)
		vmpd_log(VMPD_LOG_INFO, "stopped");
	vmpd_log_close();
	return status;
}
