/* SPDX-License-Identifier: MIT */
/*
 * klisten: registers listeners with the kernel's own vmpressure (cgroup v1),
 * directly through cgroup.event_control, and counts what each receives.
 *
 *   klisten CGROUP_ROOT SPEC...        SPEC is "group:level[,mode]"; group is
 *                                      relative to CGROUP_ROOT, "/" its root
 *
 * Prints, one line each, flushed:
 *   efdid <i> <spec> <eventfd-id>      per listener, once registered (the id
 *                                      eventfd_signal() kprobes can see)
 *   READY                              all registered
 *   ev <mono s> <i> <n>                listener i was woken with n increments
 *   expect <i> <spec> <total>          on SIGTERM/SIGINT, per listener
 *
 * Exit status: 0, or 1 with a message naming the path if a registration
 * failed (nothing is registered then: the caller must not go on).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The eventfd-id that /proc/self/fdinfo shows (eventfd_ctx->id). */
static long efd_id(int efd)
{
	char p[64], line[128];
	long id = -1;
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", efd);
	FILE *f = fopen(p, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "eventfd-id:", 11))
			id = strtol(line + 11, NULL, 10);
	if (f)
		fclose(f);
	return id;
}

static int kregister(const char *root, const char *spec)
{
	char grp[512], path[1024], line[128];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(grp)) {
		fprintf(stderr, "klisten: '%s': expected group:level[,mode]\n", spec);
		return -1;
	}
	memcpy(grp, spec, (size_t)(colon - spec));
	grp[colon - spec] = 0;
	const char *args = colon + 1;
	const char *sub = strcmp(grp, "/") ? grp : "";

	snprintf(path, sizeof(path), "%s/%s/memory.pressure_level", root, sub);
	int pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0) {
		fprintf(stderr, "klisten: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/cgroup.event_control", root, sub);
	int cfd = open(path, O_WRONLY | O_CLOEXEC);
	if (cfd < 0) {
		fprintf(stderr, "klisten: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		perror("klisten: eventfd");
		return -1;
	}
	int n = snprintf(line, sizeof(line), "%d %d %s", efd, pfd, args);
	if (write(cfd, line, (size_t)n) != n) {
		fprintf(stderr, "klisten: %s: writing '%s': %s\n", path, line, strerror(errno));
		return -1;
	}
	close(cfd);
	close(pfd); /* the kernel keeps its own reference */
	return efd;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: klisten CGROUP_ROOT group:level[,mode]...\n");
		return 64;
	}
	int n = argc - 2;
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	uint64_t *cnt = calloc((size_t)n, sizeof(*cnt));
	if (!p || !cnt)
		return 70;
	for (int i = 0; i < n; i++) {
		int efd = kregister(argv[1], argv[i + 2]);
		if (efd < 0)
			return 1;
		p[i].fd = efd;
		p[i].events = POLLIN;
		printf("efdid %d %s %ld\n", i, argv[i + 2], efd_id(efd));
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("READY\n");
	fflush(stdout);
	while (!stop) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		double t = mono();
		for (int i = 0; i < n; i++) {
			uint64_t v;
			if ((p[i].revents & POLLIN) && read(p[i].fd, &v, sizeof(v)) == sizeof(v)) {
				cnt[i] += v;
				printf("ev %.6f %d %" PRIu64 "\n", t, i, v);
			}
		}
		fflush(stdout);
	}
	for (int i = 0; i < n; i++) {
		uint64_t v;
		if (read(p[i].fd, &v, sizeof(v)) == sizeof(v))
			cnt[i] += v;
		printf("expect %d %s %" PRIu64 "\n", i, argv[i + 2], cnt[i]);
	}
	fflush(stdout);
	return 0;
}
