/* SPDX-License-Identifier: MIT */
/*
 * vmpressure watch --forecast: the OOM forecast of one cgroup (or the
 * machine), in-process. Every VMP_FC_INTERVAL_MS the library's reader
 * takes the cgroup's and its ancestors' counters and the model steps with
 * them; a warning (eta under the threshold) and its clearing are printed,
 * one line each (human or JSON), and passed to --exec.
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

static void json_num(const char *key, double v, const char *fmt)
{
	printf(",\"%s\":", key);
	if (v < 0)
		printf("null");
	else
		printf(fmt, v);
}

void watch_forecast_print(const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns, double t,
			  bool json, const char *source)
{
	char ts[64];
	bool warn = r->event == VMP_FC_EVENT_WARN;
	if (t >= 0) /* a recording's own time */
		snprintf(ts, sizeof(ts), json ? "%.3f" : "%10.3f s", t);
	if (json) {
		if (t < 0) {
			cli_fmt_time(time_ns, ts, sizeof(ts), true);
			printf("{\"time\":\"%s\"", ts);
		} else
			printf("{\"t\":%s", ts);
		printf(",\"event\":\"%s\",\"cgroup\":", vmp_fc_event_name(r->event));
		cli_json_str(cgroup);
		printf(",\"cause\":\"%s\"", vmp_fc_cause_name(r->cause));
		json_num("eta", r->eta, "%.3f");
		printf(",\"decider\":");
		cli_json_str(r->path);
		printf(",\"limit\":%" PRIu64 ",\"usage\":%" PRIu64 ",\"unreclaimable\":%" PRIu64
		       ",\"growth\":%.0f,\"reclaimable\":%" PRIu64 ",\"swap_usage\":%" PRIu64 ",\"swap_free\":%" PRIu64
		       ",\"headroom\":%.0f",
		       r->limit, r->usage, r->unreclaimable, r->growth, r->reclaimable, r->swap_usage, r->swap_free,
		       r->headroom);
		json_num("refaults", r->refaults, "%.1f");
		json_num("efficiency", r->efficiency, "%.3f");
		json_num("psi_some_avg10", r->psi_some_avg10, "%.2f");
		json_num("psi_full_avg10", r->psi_full_avg10, "%.2f");
		if (source)
			printf(",\"source\":\"%s\"", source);
		printf("}\n");
	} else {
		if (t < 0)
			cli_fmt_time(time_ns, ts, sizeof(ts), false);
		const double mib = 1024.0 * 1024.0;
		if (warn) {
			printf("%s  %-8s  %s  OOM kill in %.1f s%s: %s limit %.1f MiB, unreclaimable %.1f MiB "
			       "growing %.2f MiB/s, reclaimable %.1f MiB",
			       ts, "forecast", cgroup, r->eta, r->cause == VMP_FC_CAUSE_RERAISE ? " (sooner)" : "",
			       r->path ? r->path : "?", (double)r->limit / mib, (double)r->unreclaimable / mib,
			       r->growth / mib, (double)r->reclaimable / mib);
			if (r->swap_free)
				printf(", swap free %.1f MiB", (double)r->swap_free / mib);
			if (r->refaults >= 0)
				printf(", %.0f refaults/s", r->refaults);
			if (r->efficiency >= 0)
				printf(", reclaim efficiency %.2f", r->efficiency);
			if (r->psi_some_avg10 >= 0)
				printf(", psi some %.2f full %.2f", r->psi_some_avg10, r->psi_full_avg10);
			putchar('\n');
		} else {
			static const char *const why[] = {"", "the trend eased", "", "an OOM kill ended the approach",
							  "the cgroup was removed"};
			printf("%s  %-8s  %s  forecast cleared: %s\n", ts, "clear", cgroup,
			       (unsigned)r->cause < 5 ? why[r->cause] : "?");
		}
	}
	fflush(stdout);
}

