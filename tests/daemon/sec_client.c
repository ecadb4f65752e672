/* SPDX-License-Identifier: MIT */
/*
 * The attacker's and the bystander's client for test_security.sh, run as
 * an unprivileged user (setpriv) or as root:
 *
 *   sec_client SOCKET WAIT_S REQUEST...
 *       send each request, print its reply line (" +fd" appended when a
 *       descriptor came with it), then print every line that arrives for
 *       WAIT_S seconds (stream events) and the eventfd counts
 *       ("eventfd N"). Exit 0; 3 cannot connect; 4 a reply did not come.
 *   sec_client -flood SOCKET N HOLD_S
 *       open N connections and say hello on each; print
 *       "kept K refused R" once every one is answered or closed (at most
 *       10 s), then hold the kept ones for HOLD_S seconds (or until
 *       SIGTERM).
 *   sec_client -subs SOCKET CONNS SUBS REQUEST HOLD_S
 *       CONNS connections with SUBS copies of REQUEST each; print
 *       "subscribed S refused R" (replies that were errors), hold them.
 *   sec_client -slow HOST PORT N INTERVAL_MS SECONDS
 *       N TCP connections that each send one byte of an HTTP request
 *       every INTERVAL_MS, for SECONDS, each connecting again at once when
 *       the server closed it: slowloris. Print "closed C" (how many times
 *       the server closed one) at the end.
 *   sec_client -get HOST PORT TIMEOUT_S
 *       one scrape: GET /metrics; print its status line and exit 0 if it
 *       was 200 and complete within TIMEOUT_S, else print why and exit 1.
 */
#include "client_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hold(double seconds)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	sigtimedwait(&set, NULL, &ts);
}

static void print_line(const char *l)
{
	printf("%s\n", l);
	fflush(stdout);
}

static void on_event(void *arg, const char *l)
{
	(void)arg;
	print_line(l);
}

static int one(int argc, char **argv)
{
	struct cu_conn c;
	if (cu_connect(&c, argv[1], false) < 0)
		return 3;
	double wait = atof(argv[2]);
	int efds[64];
	int nefd = 0;
	char line[8192];
	for (int i = 3; i < argc; i++) {
		int fd = -1;
		char req[2048];
		snprintf(req, sizeof(req), "%s\n", argv[i]);
		if (!cu_request(&c, req, line, sizeof(line), &fd, on_event, NULL, 10000)) {
			printf("no reply to '%s'%s\n", argv[i], c.eof ? " (connection closed)" : "");
			cu_close(&c);
			return 4;
		}
		printf("%s%s\n", line, fd >= 0 ? " +fd" : "");
		fflush(stdout);
		if (fd >= 0 && nefd < 64)
			efds[nefd++] = fd;
	}
	double end = now_s() + wait;
	while (now_s() < end) {
		int ms = (int)((end - now_s()) * 1000) + 1;
		if (cu_read_line(&c, line, sizeof(line), ms))
			print_line(line);
		else if (c.eof)
			break;
	}
	for (int i = 0; i < nefd; i++)
		printf("eventfd %llu\n", (unsigned long long)cu_eventfd_take(efds[i]));
	if (c.eof)
		printf("closed by the daemon\n");
	cu_close(&c);
	return 0;
}

/* Each connection: sent the request(s), waiting for their replies (one
 * line each), or done. No client_util buffers: thousands of connections. */
static int flood(char **argv, const char *req, int per)
{
	long n = atol(argv[3]);
	cu_raise_nofile(n + 64);
	int *fd = calloc((size_t)n, sizeof(int));
	int *left = calloc((size_t)n, sizeof(int));
	int *match = calloc((size_t)n, sizeof(int));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	static const char bad_pat[] = "\"ok\":false";
	long opened = 0;
	for (long i = 0; i < n; i++) {
		struct cu_conn c;
		fd[i] = -1;
		if (cu_connect(&c, argv[2], true) < 0)
			continue;
		fd[i] = c.fd;
		free(c.buf);
		opened++;
		left[i] = per;
		for (int k = 0; k < per; k++)
			if (send(fd[i], req, strlen(req), MSG_NOSIGNAL) < 0)
				break;
	}
	long kept = 0, refused = n - opened, ok = 0, bad = 0;
	double end = now_s() + 20;
	long pending = opened;
	while (pending && now_s() < end) {
		for (long i = 0; i < n; i++) {
			p[i].fd = left[i] ? fd[i] : -1;
			p[i].events = POLLIN;
		}
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (long i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char buf[4096];
			ssize_t r = recv(fd[i], buf, sizeof(buf), MSG_DONTWAIT);
			for (ssize_t k = 0; k < r && left[i]; k++) {
				match[i] = buf[k] == bad_pat[match[i]] ? match[i] + 1 : buf[k] == bad_pat[0];
				if (!bad_pat[match[i]]) {
					bad++;
					match[i] = 0;
				}
				if (buf[k] == '\n' && !--left[i]) {
					kept++;
					pending--;
				}
			}
			if (left[i] && (r == 0 || (r < 0 && errno != EAGAIN))) {
				left[i] = 0;
				refused++;
				pending--;
				close(fd[i]);
				fd[i] = -1;
			}
		}
	}
	ok = kept * per - bad;
	if (per == 1)
		printf("kept %ld refused %ld\n", kept, refused);
	else
		printf("subscribed %ld refused %ld\n", ok, bad + refused * per);
	fflush(stdout);
	free(fd);
	free(left);
	free(match);
	free(p);
	return 0;
}

