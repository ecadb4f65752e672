/* SPDX-License-Identifier: MIT */
/*
 * kernel_listen CGDIR ARGS... : register one eventfd per ARGS directly with
 * the kernel's cgroup v1 memory.pressure_level (the documented way: write
 * "<eventfd> <fd of memory.pressure_level> <args>" to cgroup.event_control),
 * print "ready", and on SIGTERM/SIGINT print "ARGS COUNT" per listener, COUNT
 * being what its eventfd counted. The reference the v1 live test compares
 * vmpressured and `vmpressure watch` with.
 */
#include "client_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kernel_listen CGDIR ARGS...\n");
		return 64;
	}
	sigset_t mask;
	cu_block_stop_signals(&mask);
	int n = argc - 2;
	int efd[64];
	if (n > 64)
		n = 64;
	char path[4096];
	for (int i = 0; i < n; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		snprintf(path, sizeof(path), "%s/memory.pressure_level", argv[1]);
		int cfd = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "%s/cgroup.event_control", argv[1]);
		int ctl = open(path, O_WRONLY | O_CLOEXEC);
		if (efd[i] < 0 || cfd < 0 || ctl < 0) {
			fprintf(stderr, "kernel_listen: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		char line[128];
		int len = snprintf(line, sizeof(line), "%d %d %s", efd[i], cfd, argv[2 + i]);
		if (write(ctl, line, (size_t)len) != len) {
			fprintf(stderr, "kernel_listen: registering '%s' in %s: %s\n", argv[2 + i], argv[1],
				strerror(errno));
			return 1;
		}
		close(ctl);
		close(cfd);
	}
	printf("ready\n");
	fflush(stdout);
	int sig;
	sigwait(&mask, &sig);
	for (int i = 0; i < n; i++) {
		uint64_t v = 0;
		if (read(efd[i], &v, sizeof(v)) != sizeof(v))
			v = 0;
		printf("%s %llu\n", argv[2 + i], (unsigned long long)v);
	}
	return 0;
}
