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
			vmpd_log(VMPD_LOG_ERR, "SIGHUP: cannot reopen the log file: %s; still writing to the old one",
				 strerror(-rc));
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

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmpressured: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(vmpressured --help lists the options)\n");
	return VMPD_EXIT_USAGE;
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

int main(int argc, char **argv)
{
	const char *socket_path = DEFAULT_SOCKET, *log_file = NULL;
	mode_t socket_mode = 0666;
	struct vmp_source_config cfg;
	struct vmp_error terr = {0};
	bool source_set = false, speed_set = false;
	static struct vmpd_mpw_spec mp_specs[MAX_MP_ENDPOINTS];
	size_t n_mp = 0;
	vmp_source_config_init(&cfg);
	/* static: 256 x 1 KiB, only touched as far as used */
	static struct vmpd_metrics_watch metrics_watch[VMPD_METRICS_WATCH_MAX];
	struct vmpd_metrics_config mcfg = {.watch = metrics_watch};
	char merr[1600];
	static char *execs[VMPD_MAX_EXEC];
	size_t nexec = 0;
	unsigned exec_interval = VMP_EXEC_DEFAULT_INTERVAL_MS, exec_timeout = 0;
	bool exec_opt = false, mlock = true;

	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hV", long_opts, NULL)) != -1) {
		char *end;
		switch (o) {
		case OPT_SOCKET:
			socket_path = optarg;
			break;
		case OPT_SOCKET_MODE: {
			errno = 0;
			unsigned long m = strtoul(optarg, &end, 8);
			if (errno || *end || !*optarg || optarg[0] == '-' || optarg[0] == '+' || m > 0777)
				return bad("--socket-mode '%s': an octal mode such as 0660", optarg);
			socket_mode = (mode_t)m;
			break;
		}
		case OPT_SOURCE: {
			static const char *const k[] = {"auto", "v1", "v2", "machine", "trace"};
			int found = -1;
			for (int i = 0; i < 5; i++)
				if (!strcmp(optarg, k[i]))
					found = i;
			if (found < 0)
				return bad("--source '%s': use auto, v1, v2, machine or trace", optarg);
			cfg.kind = (enum vmp_source_kind)found;
			source_set = true;
			break;
		}
		case OPT_CGROUP_ROOT:
			cfg.cgroup_root = optarg;
			break;
		case OPT_PROC_ROOT:
			cfg.proc_root = optarg;
			break;
		case OPT_TRACE:
			cfg.trace_path = optarg;
			break;
		case OPT_SPEED:
			errno = 0;
			cfg.trace_speed = strtod(optarg, &end);
			if (errno || *end || !*optarg || !(cfg.trace_speed >= 0) || !isfinite(cfg.trace_speed))
				return bad("--speed '%s': a number >= 0 (0: as fast as possible)", optarg);
			speed_set = true;
			break;
		case OPT_TRACE_HOLD:
			cfg.trace_hold = true;
			break;
		case OPT_LOG_FILE:
			log_file = optarg;
			break;
		case OPT_METRICS_TEXTFILE:
			if (!*optarg)
				return bad("%s--metrics-textfile needs a path", "");
			mcfg.textfile = optarg;
			break;
		case OPT_METRICS_INTERVAL:
			errno = 0;
			mcfg.interval = strtod(optarg, &end);
			if (errno || *end || !*optarg || !(mcfg.interval >= 0.1) || mcfg.interval > 86400)
				return bad("--metrics-interval '%s': seconds, from 0.1 to 86400", optarg);
			break;
		case OPT_METRICS_LISTEN: {
			struct sockaddr_storage ss;
			unsigned sl;
			if (vmpd_httpd_parse_addr(optarg, &ss, &sl, merr, sizeof(merr)))
				return bad("%s", merr);
			mcfg.listen = optarg;
			break;
		}
		case OPT_METRICS_CGROUP:
			if (mcfg.nwatch == VMPD_METRICS_WATCH_MAX)
				return bad("--metrics-cgroup '%s': more than 256 of them", optarg);
			if (vmpd_metrics_parse_watch(optarg, &metrics_watch[mcfg.nwatch], merr, sizeof(merr)))
				return bad("%s", merr);
			mcfg.nwatch++;
			break;
		case OPT_EXEC: {
			struct vmpd_exec_spec *spec = malloc(sizeof(*spec));
			char msg[256];
			int bad_spec = !spec || vmpd_exec_spec_parse(optarg, spec, msg, sizeof(msg));
			free(spec);
			if (bad_spec) {
				fprintf(stderr, "vmpressured: --exec '%s': %s\n", optarg, spec ? msg : "out of memory");
				fprintf(stderr, "(the form is --exec 'CGROUP LEVEL[,MODE] [debounce[=CONFIG]] COMMAND')\n");
				return VMPD_EXIT_USAGE;
			}
			if (nexec == VMPD_MAX_EXEC)
				return bad("--exec '%s': more than " VMPD_MAX_EXEC_TEXT " actions", optarg);
			execs[nexec++] = optarg;
			break;
		}
		case OPT_EXEC_INTERVAL:
		case OPT_EXEC_TIMEOUT: {
			bool iv = o == OPT_EXEC_INTERVAL;
			exec_opt = true;
			if (!parse_ms(optarg, iv ? &exec_interval : &exec_timeout) || (!iv && !exec_timeout))
				return bad(iv ? "--exec-interval '%s': seconds, 0 to 86400"
					      : "--exec-timeout '%s': seconds, 0.001 to 86400", optarg);
			break;
		}
		case OPT_MP_ENDPOINT: {
			char err[256];
			if (n_mp == MAX_MP_ENDPOINTS)
				return bad("--memory-pressure-endpoint '%s': more than 64 endpoints", optarg);
			if (vmpd_mpw_parse_spec(optarg, &mp_specs[n_mp], err, sizeof(err))) {
				fprintf(stderr, "vmpressured: --memory-pressure-endpoint '%s': %s\n", optarg, err);
				return VMPD_EXIT_USAGE;
			}
			for (size_t i = 0; i < n_mp; i++)
				if (!strcmp(mp_specs[i].path, mp_specs[n_mp].path))
					return bad("--memory-pressure-endpoint: %s is given twice", mp_specs[i].path);
			n_mp++;
			break;
		}
		case OPT_NO_MLOCK:
			mlock = false;
			break;
		case 'h':
			usage(stdout);
			return VMPD_EXIT_OK;
		case 'V': {
			unsigned v = vmp_version();
			printf("vmpressured %s (libvmpressure %u.%u.%u, protocol %d)\n", VMP_VERSION_STRING,
			       v >> 16, (v >> 8) & 0xff, v & 0xff, VMPD_PROTOCOL_VERSION);
			return VMPD_EXIT_OK;
		}
		default:
			return bad("unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (exec_opt && !nexec)
		return bad("%s--exec-interval and --exec-timeout need --exec", "");
	if (cfg.trace_path && !source_set)
		cfg.kind = VMP_SOURCE_TRACE;
	if (cfg.kind == VMP_SOURCE_TRACE && !cfg.trace_path)
		return bad("%s--source trace needs --trace FILE", "");
	if (cfg.kind != VMP_SOURCE_TRACE && (cfg.trace_path || speed_set || cfg.trace_hold))
		return bad("%s--trace, --speed and --trace-hold are for the trace source", "");
	for (size_t i = 0; i < n_mp; i++)
		if (!strcmp(mp_specs[i].path, socket_path))
			return bad("--memory-pressure-endpoint %s: that is the control socket", socket_path);
	if (cfg.kind == VMP_SOURCE_TRACE && !speed_set)
		cfg.trace_speed = 1;
	if ((mcfg.nwatch || mcfg.interval > 0) && !mcfg.textfile && !mcfg.listen)
		return bad("%s--metrics-cgroup and --metrics-interval need --metrics-textfile or --metrics-listen", "");
	if (mcfg.interval > 0 && !mcfg.textfile)
		return bad("%s--metrics-interval is for --metrics-textfile", "");

	int rc = vmpd_log_open(log_file);
	if (rc) {
		fprintf(stderr, "vmpressured: cannot open the log file %s: %s\n", log_file, strerror(-rc));
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
	vmpd_lock_memory(mlock);

	struct vmpd d = {.epfd = -1, .signals.fd = -1, .backoff.fd = -1, .listener.fd = -1};
	d.max_clients = VMPD_MAX_CLIENTS;
	d.t0 = vmp__mono_s();
	vmp__buf_init(&d.scratch);
	d.on_signal = on_signal;

	rc = vmp_source_new(&d.src, &cfg, &terr);
	if (rc) {
		int status;
		if (cfg.kind == VMP_SOURCE_TRACE && terr.line) {
			vmpd_log(VMPD_LOG_ERR, "%s:%lu: %s", cfg.trace_path, terr.line, terr.msg);
			status = VMPD_EXIT_BADTRACE;
		} else if (cfg.kind == VMP_SOURCE_TRACE) {
			vmpd_log(VMPD_LOG_ERR, "cannot load the trace %s: %s", cfg.trace_path, strerror(-rc));
			status = rc == -EINVAL ? VMPD_EXIT_BADTRACE : VMPD_EXIT_IOERR;
		} else {
			vmpd_log(VMPD_LOG_ERR, "no %s source on this machine (cgroup root %s): %s",
				 cfg.kind == VMP_SOURCE_AUTO ? "usable" : vmp_source_kind_name(cfg.kind),
				 cfg.cgroup_root ? cfg.cgroup_root : "the default", strerror(-rc));
			status = VMPD_EXIT_UNAVAILABLE;
		}
		vmpd_log_close();
		return status;
	}
	enum vmp_source_kind kind = vmp_source_kind(d.src);
	d.source_name = vmp_source_kind_name(kind);
	d.check_access = kind == VMP_SOURCE_V1 || kind == VMP_SOURCE_V2;
	d.cgroup_root = cfg.cgroup_root ? cfg.cgroup_root
			: kind == VMP_SOURCE_V1 ? "/sys/fs/cgroup/memory"
						: "/sys/fs/cgroup";

	struct vmpd_socket sock = {.fd = -1};
	char err[512];
	int status = 0;
	rc = vmpd_mpw_open(&d, mp_specs, n_mp);
	if (!rc && (rc = vmpd_socket_open(&sock, socket_path, socket_mode, err, sizeof(err))))
		vmpd_log(VMPD_LOG_ERR, "%s", err);
	if (rc) {
		vmpd_mpw_fini(&d);
		vmp_source_free(d.src);
		vmpd_log_close();
		return socket_status(rc);
	}
	d.listener.fd = sock.fd;
	rc = vmpd_loop_init(&d);
	if (!rc)
		vmpd_clients_init(&d);
	if (!rc)
		rc = vmpd_subs_init(&d);
	if (rc) {
		vmpd_log(VMPD_LOG_ERR, "cannot set up the event loop: %s", strerror(-rc));
		status = VMPD_EXIT_OSERR;
	} else if ((rc = vmpd_metrics_init(&d, &mcfg)) != 0) {
		status = subscribe_status(rc); /* logged */
	} else if ((rc = vmpd_metrics_open(&d, &mcfg)) != 0) {
		status = rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ? VMPD_EXIT_OSERR
									 : VMPD_EXIT_CANTCREAT;
	} else if ((rc = vmpd_mpw_start(&d)) != 0) {
		status = subscribe_status(rc); /* logged */
	} else if ((rc = vmpd_actions_start(&d, execs, nexec, exec_interval, exec_timeout, err,
					    sizeof(err))) != 0) {
		vmpd_log(VMPD_LOG_ERR, "%s", err);
		status = subscribe_status(rc);
	} else if ((rc = vmpd_watchdog_start(&d)) != 0) {
		vmpd_log(VMPD_LOG_ERR, "cannot set up the watchdog timer: %s", strerror(-rc));
		status = VMPD_EXIT_OSERR;
	} else {
		vmpd_log(VMPD_LOG_INFO, "serving on %s (mode %04o) with the %s source%s", socket_path,
			 (unsigned)socket_mode, d.source_name,
			 cfg.trace_hold ? ", held until SIGUSR1" : "");
		char ready[700];
		snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving on %s (%s source)", socket_path,
			 d.source_name);
		vmpd_notify(ready);
		status = vmpd_loop_run(&d) ? VMPD_EXIT_SOFTWARE : VMPD_EXIT_OK;
		vmpd_notify("STOPPING=1");
	}

	vmpd_actions_stop(&d);
	vmpd_clients_close_all(&d);
	vmpd_mpw_fini(&d);
	vmpd_metrics_fini(&d);
	vmpd_subs_fini(&d);
	vmp_source_free(d.src);
	vmpd_socket_close(&sock, socket_path);
	vmpd_service_fini(&d);
	vmpd_loop_fini(&d);
	vmp__buf_free(&d.scratch);
	vmpd_log(VMPD_LOG_INFO, "stopped");
	vmpd_log_close();
	return status;
}
