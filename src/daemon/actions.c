/* SPDX-License-Identifier: MIT */
/*
 * --exec actions: for each `--exec 'CGROUP LEVEL[,MODE] COMMAND'` the
 * daemon holds a subscription of its own (an internal member of the shared
 * subscription, subscriptions.c, so an action and any number of clients
 * watching the same cgroup and level cost one source subscription) and a
 * runner of the library's (vmp_exec: one run at a time, a least interval
 * between starts, events meanwhile coalesced into one later run with the
 * latest evidence). Each runner's fd is in the epoll loop; every exit is
 * logged, a failure as a warning. The daemon never waits for a command:
 * a slow one delays only its own next run.
 *
 * With `debounce[=CONFIG]` in its text an action runs per level
 * transition instead (the member carries the debouncer, ticked with
 * the clients' debounced subscriptions), with VMP_EVENT=transition.
 *
 * With `forecast[=SECONDS]` in place of the level an action runs per OOM
 * forecast event of its cgroup (forecasts.c), with VMP_EVENT=forecast or
 * forecast-clear, VMP_ETA and the evidence (vmp_exec_trigger_forecast()).
 *
 * A cgroup that is removed ends its action (its last run has
 * VMP_EVENT=removed); the daemon logs it and goes on. At shutdown each
 * action's counts are logged and a run still going is killed.
 */
#include "daemon.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct vmpd_action {
	struct vmpd *d;
	unsigned index; /* 1-based, as on the command line */
	char *cgroup, *args;
	vmp_exec *x;
	struct vmpd_member m; /* m.shared NULL once its cgroup is gone */
	struct vmpd_fcsink *fc; /* a forecast action's */
	struct vmpd_io io;
	bool io_added, subscribed;
	int last_error;
};

struct vmpd_actions {
	struct vmpd_action *a;
	size_t n;
};

static void on_exit_status(const struct vmp_exec_result *r, void *arg)
{
	struct vmpd_action *a = arg;
	double s = (double)r->duration_ns / 1e9;
	const char *to = r->timed_out ? ", past its timeout" : "";
	if (r->pid == 0)
		vmpd_log(VMPD_LOG_ERR, "exec #%u (%s %s): cannot start the command: %s", a->index, a->cgroup,
			 a->args, strerror(-r->error));
	else if (r->error)
		vmpd_log(VMPD_LOG_WARNING, "exec #%u (%s %s): pid %d: exit status lost (%s) after %.3f s",
			 a->index, a->cgroup, a->args, r->pid, strerror(-r->error), s);
	else if (r->signal)
		vmpd_log(VMPD_LOG_WARNING, "exec #%u (%s %s): pid %d killed by signal %d (%s) after %.3f s%s",
			 a->index, a->cgroup, a->args, r->pid, r->signal,
			 sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?", s, to);
	else
		vmpd_log(r->exit_code ? VMPD_LOG_WARNING : VMPD_LOG_INFO,
			 "exec #%u (%s %s): pid %d exited %d after %.3f s (%" PRIu64 " events)%s", a->index,
			 a->cgroup, a->args, r->pid, r->exit_code, s, r->events, to);
}

static struct vmpd_action *action_of(struct vmpd_member *m)
{
	return (struct vmpd_action *)((char *)m - offsetof(struct vmpd_action, m));
}

static void pass_event(struct vmpd_action *a, const struct vmp_source_event *ev)
{
	int rc = vmp_exec_trigger_event(a->x, ev, a->d->source_name, NULL, 0);
	if (rc && rc != a->last_error)
		vmpd_log(VMPD_LOG_ERR, "exec #%u (%s %s): cannot pass an event on: %s", a->index, a->cgroup,
			 a->args, strerror(-rc));
	a->last_error = rc;
}

static void on_event(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	pass_event(action_of(m), ev);
}

static void on_removed(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	struct vmpd_action *a = action_of(m);
	pass_event(a, ev);
	vmpd_log(VMPD_LOG_WARNING, "exec #%u: cgroup %s was removed: the action ends", a->index, a->cgroup);
}

static void on_transition(struct vmpd_member *m, const struct vmp_transition *t)
{
	struct vmpd_action *a = action_of(m);
	int rc = vmp_exec_trigger_transition(a->x, t, a->cgroup, t->time_ns, a->d->source_name, NULL, 0);
	if (rc && rc != a->last_error)
		vmpd_log(VMPD_LOG_ERR, "exec #%u (%s %s): cannot pass a transition on: %s", a->index, a->cgroup,
			 a->args, strerror(-rc));
	a->last_error = rc;
}

/* A run per notification, or (debounced) per transition. */
static const struct vmpd_member_ops action_ops = {
	.event = on_event,
	.removed = on_removed,
};
static const struct vmpd_member_ops debounced_action_ops = {
	.transition = on_transition,
	.removed = on_removed,
};

static void on_forecast(void *arg, const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns)
{
	struct vmpd_action *a = arg;
	int rc = vmp_exec_trigger_forecast(a->x, r, cgroup, time_ns, a->d->source_name, NULL, 0);
	if (rc && rc != a->last_error)
		vmpd_log(VMPD_LOG_WARNING, "exec #%u (%s forecast): cannot pass the forecast on: %s", a->index,
			 a->cgroup, strerror(-rc));
	a->last_error = rc;
}

static void on_ready(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)d;
	(void)events;
	struct vmpd_action *a = (struct vmpd_action *)((char *)io - offsetof(struct vmpd_action, io));
	int rc = vmp_exec_dispatch(a->x);
	if (rc)
		vmpd_log(VMPD_LOG_ERR, "exec #%u: %s", a->index, strerror(-rc));
}

