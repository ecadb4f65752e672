/* SPDX-License-Identifier: MIT */
/*
 * sub_client SOCKET CGROUP ARGS... : a vmpressured client for the v1 live
 * test. Subscribes to CGROUP once per ARGS with an eventfd and a stream,
 * prints "ready", counts what arrives, and on SIGTERM/SIGINT prints per
 * subscription:
 *
 *   ARGS efd=N stream=N low=N medium=N critical=N removed=0|1 unsubscribe=ok|ENOENT|...
 *
 * efd is the eventfd's count, stream the sum of the stream events' counts
 * (split by level after it), removed whether a `removed` event came, and
 * unsubscribe the answer to unsubscribing it at the end (a removed
 * subscription's id is freed: ENOENT).
 */
#include "client_util.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct sub {
	const char *args;
	uint64_t id;
	int efd;
	uint64_t stream, by[3];
	bool removed;
};

static struct sub subs[32];
static int nsub;

static void on_event(void *arg, const char *l)
{
	(void)arg;
	uint64_t id, n = 0;
	char ev[32], lv[32];
	if (!cu_json_u64(l, "id", &id) || !cu_json_str(l, "event", ev, sizeof(ev)))
		return;
	for (int i = 0; i < nsub; i++) {
		if (subs[i].id != id)
			continue;
		if (!strcmp(ev, "removed"))
			subs[i].removed = true;
		else if (!strcmp(ev, "pressure") && cu_json_u64(l, "count", &n) && cu_json_str(l, "level", lv, sizeof(lv))) {
			subs[i].stream += n;
			subs[i].by[!strcmp(lv, "low") ? 0 : !strcmp(lv, "medium") ? 1 : 2] += n;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: sub_client SOCKET CGROUP ARGS...\n");
		return 64;
	}
	sigset_t mask;
	cu_block_stop_signals(&mask);
	int sfd = signalfd(-1, &mask, 0);
	struct cu_conn c;
	if (cu_connect(&c, argv[1], false)) {
		perror("sub_client: connect");
		return 1;
	}
	char r[4096], req[1100];
	for (int i = 3; i < argc && nsub < 32; i++) {
		struct sub *s = &subs[nsub];
		s->args = argv[i];
		snprintf(req, sizeof(req), "subscribe %s %s eventfd stream\n", argv[2], argv[i]);
		if (!cu_request(&c, req, r, sizeof(r), &s->efd, on_event, NULL, 10000) || !cu_json_u64(r, "id", &s->id) ||
		    s->efd < 0) {
			fprintf(stderr, "sub_client: %s-> %s\n", req, r);
			return 1;
		}
		nsub++;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = {{.fd = c.fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		if (p[0].revents) {
			if (cu_fill(&c, 0) == 0)
				break;
			char l[65536];
			while (cu_take_line(&c, l, sizeof(l)))
				on_event(NULL, l);
		}
	}
	for (int i = 0; i < nsub; i++) {
		struct sub *s = &subs[i];
		uint64_t efd = cu_eventfd_take(s->efd);
		char err[32] = "ok";
		snprintf(req, sizeof(req), "unsubscribe %llu\n", (unsigned long long)s->id);
		if (!cu_request(&c, req, r, sizeof(r), NULL, on_event, NULL, 10000))
			strcpy(err, "noreply");
		else if (!cu_json_is(r, "ok", "true") && !cu_json_str(r, "error", err, sizeof(err)))
			strcpy(err, "?");
		printf("%s efd=%llu stream=%llu low=%llu medium=%llu critical=%llu removed=%d unsubscribe=%s\n", s->args,
		       (unsigned long long)efd, (unsigned long long)s->stream, (unsigned long long)s->by[0],
		       (unsigned long long)s->by[1], (unsigned long long)s->by[2], s->removed, err);
		close(s->efd);
	}
	fflush(stdout);
	cu_close(&c);
	close(sfd);
	return 0;
}
