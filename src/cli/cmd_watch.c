/* SPDX-License-Identifier: MIT */
/*
 * vmpressure watch: live pressure events for one cgroup or the whole
 * machine, one line each (human or JSON), and a summary on exit. Through
 * vmpressured when its socket answers (watch_daemon.c turns its events back
 * into source events), else with the sources and the engine in-process;
 * the output is the same either way, and standard error says which.
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure watch [CGROUP] [options]\n"
		"\n"
		"Print memory pressure notifications as they happen, for CGROUP (a path below\n"
		"the memory cgroup root) or, by default, the whole machine ('/').\n"
		"\n"
		"  -l, --level L      low, medium or critical: the least level shown (low)\n"
		"  -m, --mode M       default, hierarchy or local (hierarchy: windows anywhere\n"
		"                     below CGROUP too; default: only until a listener below\n"
		"                     handled it, as the kernel's default mode)\n"
		"  -j, --json         one JSON object per line\n"
		"  -n, --count N      exit after N notifications\n"
		"  -t, --timeout S    exit after S seconds (decimals allowed)\n"
		"      --source K     auto, v1, v2 or machine (auto: the kernel's own levels on\n"
		"                     cgroup v1, the estimator on cgroup v2, /proc/vmstat else)\n"
		"      --trace FILE   play a vmptrace file back instead of watching this machine\n"
		"      --speed X      with --trace: X times real time; 0 as fast as possible (1)\n"
		"      --cgroup-root DIR, --proc-root DIR\n"
		"                     read cgroups and /proc from elsewhere (fixtures, containers)\n"
		"      --socket PATH  vmpressured's socket (" WATCH_DEFAULT_SOCKET "): used when\n"
		"                     a daemon answers there, unless --trace, --cgroup-root or\n"
		"                     --proc-root is given or its source is not the one asked for\n"
		"      --no-daemon    always watch in-process\n"
		"      --debounce[=CONFIG]\n"
		"                     print level transitions (none, low, medium, critical) with\n"
		"                     their evidence instead of every notification; CONFIG is\n"
		"                     window=DUR,enter=N,leave=N,dwell=DUR,psi=off|some:X|full:X\n"
		"                     (defaults window=1s,enter=2,leave=0,dwell=2s,psi=off;\n"
		"                     docs/debounce.md); --count then counts transitions\n"
		"  -x, --exec CMD     run /bin/sh -c CMD for each notification, with its evidence\n"
		"                     in VMP_* environment variables (vmpressure(1)); one run at\n"
		"                     a time, events meanwhile coalesced into one later run\n"
		"      --exec-interval S  least time between two starts of CMD (1; 0: none)\n"
		"      --exec-timeout S   SIGTERM CMD's process group after S seconds, SIGKILL\n"
		"                     2 s later (default: no timeout)\n"
		"      --forecast[=SECONDS]\n"
		"                     print the OOM forecast instead of notifications: a line when\n"
		"                     the time until CGROUP's OOM kill, at the present growth of what\n"
		"                     reclaim cannot free against the nearest limit, falls under\n"
		"                     SECONDS (30), and one when it clears (docs/forecast.md);\n"
		"                     in-process; --count then counts warnings, --exec runs per\n"
		"                     forecast with VMP_ETA and its evidence\n"
		"\n"
		"A summary (events per level, duration) goes to standard error on exit. With\n"
		"--exec, each run's exit status too, and watch waits for the command's last\n"
		"run before it exits (unless stopped by a signal).\n"
		"exit status: 0 ok (count, timeout or signal), 2 bad argument or no such cgroup,\n"
		"             64 usage, 69 no source available, 70 internal error\n");
}

struct watch {
	bool json;
	uint64_t max_count, seen;
	uint64_t by_level[3];
	bool removed;
	const char *source_name;
	struct watch_exec *ex;
	struct watch_debounce *db; /* --debounce: transitions only */
};

