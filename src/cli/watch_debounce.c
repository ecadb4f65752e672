/* SPDX-License-Identifier: MIT */
/*
 * vmpressure watch --debounce: the notifications go through the library's
 * debounced level state (vmp_debounce_*) and only its transitions are
 * printed, each with its evidence. The CLI debounces itself, in-process or
 * behind vmpressured alike, so the output does not depend on where the
 * notifications came from.
 *
 * The debouncer runs on CLOCK_MONOTONIC, so that a step of the wall clock
 * cannot hold a level: the library turns each event into its input
 * (vmp_debounce_input_from_event: the event's monotonic time, a trace's own
 * timeline for --trace) and gives each transition its wall time back
 * (real_ns), which is what is printed. Ticks between events make a level
 * be left when notifications stop.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct watch_debounce {
	vmp_debounce *db;
	bool json;
	const char *source_name;
	char cgroup[512];
	uint64_t transitions;
	uint64_t by_state[4];
	struct watch_exec *ex; /* --exec: runs per transition */
};

static void on_transition(const struct vmp_transition *t, void *arg)
{
	struct watch_debounce *wd = arg;
	const struct vmp_debounce_evidence *e = &t->ev;
	char ts[64];
	uint64_t when = t->real_ns;
	wd->transitions++;
	wd->by_state[t->to]++;
	if (wd->json) {
		cli_fmt_time(when, ts, sizeof(ts), true);
		/* The daemon's transition object (docs/protocol.md) without its id. */
		printf("{\"event\":\"transition\",\"time\":\"%s\",\"cgroup\":", ts);
		cli_json_str(wd->cgroup);
		printf(",\"from\":\"%s\",\"to\":\"%s\",\"cause\":\"%s\",\"previous_s\":%.3f,\"held_s\":%.3f",
		       vmp_state_name(t->from), vmp_state_name(t->to), vmp_cause_name(t->cause),
		       (double)t->prev_duration_ns / 1e9, (double)t->held_ns / 1e9);
		printf(",\"window_s\":%.3f,\"low\":%" PRIu64 ",\"medium\":%" PRIu64 ",\"critical\":%" PRIu64
		       ",\"with_evidence\":%" PRIu64,
		       (double)e->window_ns / 1e9, e->count[0], e->count[1], e->count[2], e->with_evidence);
		if (e->with_evidence)
			printf(",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"max_pressure\":%" PRIu64, e->scanned,
			       e->reclaimed, e->max_pressure);
		else
			printf(",\"scanned\":null,\"reclaimed\":null,\"max_pressure\":null");
		if (e->psi_some_avg10 >= 0)
			printf(",\"psi_some_avg10\":%.2f", e->psi_some_avg10);
		else
			printf(",\"psi_some_avg10\":null");
		if (e->psi_full_avg10 >= 0)
			printf(",\"psi_full_avg10\":%.2f", e->psi_full_avg10);
		else
			printf(",\"psi_full_avg10\":null");
		if (e->triggered) {
			printf(",\"trigger_level\":\"%s\",\"origin\":", vmp_level_name(e->trigger_level));
			cli_json_str(e->origin);
		} else
			printf(",\"trigger_level\":null,\"origin\":null");
		fputs("}\n", stdout);
	} else {
		cli_fmt_time(when, ts, sizeof(ts), false);
		printf("%s  %-8s <- %-8s  %s  (%s: %" PRIu64 " low, %" PRIu64 " medium, %" PRIu64 " critical in %.3g s",
		       ts, vmp_state_name(t->to), vmp_state_name(t->from), wd->cgroup, vmp_cause_name(t->cause),
		       e->count[0], e->count[1], e->count[2], (double)e->window_ns / 1e9);
		if (e->with_evidence)
			printf("; max pressure %" PRIu64 "%%", e->max_pressure);
		if (e->psi_some_avg10 >= 0)
			printf("; psi some %.2f full %.2f", e->psi_some_avg10, e->psi_full_avg10);
		if (t->held_ns)
			printf("; held %.3f s", (double)t->held_ns / 1e9);
		if (t->prev_duration_ns)
			printf("; %s lasted %.3f s", vmp_state_name(t->from), (double)t->prev_duration_ns / 1e9);
		printf(")\n");
	}
	fflush(stdout);
	struct vmp_transition wall = *t;
	wall.time_ns = when;
	watch_exec_transition(wd->ex, &wall, wd->cgroup, wd->source_name);
}

int watch_debounce_new(struct watch_debounce **out, const char *config, bool json, const char *cgroup,
		       char *err, size_t errlen)
{
	struct vmp_debounce_config cfg;
	struct vmp_error perr;
	int rc = vmp_debounce_parse(config ? config : "", &cfg, &perr);
	if (rc) {
		snprintf(err, errlen, "%s", perr.msg);
		return rc;
	}
	struct watch_debounce *wd = calloc(1, sizeof(*wd));
	if (!wd)
		return -ENOMEM;
	wd->json = json;
	wd->source_name = "?";
	snprintf(wd->cgroup, sizeof(wd->cgroup), "%s", cgroup);
	rc = vmp_debounce_new(&wd->db, &cfg, on_transition, wd);
	if (rc) {
		free(wd);
		return rc;
	}
	*out = wd;
	return 0;
}

void watch_debounce_set_source(struct watch_debounce *wd, const char *name)
{
	wd->source_name = name;
}

void watch_debounce_set_exec(struct watch_debounce *wd, struct watch_exec *we)
{
	wd->ex = we;
}

void watch_debounce_event(struct watch_debounce *wd, const struct vmp_source_event *ev)
{
	if (ev->cgroup)
		snprintf(wd->cgroup, sizeof(wd->cgroup), "%s", ev->cgroup);
	struct vmp_debounce_input in;
	if (vmp_debounce_input_from_event(ev, &in) == 0)
		vmp_debounce_feed(wd->db, &in);
}

int watch_debounce_timeout_ms(const struct watch_debounce *wd)
{
	uint64_t due = vmp_debounce_next_ns(wd->db), now = vmp__mono_ns();
	if (due == UINT64_MAX)
		return -1;
	if (due <= now)
		return 0;
	uint64_t ms = (due - now) / 1000000u + 1;
	return ms > 3600000u ? 3600000 : (int)ms;
}

void watch_debounce_tick(struct watch_debounce *wd)
{
	vmp_debounce_tick(wd->db, vmp__mono_ns());
}

uint64_t watch_debounce_count(const struct watch_debounce *wd)
{
	return wd ? wd->transitions : 0;
}

void watch_debounce_summary(const struct watch_debounce *wd, FILE *f)
{
	fprintf(f, "%s: %" PRIu64 " transitions (to none %" PRIu64 ", low %" PRIu64 ", medium %" PRIu64
		   ", critical %" PRIu64 "); state at exit: %s\n",
		prog, wd->transitions, wd->by_state[0], wd->by_state[1], wd->by_state[2], wd->by_state[3],
		vmp_state_name(vmp_debounce_state(wd->db)));
}

void watch_debounce_free(struct watch_debounce *wd)
{
	if (!wd)
		return;
	vmp_debounce_free(wd->db);
	free(wd);
}
