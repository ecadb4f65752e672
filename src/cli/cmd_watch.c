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
		cli_fmt_time(ev->time_ns, ts, sizeof(ts), true);
		printf("{\"time\":\"%s\",\"event\":\"%s\",\"cgroup\":", ts, removed ? "removed" : "pressure");
		cli_json_str(ev->cgroup);
		printf(",\"origin\":");
		cli_json_str(ev->origin);
		printf(",\"level\":\"%s\",\"count\":%" PRIu64, vmp_level_name(ev->level), ev->count);
		if (evidence)
			printf(",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"pressure\":%" PRIu64,
			       ev->scanned, ev->reclaimed, ev->pressure);
		else
			printf(",\"scanned\":null,\"reclaimed\":null,\"pressure\":null");
		if (ev->psi_some_avg10 >= 0)
			printf(",\"psi_some_avg10\":%.2f,\"psi_full_avg10\":%.2f", ev->psi_some_avg10,
			       ev->psi_full_avg10);
		printf(",\"source\":\"%s\"}\n", w->source_name);
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

/* Seconds as whole milliseconds: 0 to a day. */
static bool parse_ms(const char *val, unsigned *ms)
{
	double s;
	if (!cli_parse_decimal(val, 86400, &s))
		return false;
	*ms = (unsigned)(s * 1000 + 0.5);
	return true;
}

