/* SPDX-License-Identifier: MIT */
/*
 * bench_sources: what watching many cgroups costs the daemon, per second
 * of wall time, on fixture cgroup v2 trees of 1000 and 10,000 cgroups.
 *
 *   library: a cgroup v2 source subscribed to "/" (every cgroup watched),
 *            driven by its own timer and inotify, 1 s idle interval. Each
 *            second 1 % of the cgroups see a limit event and new counters
 *            (the writes are not measured: only the source's thread CPU
 *            time inside vmp_source_dispatch()).
 *   baseline (same run, same tree): the naive sampler, which preads and
 *            parses memory.stat and memory.events of every cgroup once a
 *            second through descriptors kept open.
 *
 * Fixture files live on tmpfs, where a read costs far less than on
 * cgroupfs (the kernel formats memory.stat on each read). So the run also
 * measures a real cgroupfs read where the host allows (cgroup v1 memory
 * cgroups created below our own, removed at exit) and extrapolates the
 * naive sampler's cost with it.
 *
 * Goal (issue 3): 1000 cgroups at 1 Hz under 1 % of one core.
 */
#include "bench_util.h"

#include "vmpressure.h"
#include "sources/cgfiles.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];
static char (*paths)[64];
static size_t ncg;

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static char stat_text[2048];

