/* SPDX-License-Identifier: MIT */
/*
 * psiwait: arms PSI triggers on a memory.pressure file (one fd each) and
 * prints "psi <mono s> <trigger>" whenever one fires, until SIGTERM.
 *
 *   psiwait FILE TRIGGER...      e.g. psiwait /sys/fs/cgroup/a/memory.pressure
 *                                     "some 10000 500000" "full 10000 500000"
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc - 2;
	struct pollfd p[8];
	if (n < 1 || n > 8) {
		fprintf(stderr, "usage: psiwait FILE TRIGGER... (1 to 8 triggers)\n");
		return 64;
	}
	for (int i = 0; i < n; i++) {
		p[i].fd = open(argv[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (p[i].fd < 0 || write(p[i].fd, argv[i + 2], strlen(argv[i + 2]) + 1) < 0) {
			fprintf(stderr, "psiwait: %s: trigger '%s': %s\n", argv[1], argv[i + 2], strerror(errno));
			return 1;
		}
		p[i].events = POLLPRI;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLPRI)
				printf("psi %ld.%06ld %s\n", (long)t.tv_sec, t.tv_nsec / 1000, argv[i + 2]);
			else if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				return 0;
	}
}
