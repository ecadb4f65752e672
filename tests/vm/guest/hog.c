/* SPDX-License-Identifier: MIT */
/*
 * hog: memory workloads for the VM suite.
 *
 *   hog [-c CGDIR] file PATH...       read files through the page cache
 *   hog [-c CGDIR] anon MB STEP_MS    touch MB of anonymous memory, 1 MiB a
 *                                     step, STEP_MS between steps; holds it
 *   hog [-c CGDIR] mix FILE MB        hold MB anonymous, then read FILE 3 times
 *   hog [-c CGDIR] hold MB SECONDS    touch MB anonymous and keep it SECONDS
 *   hog now                           print CLOCK_MONOTONIC seconds
 *
 * -c CGDIR moves the process into that cgroup (writes its pid to
 * CGDIR/cgroup.procs) before anything else. Without swap, "anon" past the
 * group's limit ends with the OOM killer: that is a workload, not an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

static void readf(const char *f)
{
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hog: %s: %s\n", f, strerror(errno));
		exit(1);
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void touch(long mb, int step_ms)
{
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			fprintf(stderr, "hog: out of memory after %ld MiB\n", i);
			exit(1);
		}
		memset(p, 1, 1 << 20);
		if (step_ms)
			usleep((useconds_t)step_ms * 1000);
	}
}

static void join(const char *dir)
{
	char p[512], pid[32];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	int n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "hog: %s: %s\n", p, strerror(errno));
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc > 2 && !strcmp(argv[1], "-c")) {
		join(argv[2]);
		i = 3;
	}
	if (i >= argc)
		goto usage;
	const char *cmd = argv[i++];
	int left = argc - i;
	if (!strcmp(cmd, "now")) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		printf("%ld.%06ld\n", (long)t.tv_sec, t.tv_nsec / 1000);
		return 0;
	}
	if (!strcmp(cmd, "file") && left >= 1) {
		for (; i < argc; i++)
			readf(argv[i]);
		return 0;
	}
	if (!strcmp(cmd, "anon") && left == 2) {
		touch(atol(argv[i]), atoi(argv[i + 1]));
		return 0;
	}
	if (!strcmp(cmd, "mix") && left == 2) {
		touch(atol(argv[i + 1]), 0);
		for (int k = 0; k < 3; k++)
			readf(argv[i]);
		return 0;
	}
	if (!strcmp(cmd, "hold") && left == 2) {
		touch(atol(argv[i]), 0);
		sleep((unsigned)atoi(argv[i + 1]));
		return 0;
	}
usage:
	fprintf(stderr, "usage: hog [-c CGDIR] file PATH... | anon MB STEP_MS | mix FILE MB | hold MB S | now\n");
	return 64;
}
