/* SPDX-License-Identifier: MIT */
/*
 * An unmodified sd-event program: sd_event_add_memory_pressure() does the
 * whole protocol ($MEMORY_PRESSURE_WATCH, $MEMORY_PRESSURE_WRITE, connect,
 * write, poll, read and discard). For test_mpwatch it prints "ready" once
 * the source exists and "wake N 0 0 0 0 0" each time the handler runs (the
 * format of mp_client's reports; sd-event discards the bytes, so only the
 * wake count is known); SIGTERM ends it.
 *
 * It insists on $MEMORY_PRESSURE_WATCH being set: without it sd-event
 * would fall back to the cgroup's memory.pressure or /proc/pressure/memory
 * and the test would count the machine's real pressure instead of the
 * endpoint's. Exit status: 0 after SIGTERM, 2 no $MEMORY_PRESSURE_WATCH,
 * 3 sd-event refused (the errno printed), 1 the loop failed.
 *
 * Needs libsystemd >= 254: meson builds it where pkg-config finds one,
 * else test_mpwatch compiles it against what scripts/deps.sh test unpacked
 * into .deps/libsystemd/.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

static unsigned long long wakes;

static int on_pressure(sd_event_source *s, void *userdata)
{
	(void)s;
	(void)userdata;
	printf("wake %llu 0 0 0 0 0\n", ++wakes);
	fflush(stdout);
	return 0;
}

int main(void)
{
	const char *watch = getenv("MEMORY_PRESSURE_WATCH");
	if (!watch || !*watch) {
		fprintf(stderr, "sdevent_client: $MEMORY_PRESSURE_WATCH is not set\n");
		return 2;
	}
	sd_event *e = NULL;
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL); /* sd_event_add_signal() requires it blocked */
	int r = sd_event_default(&e);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL); /* NULL handler: exit the loop */
	if (r >= 0)
		r = sd_event_add_memory_pressure(e, NULL, on_pressure, NULL);
	if (r < 0) {
		fprintf(stderr, "sdevent_client: %s: %s\n", watch, strerror(-r));
		return 3;
	}
	printf("ready\n");
	fflush(stdout);
	r = sd_event_loop(e);
	sd_event_unref(e);
	return r < 0 ? 1 : 0;
}