static int slow(char **argv)
{
	int n = atoi(argv[4]);
	int interval = atoi(argv[5]);
	double seconds = atof(argv[6]);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	inet_pton(AF_INET, argv[2], &sa.sin_addr);
	int *fd = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		struct timeval tv = {2, 0}; /* a full backlog: connect() gives up */
		setsockopt(fd[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd[i]);
			fd[i] = -1;
		}
	}
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	size_t pos = 0;
	double end = now_s() + seconds;
	int closed = 0;
	signal(SIGPIPE, SIG_IGN);
	while (now_s() < end) {
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0)
				continue;
			if (send(fd[i], req + pos % (sizeof(req) - 1), 1, MSG_NOSIGNAL) != 1) {
				/* Closed by the server: straight back in, as slowloris does. */
				close(fd[i]);
				closed++;
				fd[i] = socket(AF_INET, SOCK_STREAM, 0);
				struct timeval tv = {2, 0};
				setsockopt(fd[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
				if (connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
					close(fd[i]);
					fd[i] = -1;
				}
			}
		}
		pos++;
		usleep((useconds_t)interval * 1000);
	}
	printf("closed %d\n", closed);
	fflush(stdout);
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
	return 0;
}

static int get(char **argv)
{
	double end = now_s() + atof(argv[4]);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	inet_pton(AF_INET, argv[2], &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	size_t sent = 0, got = 0;
	char buf[1 << 16];
	while (now_s() < end) {
		struct pollfd p = {.fd = fd, .events = sent < sizeof(req) - 1 ? POLLOUT : POLLIN};
		int ms = (int)((end - now_s()) * 1000) + 1;
		if (poll(&p, 1, ms) <= 0)
			continue;
		if (sent < sizeof(req) - 1) {
			ssize_t w = send(fd, req + sent, sizeof(req) - 1 - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN) {
				printf("send: %s\n", strerror(errno));
				return 1;
			}
			continue;
		}
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r == 0 || (got + (size_t)(r > 0 ? r : 0) >= sizeof(buf) - 1)) {
			if (r > 0)
				got += (size_t)r;
			buf[got] = 0;
			char *nl = strchr(buf, '\r');
			if (nl)
				*nl = 0;
			printf("%s\n", got ? buf : "closed without a response");
			return !strncmp(buf, "HTTP/1.", 7) && strstr(buf, " 200") ? 0 : 1;
		}
		if (r < 0 && errno != EAGAIN) {
			printf("recv: %s\n", strerror(errno));
			return 1;
		}
		if (r > 0)
			got += (size_t)r;
	}
	printf("timeout after %s s (%zu bytes)\n", argv[4], got);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "-get"))
		return get(argv);
	if (argc >= 5 && !strcmp(argv[1], "-flood")) {
		flood(argv, "hello 1\n", 1);
		hold(atof(argv[4]));
		return 0;
	}
	if (argc >= 7 && !strcmp(argv[1], "-subs")) {
		char req[1100];
		snprintf(req, sizeof(req), "%s\n", argv[5]);
		char *av[] = {argv[0], argv[1], argv[2], argv[3]};
		flood(av, req, atoi(argv[4]));
		hold(atof(argv[6]));
		return 0;
	}
	if (argc >= 7 && !strcmp(argv[1], "-slow"))
		return slow(argv);
	if (argc < 3) {
		fprintf(stderr, "usage: sec_client SOCKET WAIT_S REQUEST... (or -flood, -subs, -slow)\n");
		return 2;
	}
	return one(argc, argv);
}
