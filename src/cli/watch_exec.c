/* SPDX-License-Identifier: MIT */
/*
 * vmpressure watch --exec: the library's action runner (vmp_exec) fed with
 * every event watch prints (with --debounce, every transition), its results logged on standard error, one line
 * per run, and counted for the summary. The command's own output goes to
 * standard error too, so that it never mixes with the events (and the
 * JSON) on standard output.
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct watch_exec {
	vmp_exec *x;
	const char *source;
	int last_error; /* of the last trigger, reported once */
};

static void on_exit_status(const struct vmp_exec_result *r, void *arg)
{
	(void)arg;
	double s = (double)r->duration_ns / 1e9;
	if (r->pid == 0)
		fprintf(stderr, "%s: exec: cannot start the command: %s\n", prog, strerror(-r->error));
	else if (r->error)
		fprintf(stderr, "%s: exec: pid %d: exit status lost (%s) after %.3f s\n", prog, r->pid,
			strerror(-r->error), s);
	else if (r->signal)
		fprintf(stderr, "%s: exec: pid %d killed by signal %d (%s) after %.3f s%s\n", prog, r->pid,
			r->signal, sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?", s,
			r->timed_out ? ", past its timeout" : "");
	else
		fprintf(stderr, "%s: exec: pid %d exited %d after %.3f s%s\n", prog, r->pid, r->exit_code, s,
			r->timed_out ? ", past its timeout" : "");
}

int watch_exec_open(struct watch_exec **out, const char *command, unsigned interval_ms, unsigned timeout_ms)
{
	struct watch_exec *we = calloc(1, sizeof(*we));
	if (!we)
		return -ENOMEM;
	struct vmp_exec_config cfg;
	vmp_exec_config_init(&cfg);
	cfg.command = command;
	cfg.interval_ms = interval_ms;
	cfg.timeout_ms = timeout_ms;
	cfg.stdout_fd = 2;
	cfg.on_exit = on_exit_status;
	cfg.arg = we;
	int rc = vmp_exec_new(&we->x, &cfg);
	if (rc) {
		free(we);
		return rc;
	}
	*out = we;
	return 0;
}

void watch_exec_event(struct watch_exec *we, const struct vmp_source_event *ev, const char *source,
		      const char *const *extra, size_t nextra)
{
	if (!we)
		return;
	int rc = vmp_exec_trigger_event(we->x, ev, source, extra, nextra);
	if (rc && rc != we->last_error)
		fprintf(stderr, "%s: exec: cannot pass the event on: %s\n", prog, strerror(-rc));
	we->last_error = rc;
}

void watch_exec_transition(struct watch_exec *we, const struct vmp_transition *t, const char *cgroup,
			   const char *source)
{
	if (!we)
		return;
	int rc = vmp_exec_trigger_transition(we->x, t, cgroup, t->time_ns, source, NULL, 0);
	if (rc && rc != we->last_error)
		fprintf(stderr, "%s: exec: cannot pass the transition on: %s\n", prog, strerror(-rc));
	we->last_error = rc;
}

void watch_exec_forecast(struct watch_exec *we, const struct vmp_fc_result *r, const char *cgroup,
			 uint64_t time_ns, const char *source)
{
	if (!we)
		return;
	int rc = vmp_exec_trigger_forecast(we->x, r, cgroup, time_ns, source, NULL, 0);
	if (rc && rc != we->last_error)
		fprintf(stderr, "%s: exec: cannot pass the forecast on: %s\n", prog, strerror(-rc));
	we->last_error = rc;
}

int watch_exec_fd(const struct watch_exec *we)
{
	return we ? vmp_exec_fd(we->x) : -1;
}

int watch_exec_dispatch(struct watch_exec *we)
{
	return vmp_exec_dispatch(we->x);
}

bool watch_exec_busy(const struct watch_exec *we)
{
	return we && vmp_exec_busy(we->x);
}

void watch_exec_close(struct watch_exec *we)
{
	if (!we)
		return;
	struct vmp_exec_stats st;
	vmp_exec_stats(we->x, &st);
	bool running = vmp_exec_busy(we->x) && !st.pending;
	fprintf(stderr, "%s: exec: %" PRIu64 " runs for %" PRIu64 " events (%" PRIu64 " coalesced), %" PRIu64
			" failed, %" PRIu64 " timed out%s%s\n", prog, st.runs, st.events, st.coalesced, st.failed,
		st.timed_out, st.pending ? "; the pending run dropped" : "",
		running ? "; the run in progress killed" : "");
	vmp_exec_free(we->x);
	free(we);
}