static void on_event(const struct vmp_source_event *ev, void *arg)
{
	struct watch *w = arg;
	char ts[64];
	bool removed = ev->flags & VMP_EVENT_REMOVED;
	bool evidence = !(ev->flags & VMP_EVENT_NO_EVIDENCE);
	/* --count N: one dispatch may deliver a whole burst (a trace at
	 * --speed 0); what comes after the Nth is past the watch's end. */
	if (w->max_count && (w->db ? watch_debounce_count(w->db) : w->seen) >= w->max_count)
		return;
	if (removed)
		w->removed = true;
	else {
		w->seen += ev->count;
		w->by_level[ev->level] += ev->count;
	}
	if (w->db && !removed) {
		watch_debounce_event(w->db, ev);
		return;
	}
	if (w->json) {
		cli_print_event_json(ev);
	} else {
		cli_fmt_time(ev->time_ns, ts, sizeof(ts), false);
		if (removed) {
			printf("%s  %-8s  cgroup %s was removed\n", ts, "removed", ev->cgroup);
		} else {
			printf("%s  %-8s", ts, vmp_level_name(ev->level));
			if (ev->count > 1)
				printf(" x%-4" PRIu64, ev->count);
			else
				printf("      ");
			printf("  %s", ev->cgroup);
			if (ev->origin && strcmp(ev->origin, ev->cgroup) != 0)
				printf("  (from %s)", ev->origin);
			if (evidence)
				printf("  scanned %" PRIu64 " reclaimed %" PRIu64 " pressure %" PRIu64 "%%", ev->scanned,
				       ev->reclaimed, ev->pressure);
			if (ev->psi_some_avg10 >= 0)
				printf("  psi some %.2f full %.2f", ev->psi_some_avg10, ev->psi_full_avg10);
			putchar('\n');
		}
	}
	fflush(stdout);
	watch_exec_event(w->ex, ev, w->source_name, NULL, 0);
}

/* Reconnecting to a daemon that went away: the first try soon (a
 * restart under systemd takes ~0.1 s), then doubling up to half a
 * second, so that a watch is back within a second of the daemon's
 * readiness and an absent daemon costs two connect()s a second. */
#define RECONNECT_FIRST_S 0.05
#define RECONNECT_MAX_S 0.5

/* Back after a gap: say so on stderr, and in the output, so that what
 * was missed is not hidden: notifications in between are unknown. */
static void reconnected(struct watch *w, const char *cgroup, const char *path, double lost_at,
			uint64_t lost_wall, double uptime)
{
	double gap = vmp__mono_s() - lost_at;
	uint64_t now = vmp__realtime_ns();
	char from[64], to[64];
	fprintf(stderr, "%s watch: reconnected to vmpressured at %s after %.3f s (%s source); "
			"notifications in that time are not known\n", prog, path, gap, w->source_name);
	if (w->json) {
		cli_fmt_time(lost_wall, from, sizeof(from), true);
		cli_fmt_time(now, to, sizeof(to), true);
		/* Shaped as the events (docs/protocol.md): event first, no source. */
		printf("{\"event\":\"gap\",\"time\":\"%s\",\"cgroup\":", to);
		cli_json_str(cgroup);
		printf(",\"from\":\"%s\",\"duration_s\":%.3f,\"daemon_uptime_s\":", from, gap);
		if (uptime >= 0)
			printf("%.3f", uptime);
		else
			printf("null");
		fputs("}\n", stdout);
	} else {
		cli_fmt_time(now, to, sizeof(to), false);
		printf("%s  %-8s        %s  vmpressured was away for %.3f s: notifications in that time are not known\n",
		       to, "gap", cgroup, gap);
	}
	fflush(stdout);
}

/* Seconds as whole milliseconds: 0 to a day. */
static bool parse_ms(const char *val, unsigned *ms)
{
	double s;
	if (!cli_parse_decimal(val, 86400, &s))
		return false;
	*ms = (unsigned)(s * 1000 + 0.5);
	return true;
}

/* A cgroup file that is there but not a regular file (a FIFO in a
 * fixture tree): the source refuses it with -EINVAL; name it. */
static void bad_file(const char *root, enum vmp_source_kind kind, const char *cgroup, char *out, size_t cap)
{
	static const char *const v2[] = {"memory.stat", "memory.events", "memory.pressure"};
	static const char *const v1[] = {"memory.pressure_level", "cgroup.event_control"};
	const char *const *names = kind == VMP_SOURCE_V1 ? v1 : v2;
	size_t n = kind == VMP_SOURCE_V1 ? 2 : 3;
	if (!root)
		root = kind == VMP_SOURCE_V1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
	while (*cgroup == '/')
		cgroup++;
	for (size_t i = 0; i < n; i++) {
		char path[4300];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s%s%s", root, cgroup, *cgroup ? "/" : "", names[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			snprintf(out, cap, "%s is not a regular file (%s); a cgroup file system has only those",
				 path, S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" : "a device or socket");
			return;
		}
	}
}

