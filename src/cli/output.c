/* SPDX-License-Identifier: MIT */
/* What every command's output shares: times, JSON strings, events as
 * JSON, and the count lines replay and estimate print alike (output held
 * back until the input proved well formed is a struct vmp__buf, util.h). */
#include "cli.h"
#include "vmpressure.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* JSON: UTC, ISO 8601 with a Z, as the daemon's events; a person: the
 * local time of day. */
void cli_fmt_time(uint64_t ns, char *buf, size_t cap, bool iso)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (iso)
		gmtime_r(&s, &tm);
	else
		localtime_r(&s, &tm);
	size_t n = strftime(buf, cap, iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, iso ? ".%03uZ" : ".%03u", (unsigned)(ns / 1000000u % 1000u));
}

void cli_json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A JSON number with d decimals, or null for a negative (unknown) value. */
static void json_opt(double v, int d)
{
	if (v < 0)
		fputs("null", stdout);
	else
		printf("%.*f", d, v);
}

/* One event as JSON, the object of docs/protocol.md ("Events") without the
 * daemon's subscription id: the same keys, in the same order, whichever
 * path (in-process or through vmpressured) produced it. */
void cli_print_event_json(const struct vmp_source_event *ev)
{
	char ts[64];
	bool evidence = !(ev->flags & VMP_EVENT_NO_EVIDENCE);
	cli_fmt_time(ev->time_ns, ts, sizeof(ts), true);
	if (ev->flags & VMP_EVENT_REMOVED) {
		printf("{\"event\":\"removed\",\"time\":\"%s\",\"cgroup\":", ts);
		cli_json_str(ev->cgroup);
		fputs("}\n", stdout);
		return;
	}
	printf("{\"event\":\"pressure\",\"time\":\"%s\",\"cgroup\":", ts);
	cli_json_str(ev->cgroup);
	fputs(",\"origin\":", stdout);
	cli_json_str(evidence ? ev->origin : NULL);
	printf(",\"level\":\"%s\",\"count\":%" PRIu64, vmp_level_name(ev->level), ev->count);
	if (evidence)
		printf(",\"scanned\":%" PRIu64 ",\"reclaimed\":%" PRIu64 ",\"pressure\":%" PRIu64, ev->scanned,
		       ev->reclaimed, ev->pressure);
	else
		fputs(",\"scanned\":null,\"reclaimed\":null,\"pressure\":null", stdout);
	fputs(",\"psi_some_avg10\":", stdout);
	json_opt(ev->psi_some_avg10, 2);
	fputs(",\"psi_full_avg10\":", stdout);
	json_opt(ev->psi_full_avg10, 2);
	fputs("}\n", stdout);
}

void cli_print_count(unsigned id, uint64_t count)
{
	printf("%u %" PRIu64 "\n", id, count);
}

void cli_print_mismatch(unsigned id, uint64_t got, uint64_t expected)
{
	printf("mismatch %u got %" PRIu64 " expected %" PRIu64 "\n", id, got, expected);
}
