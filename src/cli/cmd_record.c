/* SPDX-License-Identifier: MIT */
/*
 * vmpressure record: watch like `watch`, but write what the source fed
 * its engine as a vmptrace file (vmp_source_record()), ending with the
 * counts it delivered as `expect` records, so that `vmpressure replay
 * --check FILE` reproduces the run and thresholds and estimator settings
 * can be tried offline. Always in-process: the daemon's engine calls are
 * not ours to tap. Progress and the summary go to standard error.
 *
 * cgroup v1 relays the kernel's own levels: no engine call to record. On
 * such a machine `auto` records what can be recorded, the whole machine
 * with the /proc/vmstat estimator, and says what that leaves out: reclaim
 * inside a memory cgroup at its limit is not in /proc/vmstat (the kernel
 * counts only global reclaim there), so the kernel's own notifications for
 * '/' are counted beside the recording through the v1 source, and the
 * difference is reported on standard error and in the file.
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure record [CGROUP] [-o FILE] [options]\n"
		"\n"
		"Watch CGROUP (default: the whole machine, '/') as 'watch' does and write\n"
		"every call the source makes into the engine as a vmptrace file, with the\n"
		"notifications delivered as 'expect' records: 'vmpressure replay --check\n"
		"FILE' reproduces the run. The v2 and machine sources also keep every counter\n"
		"sample their estimator read, as '# sample' comments, for 'vmpressure estimate'.\n"
		"\n"
		"  -o, --output FILE  the trace ('-', the default, is standard output)\n"
		"  -l, --level L      low, medium or critical (low)\n"
		"  -m, --mode M       default, hierarchy or local (hierarchy)\n"
		"  -d, --duration S   stop after S seconds (decimals allowed)\n"
		"  -n, --count N      stop after N notifications\n"
		"      --source K     auto, v2, machine (auto: v2 if cgroup v2 is mounted, else\n"
		"                     the machine's /proc/vmstat; v1 cannot be recorded: it\n"
		"                     relays the kernel's own levels, with no engine calls)\n"
		"      --trace FILE   record a vmptrace file's playback (tests, round trips; it\n"
		"                     runs on after the file ends: give --duration or --count)\n"
		"      --speed X      with --trace: X times real time; 0 as fast as possible (1)\n"
		"      --cgroup-root DIR, --proc-root DIR\n"
		"                     read cgroups and /proc from elsewhere (fixtures, containers)\n"
		"      --forecast     also keep the OOM forecast's inputs (CGROUP's and its\n"
		"                     ancestors' memory files, /proc/meminfo) every 100 ms, as\n"
		"                     '# fcsample' comments, for 'vmpressure forecast'; on cgroup\n"
		"                     v1, where the engine calls cannot be recorded, only those\n"
		"\n"
		"Stops at --duration, --count, or Ctrl-C; the file is complete in each case.\n"
		"exit status: 0 ok, 2 bad argument or no such cgroup, 64 usage,\n"
		"             69 nothing to record here, 70 internal error, 74 cannot write FILE\n");
}

struct rec {
	vmp_fc_reader *fcr;     /* --forecast */
	char *fcbuf;
	size_t fccap;
	FILE *out;
	const char *out_name;
	int werr;               /* errno of the first failed write */
	uint64_t lines, seen, by_level[3];
	bool removed;
};

static void on_text(const char *text, size_t len, void *arg)
{
	struct rec *r = arg;
	if (r->werr)
		return;
	if (fwrite(text, 1, len, r->out) != len)
		r->werr = errno ? errno : EIO;
	r->lines++;
}

static void on_event(const struct vmp_source_event *ev, void *arg)
{
	struct rec *r = arg;
	if (ev->flags & VMP_EVENT_REMOVED) {
		r->removed = true;
		return;
	}
	r->seen += ev->count;
	r->by_level[ev->level] += ev->count;
}

/* The kernel's own notifications beside a machine-source recording on cgroup v1. */
static void on_kernel_event(const struct vmp_source_event *ev, void *arg)
{
	uint64_t *n = arg;
	if (!(ev->flags & VMP_EVENT_REMOVED))
		*n += ev->count;
}

/* A timer tick of --forecast: one sample's lines. The watched cgroup
 * gone ends the recording, as a removal does. */