/* What the command line asked for. */
struct watch_opts {
	struct cli_source_opts src;
	bool help, json, no_daemon;
	const char *socket_path;
	const char *debounce; /* --debounce's config, "" for the defaults */
	const char *exec_cmd;
	unsigned exec_interval, exec_timeout;
	bool forecast;  /* --forecast[=SECONDS] */
	double warn_s;  /* its SECONDS; 0: the default */
};

/* 0 or -errno (cli.h), the message printed. */
static int parse_opts(struct watch_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	cli_source_opts_init(&o->src, "watch", "-t", "--timeout");
	o->socket_path = WATCH_DEFAULT_SOCKET;
	o->exec_interval = VMP_EXEC_DEFAULT_INTERVAL_MS;
	bool exec_opt = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		int rc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
			return 0;
		} else if ((rc = cli_source_opt(&o->src, argc, argv, &i)) != CLI_OPT_OTHER) {
			if (rc)
				return rc;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--socket")) {
			if (!(val = cli_optval("watch", argc, argv, &i)))
				return -EINVAL;
			o->socket_path = val;
		} else if (!strcmp(a, "--no-daemon")) {
			o->no_daemon = true;
		} else if (!strcmp(a, "--debounce") || !strncmp(a, "--debounce=", 11)) {
			o->debounce = a[10] ? a + 11 : "";
		} else if (!strcmp(a, "--forecast") || !strncmp(a, "--forecast=", 11)) {
			const char *secs = a[10] ? a + 11 : "";
			o->forecast = true;
			o->warn_s = 0;
			if (*secs && (!cli_parse_decimal(secs, 86400, &o->warn_s) || o->warn_s <= 0)) {
				fprintf(stderr, "%s watch: --forecast='%s' is not a number of seconds (0.1 to 86400)\n",
					prog, secs);
				return -EDOM;
			}
		} else if (!strcmp(a, "-x") || !strcmp(a, "--exec")) {
			if (!(val = cli_optval("watch", argc, argv, &i)))
				return -EINVAL;
			if (!*val)
				return cli_usage_error("watch", "--exec needs a command");
			o->exec_cmd = val;
		} else if (!strcmp(a, "--exec-interval") || !strcmp(a, "--exec-timeout")) {
			if (!(val = cli_optval("watch", argc, argv, &i)))
				return -EINVAL;
			bool iv = !strcmp(a, "--exec-interval");
			if (!parse_ms(val, iv ? &o->exec_interval : &o->exec_timeout) || (!iv && !o->exec_timeout)) {
				fprintf(stderr, "%s watch: %s '%s' is not a number of seconds (%s86400)\n", prog, a,
					val, iv ? "0 to " : "0.001 to ");
				return -EDOM;
			}
			exec_opt = true;
		} else if ((rc = cli_source_arg(&o->src, a)) != 0) {
			return rc;
		}
	}
	int rc = cli_source_opts_finish(&o->src);
	if (rc)
		return rc;
	if (exec_opt && !o->exec_cmd)
		return cli_usage_error("watch", "--exec-interval and --exec-timeout need --exec CMD");
	if (o->forecast && (o->debounce || o->src.cfg.kind == VMP_SOURCE_TRACE))
		return cli_usage_error("watch", "--forecast does not go with %s",
				       o->debounce ? "--debounce"
						   : "--trace (vmpressure forecast FILE replays recordings)");
	return 0;
}

/* After "no such cgroup": CGROUP is a path below the root, and a path
 * given with the root in front is the commonest way to miss that. The
 * root: --cgroup-root, the source's default, or (the daemon's, unknown
 * here) either default. */
static void hint_enoent(const struct watch_opts *o, const char *cgroup, const char *source)
{
	const char *roots[2] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup"};
	size_t n = 2;
	if (o->src.cfg.cgroup_root)
		roots[0] = o->src.cfg.cgroup_root, n = 1;
	else if (!strcmp(source, "cgroup-v1"))
		n = 1;
	else if (*source)
		roots[0] = roots[1], n = 1;
	for (size_t i = 0; i < n; i++) {
		size_t rl = strlen(roots[i]);
		if (!strncmp(cgroup, roots[i], rl) && (cgroup[rl] == '/' || !cgroup[rl])) {
			fprintf(stderr, "%s watch: CGROUP is a path below the cgroup root %s: try '%s'\n", prog,
				roots[i], cgroup[rl] && cgroup[rl + 1] ? cgroup + rl + 1 : "/");
			return;
		}
	}
	fprintf(stderr, "%s watch: CGROUP is a path below the cgroup root %s%s ('/' for all of it)\n", prog,
		roots[0], n == 1 ? "" : " (cgroup v1) or /sys/fs/cgroup (v2)");
}

