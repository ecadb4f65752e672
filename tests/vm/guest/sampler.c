/* SPDX-License-Identifier: MIT */
/*
 * sampler: what a userspace estimator can see on cgroup v2, every PERIOD ms,
 * in the v2 study's format (tests/data/v2/README.md), so that a VM run can
 * be replayed offline against the estimator's pure core.
 *
 *   sampler PERIOD_MS DURATION_S CGDIR...
 *
 * One line per period: "sample <mono s>" then " vmstat.<field> <n>" for the
 * reclaim fields of /proc/vmstat, " <leaf>.<field> <n>" for each cgroup's
 * memory.stat and memory.events fields, and " <leaf>[<line>]" for each line
 * of its memory.pressure (<leaf>: the cgroup's last path component). Stops
 * after DURATION_S or on SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

/* keys NULL: every line, bracketed. */
static void dump(const char *tag, const char *path, const char *const *keys)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!keys) {
			printf(" %s[%s]", tag, line);
			continue;
		}
		for (const char *const *k = keys; *k; k++) {
			size_t n = strlen(*k);
			if (!strncmp(line, *k, n) && line[n] == ' ')
				printf(" %s.%s", tag, line);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sampler PERIOD_MS DURATION_S CGDIR...\n");
		return 64;
	}
	int period = atoi(argv[1]);
	double dur = atof(argv[2]);
	static const char *const stat_keys[] = {"pgscan", "pgsteal", "pgscan_direct", "pgscan_kswapd",
						"pgsteal_direct", "pgsteal_kswapd", NULL};
	static const char *const ev_keys[] = {"low", "high", "max", "oom", "oom_kill", NULL};
	static const char *const vm_keys[] = {"pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
					      "pgsteal_direct", "allocstall_normal", "allocstall_movable",
					      NULL};
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > dur)
			break;
		printf("sample %ld.%06ld", (long)t.tv_sec, t.tv_nsec / 1000);
		dump("vmstat", "/proc/vmstat", vm_keys);
		for (int i = 3; i < argc; i++) {
			char p[512];
			const char *b = strrchr(argv[i], '/');
			const char *tag = b ? b + 1 : argv[i];
			snprintf(p, sizeof(p), "%s/memory.stat", argv[i]);
			dump(tag, p, stat_keys);
			snprintf(p, sizeof(p), "%s/memory.events", argv[i]);
			dump(tag, p, ev_keys);
			snprintf(p, sizeof(p), "%s/memory.pressure", argv[i]);
			dump(tag, p, NULL);
		}
		printf("\n");
		fflush(stdout);
		usleep((useconds_t)period * 1000);
	}
	return 0;
}