static int record_forecast(struct rec *r, int tfd, double t)
{
	uint64_t ticks;
	if (read(tfd, &ticks, sizeof(ticks)) < 0)
		return 0;
	struct vmp_fc_sample s;
	int rc = vmp_fc_reader_read(r->fcr, t, &s);
	if (rc)
		return rc;
	int k = vmp_fc_format_sample(&s, r->fcbuf, r->fccap);
	if (k < 0)
		return k;
	on_text(r->fcbuf, (size_t)k, r);
	if (s.ngroups && (s.groups[0].flags & VMP_FC_GONE) && !vmp_fc_reader_problem(r->fcr))
		r->removed = true;
	return 0;
}

#define V1_WHY "cgroup v1 relays the kernel's own pressure levels, so there are no engine calls to record"
static const char v1_why[] = V1_WHY;

int cmd_record(int argc, char **argv)
{
	const char *out_path = "-";
	bool forecast = false;
	struct cli_source_opts o;
	cli_source_opts_init(&o, "record", "-d", "--duration");
	o.v1_refused = V1_WHY "; record '/' with --source machine (the /proc/vmstat estimator) instead";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int orc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if ((orc = cli_source_opt(&o, argc, argv, &i)) != CLI_OPT_OTHER) {
			if (orc)
				return cli_opt_status(orc);
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (!(out_path = cli_optval("record", argc, argv, &i)))
				return EXIT_USAGE;
		} else if (!strcmp(a, "--forecast")) {
			forecast = true;
		} else if ((orc = cli_source_arg(&o, a)) != 0) {
			return cli_opt_status(orc);
		}
	}
	const char *cgroup = o.cgroup;
	if (!*out_path) {
		fprintf(stderr, "%s record: -o: an empty file name\n", prog);
		return EXIT_USAGE;
	}
	int rc = cli_source_opts_finish(&o);
	if (rc)
		return cli_opt_status(rc);
	const char *args = o.args;
	vmp_source *src = NULL, *v1 = NULL;
	vmp_sub *v1_sub = NULL;
	uint64_t kernel_seen = 0;
	struct rec r = {0};
	if (forecast) {
		if (o.cfg.kind == VMP_SOURCE_TRACE) {
			fprintf(stderr, "%s record: --forecast reads this machine's files: not with --trace\n", prog);
			return EXIT_USAGE;
		}
		struct vmp_error ferr;
		if ((rc = vmp_fc_reader_new(&r.fcr, &o.cfg, cgroup, &ferr)) != 0) {
			fprintf(stderr, "%s record: --forecast: cannot read cgroup '%s': %s%s%s\n", prog, cgroup,
				ferr.path[0] ? ferr.path : "", ferr.path[0] ? ": " : "",
				ferr.msg[0] ? ferr.msg : strerror(-rc));
			return rc == -ENOENT || rc == -EINVAL ? EXIT_BADINPUT : EXIT_UNAVAILABLE;
		}
		r.fccap = 1 << 16;
		if (!(r.fcbuf = malloc(r.fccap))) {
			vmp_fc_reader_free(r.fcr);
			return EXIT_SOFTWARE;
		}
	}
	/* cgroup v1 with --forecast: the forecast's samples only, for any cgroup */
	bool fc_only = forecast && vmp_fc_reader_kind(r.fcr) == VMP_SOURCE_V1;
	if (fc_only && o.max_count) {
		fprintf(stderr, "%s record: on cgroup v1 --forecast records its samples only, with no "
				"notifications to count: use --duration\n", prog);
		vmp_fc_reader_free(r.fcr);
		free(r.fcbuf);
		return EXIT_USAGE;
	}
	if (!fc_only && (rc = cli_source_new(&o, &src)) != 0) {
		vmp_fc_reader_free(r.fcr);
		free(r.fcbuf);
		return cli_source_status(&o, rc);
	}
	if (src && vmp_source_kind(src) == VMP_SOURCE_V1) {
		/* auto found cgroup v1: the machine's estimator is what we can
		 * record, and only for the whole machine; the v1 source stays to
		 * count what the kernel itself said meanwhile. */
		v1 = src;
		src = NULL;
		if (strcmp(cgroup, "/") != 0) {
			fprintf(stderr, "%s record: cgroup '%s': %s; on this machine only the whole machine "
					"('/', with the /proc/vmstat estimator) can be recorded\n", prog, cgroup, v1_why);
			vmp_source_free(v1);
			return EXIT_UNAVAILABLE;
		}
		fprintf(stderr, "%s: %s; recording the whole machine with the /proc/vmstat estimator "
				"(--source machine), which sees global reclaim only: reclaim inside memory cgroups "
				"at their limits is not in /proc/vmstat, so the kernel's own notifications for '/' "
				"are counted beside it\n", prog, v1_why);
		if (vmp_source_subscribe(v1, cgroup, args, on_kernel_event, &kernel_seen, &v1_sub) != 0) {
			vmp_source_free(v1);
			v1 = NULL;
		}
		o.cfg.kind = VMP_SOURCE_MACHINE;
		if ((rc = cli_source_new(&o, &src)) != 0) {
			vmp_source_free(v1);
			return cli_source_status(&o, rc);
		}
	}
	const char *kname = vmp_source_kind_name(src ? vmp_source_kind(src) : vmp_fc_reader_kind(r.fcr));

	r.out_name = strcmp(out_path, "-") ? out_path : "standard output";
	r.out = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
	if (!r.out) {
		fprintf(stderr, "%s record: cannot write '%s': %s\n", prog, out_path, strerror(errno));
		vmp_source_free(src);
		vmp_source_free(v1);
		vmp_fc_reader_free(r.fcr);
		free(r.fcbuf);
		return EXIT_IOERR;
	}
	time_t wall = time(NULL);
	struct tm tm;
	char when[64];
	gmtime_r(&wall, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(r.out, "# vmptrace 1\n# recorded by vmpressure %s record: %s source, cgroup %s at %s, started %s\n",
		VMP_VERSION_STRING, kname, cgroup, args, when);
	if (o.cfg.kind == VMP_SOURCE_TRACE)
		fprintf(r.out, "# played back from %s at speed %g\n", o.cfg.trace_path, o.cfg.trace_speed);

	int status = EXIT_OK;
	bool started = false; /* else a failed start: no file is left behind */
	vmp_sub *sub = NULL;
	if (fc_only)
		fprintf(r.out, "# %s; the forecast's samples only\n", v1_why);
	int tfd = -1;
	if (forecast) {
		int k = vmp_fc_format_header(r.fcbuf, r.fccap);
		if (k > 0)
			on_text(r.fcbuf, (size_t)k, &r);
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		struct itimerspec its = {{0, VMP_FC_INTERVAL_MS * 1000000L}, {0, 1}};
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0) {
			fprintf(stderr, "%s record: timerfd: %s\n", prog, strerror(errno));
			status = EXIT_SOFTWARE;
			goto out;
		}
	}
	rc = src ? vmp_source_record(src, on_text, &r) : 0;
	if (rc) {
		fprintf(stderr, "%s record: the %s source cannot be recorded: %s\n", prog, kname, strerror(-rc));
		status = EXIT_SOFTWARE;
		goto out;
	}
	rc = src ? vmp_source_subscribe(src, cgroup, args, on_event, &r, &sub) : 0;
	if (rc) {
		fprintf(stderr, "%s record: cannot watch cgroup '%s' (%s source): %s\n", prog, cgroup, kname,
			rc == -ENOENT ? "no such cgroup" : strerror(-rc));
		status = rc == -ENOENT || rc == -EINVAL || rc == -ENOTSUP ? EXIT_BADINPUT : EXIT_UNAVAILABLE;
		goto out;
	}
	fprintf(stderr, "%s: recording %s at %s (%s source) to %s; %s\n", prog, cgroup, args, kname, r.out_name,
		o.limit >= 0 ? "until --duration" : o.max_count ? "until --count" : "Ctrl-C to stop");

	int sfd = cli_stop_signalfd();
	bool tty = isatty(2);
	double start = vmp__mono_s(), next_progress = start + 1;
	struct pollfd pfd[4] = {{.fd = src ? vmp_source_fd(src) : -1, .events = POLLIN}, {.fd = sfd, .events = POLLIN},
				{.fd = v1 ? vmp_source_fd(v1) : -1, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
	while (!r.removed && !r.werr && (!o.max_count || r.seen < o.max_count)) {
		double now = vmp__mono_s();
		int ms = tty ? (int)((next_progress - now) * 1000) + 1 : -1;
		if (o.limit >= 0) {
			double left = start + o.limit - now;
			if (left <= 0)
				break;
			int dms = (int)(left * 1000) + 1;
			ms = ms < 0 || dms < ms ? dms : ms;
		}
		int n = poll(pfd, 4, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s record: poll: %s\n", prog, strerror(errno));
			status = EXIT_SOFTWARE;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents && (rc = vmp_source_dispatch(src)) != 0) {
			fprintf(stderr, "%s record: %s\n", prog, strerror(-rc));
			status = EXIT_SOFTWARE;
			break;
		}
		int drc;
		if (pfd[2].revents && (drc = vmp_source_dispatch(v1)) != 0) {
			/* The comparison only: the recording goes on without it. */
			pfd[2].fd = -1;
			fprintf(stderr, "%s record: the cgroup v1 kernel count stopped: %s\n", prog, strerror(-drc));
		}
		if (pfd[3].revents && (rc = record_forecast(&r, tfd, vmp__mono_s() - start)) != 0) {
			fprintf(stderr, "%s record: --forecast: %s\n", prog,
				rc == -EILSEQ ? "a cgroup name has a space or a control character, which vmptrace "
						"cannot hold" : strerror(-rc));
			status = rc == -EILSEQ ? EXIT_BADINPUT : EXIT_SOFTWARE;
			break;
		}
		if (tty && vmp__mono_s() >= next_progress) {
			fprintf(stderr, "\r%s: %.0f s, %" PRIu64 " records, %" PRIu64 " notifications ", prog,
				vmp__mono_s() - start, r.lines, r.seen);
			next_progress += 1;
		}
	}
	if (tty)
		fputc('\n', stderr);
	double dur = vmp__mono_s() - start;
	rc = src ? vmp_source_record_end(src) : 0;
	if (rc == -EILSEQ) {
		fprintf(stderr, "%s record: stopped early: a cgroup name has a space or a control character, "
				"which vmptrace cannot hold; %s is incomplete\n", prog, r.out_name);
		status = EXIT_BADINPUT;
	} else if (rc) {
		fprintf(stderr, "%s record: stopped early: %s; %s is incomplete\n", prog, strerror(-rc), r.out_name);
		status = EXIT_SOFTWARE;
	}
	fprintf(stderr, "%s: %s: %" PRIu64 " notifications in %.1f s: %" PRIu64 " low, %" PRIu64 " medium, %" PRIu64
			" critical%s; %" PRIu64 " records written to %s\n", prog, cgroup, r.seen, dur, r.by_level[0],
		r.by_level[1], r.by_level[2], r.removed ? "; the cgroup was removed" : "", r.lines, r.out_name);
	if (v1) {
		/* Kept in the file too, as a comment (replay skips it). */
		fprintf(r.out, "# cgroup v1: the kernel notified %" PRIu64 " times for %s at %s during this recording; "
			       "it holds the /proc/vmstat estimator's %" PRIu64 "\n", kernel_seen, cgroup, args, r.seen);
		fprintf(stderr, "%s: the kernel itself notified %" PRIu64 " times for %s at %s meanwhile (cgroup v1)%s\n",
			prog, kernel_seen, cgroup, args,
			kernel_seen > r.seen ? ": the rest came from reclaim the machine source cannot see, inside "
					       "memory cgroups at their limits; on cgroup v2 the cgroup itself can be recorded"
					     : "");
	}
	if (sfd >= 0)
		close(sfd);
	started = true;
out:
	if (fflush(r.out) != 0 && !r.werr)
		r.werr = errno ? errno : EIO;
	if (r.out != stdout && fclose(r.out) != 0 && !r.werr)
		r.werr = errno ? errno : EIO;
	if (!started && r.out != stdout)
		unlink(out_path);
	if (r.werr) {
		fprintf(stderr, "%s record: writing %s: %s\n", prog, r.out_name, strerror(r.werr));
		status = EXIT_IOERR;
	}
	if (sub)
		vmp_source_unsubscribe(src, sub);
	vmp_source_free(src);
	if (v1_sub)
		vmp_source_unsubscribe(v1, v1_sub);
	vmp_source_free(v1);
	vmp_fc_reader_free(r.fcr);
	free(r.fcbuf);
	if (tfd >= 0)
		close(tfd);
	return status;
}