/* After a refusal: who may watch. */
static void hint_eacces(const char *source)
{
	if (!source)
		fprintf(stderr, "%s watch: vmpressured serves the cgroups your user may read; run as root "
				"for the others\n", prog);
	else if (!strcmp(source, "cgroup-v1"))
		fprintf(stderr, "%s watch: registering with the kernel's cgroup v1 controller needs root: "
				"run as root, or start vmpressured (vmpressured(8)), which watch goes through "
				"when it answers\n", prog);
	else
		fprintf(stderr, "%s watch: run as root, or through vmpressured (vmpressured(8))\n", prog);
}

/* The exit status of a refused subscription: the argument, or the source. */
static int refused_status(int rc)
{
	return rc == -ENOENT || rc == -EINVAL	? EXIT_BADINPUT
	       : rc == -EACCES || rc == -EPERM ? EXIT_NOPERM
					    : EXIT_UNAVAILABLE;
}

/* Through the daemon if it answers (*wd), else in-process (*src, *sub),
 * w->source_name set. 0, or the exit status with the reason printed. */
static int open_watch(struct watch *w, struct watch_opts *opt, struct watch_daemon **wd, vmp_source **src,
		      vmp_sub **sub)
{
	struct cli_source_opts *so = &opt->src;
	struct vmp_source_config *cfg = &so->cfg;
	const char *cgroup = so->cgroup, *args = so->args, *socket_path = opt->socket_path;
	int rc;
	/* The daemon, unless the user asked for a source only we can build. */
	if (!opt->no_daemon && cfg->kind != VMP_SOURCE_TRACE && !cfg->cgroup_root && !cfg->proc_root) {
		char err[1024] = "";
		rc = watch_daemon_open(wd, socket_path, cgroup, args, cfg->kind, err, sizeof(err));
		if (rc && rc != WATCH_NO_DAEMON) {
			fprintf(stderr, "%s watch: cannot watch cgroup '%s' (vmpressured at %s): %s\n", prog, cgroup,
				socket_path, err[0] ? err : strerror(-rc));
			if (rc == -ENOENT)
				hint_enoent(opt, cgroup, "");
			else if (rc == -EACCES)
				hint_eacces(NULL);
			return refused_status(rc);
		}
		if (rc == 0) {
			w->source_name = watch_daemon_source(*wd);
			return 0;
		}
	}
	if ((rc = cli_source_new(so, src)) != 0)
		return cli_source_status(so, rc);
	w->source_name = vmp_source_kind_name(vmp_source_kind(*src));
	rc = vmp_source_subscribe(*src, cgroup, args, on_event, w, sub);
	if ((rc == -EACCES || rc == -EPERM) && cfg->kind == VMP_SOURCE_AUTO &&
	    vmp_source_kind(*src) == VMP_SOURCE_V1 && !strcmp(cgroup, "/")) {
		/* Registering with the kernel needs write access to
		 * cgroup.event_control; /proc is readable by anyone. */
		fprintf(stderr, "%s: no permission to register with the kernel's cgroup v1 "
				"controller; using /proc/vmstat instead\n", prog);
		vmp_source_free(*src);
		*src = NULL;
		cfg->kind = VMP_SOURCE_MACHINE;
		if ((rc = cli_source_new(so, src)) != 0)
			return cli_source_status(so, rc);
		w->source_name = vmp_source_kind_name(vmp_source_kind(*src));
		rc = vmp_source_subscribe(*src, cgroup, args, on_event, w, sub);
	}
	if (rc) {
		char bad[4400] = "";
		if (rc == -EINVAL)
			bad_file(cfg->cgroup_root, vmp_source_kind(*src), cgroup, bad, sizeof(bad));
		fprintf(stderr, "%s watch: cannot watch cgroup '%s' (%s source): %s\n", prog, cgroup,
			w->source_name,
			rc == -ENOENT		       ? "no such cgroup"
			: (rc == -EACCES || rc == -EPERM) && vmp_source_kind(*src) != VMP_SOURCE_V1
				? "permission denied (its directory, or one above it, is not readable by this user)"
			: bad[0]		       ? bad
						       : strerror(-rc));
		if (rc == -ENOENT)
			hint_enoent(opt, cgroup, w->source_name);
		else if (rc == -EACCES || rc == -EPERM)
			hint_eacces(w->source_name);
		vmp_source_free(*src);
		*src = NULL;
		return refused_status(rc);
	}
	return 0;
}

