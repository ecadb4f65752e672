/* SPDX-License-Identifier: MIT */
/*
 * vmpclient: a vmpressured client for the VM suite (docs/protocol.md).
 *
 *   vmpclient SOCKET [-e] [-s] SPEC...   SPEC is "group:level[,mode]", group
 *                                       relative to the daemon's cgroup root
 *   -e  subscribe with "eventfd" (count what the received eventfds get)
 *   -s  subscribe with "stream"  (log the JSON events)
 *
 * Prints, one line each, flushed:
 *   sub <i> <spec> <id>            subscription i was accepted with this id
 *   READY                          all subscriptions accepted
 *   efd <mono s> <i> <n>           subscription i's eventfd was woken with n
 *   json <mono s> <line>           an event line from the daemon, as sent
 *   eof <mono s>                   the daemon closed the connection
 *   count <i> <spec> <total>       on SIGTERM/SIGINT: eventfd totals
 *
 * Exit status 0; 1 if a subscription was refused (its reply is printed as
 * "refused <i> <spec> <reply>") or the daemon could not be reached.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXSUB 64

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

static int sock = -1;
static char in[1 << 16];
static size_t inlen;
static int fdq[MAXSUB * 2];
static int nfdq;

/* One recvmsg: text into `in`, descriptors into the queue. 0 on EOF. */
static ssize_t receive(void)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cm;
	struct iovec iov = {in + inlen, sizeof(in) - 1 - inlen};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			    .msg_controllen = sizeof(cm.b)};
	ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (r <= 0)
		return r;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int k = 0; k < n; k++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
				if (nfdq < (int)(sizeof(fdq) / sizeof(fdq[0])))
					fdq[nfdq++] = fd;
				else
					close(fd);
			}
		}
	inlen += (size_t)r;
	return r;
}

/* Take the next complete line out of `in` into out (NUL-terminated). */
static bool next_line(char *out, size_t cap)
{
	char *nl = memchr(in, '\n', inlen);
	if (!nl)
		return false;
	size_t n = (size_t)(nl - in);
	size_t c = n < cap - 1 ? n : cap - 1;
	memcpy(out, in, c);
	out[c] = 0;
	memmove(in, nl + 1, inlen - n - 1);
	inlen -= n + 1;
	return true;
}

int main(int argc, char **argv)
{
	bool want_efd = false, want_stream = false;
	int first = 2;
	if (argc < 3)
		goto usage;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-e"))
			want_efd = true;
		else if (!strcmp(argv[first], "-s"))
			want_stream = true;
		else
			goto usage;
	}
	int n = argc - first;
	if (n < 1 || n > MAXSUB || (!want_efd && !want_stream))
		goto usage;

	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "vmpclient: connect %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* All requests at once; replies come back in order. */
	for (int i = 0; i < n; i++) {
		char req[1100], grp[512];
		const char *spec = argv[first + i], *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(grp))
			goto usage;
		memcpy(grp, spec, (size_t)(colon - spec));
		grp[colon - spec] = 0;
		int len = snprintf(req, sizeof(req), "subscribe %s %s%s%s\n", grp, colon + 1,
				   want_efd ? " eventfd" : "", want_stream ? " stream" : "");
		if (write(sock, req, (size_t)len) != len) {
			fprintf(stderr, "vmpclient: send: %s\n", strerror(errno));
			return 1;
		}
	}

	struct pollfd p[MAXSUB + 1];
	uint64_t cnt[MAXSUB] = {0};
	int replies = 0;
	char line[sizeof(in)];
	for (int i = 0; i < n; i++)
		p[i + 1].fd = -1, p[i + 1].events = POLLIN;
	p[0].fd = sock;
	p[0].events = POLLIN;

	struct sigaction sact = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sact, NULL);
	sigaction(SIGINT, &sact, NULL);

	while (!stop) {
		int r = poll(p, (nfds_t)n + 1, 200);
		if (r <= 0)
			continue;
		double t = mono();
		for (int i = 0; i < n; i++) {
			uint64_t v;
			if ((p[i + 1].revents & POLLIN) && read(p[i + 1].fd, &v, sizeof(v)) == sizeof(v)) {
				cnt[i] += v;
				printf("efd %.6f %d %" PRIu64 "\n", t, i, v);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = receive();
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
				printf("eof %.6f\n", t);
				p[0].fd = -1;
				if (replies < n) {
					fprintf(stderr, "vmpclient: the daemon closed the connection after %d replies\n", replies);
					return 1;
				}
			}
			while (next_line(line, sizeof(line))) {
				if (!strncmp(line, "{\"reply\":\"subscribe\"", 20) && replies < n) {
					int i = replies++;
					const char *spec = argv[first + i];
					if (!strstr(line, "\"ok\":true")) {
						printf("refused %d %s %s\n", i, spec, line);
						fflush(stdout);
						return 1;
					}
					const char *id = strstr(line, "\"id\":");
					if (want_efd) {
						if (!nfdq) {
							printf("refused %d %s no eventfd came with %s\n", i, spec, line);
							fflush(stdout);
							return 1;
						}
						p[i + 1].fd = fdq[0];
						memmove(fdq, fdq + 1, sizeof(int) * (size_t)--nfdq);
					}
					printf("sub %d %s %ld\n", i, spec, id ? strtol(id + 5, NULL, 10) : -1L);
					if (replies == n)
						printf("READY\n");
				} else if (line[0] == '{' && strncmp(line, "{\"reply\"", 8)) {
					printf("json %.6f %s\n", t, line);
				} else {
					printf("other %.6f %s\n", t, line);
				}
			}
		}
		fflush(stdout);
	}
	for (int i = 0; i < n; i++) {
		uint64_t v;
		if (p[i + 1].fd >= 0 && read(p[i + 1].fd, &v, sizeof(v)) == sizeof(v))
			cnt[i] += v;
		printf("count %d %s %" PRIu64 "\n", i, argv[first + i], cnt[i]);
	}
	fflush(stdout);
	return 0;
usage:
	fprintf(stderr, "usage: vmpclient SOCKET [-e] [-s] group:level[,mode]...\n");
	return 64;
}