static void write_cg(const char *dir, unsigned gen)
{
	char p[512], t[512];
	snprintf(p, sizeof(p), "%s/memory.stat", dir);
	/* A realistic memory.stat: about 45 lines, pgscan/pgsteal among them. */
	snprintf(stat_text, sizeof(stat_text),
		 "anon 1048576\nfile 4194304\nkernel 65536\nkernel_stack 16384\npagetables 8192\n"
		 "sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 0\nzswap 0\nzswapped 0\n"
		 "file_mapped 0\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\n"
		 "file_thp 0\nshmem_thp 0\ninactive_anon 0\nactive_anon 1048576\ninactive_file 0\n"
		 "active_file 4194304\nunevictable 0\nslab_reclaimable 0\nslab_unreclaimable 0\nslab 0\n"
		 "workingset_refault_anon 0\nworkingset_refault_file 0\nworkingset_activate_anon 0\n"
		 "workingset_activate_file 0\nworkingset_restore_anon 0\nworkingset_restore_file 0\n"
		 "workingset_nodereclaim 0\npgscan %u\npgsteal %u\npgscan_kswapd 0\npgscan_direct %u\n"
		 "pgsteal_kswapd 0\npgsteal_direct %u\npgfault 1000\npgmajfault 0\npgrefill 0\n"
		 "pgactivate 0\npgdeactivate 0\npglazyfree 0\npglazyfreed 0\nthp_fault_alloc 0\n"
		 "thp_collapse_alloc 0\n",
		 gen * 1024, gen * 900, gen * 1024, gen * 900);
	put(p, stat_text);
	snprintf(p, sizeof(p), "%s/memory.events", dir);
	snprintf(t, sizeof(t), "low 0\nhigh 0\nmax %u\noom 0\noom_kill 0\noom_group_kill 0\n", gen * 2);
	put(p, t);
	snprintf(p, sizeof(p), "%s/memory.events.local", dir);
	put(p, t);
	snprintf(p, sizeof(p), "%s/memory.pressure", dir);
	put(p, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
}

static void mk(const char *p)
{
	if (mkdir(p, 0755) && errno != EEXIST) {
		perror(p);
		exit(1);
	}
}

/* 10 x 10 x (n / 100) leaves, plus the inner cgroups. */
static void build_tree(size_t n)
{
	const char *shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%s/vmp-bench-XXXXXX", shm);
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		exit(1);
	}
	char p[512];
	snprintf(p, sizeof(p), "%s/cg", base);
	mk(p);
	snprintf(p, sizeof(p), "%s/cg/cgroup.controllers", base);
	put(p, "memory\n");
	snprintf(p, sizeof(p), "%s/proc", base);
	mk(p);
	snprintf(p, sizeof(p), "%s/proc/vmstat", base);
	put(p, "pgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\npgsteal_direct 0\n");
	size_t leaves = n / 100 ? n / 100 : 1;
	ncg = 0;
	paths = calloc(10 + 100 + 100 * leaves, sizeof(*paths));
	for (int i = 0; i < 10; i++) {
		snprintf(paths[ncg++], 64, "s%d", i);
		for (int j = 0; j < 10; j++) {
			snprintf(paths[ncg++], 64, "s%d/p%d", i, j);
			for (size_t k = 0; k < leaves; k++)
				snprintf(paths[ncg++], 64, "s%d/p%d/c%zu", i, j, k);
		}
	}
	for (size_t i = 0; i < ncg; i++) {
		snprintf(p, sizeof(p), "%s/cg/%s", base, paths[i]);
		mk(p);
		write_cg(p, 0);
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long events_seen;
static void on_ev(const struct vmp_source_event *ev, void *arg)
{
	(void)arg;
	events_seen += ev->count;
}

/* The cgroups that see pressure this second: 1 % of the leaves. */
static void touch(unsigned second)
{
	char p[512];
	size_t step = 100;
	for (size_t i = second % step; i < ncg; i += step) {
		snprintf(p, sizeof(p), "%s/cg/%s", base, paths[i]);
		write_cg(p, second + 1);
	}
}

static double run_library(unsigned seconds, double *setup_s)
{
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	char cg[300], pr[300];
	snprintf(cg, sizeof(cg), "%s/cg", base);
	snprintf(pr, sizeof(pr), "%s/proc", base);
	cfg.kind = VMP_SOURCE_V2;
	cfg.cgroup_root = cg;
	cfg.proc_root = pr;
	cfg.idle_interval_ms = 1000;
	cfg.busy_interval_ms = 1000; /* 1 Hz: the goal's rate */
	vmp_source *src;
	int rc = vmp_source_new(&src, &cfg, NULL);
	if (rc) {
		fprintf(stderr, "bench_sources: source: %s\n", strerror(-rc));
		exit(1);
	}
	vmp_sub *sub;
	double c0 = thread_cpu_s();
	if (vmp_source_subscribe(src, "/", "low,hierarchy", on_ev, NULL, &sub) != 0) {
		fprintf(stderr, "bench_sources: subscribe failed\n");
		exit(1);
	}
	*setup_s = thread_cpu_s() - c0;
	double cpu = 0;
	uint64_t t0 = vmp__mono_ns();
	for (unsigned s = 0; s < seconds; s++) {
		touch(s);
		uint64_t until = t0 + (uint64_t)(s + 1) * 1000000000u;
		for (;;) {
			uint64_t now = vmp__mono_ns();
			if (now >= until)
				break;
			struct pollfd pfd = {.fd = vmp_source_fd(src), .events = POLLIN};
			if (poll(&pfd, 1, (int)((until - now) / 1000000u) + 1) > 0) {
				double a = thread_cpu_s();
				vmp_source_dispatch(src);
				cpu += thread_cpu_s() - a;
			}
		}
	}
	vmp_source_unsubscribe(src, sub);
	vmp_source_free(src);
	return cpu / seconds;
}

/* The naive sampler: every file of every cgroup, once per second. */
static double run_naive(unsigned seconds, double *per_read_us)
{
	static const char *const keys[] = {"pgscan", "pgsteal", "high", "max", "oom", "oom_kill"};
	int *fds = malloc(ncg * 2 * sizeof(int));
	char p[512], buf[8192];
	for (size_t i = 0; i < ncg; i++) {
		snprintf(p, sizeof(p), "%s/cg/%s/memory.stat", base, paths[i]);
		fds[2 * i] = open(p, O_RDONLY);
		snprintf(p, sizeof(p), "%s/cg/%s/memory.events", base, paths[i]);
		fds[2 * i + 1] = open(p, O_RDONLY);
	}
	double cpu = 0;
	uint64_t sink = 0;
	for (unsigned s = 0; s < seconds; s++) {
		double a = thread_cpu_s();
		for (size_t i = 0; i < 2 * ncg; i++) {
			size_t len;
			uint64_t v[6], found;
			if (vmp__pread_all(fds[i], buf, sizeof(buf), &len) == 0 &&
			    vmp__parse_kv(buf, len, keys, 6, v, &found) == 0)
				sink += v[0] + found;
		}
		cpu += thread_cpu_s() - a;
	}
	bench_opaque(sink);
	for (size_t i = 0; i < 2 * ncg; i++)
		close(fds[i]);
	free(fds);
	*per_read_us = cpu / seconds / (double)(2 * ncg) * 1e6;
	return cpu / seconds;
}

/* One real cgroupfs memory.stat read, on this host's v1 memory cgroups. */
static double real_read_us(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[512], mine[400] = "";
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strstr(line, ":memory:");
		if (c) {
			snprintf(mine, sizeof(mine), "%s", c + 8);
			mine[strcspn(mine, "\n")] = 0;
		}
	}
	if (f)
		fclose(f);
	char dir[600];
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s/vmp-bench-%d", mine, (int)getpid());
	if (!mine[0] || mkdir(dir, 0755) != 0)
		return -1;
	char p[700], buf[8192];
	snprintf(p, sizeof(p), "%s/memory.stat", dir);
	int fd = open(p, O_RDONLY);
	double best = -1;
	if (fd >= 0) {
		double v[9];
		for (int r = 0; r < 9; r++) {
			double a = thread_cpu_s();
			size_t len;
			for (int i = 0; i < 200; i++)
				vmp__pread_all(fd, buf, sizeof(buf), &len);
			v[r] = (thread_cpu_s() - a) / 200 * 1e6;
		}
		best = bench_median(v, 9);
		close(fd);
	}
	rmdir(dir);
	return best;
}

int main(void)
{
	double scale = getenv("VMP_BENCH_SCALE") ? atof(getenv("VMP_BENCH_SCALE")) : 1;
	unsigned seconds = scale < 0.5 ? 2 : (unsigned)(5 * scale);
	printf("bench_sources: CPU of the cgroup v2 source vs the naive sampler, %u s per case,\n"
	       "  1 %% of the cgroups under pressure each second, tree on tmpfs\n\n", seconds);
	double real = real_read_us();
	if (real >= 0)
		printf("  real cgroupfs (v1) memory.stat read on this host: %.1f us\n\n", real);
	else
		printf("  real cgroupfs: skipped (cannot create a memory cgroup below our own here)\n\n");
	printf("  %-8s %-28s %12s %14s\n", "cgroups", "case", "CPU %/core", "us/cgroup/s");
	double lib_1000 = -1;
	static const size_t sizes[] = {1000, 10000};
	for (int k = 0; k < 2; k++) {
		build_tree(sizes[k]);
		double setup, per_read;
		double lib = run_library(seconds, &setup);
		double naive = run_naive(seconds, &per_read);
		printf("  %-8zu %-28s %11.3f%% %14.2f\n", ncg, "library (inotify + hot set)", lib * 100,
		       lib / (double)ncg * 1e6);
		printf("  %-8zu %-28s %11.3f%% %14.2f\n", ncg, "baseline: naive, tmpfs", naive * 100,
		       naive / (double)ncg * 1e6);
		if (real >= 0)
			printf("  %-8zu %-28s %11.3f%% %14.2f\n", ncg, "baseline: naive, cgroupfs est.",
			       (double)ncg * 2 * real / 1e4, 2 * real);
		printf("  %-8zu %-28s %11.3f s\n", ncg, "library: subscribe (one-off)", setup);
		if (sizes[k] == 1000)
			lib_1000 = lib;
		nftw(base, rm_one, 32, FTW_DEPTH | FTW_PHYS);
		free(paths);
	}
	printf("\n  (%lu notifications delivered during the library runs)\n", events_seen);
	printf("verdict: goal: 1000 cgroups at 1 Hz under 1%% of one core; measured %.3f%%: %s\n",
	       lib_1000 * 100, lib_1000 < 0.01 ? "met" : "not met");
	return 0;
}