/* The second half of cmd_watch(): subscribe, print until the end, sum up.
 * Its exit status. */
static int run(struct watch_opts *opt)
{
	struct watch w = {0};
	struct cli_source_opts *so = &opt->src;
	struct vmp_source_config *cfg = &so->cfg;
	const char *cgroup = so->cgroup, *args = so->args, *socket_path = opt->socket_path;
	w.json = opt->json;
	w.max_count = so->max_count;
	double timeout = so->limit;
	if (opt->forecast) {
		struct watch_forecast_opts fo = {.cgroup = cgroup, .cfg = cfg, .warn_s = opt->warn_s,
						 .json = w.json, .max_count = w.max_count, .timeout = timeout,
						 .exec_cmd = opt->exec_cmd, .exec_interval = opt->exec_interval,
						 .exec_timeout = opt->exec_timeout};
		return watch_forecast(&fo);
	}

	if (opt->debounce) {
		char err[200];
		int drc = watch_debounce_new(&w.db, opt->debounce, w.json, cgroup, err, sizeof(err));
		if (drc) {
			fprintf(stderr, "%s watch: --debounce '%s': %s\n", prog, opt->debounce,
				drc == -EINVAL ? err : strerror(-drc));
			return drc == -EINVAL ? EXIT_BADINPUT : EXIT_SOFTWARE;
		}
	}
	vmp_source *src = NULL;
	vmp_sub *sub = NULL;
	struct watch_daemon *wd = NULL;
	int rc = open_watch(&w, opt, &wd, &src, &sub);
	if (rc) {
		watch_debounce_free(w.db);
		return rc;
	}
	if (w.db)
		watch_debounce_set_source(w.db, w.source_name);
	if (wd)
		fprintf(stderr, "%s: watching %s at %s (%s source, through vmpressured at %s)%s\n", prog, cgroup,
			args, w.source_name, socket_path, w.json ? "" : "; Ctrl-C to stop");
	else
		fprintf(stderr, "%s: watching %s at %s (%s source, in-process)%s\n", prog, cgroup, args,
			w.source_name, w.json ? "" : "; Ctrl-C to stop");

	if (opt->exec_cmd &&
	    (rc = watch_exec_open(&w.ex, opt->exec_cmd, opt->exec_interval, opt->exec_timeout)) != 0) {
		fprintf(stderr, "%s watch: --exec: %s\n", prog, strerror(-rc));
		if (src) {
			vmp_source_unsubscribe(src, sub);
			vmp_source_free(src);
		}
		watch_exec_close(w.ex);
		watch_daemon_close(wd);
		watch_debounce_free(w.db);
		return EXIT_SOFTWARE;
	}
	if (w.db)
		watch_debounce_set_exec(w.db, w.ex);

	int sfd = cli_stop_signalfd();
	double start = vmp__mono_s();
	int status = EXIT_OK;
	struct pollfd pfd[3] = {{.fd = wd ? watch_daemon_fd(wd) : vmp_source_fd(src), .events = POLLIN},
				{.fd = sfd, .events = POLLIN},
				{.fd = watch_exec_fd(w.ex), .events = POLLIN}};
	bool signalled = false;
	double lost_at = -1, retry_at = 0, backoff = RECONNECT_FIRST_S;
	uint64_t lost_wall = 0;
	while (!w.removed && (!w.max_count || (w.db ? watch_debounce_count(w.db) : w.seen) < w.max_count)) {
		int ms = -1;
		if (timeout >= 0) {
			double left = start + timeout - vmp__mono_s();
			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
		}
		if (w.db) {
			watch_debounce_tick(w.db);
			if (w.max_count && watch_debounce_count(w.db) >= w.max_count)
				break;
			int dms = watch_debounce_timeout_ms(w.db);
			if (dms >= 0 && (ms < 0 || dms < ms))
				ms = dms;
		}
		if (lost_at >= 0) {
			int rms = (int)((retry_at - vmp__mono_s()) * 1000) + 1;
			if (rms < 0)
				rms = 0;
			if (ms < 0 || rms < ms)
				ms = rms;
		}
		int n = poll(pfd, 3, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s watch: poll: %s\n", prog, strerror(errno));
			status = EXIT_SOFTWARE;
			break;
		}
		if (pfd[1].revents) {
			signalled = true;
			break;
		}
		if (pfd[2].revents && (rc = watch_exec_dispatch(w.ex)) != 0) {
			fprintf(stderr, "%s watch: exec: %s\n", prog, strerror(-rc));
			status = EXIT_SOFTWARE;
			break;
		}
		if (wd && lost_at >= 0 && vmp__mono_s() >= retry_at) {
			char err[1024] = "";
			rc = watch_daemon_reconnect(wd, err, sizeof(err));
			if (rc && rc != WATCH_NO_DAEMON) {
				fprintf(stderr, "%s watch: vmpressured at %s is back but refuses cgroup '%s': %s\n",
					prog, socket_path, cgroup, err[0] ? err : strerror(-rc));
				status = refused_status(rc);
				break;
			}
			if (rc == 0) {
				reconnected(&w, cgroup, socket_path, lost_at, lost_wall, watch_daemon_uptime(wd));
				pfd[0].fd = watch_daemon_fd(wd);
				lost_at = -1;
				backoff = RECONNECT_FIRST_S;
			} else {
				retry_at = vmp__mono_s() + backoff;
				backoff = backoff * 2 > RECONNECT_MAX_S ? RECONNECT_MAX_S : backoff * 2;
			}
			continue;
		}
		if (pfd[0].revents && wd && (rc = watch_daemon_dispatch(wd, on_event, &w)) != 0) {
			if (w.removed) {
				status = EXIT_OK;
				break;
			}
			if (rc != -EPIPE && rc != -ECONNRESET) {
				fprintf(stderr, "%s watch: reading from vmpressured: %s\n", prog, strerror(-rc));
				status = EXIT_UNAVAILABLE;
				break;
			}
			/* The daemon went away (restarted, killed): subscribe again
			 * once it is back; until then, the watch's count, timeout
			 * and signals hold as before. */
			fprintf(stderr, "%s watch: lost vmpressured at %s (%s); reconnecting\n", prog, socket_path,
				rc == -EPIPE ? "it closed the connection" : strerror(-rc));
			lost_at = vmp__mono_s();
			lost_wall = vmp__realtime_ns();
			retry_at = lost_at + RECONNECT_FIRST_S;
			backoff = RECONNECT_FIRST_S * 2;
			pfd[0].fd = -1;
			continue;
		}
		if (pfd[0].revents && !wd && (rc = vmp_source_dispatch(src)) != 0) {
			fprintf(stderr, "%s watch: %s\n", prog, strerror(-rc));
			status = EXIT_SOFTWARE;
			break;
		}
	}
	/* The last events' run: a count or timeout ends the watch, not the
	 * action it asked for. A signal stops both. */
	while (status == EXIT_OK && !signalled && watch_exec_busy(w.ex)) {
		int n = poll(pfd + 1, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents)
			break;
		if (pfd[2].revents && watch_exec_dispatch(w.ex) != 0)
			break;
	}
	double dur = vmp__mono_s() - start;
	fprintf(stderr, "%s: %s: %" PRIu64 " notifications in %.1f s: %" PRIu64 " low, %" PRIu64 " medium, %" PRIu64
			" critical%s\n", prog, cgroup, w.seen, dur, w.by_level[0], w.by_level[1], w.by_level[2],
		w.removed ? "; the cgroup was removed" : "");
	if (w.db) {
		watch_debounce_summary(w.db, stderr);
		watch_debounce_free(w.db);
	}
	if (src) {
		vmp_source_unsubscribe(src, sub);
		vmp_source_free(src);
	}
	watch_daemon_close(wd);
	watch_exec_close(w.ex);
	if (sfd >= 0)
		close(sfd);
	return status;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int rc = parse_opts(&o, argc, argv);
	if (rc)
		return cli_opt_status(rc);
	if (o.help) {
		usage(stdout);
		return EXIT_OK;
	}
	return run(&o);
}
