/* SPDX-License-Identifier: MIT */
/*
 * sampler: what a userspace program can see of memory, every PERIOD ms, in
 * the v2 study's format (tests/data/v2/README.md), so that a VM run can be
 * replayed offline (the estimator's pure core, a forecast of OOM kills).
 *
 *   sampler PERIOD_MS DURATION_S CGDIR...
 *
 * One line per period: "sample <mono s>" then space-separated "key value"
 * pairs and bracketed PSI lines; tests/vm/README.md ("The samples") lists
 * every key. In short: vmstat.<field> (/proc/vmstat), meminfo.<field>
 * (/proc/meminfo, kB), stat.<field> (/proc/stat's procs_running and
 * procs_blocked), schedstat.<field> (/proc/schedstat's CPUs, and their
 * run and wait times summed), /[<line>] (/proc/pressure/memory), and per cgroup,
 * tagged by its last path component: its limit and usage files, the listed
 * memory.stat and memory.events fields (memory.events.local's as
 * <tag>.local.<field>), <leaf>[<line>] for memory.pressure and
 * <tag>.cpu.usage_usec from cpu.stat (cgroup v2), or the v1 files' equivalents. A limit of "max" is written
 * as -1. A file that is absent (no swap accounting, a group removed) is
 * left out of that sample. Stops after DURATION_S or on SIGTERM.
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

/* "key value" lines: those whose key is in keys (all if keys is NULL and
 * prefix matches), written " tag.key value". keys and prefix NULL: every
 * line, bracketed (PSI). */
static void dump(const char *tag, const char *path, const char *const *keys, const char *prefix)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!keys && !prefix) {
			printf(" %s[%s]", tag, line);
			continue;
		}
		if (prefix) {
			if (!strncmp(line, prefix, strlen(prefix)) && strchr(line, ' '))
				printf(" %s.%s", tag, line);
			continue;
		}
		for (const char *const *k = keys; *k; k++) {
			size_t n = strlen(*k);
			if (!strncmp(line, *k, n) && (line[n] == ' ' || line[n] == ':')) {
				/* /proc/meminfo: "MemTotal:     502 kB" */
				const char *v = line + n + 1;
				while (*v == ' ')
					v++;
				printf(" %s.%s %lld", tag, *k, atoll(v));
			}
		}
	}
	fclose(f);
}

/* /proc/schedstat (where the kernel has it): the time tasks ran and the
 * time runnable tasks waited for a CPU, summed over the CPUs, in ns. Over
 * an interval, (ran + waited) / interval is the mean count of runnable
 * tasks, which the instantaneous procs_running only samples. */
static void schedstat(void)
{
	FILE *f = fopen("/proc/schedstat", "r");
	if (!f)
		return;
	char line[512];
	unsigned long long ran = 0, waited = 0;
	int cpus = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[9];
		int cpu;
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 10) {
			ran += v[6];
			waited += v[7];
			cpus++;
		}
	}
	fclose(f);
	if (cpus)
		printf(" schedstat.cpus %d schedstat.run_ns %llu schedstat.wait_ns %llu", cpus, ran, waited);
}

/* A one-value file (memory.current, memory.max, ...): " tag.key value",
 * "max" written as -1. */
static void value(const char *tag, const char *dir, const char *file, const char *key)
{
	char p[512], v[64];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	if (fgets(v, sizeof(v), f)) {
		v[strcspn(v, "\n")] = 0;
		if (!strcmp(v, "max"))
			printf(" %s.%s -1", tag, key);
		else if (*v)
			printf(" %s.%s %s", tag, key, v);
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
	static const char *const stat_keys[] = {"anon", "file", "shmem", "unevictable", "slab_unreclaimable",
						"active_file", "inactive_file", "active_anon", "inactive_anon",
						"workingset_refault_anon", "workingset_refault_file",
						"pgscan", "pgsteal", "pgscan_direct", "pgscan_kswapd",
						"pgsteal_direct", "pgsteal_kswapd", NULL};
	static const char *const ev_keys[] = {"low", "high", "max", "oom", "oom_kill", NULL};
	static const char *const oomc_keys[] = {"under_oom", "oom_kill", NULL};
	static const char *const vm_keys[] = {"pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
					      "pgsteal_direct", "allocstall_normal", "allocstall_movable",
					      "oom_kill", "pswpin", "pswpout", NULL};
	static const char *const mi_keys[] = {"MemTotal", "MemFree", "MemAvailable", "SwapTotal", "SwapFree",
					      NULL};
	/* how many tasks compete for the CPUs: the kernel's deferred
	 * vmpressure work waits behind them (docs/vm-fidelity.md, "Many
	 * groups at once") */
	static const char *const st_keys[] = {"procs_running", "procs_blocked", NULL};
	static const char *const cpu_keys[] = {"usage_usec", NULL};
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > dur)
			break;
		printf("sample %ld.%06ld", (long)t.tv_sec, t.tv_nsec / 1000);
		dump("vmstat", "/proc/vmstat", vm_keys, NULL);
		dump("meminfo", "/proc/meminfo", mi_keys, NULL);
		dump("stat", "/proc/stat", st_keys, NULL);
		schedstat();
		dump("/", "/proc/pressure/memory", NULL, NULL);
		for (int i = 3; i < argc; i++) {
			char p[512];
			const char *d = argv[i];
			const char *b = strrchr(d, '/');
			const char *tag = b ? b + 1 : d;
			snprintf(p, sizeof(p), "%s/memory.current", d);
			if (access(p, F_OK) == 0) { /* cgroup v2 */
				value(tag, d, "memory.current", "memory.current");
				value(tag, d, "memory.max", "memory.max");
				value(tag, d, "memory.high", "memory.high");
				value(tag, d, "memory.swap.current", "memory.swap.current");
				value(tag, d, "memory.swap.max", "memory.swap.max");
				snprintf(p, sizeof(p), "%s/memory.stat", d);
				dump(tag, p, stat_keys, NULL);
				snprintf(p, sizeof(p), "%s/memory.events", d);
				dump(tag, p, ev_keys, NULL);
				/* the group's own events, as the live source reads
				 * them: no parent-minus-children between two reads */
				char ltag[300];
				snprintf(ltag, sizeof(ltag), "%s.local", tag);
				snprintf(p, sizeof(p), "%s/memory.events.local", d);
				dump(ltag, p, ev_keys, NULL);
				snprintf(p, sizeof(p), "%s/memory.pressure", d);
				dump(tag, p, NULL, NULL);
				char ctag[300];
				snprintf(ctag, sizeof(ctag), "%s.cpu", tag);
				snprintf(p, sizeof(p), "%s/cpu.stat", d);
				dump(ctag, p, cpu_keys, NULL);
			} else { /* cgroup v1 */
				value(tag, d, "memory.usage_in_bytes", "usage_in_bytes");
				value(tag, d, "memory.limit_in_bytes", "limit_in_bytes");
				value(tag, d, "memory.memsw.usage_in_bytes", "memsw.usage_in_bytes");
				value(tag, d, "memory.memsw.limit_in_bytes", "memsw.limit_in_bytes");
				value(tag, d, "memory.failcnt", "failcnt");
				snprintf(p, sizeof(p), "%s/memory.stat", d);
				dump(tag, p, NULL, "total_");
				snprintf(p, sizeof(p), "%s/memory.oom_control", d);
				dump(tag, p, oomc_keys, NULL);
			}
		}
		printf("\n");
		fflush(stdout);
		usleep((useconds_t)period * 1000);
	}
	return 0;
}