int watch_forecast(const struct watch_forecast_opts *o)
{
	vmp_fc_reader *rd = NULL;
	struct vmp_error err;
	int rc = vmp_fc_reader_new(&rd, o->cfg, o->cgroup, &err);
	if (rc) {
		fprintf(stderr, "%s watch: --forecast: cannot read cgroup '%s': %s%s%s\n", prog, o->cgroup,
			err.path[0] ? err.path : "", err.path[0] ? ": " : "", err.msg[0] ? err.msg : strerror(-rc));
		return rc == -ENOENT || rc == -EINVAL ? EXIT_BADINPUT : EXIT_UNAVAILABLE;
	}
	const char *source = vmp_source_kind_name(vmp_fc_reader_kind(rd));
	struct vmp_forecast_config fcfg;
	vmp_forecast_config_init(&fcfg);
	if (o->warn_s > 0)
		fcfg.warn_s = o->warn_s;
	vmp_forecast *fc = NULL;
	struct watch_exec *ex = NULL;
	int tfd = -1, sfd = -1, status = EXIT_OK;
	if ((rc = vmp_forecast_new(&fc, &fcfg)) != 0) {
		fprintf(stderr, "%s watch: --forecast: %s\n", prog, strerror(-rc));
		status = EXIT_SOFTWARE;
		goto out;
	}
	if (o->exec_cmd && (rc = watch_exec_open(&ex, o->exec_cmd, o->exec_interval, o->exec_timeout)) != 0) {
		fprintf(stderr, "%s watch: --exec: %s\n", prog, strerror(-rc));
		status = EXIT_SOFTWARE;
		goto out;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {{0, VMP_FC_INTERVAL_MS * 1000000L}, {0, 1}};
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0) {
		fprintf(stderr, "%s watch: timerfd: %s\n", prog, strerror(errno));
		status = EXIT_SOFTWARE;
		goto out;
	}
	fprintf(stderr, "%s: watching %s's OOM forecast (warn under %.1f s; %s files, in-process)%s\n", prog,
		o->cgroup, fcfg.warn_s, source, o->json ? "" : "; Ctrl-C to stop");
	sfd = cli_stop_signalfd();
	double start = vmp__mono_s();
	struct pollfd pfd[3] = {{.fd = tfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN},
				{.fd = watch_exec_fd(ex), .events = POLLIN}};
	bool signalled = false, gone = false;
	uint64_t warnings = 0, clears = 0, samples = 0;
	double min_eta = -1;
	char last_problem[600] = "";
	while (!gone && (!o->max_count || warnings < o->max_count)) {
		int ms = -1;
		if (o->timeout >= 0) {
			double left = start + o->timeout - vmp__mono_s();
			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
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
		if (pfd[2].revents && (rc = watch_exec_dispatch(ex)) != 0) {
			fprintf(stderr, "%s watch: exec: %s\n", prog, strerror(-rc));
			status = EXIT_SOFTWARE;
			break;
		}
		if (!pfd[0].revents)
			continue;
		uint64_t ticks;
		if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			continue;
		struct vmp_fc_sample smp;
		struct vmp_fc_result r;
		if ((rc = vmp_fc_reader_read(rd, vmp__mono_s(), &smp)) != 0 || (rc = vmp_forecast_step(fc, &smp, &r)) != 0) {
			fprintf(stderr, "%s watch: --forecast: %s\n", prog, strerror(-rc));
			status = EXIT_SOFTWARE;
			break;
		}
		samples++;
		const char *pb = vmp_fc_reader_problem(rd);
		if (pb && strcmp(pb, last_problem)) {
			fprintf(stderr, "%s watch: %s; its group is left out until it reads again\n", prog, pb);
			snprintf(last_problem, sizeof(last_problem), "%s", pb);
		} else if (!pb)
			last_problem[0] = 0;
		if (r.eta >= 0 && (min_eta < 0 || r.eta < min_eta))
			min_eta = r.eta;
		uint64_t now_ns = vmp__realtime_ns();
		if (r.event != VMP_FC_EVENT_NONE) {
			if (r.event == VMP_FC_EVENT_WARN)
				warnings++;
			else
				clears++;
			watch_forecast_print(&r, o->cgroup, now_ns, -1, o->json, source);
			watch_exec_forecast(ex, &r, o->cgroup, now_ns, source);
		}
		if (smp.ngroups && (smp.groups[0].flags & VMP_FC_GONE) && !pb) {
			gone = true;
			char ts[64];
			cli_fmt_time(now_ns, ts, sizeof(ts), o->json);
			if (o->json) {
				printf("{\"time\":\"%s\",\"event\":\"removed\",\"cgroup\":", ts);
				cli_json_str(o->cgroup);
				printf(",\"source\":\"%s\"}\n", source);
			} else
				printf("%s  %-8s  cgroup %s was removed\n", ts, "removed", o->cgroup);
			fflush(stdout);
		}
	}
	while (status == EXIT_OK && !signalled && watch_exec_busy(ex)) {
		int n = poll(pfd + 1, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents)
			break;
		if (pfd[2].revents && watch_exec_dispatch(ex) != 0)
			break;
	}
	char least[32] = "none";
	if (min_eta >= 0)
		snprintf(least, sizeof(least), "%.1f s", min_eta);
	fprintf(stderr, "%s: %s: %" PRIu64 " forecast warnings, %" PRIu64 " cleared, in %.1f s (%" PRIu64
			" samples; least eta %s)%s\n",
		prog, o->cgroup, warnings, clears, vmp__mono_s() - start, samples, least,
		gone ? "; the cgroup was removed" : "");
out:
	watch_exec_close(ex);
	vmp_forecast_free(fc);
	vmp_fc_reader_free(rd);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return status;
}
