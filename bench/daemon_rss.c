/* SPDX-License-Identifier: MIT */
/*
 * vmpressured's memory: VmRSS idle, with 1000 subscriptions on a few
 * connections, and with 1000 connections of one subscription each, all in
 * one run against one daemon (the trace source on file1.vmpt, held, so
 * that nothing but the subscriptions changes).
 *
 *   daemon_rss VMPRESSURED DATADIR
 *
 * Subscriptions have an eventfd and a stream and are spread over the 27
 * distinct (cgroup, level, mode) of the trace's three groups, so the
 * figure includes the shared source subscriptions and engine listeners as
 * well as the per-client state. The goal printed with the verdict (under
 * 2 KiB of RSS per subscription, connection included) is this project's
 * own: a daemon for every local process must stay small. A missed goal
 * does not fail the run.
 */
#include "../tests/daemon/client_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSUB 1000
#define GOAL_BYTES_PER_SUB 2048

static const char *const groups[] = {"/", "fa", "fa/fb"};
static const char *const argsv[] = {"low", "medium", "critical", "low,hierarchy", "medium,hierarchy",
				    "critical,hierarchy", "low,local", "medium,local", "critical,local"};

static struct cu_conn conns[NSUB];

static bool subscribe(struct cu_conn *c, int k)
{
	char req[256], r[4096];
	int fd;
	snprintf(req, sizeof(req), "subscribe %s %s eventfd stream\n", groups[k % 3], argsv[(k / 3) % 9]);
	if (!cu_request(c, req, r, sizeof(r), &fd, NULL, NULL, 10000) || fd < 0)
		return false;
	close(fd); /* the daemon keeps its own */
	return true;
}

static long settle_rss(pid_t pid)
{
	cu_sleep_ms(300);
	return cu_rss_kib(pid);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: daemon_rss VMPRESSURED DATADIR\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if (cu_raise_nofile(NSUB + 256) < NSUB + 64) {
		fprintf(stderr, "daemon_rss: RLIMIT_NOFILE too low for %d connections\n", NSUB);
		return 1;
	}
	char tmp[] = "/tmp/vmpd-rss.XXXXXX", sock[64], trace[512];
	if (!mkdtemp(tmp))
		return 1;
	snprintf(sock, sizeof(sock), "%s/control", tmp);
	snprintf(trace, sizeof(trace), "%s/file1.vmpt", argv[2]);
	char *dargv[] = {argv[1], "--socket", sock, "--trace", trace, "--trace-hold", NULL};
	int st;
	pid_t pid = cu_spawn_daemon(dargv, sock, "/dev/null", 10000, &st);
	if (pid < 0) {
		fprintf(stderr, "daemon_rss: the daemon did not start\n");
		return 1;
	}
	long idle = settle_rss(pid);

	/* 1000 subscriptions on 4 connections (250 each, under the limit of 256) */
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		if (cu_connect(&conns[i], sock, false))
			break;
		for (int k = 0; k < NSUB / 4; k++)
			ok += subscribe(&conns[i], i * (NSUB / 4) + k);
	}
	long few = settle_rss(pid);
	int fds_few = cu_count_fds(pid);
	for (int i = 0; i < 4; i++)
		cu_close(&conns[i]);
	long after_few = settle_rss(pid);

	/* 1000 connections with one subscription each */
	int ok2 = 0;
	for (int i = 0; i < NSUB; i++) {
		if (cu_connect(&conns[i], sock, false))
			break;
		ok2 += subscribe(&conns[i], i);
	}
	long many = settle_rss(pid);
	int fds_many = cu_count_fds(pid);
	for (int i = 0; i < NSUB; i++)
		cu_close(&conns[i]);
	long after_many = settle_rss(pid);

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "daemon_rss: could not remove %s\n", tmp);

	if (ok != NSUB || ok2 != NSUB) {
		fprintf(stderr, "daemon_rss: only %d + %d of %d + %d subscriptions succeeded\n", ok, ok2, NSUB, NSUB);
		return 1;
	}
	double per_few = (double)(few - idle) * 1024 / NSUB, per_many = (double)(many - idle) * 1024 / NSUB;
	printf("vmpressured VmRSS (trace source, file1.vmpt, 27 distinct cgroup/level/mode):\n");
	printf("  idle, 0 subscriptions                     %6ld KiB\n", idle);
	printf("  1000 subscriptions on 4 connections       %6ld KiB  (+%.0f bytes per subscription; %d fds)\n",
	       few, per_few, fds_few);
	printf("    after those 4 connections closed        %6ld KiB\n", after_few);
	printf("  1000 connections, 1 subscription each     %6ld KiB  (+%.0f bytes per connection+subscription; %d fds)\n",
	       many, per_many, fds_many);
	printf("    after those 1000 connections closed     %6ld KiB\n", after_many);
	bool met = per_few < GOAL_BYTES_PER_SUB && per_many < GOAL_BYTES_PER_SUB;
	printf("goal: under %d bytes of RSS per subscription: %s\n", GOAL_BYTES_PER_SUB, met ? "met" : "MISSED");
	return 0;
}