int cmd_watch(int argc, char **argv)
{
	struct watch w = {0};
	struct cli_source_opts o;
	cli_source_opts_init(&o, "watch", "-t", "--timeout");
	struct vmp_source_config *cfg = &o.cfg;
	bool no_daemon = false;
	const char *socket_path = WATCH_DEFAULT_SOCKET;
	const char *debounce = NULL; /* --debounce's config, "" for the defaults */
	const char *exec_cmd = NULL;
	unsigned exec_interval = VMP_EXEC_DEFAULT_INTERVAL_MS, exec_timeout = 0;
	bool exec_opt = false;
	const char *forecast = NULL; /* --forecast's SECONDS, "" for the default */

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		int orc;
#define NEEDVAL()                                                  \
	do {                                                       \
		if (!(val = cli_optval("watch", argc, argv, &i)))  \
			return EXIT_USAGE;                         \
	} while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if ((orc = cli_source_opt(&o, argc, argv, &i)) != CLI_OPT_OTHER) {
			if (orc)
				return orc;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			w.json = true;
		} else if (!strcmp(a, "--socket")) {
			NEEDVAL();
			socket_path = val;
		} else if (!strcmp(a, "--no-daemon")) {
			no_daemon = true;
		} else if (!strcmp(a, "--debounce") || !strncmp(a, "--debounce=", 11)) {
			debounce = a[10] ? a + 11 : "";
		} else if (!strcmp(a, "--forecast") || !strncmp(a, "--forecast=", 11)) {
			forecast = a[10] ? a + 11 : "";
		} else if (!strcmp(a, "-x") || !strcmp(a, "--exec")) {
			NEEDVAL();
			if (!*val) {
				fprintf(stderr, "%s watch: --exec needs a command\n", prog);
				return EXIT_USAGE;
			}
			exec_cmd = val;
		} else if (!strcmp(a, "--exec-interval") || !strcmp(a, "--exec-timeout")) {
			NEEDVAL();
			bool iv = !strcmp(a, "--exec-interval");
			if (!parse_ms(val, iv ? &exec_interval : &exec_timeout) || (!iv && !exec_timeout)) {
				fprintf(stderr, "%s watch: %s '%s' is not a number of seconds (%s86400)\n", prog, a,
					val, iv ? "0 to " : "0.001 to ");
				return EXIT_BADINPUT;
			}
			exec_opt = true;
		} else if ((orc = cli_source_arg(&o, a, usage)) != 0) {
			return orc;
		}
	}
	const char *cgroup = o.cgroup;
	int frc = cli_source_opts_finish(&o);
	if (frc)
		return frc;
	const char *args = o.args;
	w.max_count = o.max_count;
	double timeout = o.limit;

	if (exec_opt && !exec_cmd) {
		fprintf(stderr, "%s watch: --exec-interval and --exec-timeout need --exec CMD\n", prog);
		return EXIT_USAGE;
	}
	if (forecast) {
		double warn = 0;
		if (*forecast && (!cli_parse_decimal(forecast, 86400, &warn) || warn <= 0)) {
			fprintf(stderr, "%s watch: --forecast='%s' is not a number of seconds (0.1 to 86400)\n", prog,
				forecast);
			return EXIT_BADINPUT;
		}
		if (debounce || cfg->kind == VMP_SOURCE_TRACE) {
			fprintf(stderr, "%s watch: --forecast does not go with %s\n", prog,
				debounce ? "--debounce" : "--trace (vmpressure forecast FILE replays recordings)");
			return EXIT_USAGE;
		}
		struct watch_forecast_opts fo = {.cgroup = cgroup, .cfg = cfg, .warn_s = warn, .json = w.json,
						 .max_count = w.max_count, .timeout = timeout, .exec_cmd = exec_cmd,
						 .exec_interval = exec_interval, .exec_timeout = exec_timeout};
		return watch_forecast(&fo);
	}
	if (debounce) {
		char err[200];
		int drc = watch_debounce_new(&w.db, debounce, w.json, cgroup, err, sizeof(err));
		if (drc) {
			fprintf(stderr, "%s watch: --debounce '%s': %s\n", prog, debounce,
				drc == -EINVAL ? err : strerror(-drc));
			return drc == -EINVAL ? EXIT_BADINPUT : EXIT_SOFTWARE;
		}
	}
	vmp_source *src = NULL;
	vmp_sub *sub = NULL;
	struct watch_daemon *wd = NULL;
	int rc;
	/* The daemon, unless the user asked for a source only we can build. */
	if (!no_daemon && cfg->kind != VMP_SOURCE_TRACE && !cfg->cgroup_root && !cfg->proc_root) {
		char err[1024] = "";
		rc = watch_daemon_open(&wd, socket_path, cgroup, args, cfg->kind, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s watch: cannot watch cgroup '%s' (vmpressured at %s): %s\n", prog, cgroup,
				socket_path, err[0] ? err : strerror(-rc));
			return rc == -ENOENT || rc == -EINVAL ? EXIT_BADINPUT : EXIT_UNAVAILABLE;
		}
		if (rc == 0)
			w.source_name = watch_daemon_source(wd);
	}
	if (!wd) {
		if ((rc = cli_source_new(&o, &src)) != 0)
			return rc;
		w.source_name = vmp_source_kind_name(vmp_source_kind(src));
		rc = vmp_source_subscribe(src, cgroup, args, on_event, &w, &sub);
		if ((rc == -EACCES || rc == -EPERM) && cfg->kind == VMP_SOURCE_AUTO &&
		    vmp_source_kind(src) == VMP_SOURCE_V1 && !strcmp(cgroup, "/")) {
			/* Registering with the kernel needs write access to
			 * cgroup.event_control; /proc is readable by anyone. */
			fprintf(stderr, "%s: no permission to register with the kernel's cgroup v1 "
					"controller; using /proc/vmstat instead\n", prog);
			vmp_source_free(src);
			cfg->kind = VMP_SOURCE_MACHINE;
			if ((rc = cli_source_new(&o, &src)) != 0)
				return rc;
			w.source_name = vmp_source_kind_name(vmp_source_kind(src));
			rc = vmp_source_subscribe(src, cgroup, args, on_event, &w, &sub);
		}
		if (rc) {
			fprintf(stderr, "%s watch: cannot watch cgroup '%s' (%s source): %s\n", prog, cgroup,
				w.source_name, rc == -ENOENT ? "no such cgroup" : strerror(-rc));
			vmp_source_free(src);
			return rc == -ENOENT || rc == -EINVAL ? EXIT_BADINPUT : EXIT_UNAVAILABLE;
		}
	}
	if (w.db)
		watch_debounce_set_source(w.db, w.source_name);
	if (wd)
		fprintf(stderr, "%s: watching %s at %s (%s source, through vmpressured at %s)%s\n", prog, cgroup,
			args, w.source_name, socket_path, w.json ? "" : "; Ctrl-C to stop");
	else
		fprintf(stderr, "%s: watching %s at %s (%s source, in-process)%s\n", prog, cgroup, args,
			w.source_name, w.json ? "" : "; Ctrl-C to stop");

	if (exec_cmd && (rc = watch_exec_open(&w.ex, exec_cmd, exec_interval, exec_timeout)) != 0) {
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
		if (pfd[0].revents && wd && (rc = watch_daemon_dispatch(wd, on_event, &w)) != 0) {
			if (rc == -EPIPE)
				fprintf(stderr, "%s watch: vmpressured closed the connection\n", prog);
			else
				fprintf(stderr, "%s watch: reading from vmpressured: %s\n", prog, strerror(-rc));
			status = w.removed ? EXIT_OK : EXIT_UNAVAILABLE;
			break;
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
