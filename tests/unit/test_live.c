/* SPDX-License-Identifier: MIT */
/*
 * The live estimator sources on fixture trees: a cgroup v2 layout and a
 * /proc in a temporary directory, whose counter files the test rewrites
 * (in place, as the kernel's change) while the source runs. Covers origin
 * attribution through three levels, a counter reset, a cgroup that
 * vanishes mid-run, missing files, a file that changed shape, the
 * machine source on /proc/vmstat, /proc/schedstat's parser, the pacing of
 * steps under pressure, and an OOM after a long calm.
 */
#include "../unit/check.h"
#include "vmpressure.h"
#include "sources/cgfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[256];

static void writef(const char *rel, const char *fmt, ...)
{
	char path[512], buf[1024];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* In place (no rename): the kernel's files keep their inode. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0, "open %s", path);
	REQUIRE(write(fd, buf, (size_t)n) == n, "write %s", path);
	close(fd);
}

static void mkcg(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/cg/%s", root, rel);
	REQUIRE(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
}

struct counters {
	uint64_t pgscan, pgsteal, high, max, oom, oom_kill;
};

static void set_cg(const char *rel, struct counters c)
{
	char f[300];
	snprintf(f, sizeof(f), "cg/%s/memory.stat", rel);
	writef(f, "anon 4096\nfile 0\npgscan %llu\npgsteal %llu\npgscan_kswapd 0\npgscan_direct %llu\n"
		  "pgsteal_kswapd 0\npgsteal_direct %llu\n",
	       (unsigned long long)c.pgscan, (unsigned long long)c.pgsteal, (unsigned long long)c.pgscan,
	       (unsigned long long)c.pgsteal);
	snprintf(f, sizeof(f), "cg/%s/memory.events", rel);
	writef(f, "low 0\nhigh %llu\nmax %llu\noom %llu\noom_kill %llu\noom_group_kill 0\n",
	       (unsigned long long)c.high, (unsigned long long)c.max, (unsigned long long)c.oom,
	       (unsigned long long)c.oom_kill);
	snprintf(f, sizeof(f), "cg/%s/memory.pressure", rel);
	writef(f, "some avg10=1.50 avg60=0.00 avg300=0.00 total=1000\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=10\n");
}

static void set_vmstat(uint64_t scan, uint64_t steal, uint64_t stall)
{
	writef("proc/vmstat", "nr_free_pages 1000\npgscan_kswapd %llu\npgscan_direct 0\npgsteal_kswapd %llu\n"
			      "pgsteal_direct 0\nallocstall_normal %llu\nallocstall_movable 0\noom_kill 0\n",
	       (unsigned long long)scan, (unsigned long long)steal, (unsigned long long)stall);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void fixture(void)
{
	snprintf(root, sizeof(root), "/tmp/vmp-live-XXXXXX");
	REQUIRE(mkdtemp(root), "mkdtemp");
	char p[512];
	snprintf(p, sizeof(p), "%s/cg", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/proc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/proc/pressure", root);
	mkdir(p, 0755);
	writef("cg/cgroup.controllers", "cpu memory pids\n");
	writef("proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	set_vmstat(0, 0, 0);
	mkcg("a");
	mkcg("a/b");
	mkcg("a/b/c");
	mkcg("a/d");
	static const char *const all[] = {"a", "a/b", "a/b/c", "a/d"};
	for (int i = 0; i < 4; i++)
		set_cg(all[i], (struct counters){0});
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct got {
	unsigned n[3];
	unsigned removed;
	char origin[64];
	bool evidence;
	double psi_some;
	bool clocks_ok; /* every event: mono_ns set, within the test's run */
	unsigned clocks_bad;
};

static uint64_t mono_at_start;
static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_ev(const struct vmp_source_event *ev, void *arg)
{
	struct got *g = arg;
	if (ev->flags & VMP_EVENT_REMOVED) {
		g->removed++;
		return;
	}
	g->n[ev->level] += (unsigned)ev->count;
	snprintf(g->origin, sizeof(g->origin), "%s", ev->origin ? ev->origin : "(null)");
	g->evidence = !(ev->flags & VMP_EVENT_NO_EVIDENCE);
	g->psi_some = ev->psi_some_avg10;
	g->clocks_ok = true;
	if (!(ev->mono_ns >= mono_at_start && ev->mono_ns <= mono_now() && ev->time_ns))
		g->clocks_bad++;
}

/* Run the source's loop for ms milliseconds. */
static void pump(vmp_source *src, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		struct pollfd p = {.fd = vmp_source_fd(src), .events = POLLIN};
		if (poll(&p, 1, left) > 0)
			REQUIRE(vmp_source_dispatch(src) == 0, "dispatch");
	}
}

static vmp_source *new_src_at(enum vmp_source_kind kind, unsigned idle_ms, unsigned busy_ms)
{
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.kind = kind;
	char cg[300], pr[300];
	snprintf(cg, sizeof(cg), "%s/cg", root);
	snprintf(pr, sizeof(pr), "%s/proc", root);
	cfg.cgroup_root = cg;
	cfg.proc_root = pr;
	cfg.idle_interval_ms = idle_ms;
	cfg.busy_interval_ms = busy_ms;
	vmp_source *src;
	REQUIRE(vmp_source_new(&src, &cfg, NULL) == 0, "source");
	return src;
}

static vmp_source *new_src(enum vmp_source_kind kind)
{
	return new_src_at(kind, 100, 20);
}

static unsigned total(const struct got *g)
{
	return g->n[0] + g->n[1] + g->n[2];
}

/* c's own limit: windows originate at a/b/c and reach a hierarchy
 * listener on a and a local one on c; a local listener on b hears none. */
static void attribution(void)
{
	fixture();
	vmp_source *src = new_src(VMP_SOURCE_V2);
	CHECK(vmp_source_kind(src) == VMP_SOURCE_V2, "kind v2");
	CHECK(!strcmp(vmp_source_kind_name(vmp_source_kind(src)), "cgroup-v2") &&
		      !strcmp(vmp_source_kind_name(VMP_SOURCE_V1), "cgroup-v1") &&
		      !strcmp(vmp_source_kind_name(VMP_SOURCE_AUTO), "auto") && !vmp_source_kind_name(5),
	      "kind names: cgroup-v2, cgroup-v1, auto; NULL out of range");
	struct got ga = {0}, gc = {0}, gb = {0}, gd = {0};
	vmp_sub *sa, *sc, *sb, *sd;
	REQUIRE(vmp_source_subscribe(src, "a", "low,hierarchy", on_ev, &ga, &sa) == 0, "sub a");
	REQUIRE(vmp_source_subscribe(src, "/a/b/c", "low,local", on_ev, &gc, &sc) == 0, "sub c");
	REQUIRE(vmp_source_subscribe(src, "a/b", "low,local", on_ev, &gb, &sb) == 0, "sub b");
	REQUIRE(vmp_source_subscribe(src, "a/d", "low", on_ev, &gd, &sd) == 0, "sub d");
	pump(src, 150);
	/* c hits its limit: 10 calls, 5120 scanned, 2560 stolen in its subtree */
	struct counters c = {.pgscan = 5120, .pgsteal = 2560, .max = 10};
	set_cg("a/b/c", c);
	set_cg("a/b", c);
	set_cg("a", c);
	pump(src, 400);
	CHECK(total(&gc) >= 8 && total(&gc) <= 12, "c's own limit: ~10 windows at c (%u)", total(&gc));
	CHECK(total(&ga) == total(&gc), "a (hierarchy) hears each of c's windows (%u vs %u)", total(&ga), total(&gc));
	CHECK(total(&gb) == 0, "b (local) hears none of c's windows (%u)", total(&gb));
	CHECK(total(&gd) == 0, "the sibling d hears nothing (%u)", total(&gd));
	CHECK(strcmp(ga.origin, "a/b/c") == 0, "origin is a/b/c (%s)", ga.origin);
	CHECK(ga.evidence && ga.psi_some > 1.4 && ga.psi_some < 1.6, "evidence and PSI (%.2f)", ga.psi_some);
	CHECK(ga.clocks_ok && ga.clocks_bad == 0,
	      "every event has its CLOCK_MONOTONIC time (mono_ns, within the run) and wall time (%u bad)",
	      ga.clocks_bad);
	CHECK(gc.n[0] > 0 && gc.n[1] == 0 && gc.n[2] == 0, "50 %% reclaimed: low windows");

	/* now b's own limit: b's subtree scanned, c's counters unchanged */
	unsigned before_c = total(&gc), before_a = total(&ga);
	struct counters b = {.pgscan = 5120 + 4096, .pgsteal = 2560 + 100, .max = 10 + 8};
	set_cg("a/b", b);
	set_cg("a", b);
	pump(src, 400);
	CHECK(total(&gb) >= 6 && total(&gb) <= 10, "b's own limit: ~8 windows at b (%u)", total(&gb));
	CHECK(total(&gc) == before_c, "c hears nothing of b's windows");
	CHECK(total(&ga) - before_a == total(&gb), "a hears each of b's windows");
	CHECK(strcmp(gb.origin, "a/b") == 0, "origin is a/b (%s)", gb.origin);
	CHECK(gb.n[1] + gb.n[2] > 0, "b reclaimed little: medium or critical (%u %u %u)", gb.n[0], gb.n[1], gb.n[2]);

	/* a counter reset (the cgroup was recreated): no bogus window */
	unsigned before = total(&ga);
	set_cg("a/b/c", (struct counters){.pgscan = 3, .max = 0});
	pump(src, 300);
	CHECK(total(&ga) == before, "a counter going back makes no window (%u new)", total(&ga) - before);

	/* a file that changed shape: ignored, no crash, the source keeps going */
	writef("cg/a/d/memory.stat", "this is not a stat file\n");
	writef("cg/a/d/memory.events", "max lots\n");
	pump(src, 300);
	CHECK(total(&gd) == 0, "garbage counters make no window");

	/* c vanishes mid-run: its subscriber gets the removal event */
	char p[512];
	snprintf(p, sizeof(p), "%s/cg/a/b/c", root);
	nftw(p, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	pump(src, 400);
	CHECK(gc.removed == 1, "c's subscriber got the removal event (%u)", gc.removed);
	CHECK(ga.removed == 0 && gb.removed == 0, "the others did not");
	vmp_source_unsubscribe(src, sc);
	vmp_source_unsubscribe(src, sa);
	vmp_source_unsubscribe(src, sb);
	vmp_source_unsubscribe(src, sd);
	vmp_source_free(src);
	cleanup();
}

static void errors(void)
{
	fixture();
	vmp_source *src = new_src(VMP_SOURCE_V2);
	struct got g = {0};
	vmp_sub *s;
	CHECK(vmp_source_subscribe(src, "nope", "low", on_ev, &g, &s) == -ENOENT, "no such cgroup");
	CHECK(vmp_source_subscribe(src, "a/../..", "low", on_ev, &g, &s) == -EINVAL, "escaping path");
	CHECK(vmp_source_subscribe(src, "a", "Low", on_ev, &g, &s) == -EINVAL, "bad args");
	mkcg("nomem");
	CHECK(vmp_source_subscribe(src, "nomem", "low", on_ev, &g, &s) == -ENOTSUP,
	      "a cgroup without memory files (controller off)");
	vmp_source_free(src);

	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.kind = VMP_SOURCE_V2;
	cfg.cgroup_root = "/nonexistent-vmp";
	struct vmp_error err;
	CHECK(vmp_source_new(&src, &cfg, &err) == -ENOENT && !strcmp(err.path, "/nonexistent-vmp") &&
		      strstr(err.msg, "cannot open the cgroup root") && err.line == 0,
	      "v2 source on a missing root: err names it (%s: %s)", err.path, err.msg);
	char cg[300];
	snprintf(cg, sizeof(cg), "%s/proc", root);
	cfg.cgroup_root = cg; /* a directory, but no cgroup.controllers */
	CHECK(vmp_source_new(&src, &cfg, &err) == -ENOENT && !strcmp(err.path, cg) &&
		      strstr(err.msg, "no cgroup.controllers"),
	      "v2 source on a non-cgroup directory: err says why (%s: %s)", err.path, err.msg);
	CHECK(vmp_source_new(&src, &cfg, NULL) == -ENOENT, "the same without err");
	cleanup();
}

/* The machine source: global reclaim in /proc/vmstat reaches "/". */
static void machine(void)
{
	fixture();
	vmp_source *src = new_src(VMP_SOURCE_MACHINE);
	struct got g = {0};
	vmp_sub *s;
	CHECK(vmp_source_subscribe(src, "a", "low", on_ev, &g, &s) == -ENOTSUP, "machine: only /");
	REQUIRE(vmp_source_subscribe(src, "/", "low", on_ev, &g, &s) == 0, "machine: /");
	pump(src, 150);
	set_vmstat(4096, 4000, 0);
	pump(src, 300);
	CHECK(total(&g) >= 6 && total(&g) <= 9, "8 windows of kswapd scanning (%u)", total(&g));
	CHECK(g.n[0] == total(&g), "efficient reclaim: all low");
	CHECK(strcmp(g.origin, "/") == 0, "origin is the root (%s)", g.origin);
	vmp_source_unsubscribe(src, s);
	vmp_source_free(src);
	cleanup();
}

/* A recording's steps: its `# sample` lines. */
static unsigned rec_steps(const struct check_text *r)
{
	unsigned n = 0;
	for (const char *p = r->p; p && (p = strstr(p, "# sample ")); p++)
		n += p == r->p || p[-1] == '\n';
	return n;
}

/* memory.events changing every 5 ms: the first change of the calm group
 * steps at once, 50 ms after the baseline's step (its baseline may be old,
 * and an OOM is over in milliseconds), and the steps after it keep the
 * busy interval (100 ms) instead of one per change. */
static void pacing(void)
{
	fixture();
	vmp_source *src = new_src_at(VMP_SOURCE_V2, 1000, 100);
	struct check_text r = {0};
	REQUIRE(vmp_source_record(src, check_text_add, &r) == 0, "record");
	struct got g = {0};
	vmp_sub *sub;
	REQUIRE(vmp_source_subscribe(src, "a/b/c", "low", on_ev, &g, &sub) == 0, "sub c");
	pump(src, 150);
	unsigned calm = rec_steps(&r);
	struct counters c = {0};
	unsigned at_first = 0;
	for (int i = 0; i < 80; i++) {
		c.pgscan += 64, c.pgsteal += 32, c.max++;
		set_cg("a/b/c", c);
		pump(src, 5);
		if (i == 0)
			at_first = rec_steps(&r) - calm;
	}
	unsigned steps = rec_steps(&r) - calm;
	/* inotify queues the event with the write: the next dispatch has it */
	CHECK(at_first == 1, "the first change of a calm group stepped at once (%u steps)", at_first);
	/* 80 changes over >= 400 ms: at most one step per 100 ms and the wake */
	CHECK(steps >= 2 && steps <= 7, "steps under pressure keep the busy interval (%u for 80 changes)",
	      steps);
	CHECK(total(&g) > 0, "the windows were still delivered (%u)", total(&g));
	vmp_source_unsubscribe(src, sub);
	vmp_source_free(src);
	free(r.p);
	cleanup();
}

/* An OOM with nothing to reclaim, after the group was calm for longer
 * than the estimator keeps a baseline it does not see (10 s): the first
 * sample that wakes up already holds all of it. The source samples a
 * subscribed group every 5 s while calm, so the delta is there. */
static void calm_then_oom(void)
{
	fixture();
	vmp_source *src = new_src_at(VMP_SOURCE_V2, 1000, 100);
	struct got g = {0};
	vmp_sub *sub;
	REQUIRE(vmp_source_subscribe(src, "a/b/c", "critical", on_ev, &g, &sub) == 0, "sub c");
	pump(src, 10600);
	CHECK(total(&g) == 0, "calm: nothing (%u)", total(&g));
	struct counters c = {.max = 35, .oom = 1, .oom_kill = 1};
	set_cg("a/b/c", c);
	set_cg("a/b", c);
	set_cg("a", c);
	pump(src, 300);
	CHECK(g.n[2] > 0, "an OOM after 10.6 s of calm: critical windows (%u)", g.n[2]);
	vmp_source_unsubscribe(src, sub);
	vmp_source_free(src);
	cleanup();
}

/* /proc/schedstat: the cpu lines' run and wait times; other lines left
 * alone; a cpu line of another shape refuses the file. */
static void schedstat(void)
{
	static const char v17[] = "version 17\ntimestamp 4295\n"
				  "cpu0 0 0 900 400 700 300 1000 200 80\n"
				  "domain0 MC 03 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\n"
				  "cpu1 0 0 900 400 700 300 3000 50 80\n"
				  "domain0 MC 03 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\n";
	unsigned cpus = 0;
	uint64_t ns = 0;
	CHECK(vmp__parse_schedstat(v17, strlen(v17), &cpus, &ns) == 0 && cpus == 2 && ns == 4250,
	      "two cpu lines: 2 CPUs, 1000 + 200 + 3000 + 50 ns (%u, %llu)", cpus, (unsigned long long)ns);
	static const char no_nl[] = "cpu0 0 0 1 1 1 1 7 8 9";
	CHECK(vmp__parse_schedstat(no_nl, strlen(no_nl), &cpus, &ns) == 0 && cpus == 1 && ns == 15,
	      "a last line without its newline");
	static const struct {
		const char *text, *what;
	} bad[] = {
		{"version 17\ntimestamp 1\n", "no cpu line"},
		{"cpu0 0 0 1 1 1 1 7 8\n", "8 numbers"},
		{"cpu0 0 0 1 1 1 1 7x 8 9\n", "not decimal"},
		{"cpu0 0 0 1 1 1 1 99999999999999999999999 8 9\n", "over 64 bits"},
		{"cpu0  0 0 1 1 1 1 7 8 9\n", "an empty field"},
		{"", "an empty file"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(vmp__parse_schedstat(bad[i].text, strlen(bad[i].text), &cpus, &ns) == -EBADMSG,
		      "refused: %s", bad[i].what);
	static const char other[] = "cpufreq 1 2\ncpu0 0 0 1 1 1 1 7 8 9 10 11\n";
	CHECK(vmp__parse_schedstat(other, strlen(other), &cpus, &ns) == 0 && cpus == 1 && ns == 15,
	      "'cpu' lines without a number are not CPUs; extra fields are allowed");
}

int main(void)
{
	mono_at_start = mono_now();
	schedstat();
	attribution();
	errors();
	machine();
	pacing();
	calm_then_oom();
	return check_done("live sources");
}