int vmpd_actions_start(struct vmpd *d, char *const *specs, size_t n, unsigned interval_ms,
		       unsigned timeout_ms, char *err, size_t errcap)
{
	if (!n)
		return 0;
	struct vmpd_actions *as = calloc(1, sizeof(*as));
	if (!as || !(as->a = calloc(n, sizeof(*as->a)))) {
		free(as);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	d->actions = as;
	struct vmpd_exec_spec *spec = malloc(sizeof(*spec));
	if (!spec) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct vmpd_action *a = &as->a[i];
		char msg[256];
		as->n = i + 1;
		a->d = d;
		a->index = (unsigned)i + 1;
		a->io.fd = -1;
		if ((rc = vmpd_exec_spec_parse(specs[i], spec, msg, sizeof(msg))) != 0) {
			snprintf(err, errcap, "--exec #%zu '%s': %s", i + 1, specs[i], msg);
			break;
		}
		a->cgroup = strdup(spec->cgroup);
		a->args = strdup(spec->args);
		struct vmp_exec_config cfg;
		vmp_exec_config_init(&cfg);
		cfg.command = spec->command;
		cfg.interval_ms = interval_ms;
		cfg.timeout_ms = timeout_ms;
		cfg.on_exit = on_exit_status;
		cfg.arg = a;
		if (!a->cgroup || !a->args)
			rc = -ENOMEM;
		if (!rc)
			rc = vmp_exec_new(&a->x, &cfg);
		if (rc) {
			snprintf(err, errcap, "--exec #%zu: %s", i + 1, strerror(-rc));
			break;
		}
		a->io.fd = vmp_exec_fd(a->x);
		a->io.ready = on_ready;
		if ((rc = vmpd_loop_add(d, &a->io, EPOLLIN)) != 0) {
			snprintf(err, errcap, "--exec #%zu: epoll: %s", i + 1, strerror(-rc));
			break;
		}
		a->io_added = true;
		if (spec->forecast) {
			rc = vmpd_fc_add(d, spec->cgroup, spec->forecast_s, on_forecast, a, &a->fc);
			if (rc)
				snprintf(err, errcap, "--exec #%zu: cannot forecast cgroup '%s': %s", i + 1, spec->cgroup,
					 rc == -ENOENT	   ? "no such memory cgroup"
					 : rc == -ENOTSUP ? "the trace source has no files to forecast from"
							  : strerror(-rc));
			else {
				a->subscribed = true;
				vmpd_log(VMPD_LOG_INFO, "exec #%zu: %s's OOM forecasts run: %s", i + 1, spec->cgroup,
					 spec->command);
			}
			continue;
		}
		a->m.ops = spec->debounce ? &debounced_action_ops : &action_ops;
		rc = vmpd_member_join(d, &a->m, spec->cgroup, spec->level, spec->mode,
				      spec->debounce ? &spec->db : NULL);
		if (rc)
			snprintf(err, errcap, "--exec #%zu: cannot watch cgroup '%s' at %s: %s", i + 1, spec->cgroup,
				 spec->args, rc == -ENOENT ? "no such cgroup" : strerror(-rc));
		else
			a->subscribed = true;
		if (!rc)
			vmpd_log(VMPD_LOG_INFO, "exec #%zu: %s at %s%s runs: %s", i + 1, spec->cgroup, spec->args,
				 spec->debounce ? ", on each debounced transition," : "", spec->command);
	}
	free(spec);
	return rc;
}

void vmpd_actions_stop(struct vmpd *d)
{
	struct vmpd_actions *as = d->actions;
	if (!as)
		return;
	for (size_t i = 0; i < as->n; i++) {
		struct vmpd_action *a = &as->a[i];
		if (a->subscribed) {
			struct vmp_exec_stats st;
			vmp_exec_stats(a->x, &st);
			bool running = vmp_exec_busy(a->x) && !st.pending;
			vmpd_log(VMPD_LOG_INFO,
				 "exec #%u (%s %s): %" PRIu64 " runs for %" PRIu64 " events (%" PRIu64
				 " coalesced), %" PRIu64 " failed, %" PRIu64 " timed out%s%s",
				 a->index, a->cgroup, a->args, st.runs, st.events, st.coalesced, st.failed, st.timed_out,
				 st.pending ? "; the pending run dropped" : "",
				 running ? "; the run in progress killed" : "");
		}
		vmpd_member_leave(d, &a->m);
		vmpd_fc_release(d, a->fc);
		if (a->io_added)
			vmpd_loop_del(d, &a->io);
		vmp_exec_free(a->x);
		free(a->cgroup);
		free(a->args);
	}
	free(as->a);
	free(as);
	d->actions = NULL;
}
