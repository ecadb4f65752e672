/* SPDX-License-Identifier: MIT */
/*
 * An unmodified sd-event program: sd_event_add_memory_pressure() does the
 * whole protocol ($MEMORY_PRESSURE_WATCH, $MEMORY_PRESSURE_WRITE, connect,
 * write, poll, read and discard). For test_mpwatch it prints "ready" once
 * the source exists and "wake N 0 0 0 0 0" each time the handler runs;
 * SIGTERM ends it. Built only with libsystemd >= 254.
 */
#include <signal.h>
#include <stdio.h>
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
	sd_event *e = NULL;
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	int r = sd_event_default(&e);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL); /* NULL handler: exit the loop */
	if (r >= 0)
		r = sd_event_add_memory_pressure(e, NULL, on_pressure, NULL);
	if (r < 0) {
		fprintf(stderr, "sdevent_client: %s\n", strerror(-r));
		return 3;
	}
	printf("ready\n");
	fflush(stdout);
	r = sd_event_loop(e);
	sd_event_unref(e);
	return r < 0 ? 1 : 0;
}
