/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v2 estimator (src/lib/estimator/estimator.c): origins through a
 * three-level hierarchy, counter resets, vanishing cgroups, the
 * priority-path stand-in, adaptive sampling, and its fidelity on every
 * recorded run under argv[1] (tests/data/v2: the v2 study, and the VM
 * suite's runs in vm/ and vm2/), with the goals as thresholds.
 */
#include "check.h"
#include "v2study.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull
#define SEC 1000000000ull
/* An origin holds back its latest real pages (EST_ONSET_PAGES in
 * estimator.c) for the onset of a failure episode: a burst's windows come
 * HELD pages late. */
#define HELD 128u

/* ---- a context with a/b/c and recording listeners ----------------------- */

struct rec {
	unsigned n;
	unsigned by_level[3];
	char origin[64][16]; /* the first 64 events' origin paths */
};

struct fx {
	vmp_ctx *ctx;
	vmp_group *a, *b, *c, *root;
	struct vmp_est *est;
	struct vmp_est_node *na, *nb, *nc; /* the estimator's for a, b, c */
	struct rec at_a, at_b, at_c, at_root; /* low,local listeners */
	struct rec all;                        /* root low,hierarchy: everything */
	uint64_t now;
};

static void on_event(const struct vmp_event *ev, void *arg)
{
	struct rec *r = arg;
	if (ev->flags & VMP_EVENT_REMOVED)
		return;
	if (r->n < 64)
		snprintf(r->origin[r->n], sizeof(r->origin[0]), "%s", vmp_group_path(ev->origin));
	r->n++;
	r->by_level[ev->level]++;
}

static void fx_init(struct fx *f, vmp_executor ex, const struct vmp_est_config *cfg)
{
	memset(f, 0, sizeof(*f));
	struct vmp_config c;
	vmp_config_init(&c);
	c.executor = ex;
	REQUIRE(vmp_ctx_new(&f->ctx, &c) == 0, "ctx");
	f->root = vmp_ctx_root(f->ctx);
	REQUIRE(vmp_group_new(f->root, "a", &f->a) == 0, "a");
	REQUIRE(vmp_group_new(f->a, "b", &f->b) == 0, "a/b");
	REQUIRE(vmp_group_new(f->b, "c", &f->c) == 0, "a/b/c");
	REQUIRE(vmp_listen_callback(f->a, "low,local", on_event, &f->at_a) == 0, "listen");
	REQUIRE(vmp_listen_callback(f->b, "low,local", on_event, &f->at_b) == 0, "listen");
	REQUIRE(vmp_listen_callback(f->c, "low,local", on_event, &f->at_c) == 0, "listen");
	REQUIRE(vmp_listen_callback(f->root, "low,local", on_event, &f->at_root) == 0, "listen");
	REQUIRE(vmp_listen_callback(f->root, "low,hierarchy", on_event, &f->all) == 0, "listen");
	/* NULL: the defaults without GRACE, so that a failure shows in the
	 * step that has it (test_grace: the defaults, one step later) */
	struct vmp_est_config nograce;
	vmp__est_config_init(&nograce);
	nograce.prio &= ~VMP_EST_PRIO_GRACE;
	REQUIRE(vmp__est_new_config(&f->est, f->ctx, cfg ? cfg : &nograce) == 0, "est");
	REQUIRE(vmp__est_node_new(f->est, NULL, f->a, &f->na) == 0, "node a");
	REQUIRE(vmp__est_node_new(f->est, f->na, f->b, &f->nb) == 0, "node a/b");
	REQUIRE(vmp__est_node_new(f->est, f->nb, f->c, &f->nc) == 0, "node a/b/c");
	f->now = 10 * SEC;
}

static void fx_free(struct fx *f)
{
	vmp__est_free(f->est);
	vmp_ctx_free(f->ctx);
}

static void fx_clear(struct fx *f)
{
	memset(&f->at_a, 0, sizeof(f->at_a));
	memset(&f->at_b, 0, sizeof(f->at_b));
	memset(&f->at_c, 0, sizeof(f->at_c));
	memset(&f->at_root, 0, sizeof(f->at_root));
	memset(&f->all, 0, sizeof(f->all));
}

/* Counters of a, b, c (hierarchical, as v2 reports them). */
struct cg3 {
	struct vmp_est_cgroup a, b, c;
};

static void cg3_init(struct cg3 *s, bool local)
{
	memset(s, 0, sizeof(*s));
	s->a.valid = s->b.valid = s->c.valid = true;
	s->a.have_local = s->b.have_local = s->c.have_local = local;
	/* PSI unknown unless a test sets it */
	s->a.psi_some_avg10 = s->b.psi_some_avg10 = s->c.psi_some_avg10 = -1;
}

/* Reclaim of `scan`/`steal` pages in group x (pages of x's own lruvec),
 * counted hierarchically up to a. */
static void pages(struct cg3 *s, char x, uint64_t scan, uint64_t steal)
{
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	int depth = x - 'a';
	for (int i = 0; i <= depth; i++) {
		chain[i]->pgscan += scan;
		chain[i]->pgsteal += steal;
	}
}

/* `calls` limit reclaim calls driven by x's limit: max in x and above,
 * local max in x only. */
static void limit_hits(struct cg3 *s, char x, uint64_t calls)
{
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	int depth = x - 'a';
	for (int i = 0; i <= depth; i++)
		chain[i]->max += calls;
	chain[depth]->local_max += calls;
}

static void ooms(struct cg3 *s, char x, uint64_t n)
{
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	int depth = x - 'a';
	for (int i = 0; i <= depth; i++)
		chain[i]->oom += n;
	chain[depth]->local_oom += n;
}

static int step3(struct fx *f, const struct cg3 *s, const struct vmp_est_machine *m)
{
	struct vmp_est_node *g[3] = {f->na, f->nb, f->nc};
	struct vmp_est_cgroup c[3] = {s->a, s->b, s->c};
	f->now += 100 * MS;
	return vmp__est_step(f->est, f->now, m, 3, g, c);
}

static bool all_from(const struct rec *r, const char *origin)
{
	for (unsigned i = 0; i < r->n && i < 64; i++)
		if (strcmp(r->origin[i], origin) != 0)
			return false;
	return true;
}

/* ---- the kernel of the running machine ----------------------------------- */

/* Releases as uname(2) gives them; the loops a failed call runs there. */
static void test_kernel_release(void)
{
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	CHECK_EQ_U64(cfg.kernel, 0, "unknown kernel by default");
	CHECK_EQ_U64(cfg.fail_passes, 1, "one loop per failed call by default");
	CHECK(cfg.lru_gen == -1, "lru_gen unknown by default");
	CHECK(vmp__est_config_kernel(&cfg, "6.12.95+deb12-amd64", 7) == 0, "Debian's 6.12");
	CHECK_EQ_U64(cfg.kernel, VMP_EST_KERNEL(6, 12), "6.12");
	CHECK(cfg.lru_gen == 1, "lru_gen 0x0007: on");
	CHECK_EQ_U64(cfg.fail_passes, 1, "the release records; the loops injected stay the default");
	CHECK(vmp__est_config_kernel(&cfg, "6.1.0-57-amd64", 0) == 0, "Debian's 6.1");
	CHECK_EQ_U64(cfg.kernel, VMP_EST_KERNEL(6, 1), "6.1");
	CHECK(cfg.lru_gen == 0, "lru_gen 0: off");
	CHECK(vmp__est_config_kernel(&cfg, "5.10", -1) == 0 && cfg.kernel == VMP_EST_KERNEL(5, 10),
	      "no patch level");
	CHECK(cfg.lru_gen == -1, "lru_gen unknown");
	CHECK(vmp__est_config_kernel(&cfg, "6", 0) == -EINVAL, "no minor: refused");
	CHECK(vmp__est_config_kernel(&cfg, "linux-6.1", 0) == -EINVAL, "not a number: refused");
	CHECK(vmp__est_config_kernel(&cfg, "6.x", 0) == -EINVAL, "no minor number: refused");
	CHECK_EQ_U64(cfg.kernel, VMP_EST_KERNEL(5, 10), "a refused release changes nothing");
	CHECK_EQ_U64(vmp__est_fail_passes(VMP_EST_KERNEL(6, 1)), 1, "6.1: one priority loop");
	CHECK_EQ_U64(vmp__est_fail_passes(VMP_EST_KERNEL(6, 12)), 2, "6.12: two");
	CHECK_EQ_U64(vmp__est_fail_passes(VMP_EST_KERNEL(7, 0)), 2, "later: as the last measured");
	CHECK_EQ_U64(vmp__est_fail_passes(0), 1, "unknown: 6.1's");
}

/* PASSES: a failed call injects 4 windows per priority loop. The OOM of
 * test_standin with two loops: the same 18 + 17 calls, twice the windows. */
static void test_fail_passes(void)
{
	struct fx f;
	struct vmp_est_stats st;
	struct cg3 s;
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	cfg.fail_passes = 2;
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 35);
	ooms(&s, 'b', 1);
	s.a.oom_kill++, s.b.oom_kill++, s.c.oom_kill++;
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 35, "two loops: still 18 + 17 failed calls");
	CHECK_EQ_U64(st.prio_windows, 280, "8 prio windows each (3..0, twice)");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 280, "all critical: nothing was freed");
	CHECK_EQ_U64(f.at_a.n + f.at_c.n, 0, "nowhere else");
	fx_free(&f);

	cfg.fail_passes = 0; /* as 1 */
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 20);
	ooms(&s, 'b', 1);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.prio_windows, 80, "fail_passes 0: one loop, 20 failed calls (the oom's 18 among them) x 4");
	fx_free(&f);
}

/* CROWD: an OOM that killed its charger (35 failed calls, 140 injections)
 * with tasks waiting for the CPUs. From 6.6, with w > 1 tasks waiting per
 * CPU the job runs after a share 1/w^2 of the injections, the first always
 * and the step's leftovers at its end; below, on 6.1, without readings, or
 * when the CPUs changed between them: after every injection. */
static void test_crowd(void)
{
	static const struct {
		unsigned kernel, prio;
		unsigned cpus0, cpus1;   /* the readings before and at the OOM (0: none) */
		double runnable;         /* per CPU over the OOM's interval */
		uint64_t windows;
		const char *what;
	} cases[] = {
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 2, 2, 3.0, 36,
		 "6.12, 2 waiting per CPU: the first, then one per 4 injections"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 2, 2, 5.0, 10,
		 "6.12, 4 waiting: the first, one per 16, and the last 12 at the step's end"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 2, 2, 2.0, 140, "6.12, 1 waiting: every injection"},
		{VMP_EST_KERNEL(6, 1), VMP_EST_PRIO_DEFAULT, 2, 2, 3.0, 140, "6.1 (CFS): every injection"},
		{0, VMP_EST_PRIO_DEFAULT, 2, 2, 3.0, 140, "kernel unknown (6.1's rules): every injection"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT & ~VMP_EST_PRIO_CROWD, 2, 2, 3.0, 140,
		 "without CROWD: every injection"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 0, 2, 3.0, 140, "no reading before: every injection"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 2, 0, 3.0, 140, "no reading at the OOM: every injection"},
		{VMP_EST_KERNEL(6, 12), VMP_EST_PRIO_DEFAULT, 4, 2, 3.0, 140,
		 "a CPU count that changed: every injection"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fx f;
		struct vmp_est_stats st;
		struct cg3 s;
		struct vmp_est_config cfg;
		vmp__est_config_init(&cfg);
		cfg.prio = cases[k].prio;
		cfg.kernel = cases[k].kernel;
		cfg.lru_gen = 0;
		fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
		cg3_init(&s, true);
		struct vmp_est_sched r0 = {cases[k].cpus0, 5000000000u};
		vmp__est_set_sched(f.est, &r0);
		step3(&f, &s, NULL);
		limit_hits(&s, 'b', 35);
		ooms(&s, 'b', 1);
		s.a.oom_kill++, s.b.oom_kill++, s.c.oom_kill++;
		unsigned cpus = cases[k].cpus1;
		struct vmp_est_sched r1 = {
			cpus, r0.runq_ns + (uint64_t)(cases[k].runnable * (double)cpus * 100e6)};
		vmp__est_set_sched(f.est, &r1);
		step3(&f, &s, NULL);
		vmp__est_stats(f.est, &st);
		CHECK_EQ_U64(st.prio_windows, 140, "%s: 140 injections", cases[k].what);
		CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], cases[k].windows, "%s", cases[k].what);
		CHECK_EQ_U64(f.at_b.n, cases[k].windows, "%s: nothing but critical", cases[k].what);
		/* The next step without a reading: every injection again. */
		f.now += 2 * SEC;
		limit_hits(&s, 'b', 10);
		uint64_t before = f.at_b.n;
		step3(&f, &s, NULL);
		step3(&f, &s, NULL); /* GRACE judges a shortfall one interval late */
		CHECK_EQ_U64(f.at_b.n - before, 40, "%s; then, without a reading, 10 failed calls: 40",
			     cases[k].what);
		fx_free(&f);
	}
}

/* MGLRU: the root's global-reclaim windows, kept (the default) or silent
 * as the kernel's own vmpressure there; the priority path is not silent. */
static void test_mglru_root(void)
{
	for (int silent = 0; silent <= 1; silent++) {
		for (int lru = -1; lru <= 1; lru++) {
			struct fx f;
			struct cg3 s;
			struct vmp_est_config cfg;
			vmp__est_config_init(&cfg);
			cfg.lru_gen = lru;
			cfg.mglru_silent_root = silent;
			fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
			cg3_init(&s, true);
			struct vmp_est_machine m = {.valid = true, .psi_some_avg10 = -1};
			step3(&f, &s, &m);
			m.pgscan_kswapd += 10 * 512 + HELD;
			m.pgsteal_kswapd += 10 * 512 + HELD;
			step3(&f, &s, &m);
			bool quiet = silent && lru == 1;
			CHECK_EQ_U64(f.at_root.n, quiet ? 0 : 10,
				     quiet ? "silent MGLRU root: no global-reclaim window"
					   : "root: one window per 512 pages of kswapd");
			m.allocstall += 3; /* three direct reclaim calls, nothing freed */
			m.oom_kill += 1;   /* a global OOM */
			step3(&f, &s, &m);
			CHECK(f.at_root.by_level[VMP_LEVEL_CRITICAL] > 0,
			      "a global OOM: critical at the root, silent or not");
			fx_free(&f);
		}
	}
}

static void lists(struct cg3 *s, uint64_t file_lru, bool swap, uint64_t swapped);

/* ONSET on MGLRU: the held-back pages all meet the first injection. The
 * oom of test_standin (10 calls, 640 pages, an oom: 18 failed calls):
 * one medium window there, not four. */
static void test_mglru_onset(void)
{
	for (int lru = 0; lru <= 1; lru++) {
		struct fx f;
		struct cg3 s;
		struct vmp_est_stats st;
		struct vmp_est_config cfg;
		vmp__est_config_init(&cfg);
		cfg.lru_gen = lru;
		fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
		cg3_init(&s, true);
		step3(&f, &s, NULL);
		limit_hits(&s, 'b', 10);
		pages(&s, 'c', 640, 640);
		ooms(&s, 'b', 1);
		step3(&f, &s, NULL);
		vmp__est_stats(f.est, &st);
		CHECK_EQ_U64(st.prio_windows, 72, "18 failed calls, 4 windows each");
		CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], lru ? 1 : 4,
			     lru ? "MGLRU: the first injection meets the HELD pages, 128/128 + "
				   "512/0: one medium"
				 : "classic LRU: four injections meet a batch each: four medium");
		CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], lru ? 71 : 68, "the rest critical");
		fx_free(&f);
	}
	/* With the file LRU known (a large one: no call went deep), DEPTH_MAX
	 * stands for the onset on the classic LRU: no onset windows; MGLRU
	 * keeps its one. */
	for (int lru = 0; lru <= 1; lru++) {
		struct fx f;
		struct cg3 s;
		struct vmp_est_config cfg;
		vmp__est_config_init(&cfg);
		cfg.lru_gen = lru;
		fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
		cg3_init(&s, true);
		lists(&s, 3000, false, 0);
		step3(&f, &s, NULL);
		limit_hits(&s, 'b', 10);
		pages(&s, 'c', 640, 640);
		ooms(&s, 'b', 1);
		step3(&f, &s, NULL);
		CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], lru ? 1 : 0,
			     lru ? "lists known, MGLRU: the onset's one medium window"
				 : "lists known, classic LRU: DEPTH_MAX in place of the onset, no medium");
		fx_free(&f);
	}
}

/* DEPTH: successful memory.high calls that met their target only below
 * priority 4, from the file LRU (prio.c). b's 10 calls free 800 pages
 * (80 a call, eff 1) against a target of 64: with a file LRU of F pages
 * they inject at 3 when F < 512, at 2 too when F < 256, at 1 when F < 128.
 * Each call's pages meet its first injection (80 + 512 scanned, 80 freed:
 * 86 %, medium); the deeper ones meet nothing (critical). */
static void high_hits(struct cg3 *s, char x, uint64_t calls)
{
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	int depth = x - 'a';
	for (int i = 0; i <= depth; i++)
		chain[i]->high += calls;
	chain[depth]->local_high += calls;
}

static void lists(struct cg3 *s, uint64_t file_lru, bool swap, uint64_t swapped)
{
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	for (int i = 0; i < 3; i++) {
		chain[i]->have_lists = true;
		chain[i]->file_lru = file_lru;
		chain[i]->have_swap = swap;
		chain[i]->swap = swapped;
	}
}

/* b's 10 calls with a file LRU of f0 pages before and f1 after them. */
static void depth_case(const char *what, unsigned prio, int lru_gen, bool have_lists, bool local,
		       uint64_t f0, uint64_t f1, uint64_t swapout, uint64_t want_medium,
		       uint64_t want_critical)
{
	struct fx f;
	struct cg3 s;
	struct vmp_est_stats st;
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	cfg.prio = prio & ~VMP_EST_PRIO_GRACE;
	cfg.lru_gen = lru_gen;
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, local);
	if (have_lists)
		lists(&s, f0, true, 1000);
	step3(&f, &s, NULL);
	high_hits(&s, 'b', 10);
	pages(&s, 'c', 800, 800);
	if (have_lists)
		lists(&s, f1, true, 1000 + swapout);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], want_medium, "%s: medium", what);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], want_critical, "%s: critical", what);
	CHECK_EQ_U64(st.failed_calls, 0, "successful calls: none failed");
	fx_free(&f);
}

static void test_depth(void)
{
	const unsigned high = VMP_EST_PRIO_DEFAULT | VMP_EST_PRIO_HIGH;
	depth_case("file LRU 300: priority 3", high, 0, true, true, 300, 300, 0, 10, 0);
	depth_case("file LRU 300, events derived from the hierarchy", high, 0, true, false, 300, 300, 0, 10, 0);
	depth_case("file LRU 200: priorities 3 and 2", high, 0, true, true, 200, 200, 0, 10, 10);
	depth_case("file LRU 100: priorities 3, 2 and 1", high, 0, true, true, 100, 100, 0, 10, 20);
	depth_case("file LRU 3000: met above priority 4", high, 0, true, true, 3000, 3000, 0, 0, 0);
	depth_case("swap-out most of the pages (500 of 800)", high, 0, true, true, 300, 300, 500, 0, 0);
	depth_case("swap-out a few pages (100 of 800)", high, 0, true, true, 300, 300, 100, 10, 0);
	depth_case("MGLRU: no shares per priority", high, 1, true, true, 300, 300, 0, 0, 0);
	depth_case("lists unknown", high, 0, false, true, 300, 300, 0, 0, 0);
	depth_case("HIGH off", VMP_EST_PRIO_DEFAULT & ~VMP_EST_PRIO_HIGH, 0, true, true, 300, 300, 0, 0, 0);
	/* memory.max calls are DEPTH_MAX's, not HIGH's */
	struct fx f;
	struct cg3 s;
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	for (int k = 0; k < 2; k++) {
		cfg.prio = (VMP_EST_PRIO_DEFAULT & ~(VMP_EST_PRIO_GRACE | VMP_EST_PRIO_ONSET |
						     VMP_EST_PRIO_DEPTH_MAX)) |
			   (k ? VMP_EST_PRIO_DEPTH_MAX : VMP_EST_PRIO_HIGH);
		cfg.lru_gen = 0;
		fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
		cg3_init(&s, true);
		lists(&s, 200, false, 0);
		step3(&f, &s, NULL);
		limit_hits(&s, 'b', 10);
		pages(&s, 'c', 400, 400); /* 40 a call against 32: F 200 < 256 */
		step3(&f, &s, NULL);
		CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], k ? 10 : 0,
			     k ? "DEPTH_MAX: memory.max calls at priority 3, medium"
			       : "HIGH: memory.max calls are not its own");
		fx_free(&f);
	}
	/* A list that shrinks over the interval: each call sees its share of
	 * the way. 500 to 0 pages, 10 calls: 475, 425, ... 25, so all go to
	 * priority 3 (medium), 225 and 175 also to 2, 125 and 75 to 1, 25 to
	 * 0: 1 + 1 + 2 + 2 + 3 critical. */
	depth_case("a shrinking list: the later calls deeper", high, 0, true, true, 500, 0, 0, 10, 9);
	/* A list that grew (page cache read in until the group reached its
	 * limit): the calls come at the limit and see what it grew to. 0 to
	 * 300: priority 3 each, nothing deeper. */
	depth_case("a growing list: the calls see its end", high, 0, true, true, 0, 300, 0, 10, 0);
}

/* SWEEP's fixture: a/b/c with an anonymous LRU of anon pages (unknown if
 * 0), no page cache, baselined. */
static void sweep_fx(struct fx *f, struct cg3 *s, unsigned prio, int lru_gen, uint64_t anon)
{
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	cfg.prio = prio;
	cfg.lru_gen = lru_gen;
	fx_init(f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(s, true);
	lists(s, 0, true, 0);
	struct vmp_est_cgroup *chain[3] = {&s->a, &s->b, &s->c};
	for (int i = 0; i < 3; i++)
		chain[i]->have_anon = anon != 0, chain[i]->anon_lru = anon;
	step3(f, s, NULL);
}

/* SWEEP: b's memory.high calls in one interval, scan/steal pages in all,
 * the freed pages swapped out. */
static void sweep_case(const char *what, unsigned prio, int lru_gen, uint64_t anon, uint64_t calls,
		       uint64_t scan, uint64_t steal, bool oom, uint64_t want_medium,
		       uint64_t want_critical)
{
	struct fx f;
	struct cg3 s;
	sweep_fx(&f, &s, prio, lru_gen, anon);
	high_hits(&s, 'b', calls);
	pages(&s, 'c', scan, steal);
	if (oom)
		ooms(&s, 'b', 1);
	lists(&s, 0, true, steal);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], want_medium, "%s: medium", what);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], want_critical, "%s: critical", what);
	fx_free(&f);
}

/* SWEEP across two samples, a 6000-page anonymous LRU: b's first call has
 * scanned `scan0` pages and freed `steal0` when the first interval ends
 * (its one call); in the next, it ends and `calls` more free `steal` of
 * `scan`. */
static void sweep_straddle_case(const char *what, unsigned prio, uint64_t scan0, uint64_t steal0,
				uint64_t calls, uint64_t scan, uint64_t steal, uint64_t want_medium,
				uint64_t want_critical)
{
	struct fx f;
	struct cg3 s;
	sweep_fx(&f, &s, prio, -1, 6000);
	high_hits(&s, 'b', 1);
	pages(&s, 'c', scan0, steal0);
	step3(&f, &s, NULL);
	uint64_t med0 = f.at_b.by_level[VMP_LEVEL_MEDIUM], crit0 = f.at_b.by_level[VMP_LEVEL_CRITICAL];
	high_hits(&s, 'b', calls);
	pages(&s, 'c', scan, steal);
	lists(&s, 0, true, steal);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM] - med0, want_medium,
		     "%s: medium in the second interval", what);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL] - crit0, want_critical,
		     "%s: critical in the second interval", what);
	fx_free(&f);
}

static void test_sweep(void)
{
	const unsigned def = VMP_EST_PRIO_DEFAULT;
	/* 9 calls freed 1000 pages and left 6000 of an anonymous LRU of 6000
	 * unfreed: one call swept it. Its 4 injections, then its 6000 pages
	 * as one window (one vmpressure() call at priority 0), all critical:
	 * 5, where 512-page pieces would give 15; the other calls' 1000 freed
	 * pages make one window behind the held-back 128 (all freed: low).
	 * At the interval's ratio (14 % freed) all 13 windows would be
	 * medium. */
	sweep_case("a sweep of the whole list", def, 0, 6000, 9, 7000, 1000, false, 0, 5);
	sweep_case("SWEEP off", def & ~VMP_EST_PRIO_SWEEP, 0, 6000, 9, 7000, 1000, false, 13, 0);
	sweep_case("MGLRU: its first call ages, no sweep", def, 1, 6000, 9, 7000, 1000, false, 13, 0);
	sweep_case("the anonymous LRU unknown", def, 0, 0, 9, 7000, 1000, false, 13, 0);
	/* 6000 unfreed of a list of 20000: rotation over many calls, as
	 * likely as one sweep; the interval's ratio stands */
	sweep_case("under half of the lists", def, 0, 20000, 9, 7000, 1000, false, 13, 0);
	/* an OOM's failed calls are OOM's and DEFICIT's, not a sweep */
	sweep_case("an OOM in the interval", def & ~VMP_EST_PRIO_OOM, 0, 6000, 9, 7000, 1000, true, 13, 0);
	/* 800 pages scanned and none freed at the first sample; 5200 more
	 * unfreed and 9 calls' 1000 freed in the next: the sweep's rest, 6000
	 * of the 6000-page list in all, is one window (critical), and the
	 * freed pages after it are low. The first interval injected nothing:
	 * one call short of its 32 pages is within DEFICIT's in-flight
	 * tolerance (docs/estimator.md, "What the first interval of a
	 * straddle injects"). */
	sweep_straddle_case("a sweep across two samples", def, 800, 0, 9, 6200, 1000, 0, 1);
	/* without SWEEP the second interval's windows are at its ratio (16 %
	 * freed): medium */
	sweep_straddle_case("across two samples, SWEEP off", def & ~VMP_EST_PRIO_SWEEP, 800, 0, 9,
			    6200, 1000, 12, 0);
	/* the first interval freed pages: no call still sweeping at its end,
	 * and the next interval's windows stand at its ratio: medium, none
	 * critical */
	sweep_straddle_case("the first interval freed pages", def, 800, 100, 9, 6200, 1000, 11, 0);
}

/* OWNSTALL: b's 40 calls keep 381 of 857 scanned pages (short of their
 * 32 a call), c's 2 calls beside them free all they scan. b's stall beyond
 * c's (PSI is hierarchical) is `own` us of the 100 ms interval. */
static unsigned ownstall_case(unsigned prio, uint64_t own)
{
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	cfg.prio = prio;
	struct fx f;
	struct cg3 s;
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	s.a.psi_some_avg10 = s.b.psi_some_avg10 = s.c.psi_some_avg10 = 0.5;
	s.a.psi_some_total = s.b.psi_some_total = s.c.psi_some_total = 1000;
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 40);
	pages(&s, 'b', 600, 100);
	limit_hits(&s, 'c', 2);
	pages(&s, 'c', 300, 300);
	s.c.psi_some_total += 30000;
	s.a.psi_some_total += 30000 + own;
	s.b.psi_some_total += 30000 + own;
	step3(&f, &s, NULL);
	unsigned mc = f.at_b.by_level[VMP_LEVEL_MEDIUM] + f.at_b.by_level[VMP_LEVEL_CRITICAL];
	fx_free(&f);
	return mc;
}

static void test_ownstall(void)
{
	const unsigned base = VMP_EST_PRIO_DEFICIT, own = base | VMP_EST_PRIO_OWNSTALL;
	CHECK(ownstall_case(own, 500) == 0,
	      "OWNSTALL: b stalled only within c's stall (0.5 %% beyond it): no failed call at b");
	CHECK(ownstall_case(own, 20000) > 0,
	      "OWNSTALL: b's own tasks stalled (20 %% beyond c's): b's calls failed");
	CHECK(ownstall_case(base, 500) > 0, "without OWNSTALL any stall at b counts: b's calls failed");
	CHECK((VMP_EST_PRIO_DEFAULT & VMP_EST_PRIO_OWNSTALL) != 0, "OWNSTALL is in the defaults");
}

/* GRACE (the defaults): an interval is judged one interval late, with the
 * pages of the next one its shortfall needs and the next can spare. */
static void test_grace(void)
{
	struct fx f;
	struct cg3 s;
	struct vmp_est_stats st;
	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	CHECK(cfg.prio & VMP_EST_PRIO_GRACE, "GRACE is a default");

	/* Streaming siblings on 2 vCPUs (6.1-v2, siblings, sb/b): 19 calls
	 * and 462 pages, then 47 calls and 2310 pages. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 19);
	pages(&s, 'b', 462, 462);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "a shortfall is held, not yet a failure");
	limit_hits(&s, 'b', 47);
	pages(&s, 'b', 2310, 2310);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "... and the next interval repays it: no failure");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM] + f.at_b.by_level[VMP_LEVEL_CRITICAL], 0,
		     "low only");
	limit_hits(&s, 'b', 10);
	pages(&s, 'b', 400, 400);
	step3(&f, &s, NULL);
	step3(&f, &s, NULL); /* calm: the held interval is judged */
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "a healthy interval judged when the group calms down");
	fx_free(&f);

	/* The same shortfall without grace: failures at once. */
	struct vmp_est_config ng = cfg;
	ng.prio &= ~VMP_EST_PRIO_GRACE;
	fx_init(&f, VMP_EXECUTOR_MANUAL, &ng);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 19);
	pages(&s, 'b', 462, 462);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK(st.failed_calls >= 4, "without grace the straddle is taken for %llu failed calls",
	      (unsigned long long)st.failed_calls);
	fx_free(&f);

	/* A real failure is not repaid: found one interval late. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 20);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "20 calls, 0 pages: held");
	limit_hits(&s, 'b', 20);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 20, "the next interval has nothing to spare: 20 failed");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 80, "80 critical windows at b");
	step3(&f, &s, NULL); /* the group stops: the held interval is judged */
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 40, "judged at the next delta, even without an event");
	fx_free(&f);

	/* An oom event judges the held interval and its own at once. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 10);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 10);
	ooms(&s, 'b', 1);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 20, "held 10 + 10 with the oom: 20, the oom's 18 among them");
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 20, "nothing left held after the oom");
	fx_free(&f);
}

/* ---- origins through three levels ------------------------------------- */

static void test_origins(bool local)
{
	const char *how = local ? "events.local" : "derived local events";
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, local);
	struct vmp_est_machine m = {.valid = true, .psi_some_avg10 = -1};
	REQUIRE(step3(&f, &s, &m) == 0, "baseline");
	CHECK_EQ_U64(f.all.n, 0, "%s: a baseline makes no window", how);

	/* (1) c's limit: 2048 pages scanned in c, all stolen (and the HELD
	 * latest, held back). */
	limit_hits(&s, 'c', 64);
	pages(&s, 'c', 2048 + HELD, 2048 + HELD);
	REQUIRE(step3(&f, &s, &m) == 0, "step");
	CHECK_EQ_U64(f.at_c.n, 4, "%s: child limit: 2048 pages are 4 windows at c", how);
	CHECK_EQ_U64(f.at_b.n + f.at_a.n + f.at_root.n, 0, "%s: child limit: none elsewhere", how);
	CHECK(all_from(&f.all, "a/b/c") && f.all.n == 4, "%s: child limit: origin a/b/c", how);
	CHECK_EQ_U64(f.at_c.by_level[VMP_LEVEL_LOW], 4, "%s: all stolen: low", how);
	fx_clear(&f);

	/* (2) b's limit: it scans b's own pages and c's (its subtree). */
	limit_hits(&s, 'b', 40);
	pages(&s, 'b', 1024 + HELD, 1024 + HELD);
	pages(&s, 'c', 512, 512);
	REQUIRE(step3(&f, &s, &m) == 0, "step");
	CHECK_EQ_U64(f.at_b.n, 3, "%s: middle limit: its subtree's 1536 pages at b", how);
	CHECK_EQ_U64(f.at_c.n + f.at_a.n + f.at_root.n, 0,
		     "%s: middle limit: never reported down to c (R-28)", how);
	fx_clear(&f);

	/* (3) global reclaim: kswapd scans pages of every group; no limit. */
	m.pgscan_kswapd += 3072 + HELD;
	m.pgsteal_kswapd += 3072 + HELD;
	pages(&s, 'a', 1024, 1024);
	pages(&s, 'b', 1024, 1024);
	pages(&s, 'c', 1024, 1024);
	REQUIRE(step3(&f, &s, &m) == 0, "step");
	CHECK_EQ_U64(f.at_root.n, 6, "%s: global reclaim: 3072 pages at the root", how);
	CHECK_EQ_U64(f.at_a.n + f.at_b.n + f.at_c.n, 0, "%s: global reclaim: no memcg origin", how);
	fx_clear(&f);

	/* (4) c's and a's limits in one interval, with b in between: a's
	 * reclaim scans its whole subtree, c's included, so c's pgscan has
	 * pages of both; they share the pages by calls (about 51 a call
	 * here: c's 20 calls 1024 pages in c; a's 60 calls 512 in c, 1024 in
	 * b, 1536 in a). b is no origin. */
	struct vmp_est_stats st;
	limit_hits(&s, 'c', 20);
	limit_hits(&s, 'a', 60);
	pages(&s, 'c', 1536, 1536);
	pages(&s, 'b', 1024, 1024);
	pages(&s, 'a', 1536, 1536);
	REQUIRE(step3(&f, &s, &m) == 0, "step");
	CHECK_EQ_U64(f.at_c.n, 2, "%s: nested origins: c claims its 20 calls' share, 1024", how);
	CHECK_EQ_U64(f.at_a.n, 5,
		     "%s: nested origins: a keeps the rest, 3072 (its first: HELD stay back)", how);
	CHECK_EQ_U64(f.at_a.by_level[VMP_LEVEL_LOW] + f.at_c.by_level[VMP_LEVEL_LOW], 7,
		     "%s: all low", how);
	CHECK_EQ_U64(f.at_b.n, 0, "%s: nested origins: b is no origin", how);
	fx_clear(&f);

	/* (5) The VM suite's `nested` workload, one interval: c against its
	 * own limit (15 calls, 855 pages of c), a against its limit (54
	 * calls: 1321 pages of c, 1518 of b). Taking a's subtree minus c's
	 * would leave a 1518 pages for 54 calls: 210 short of 32 a call,
	 * failed calls, critical windows that the kernel never sent. */
	limit_hits(&s, 'c', 15);
	limit_hits(&s, 'a', 54);
	pages(&s, 'c', 855 + 1321, 855 + 1321);
	pages(&s, 'b', 1518, 1518);
	REQUIRE(step3(&f, &s, &m) == 0, "step");
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "%s: parent and child origins: no failed call", how);
	CHECK_EQ_U64(f.at_a.by_level[VMP_LEVEL_LOW], f.at_a.n,
		     "%s: a: low windows only (%u)", how, f.at_a.n);
	CHECK(f.at_a.n >= 5 && f.at_c.n <= 2, "%s: a gets most of the pages (a %u, c %u windows)",
	      how, f.at_a.n, f.at_c.n);
	fx_free(&f);
}

/* The step's own tree follows the nodes: with b not sampled, c's nearest
 * ancestor in the step is a, and a's own events are its counters less c's. */
static void test_set_tree(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, false);
	struct vmp_est_node *ac[2] = {f.na, f.nc};
	struct vmp_est_cgroup c2[2] = {s.a, s.c};
	f.now += 100 * MS;
	REQUIRE(vmp__est_step(f.est, f.now, NULL, 2, ac, c2) == 0, "baseline of a and c");
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024 + HELD, 1024 + HELD);
	c2[0] = s.a;
	c2[1] = s.c;
	f.now += 100 * MS;
	REQUIRE(vmp__est_step(f.est, f.now, NULL, 2, ac, c2) == 0, "a and c, b not sampled");
	CHECK_EQ_U64(f.at_c.n, 2, "c's limit: its 1024 pages at c");
	CHECK_EQ_U64(f.at_a.n + f.at_b.n, 0, "a's own events less c's (its child in the step): no origin");
	CHECK(all_from(&f.all, "a/b/c") && f.all.n == 2, "every window from a/b/c");
	fx_free(&f);
}

/* Residues carry over; a delta is split into windows at its ratio. */
static void test_windows(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, true);
	REQUIRE(step3(&f, &s, NULL) == 0, "baseline");
	limit_hits(&s, 'c', 9);
	pages(&s, 'c', 300, 300);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 0, "300 pages: below a window, kept");
	limit_hits(&s, 'c', 9);
	pages(&s, 'c', 300 + HELD, 300 + HELD);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 1, "300 more: one window (the kernel's residue carries)");
	fx_clear(&f);
	/* 5000 pages in one interval: the kernel evaluated ~9 windows, not one
	 * of 5000. 88 left, the HELD pages held back, then 5000: 9
	 * windows, 480 left, the latest HELD held back. */
	limit_hits(&s, 'c', 30);
	pages(&s, 'c', 5000, 1000);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 9, "5000 pages: 9 windows of 512");
	/* (88 + 128 + 296 scanned, 88 + 128 + 59 stolen): low, then 512/~102
	 * each: medium. */
	CHECK_EQ_U64(f.at_c.by_level[VMP_LEVEL_MEDIUM], 8, "at the interval's ratio: medium");
	struct vmp_est_stats st;
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.scanned, 5728 - HELD, "every scanned page fed once, the latest HELD held");
	CHECK_EQ_U64(st.reclaimed, 1728 - 26, "every stolen page fed once (HELD at 1/5 held)");
	fx_free(&f);
}

/* The thread executor: each piece still evaluates on its own. */
static void test_thread_executor(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_THREAD, NULL);
	struct cg3 s;
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 300);
	pages(&s, 'c', 51200 + HELD, 51200 + HELD);
	step3(&f, &s, NULL);
	vmp_ctx_flush(f.ctx);
	CHECK_EQ_U64(f.at_b.n, 100, "thread executor: 100 windows, none coalesced");
	fx_free(&f);
}

/* ---- resets and vanishing cgroups --------------------------------------- */

static void test_resets(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, true);
	limit_hits(&s, 'c', 1000000);
	pages(&s, 'c', 1000000000, 900000000);
	step3(&f, &s, NULL);
	/* c is recreated under the same name: its counters start again, its
	 * ancestors' keep growing. */
	struct cg3 t = s;
	t.c.pgscan = 100;
	t.c.pgsteal = 100;
	t.c.max = t.c.local_max = 1;
	limit_hits(&t, 'c', 0);
	step3(&f, &t, NULL);
	CHECK_EQ_U64(f.all.n, 0, "a counter went back: no window, certainly no huge one");
	struct vmp_est_stats st;
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.resets, 1, "counted as a reset");
	limit_hits(&t, 'c', 20);
	pages(&t, 'c', 1024 + HELD, 1024 + HELD);
	step3(&f, &t, NULL);
	CHECK_EQ_U64(f.at_c.n, 2, "the next delta starts from the new baseline");
	CHECK(all_from(&f.all, "a/b/c"), "and keeps its origin");
	fx_free(&f);

	/* The engine group replaced (destroyed and created again). */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	REQUIRE(vmp__est_node_free(f.nc) == 0, "its node goes first");
	REQUIRE(vmp_group_destroy(f.c) == 0, "destroy");
	REQUIRE(vmp_group_new(f.b, "c", &f.c) == 0, "recreate");
	REQUIRE(vmp__est_node_new(f.est, f.nb, f.c, &f.nc) == 0, "and a new node");
	REQUIRE(vmp_listen_callback(f.c, "low,local", on_event, &f.at_c) == 0, "listen");
	limit_hits(&s, 'c', 200);
	pages(&s, 'c', 8192, 8192);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 0, "a replaced engine group starts from a baseline");
	fx_free(&f);
}

static void test_vanish(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024 + HELD, 1024 + HELD);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 2, "before: 2 windows at c");
	fx_clear(&f);

	/* c unreadable for one sample (its counters moved meanwhile). */
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024, 1024);
	struct cg3 gone = s;
	gone.c.valid = false;
	memset(&gone.c.pgscan, 0xff, sizeof(gone.c.pgscan)); /* garbage: ignored */
	REQUIRE(step3(&f, &gone, NULL) == 0, "step with c invalid");
	CHECK_EQ_U64(f.at_c.n, 0, "invalid: skipped");
	CHECK_EQ_U64(f.at_a.n + f.at_b.n, 0, "its events are not pinned on a or b");
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024, 1024);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 0, "back: a new baseline first (what happened meanwhile is lost)");
	CHECK_EQ_U64(f.at_a.n + f.at_b.n, 0, "nor pinned on a or b then");
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024, 1024);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 2, "then deltas again");
	struct vmp_est_stats st;
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.skipped, 1, "one invalid snapshot skipped");
	fx_clear(&f);

	/* Missing from a step (the glue samples only busy cgroups): the
	 * baseline stays, the delta on return covers the gap. */
	struct vmp_est_node *g2[2] = {f.na, f.nb};
	struct vmp_est_cgroup c2[2] = {s.a, s.b};
	f.now += 100 * MS;
	REQUIRE(vmp__est_step(f.est, f.now, NULL, 2, g2, c2) == 0, "step without c");
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024, 1024);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 2, "absent for a step: the delta covers the gap");
	fx_clear(&f);
	/* ... but not forever. */
	f.now += 11 * SEC;
	REQUIRE(vmp__est_step(f.est, f.now, NULL, 2, g2, c2) == 0, "step without c");
	f.now += 11 * SEC;
	REQUIRE(vmp__est_step(f.est, f.now, NULL, 2, g2, c2) == 0, "step without c");
	limit_hits(&s, 'c', 20);
	pages(&s, 'c', 1024, 1024);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_c.n, 0, "absent for 22 s: forgotten, a new baseline");
	fx_free(&f);
}

/* Parent read before child: the child's events show first. */
static void test_skew(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, false);
	step3(&f, &s, NULL);
	limit_hits(&s, 'c', 10);
	pages(&s, 'c', 1024 + HELD, 1024 + HELD);
	struct cg3 t = s;
	t.a.max -= 4; /* a and b read 4 calls earlier */
	t.b.max -= 4;
	step3(&f, &t, NULL);
	CHECK_EQ_U64(f.at_c.n, 2, "skew: c's windows");
	limit_hits(&s, 'c', 10);
	pages(&s, 'c', 1024, 1024);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_a.n + f.at_b.n, 0, "skew: a and b never become origins");
	CHECK_EQ_U64(f.at_c.n, 4, "skew: c keeps its windows");
	fx_free(&f);
}

/* ---- the priority-path stand-in ----------------------------------------- */

static void test_standin(void)
{
	struct fx f;
	struct vmp_est_stats st;
	struct cg3 s;

	/* An oom event, reclaim otherwise healthy: at least 18 calls failed
	 * (the first, one after draining the stocks, 16 retries). */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 10);
	pages(&s, 'c', 640, 640);
	ooms(&s, 'b', 1);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 18, "oom: 18 failed calls (MAX_RECLAIM_RETRIES + 2)");
	CHECK_EQ_U64(st.prio_windows, 72, "4 prio windows each (priorities 3..0)");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 68,
		     "critical, at the oom's origin, ...");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], 4,
		     "... but the onset: the first 4 meet a batch of the HELD pages each, "
		     "32/32 + 512/0: medium (R-9a)");
	CHECK_EQ_U64(f.at_b.n, 73, "after the interval's real window");
	CHECK_EQ_U64(f.at_a.n + f.at_c.n, 0, "nowhere else");
	fx_free(&f);

	/* An OOM that killed: the charge starts over, and when the charging
	 * task was the victim 17 more calls free nothing. KILLSEEN (default):
	 * only as many as the interval's calls beyond the 18 before the OOM;
	 * those seen later are failures then. Without it the 17 are injected
	 * ahead, and those seen later are not new. */
	static const struct {
		unsigned prio;
		uint64_t at_oom, later, first, total;
		const char *what;
	} kill[] = {
		{VMP_EST_PRIO_DEFAULT, 35, 0, 35, 35, "the charger was the victim: 18 + 17"},
		{VMP_EST_PRIO_DEFAULT, 22, 0, 22, 22, "another victim's memory let the charge through: 18 + 4"},
		{VMP_EST_PRIO_DEFAULT, 20, 14, 20, 34, "the retries after the kill come after the sample"},
		{VMP_EST_PRIO_DEFAULT & ~VMP_EST_PRIO_KILLSEEN, 22, 0, 35, 35, "without KILLSEEN: 18 + 17"},
		{VMP_EST_PRIO_DEFAULT & ~VMP_EST_PRIO_KILLSEEN, 20, 14, 35, 35,
		 "without KILLSEEN: the retries seen after the kill are not new"},
	};
	for (size_t k = 0; k < sizeof(kill) / sizeof(kill[0]); k++) {
		struct vmp_est_config cfg;
		vmp__est_config_init(&cfg);
		cfg.prio = kill[k].prio;
		fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
		cg3_init(&s, true);
		step3(&f, &s, NULL);
		limit_hits(&s, 'b', (unsigned)kill[k].at_oom);
		ooms(&s, 'b', 1);
		s.a.oom_kill++, s.b.oom_kill++, s.c.oom_kill++; /* the victim was in c */
		step3(&f, &s, NULL);
		vmp__est_stats(f.est, &st);
		CHECK_EQ_U64(st.failed_calls, kill[k].first, "%s (at the OOM)", kill[k].what);
		limit_hits(&s, 'b', (unsigned)kill[k].later);
		step3(&f, &s, NULL);
		step3(&f, &s, NULL); /* GRACE judges a shortfall one interval late */
		vmp__est_stats(f.est, &st);
		CHECK_EQ_U64(st.failed_calls, kill[k].total, "%s (in all)", kill[k].what);
		f.now += 2 * SEC;
		limit_hits(&s, 'b', 10); /* later: new failures */
		step3(&f, &s, NULL);
		step3(&f, &s, NULL);
		vmp__est_stats(f.est, &st);
		CHECK_EQ_U64(st.failed_calls, kill[k].total + 10, "%s; a second later, failures are new again",
			     kill[k].what);
		fx_free(&f);
	}

	/* Reclaim calls freeing nothing (with stall), then the oom: the
	 * failures seen explain the oom, none are added twice. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	s.b.psi_some_avg10 = 0;
	s.b.psi_some_total = 1000;
	step3(&f, &s, NULL);
	for (int k = 0; k < 4; k++) { /* healthy: 34 pages per call */
		limit_hits(&s, 'b', 60);
		pages(&s, 'c', 2040, 2040);
		s.b.psi_some_total += 40000;
		step3(&f, &s, NULL);
	}
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "healthy reclaim: no failure");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM] + f.at_b.by_level[VMP_LEVEL_CRITICAL], 0,
		     "healthy reclaim: low only");
	limit_hits(&s, 'b', 25);
	s.b.psi_some_total += 40000;
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 25, "25 calls, 0 pages: 25 failed");
	CHECK_EQ_U64(st.prio_windows, 100, "100 prio windows:");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 96, "critical but for the onset:");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_LOW] + f.at_b.by_level[VMP_LEVEL_MEDIUM], 15 + 4,
		     "the first meets the residue, 352/352 + 32/32 + 512/0 (low, R-9a), three "
		     "more a batch each, 32/32 + 512/0 (medium)");
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], 3, "(three medium)");
	ooms(&s, 'b', 1);
	s.b.psi_some_total += 40000;
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 25, "the oom is explained by the failures seen");
	fx_free(&f);

	/* The onset needs real pages freed just before: failures after
	 * nothing was freed (anonymous memory without swap) are critical from
	 * the first (the kernel's anonoom), and so are those after pages freed
	 * long ago; a second burst within a second is the same episode. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 20);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 80, "nothing freed: all critical");
	fx_free(&f);
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 20);
	pages(&s, 'c', 1024 + HELD, 1024 + HELD);
	step3(&f, &s, NULL);
	f.now += 2 * SEC;
	limit_hits(&s, 'b', 5);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_CRITICAL], 20, "pages freed 2 s before: all critical");
	fx_clear(&f);
	pages(&s, 'c', 1024, 1024);
	limit_hits(&s, 'b', 32);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 5);
	step3(&f, &s, NULL);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM] + f.at_b.by_level[VMP_LEVEL_CRITICAL], 20,
		     "within the episode: no new onset (%u medium)", f.at_b.by_level[VMP_LEVEL_MEDIUM]);
	CHECK_EQ_U64(f.at_b.by_level[VMP_LEVEL_MEDIUM], 0, "no medium");
	fx_free(&f);

	/* Mixed interval: the bound, then the learned pages per call. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	for (int k = 0; k < 8; k++) { /* healthy: 40 pages per call */
		limit_hits(&s, 'b', 50);
		pages(&s, 'c', 2000, 2000);
		step3(&f, &s, NULL);
	}
	limit_hits(&s, 'b', 60); /* 30 succeed at 40 pages, 30 fail */
	pages(&s, 'c', 1200, 1200);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK(st.failed_calls >= 27 && st.failed_calls <= 30,
	      "30 of 60 calls failed: estimated %llu (bound alone: 22)",
	      (unsigned long long)st.failed_calls);
	fx_free(&f);

	struct vmp_est_config cfg;
	vmp__est_config_init(&cfg);
	cfg.prio = VMP_EST_PRIO_DEFICIT;
	fx_init(&f, VMP_EXECUTOR_MANUAL, &cfg);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 60);
	pages(&s, 'c', 1200, 1200);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 22, "the bound alone: ceil((1920 - 1200 - 32) / 32)");
	fx_free(&f);

	/* No false alarm from an event counted before its pages. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 16);
	pages(&s, 'c', 510, 510); /* the 16th call's pages come later */
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 66);
	pages(&s, 'c', 2278, 2278);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "a call straddling a sample is no failure");
	fx_free(&f);

	/* Forced (atomic) charges raise max without reclaim and without stall. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	s.b.psi_some_avg10 = 0.5;
	s.b.psi_some_total = 123456;
	step3(&f, &s, NULL);
	limit_hits(&s, 'b', 500);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 0, "max events without any stall: no failed reclaim");
	s.b.psi_some_total += 20000;
	limit_hits(&s, 'b', 10);
	step3(&f, &s, NULL);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 10, "with stall they are failures");
	fx_free(&f);

	/* Global: allocstall is the root's reclaim calls, vmstat oom_kill
	 * without a memcg oom_kill a global OOM. */
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	cg3_init(&s, true);
	struct vmp_est_machine m = {.valid = true, .psi_some_avg10 = -1};
	step3(&f, &s, &m);
	m.allocstall += 10;
	m.pgscan_direct += 200;
	m.pgsteal_direct += 0;
	step3(&f, &s, &m);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 10, "global direct reclaim freeing nothing: failures");
	CHECK_EQ_U64(f.at_root.by_level[VMP_LEVEL_CRITICAL], 40, "at the root");
	m.allocstall += 1;
	m.oom_kill += 1;
	step3(&f, &s, &m);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 10 + 1 + 6, "a global OOM: 17 failures in all");
	s.a.oom_kill += 1; /* a memcg kill is no global OOM */
	s.b.oom_kill += 1;
	m.oom_kill += 1;
	m.allocstall += 1;
	m.pgsteal_direct += 64;
	m.pgscan_direct += 64;
	step3(&f, &s, &m);
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(st.failed_calls, 17, "a memcg oom_kill is not a global OOM");
	fx_free(&f);
}

/* ---- adaptive sampling -------------------------------------------------- */

static void test_interval(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, true);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "no delta yet: busy");
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "a baseline only: busy");
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 1000, "calm: idle");
	s.c.psi_some_total += 500; /* 0.5 % of 100 ms */
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 1000, "a trace of stall: idle");
	s.c.psi_some_total += 5000; /* 5 % */
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "stall: busy");
	for (int k = 0; k < 19; k++)
		step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "calm 1.9 s: still busy");
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 1000, "calm 2 s: idle");
	pages(&s, 'a', 32, 32); /* proactive reclaim, say: no origin, still activity */
	step3(&f, &s, NULL);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "scanning anywhere: busy");
	CHECK_EQ_U64(f.all.n, 0, "scanning without an origin makes no window");
	for (int k = 0; k < 20; k++)
		step3(&f, &s, NULL);
	struct vmp_est_machine m = {.valid = true, .psi_some_avg10 = -1};
	step3(&f, &s, &m);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 1000, "idle again");
	m.allocstall++;
	step3(&f, &s, &m);
	CHECK_EQ_U64(vmp__est_next_interval_ms(f.est, 1000, 20), 20, "allocstall: busy");
	fx_free(&f);
}

/* ---- argument checks ---------------------------------------------------- */

static void test_args(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct vmp_est_cgroup c[2] = {{.valid = true}, {.valid = true}};
	struct vmp_est_node *dup[2] = {f.na, f.na};
	struct vmp_est_node *nd = NULL;
	CHECK(vmp__est_step(f.est, 1, NULL, 2, dup, c) == -EINVAL, "a group twice: -EINVAL");
	CHECK(vmp__est_node_new(f.est, NULL, f.root, &nd) == -EINVAL, "the root: -EINVAL");
	CHECK(vmp__est_node_new(f.est, NULL, f.b, &nd) == -EINVAL, "a/b without a's node: -EINVAL");
	CHECK(vmp__est_node_new(f.est, f.nb, f.b, &nd) == -EINVAL, "a/b below itself: -EINVAL");
	CHECK(vmp__est_node_free(f.nb) == -EBUSY, "a node with a node below it: -EBUSY");
	CHECK(vmp__est_node_free(NULL) == 0, "no node: nothing to free");
	struct vmp_est *other;
	REQUIRE(vmp__est_new(&other, f.ctx) == 0, "a second estimator");
	CHECK(vmp__est_step(other, 1, NULL, 1, dup, c) == -EINVAL, "another estimator's node: -EINVAL");
	CHECK(vmp__est_node_new(other, f.na, f.b, &nd) == -EINVAL, "another estimator's parent: -EINVAL");
	vmp__est_free(other);
	CHECK(vmp__est_step(f.est, 1, NULL, 1, NULL, c) == -EINVAL, "no nodes: -EINVAL");
	CHECK(vmp__est_step(f.est, 5, NULL, 1, dup, c) == 0, "ok");
	CHECK(vmp__est_step(f.est, 5, NULL, 1, dup, c) == -EINVAL, "time not moving: -EINVAL");
	CHECK(vmp__est_step(f.est, 6, NULL, 0, NULL, NULL) == 0, "nothing to sample: ok");
	CHECK(vmp__est_new(NULL, f.ctx) == -EINVAL, "NULL out: -EINVAL");
	vmp__est_free(NULL);
	fx_free(&f);
}

/* ---- random walks: resets, gaps, skew; never more pages than happened --- */

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return n ? rnd_state % n : 0;
}

static void test_random(void)
{
	struct fx f;
	fx_init(&f, VMP_EXECUTOR_MANUAL, NULL);
	struct cg3 s;
	cg3_init(&s, false);
	struct vmp_est_machine m = {.valid = true, .psi_some_avg10 = -1};
	uint64_t pages_total = 0, steps_ok = 0;
	for (int k = 0; k < 3000; k++) {
		char x = (char)('a' + rnd(3));
		uint64_t p = rnd(3000), st = rnd(p + 1);
		pages(&s, x, p, st);
		pages_total += p;
		if (rnd(2))
			limit_hits(&s, (char)('a' + rnd(3)), rnd(100));
		if (!rnd(50))
			ooms(&s, x, 1);
		if (!rnd(4)) {
			uint64_t g = rnd(2000);
			m.pgscan_kswapd += g;
			m.pgsteal_kswapd += rnd(g + 1);
			pages_total += g;
		}
		if (!rnd(5))
			m.allocstall += rnd(4);
		s.a.psi_some_total += rnd(20000);
		struct cg3 t = s;
		if (!rnd(40)) { /* b recreated: its counters start over */
			memset(&s.b.pgscan, 0, sizeof(s.b) - offsetof(struct vmp_est_cgroup, pgscan));
			s.b.valid = true;
			t = s;
		}
		if (!rnd(30))
			t.c.valid = false;
		if (!rnd(10)) /* read skew */
			t.a.max = t.a.max > 3 ? t.a.max - 3 : 0;
		struct vmp_est_node *g[3] = {f.na, f.nb, f.nc};
		struct vmp_est_cgroup c[3] = {t.a, t.b, t.c};
		size_t n = rnd(20) ? 3 : 2; /* sometimes c is absent */
		f.now += (1 + rnd(300)) * MS;
		if (vmp__est_step(f.est, f.now, rnd(10) ? &m : NULL, n, g, c) == 0)
			steps_ok++;
	}
	struct vmp_est_stats st;
	vmp__est_stats(f.est, &st);
	CHECK_EQ_U64(steps_ok, 3000, "random walk: every step accepted");
	CHECK(st.scanned <= pages_total, "never more pages fed (%llu) than scanned (%llu)",
	      (unsigned long long)st.scanned, (unsigned long long)pages_total);
	CHECK(st.windows <= pages_total / VMP_WINDOW + 4, "nor more windows than they fill");
	CHECK(st.resets > 0 && st.skipped > 0, "resets (%llu) and skips (%llu) were exercised",
	      (unsigned long long)st.resets, (unsigned long long)st.skipped);
	fx_free(&f);
}

/* ---- fidelity on the recorded runs ------------------------------------- */

/*
 * Every run under the data directory: the v2 study (v2file, v2anon) and the
 * VM suite's runs (vm/: tests/vm, a fresh cgroup tree per workload), each
 * judged per listener and goal as the VM suite does (v2study.h). Every goal
 * the estimator meets is asserted. The ones it is known to miss are listed
 * here with the reason, reported as "# shortfall" and not asserted; one of
 * them met again fails, so that the list stays true.
 */
struct shortfall {
	const char *run;
	const char *listener; /* "group:args"; NULL: every listener of the run */
	enum v2s_goal goal;
	const char *why;
};

static const struct shortfall shortfalls[] = {
	/* The kernel's deferred evaluation did not run during the OOM's
	 * first retry loop (calls that scan nothing, ~130 us each, 2.2 ms in
	 * all): 67 injections coalesced into one window. So it went in
	 * two of four boots (74, 69 critical); in the other two, vm2/anonoom
	 * among them, it ran each time: 140, as here. Counters cannot show
	 * the workqueue's scheduling. */
	{"vm/anonoom", "ao:low", V2S_G_CRITICAL, "kernel 74 (coalesced), vm2: 140"},
	{"vm/anonoom", "ao:medium", V2S_G_CRITICAL, "kernel 74 (coalesced), vm2: 140"},
	{"vm/anonoom", "ao:critical", V2S_G_CRITICAL, "kernel 74 (coalesced), vm2: 140"},
	{"vm/anonoom", "ao:critical,local", V2S_G_CRITICAL, "kernel 74 (coalesced), vm2: 140"},
	{"vm/anonoom", "ao:low,hierarchy", V2S_G_CRITICAL, "kernel 74 (coalesced), vm2: 140"},
	/* kswapd's windows: the job runs ~0.7 ms after the crossing (0.1 ms
	 * for limit reclaim) while kswapd goes on scanning: 681 pages a window
	 * on average, 144 windows where 512-page windows make 191. */
	{"vm/global", "/:low", V2S_G_LOW, "kswapd's windows run long (681 pages)"},
	{"vm/global", "/:low,local", V2S_G_LOW, "kswapd's windows run long (681 pages)"},
	{NULL, NULL, V2S_G_LEVELS, NULL},
};
#define NSHORT (sizeof(shortfalls) / sizeof(shortfalls[0]) - 1)

static int known_shortfall(const char *run, const char *listener, enum v2s_goal g)
{
	for (size_t i = 0; i < NSHORT; i++)
		if (!strcmp(shortfalls[i].run, run) && shortfalls[i].goal == g &&
		    (!shortfalls[i].listener || !strcmp(shortfalls[i].listener, listener)))
			return (int)i;
	return -1;
}

static void lres_str(const struct v2s_lres *l, char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu/%llu/%llu, first M %.3f C %.3f",
		 (unsigned long long)l->by_level[0], (unsigned long long)l->by_level[1],
		 (unsigned long long)l->by_level[2], l->first[1], l->first[2]);
}

/* A fixture file dir/name with len bytes of buf. */
static void put_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	REQUIRE(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

/* The VM sampler's memory.events.local fields (<tag>.local.<field>): a
 * group's own events, as the live source reads them, where the samples
 * have them; without them, none (the counters minus the children's). */
static void test_samples_local(const char *dir)
{
	char tmp[] = "/tmp/vmp-v2s-XXXXXX", path[4200];
	REQUIRE(mkdtemp(tmp) != NULL, "mkdtemp: %s", strerror(errno));
	size_t n;
	snprintf(path, sizeof(path), "%s/v2file.vmpt", dir);
	char *vmpt = check_slurp(path, &n);
	put_file(tmp, "l.vmpt", vmpt, n);
	free(vmpt);
	const char *samples =
		"sample 1.0 va.pgscan 0 va.max 0 va.local.high 0 va.local.max 0 vb.pgscan 0 vb.max 0\n"
		"sample 1.1 va.pgscan 9 va.max 7 va.local.high 1 va.local.max 4 va.local.oom 2 vb.pgscan 9 "
		"vb.max 3 vb.local.max 3\n";
	put_file(tmp, "l.samples", samples, strlen(samples));
	struct v2s_run *run = NULL;
	char err[512] = "";
	int rc = v2s_load(tmp, "l", &run, err, sizeof(err));
	CHECK(rc == 0 && run && run->nsamples == 2, "local samples load: %s", err);
	if (rc == 0 && run && run->nsamples == 2 && run->ngroups == 2) {
		const struct vmp_est_cgroup *va = &run->s[1].c[0], *vb = &run->s[1].c[1];
		CHECK(!strcmp(run->group[0], "va") && !strcmp(run->group[1], "va/vb"), "the run's groups");
		CHECK(va->have_local && va->local_high == 1 && va->local_max == 4 && va->local_oom == 2,
		      "va's memory.events.local: high 1 max 4 oom 2 (have %d: %lu %lu %lu)", va->have_local,
		      (unsigned long)va->local_high, (unsigned long)va->local_max,
		      (unsigned long)va->local_oom);
		CHECK(va->max == 7, "va.local.max is not va.max");
		CHECK(!vb->have_local, "vb: max without high is not the file");
	}
	v2s_free(run);
	const char *names[] = {"l.vmpt", "l.samples"};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
		unlink(path);
	}
	rmdir(tmp);
}

static void test_fidelity(const char *dir)
{
	char **runs;
	size_t nruns;
	REQUIRE(v2s_list(dir, true, &runs, &nruns) == 0 && nruns >= 2, "runs under %s", dir);
	bool used[NSHORT + 1] = {false};
	for (size_t r = 0; r < nruns; r++) {
		struct v2s_run *run;
		char err[512] = "";
		int rc = v2s_load(dir, runs[r], &run, err, sizeof(err));
		REQUIRE(rc == 0, "%s", err);
		static struct v2s_result k, e, a, nv;
		REQUIRE(v2s_kernel(run, &k) == 0, "%s: the kernel's replay matches expect", runs[r]);
		REQUIRE(v2s_estimate(run, NULL, 0, 0, &e) == 0, "%s: estimate", runs[r]);
		struct v2s_verdict v;
		v2s_judge(run, &k, &e, &v);
		for (size_t i = 0; i < run->nlisten; i++) {
			const struct v2s_listener *l = &run->l[i];
			char name[192], ks[96], es[96];
			snprintf(name, sizeof(name), "%s:%s", l->group, l->args);
			lres_str(&k.l[i], ks, sizeof(ks));
			lres_str(&e.l[i], es, sizeof(es));
			for (int g = 0; g < V2S_NGOALS; g++) {
				if (!v.l[i].applies[g])
					continue;
				int si = known_shortfall(runs[r], name, g);
				const struct shortfall *sf = si >= 0 ? &shortfalls[si] : NULL;
				if (sf && !v.l[i].met[g]) {
					used[si] = true;
					printf("# shortfall: %s %s: %s missed (kernel L/M/C %s; estimator "
					       "%s): %s\n",
					       runs[r], name, v2s_goal_name[g], ks, es, sf->why);
					continue;
				}
				CHECK(v.l[i].met[g], "%s %s: %s%s (kernel L/M/C %s; estimator %s)",
				      runs[r], name, v2s_goal_name[g],
				      sf && sf->listener ? " (listed as a shortfall: met now, update the list)"
							 : "",
				      ks,
				      es);
			}
		}
		/* The adaptive sampler (idle 1 s, busy 100 ms, PSI wake) loses
		 * nothing: every goal met at the full rate is met with it. */
		REQUIRE(v2s_estimate(run, NULL, 1000, 100, &a) == 0, "adaptive");
		struct v2s_verdict va;
		v2s_judge(run, &k, &a, &va);
		bool same = true;
		for (size_t i = 0; i < run->nlisten; i++)
			for (int g = 0; g < V2S_NGOALS; g++)
				if (v.l[i].met[g] && !va.l[i].met[g])
					same = false;
		CHECK(same, "%s: adaptive sampling meets the same goals with %zu of %zu samples",
		      runs[r], a.samples_used, run->nsamples);
		/* The test has teeth: the naive baseline fails on the OOM run. */
		if (!strcmp(runs[r], "v2anon")) {
			REQUIRE(v2s_naive(run, &nv) == 0, "naive");
			struct v2s_verdict vn;
			v2s_judge(run, &k, &nv, &vn);
			CHECK(!vn.counts, "%s: the naive estimator misses the counts", runs[r]);
		}
		v2s_free(run);
	}
	for (size_t i = 0; i < NSHORT; i++)
		CHECK(used[i], "shortfall %s %s %s is still missed (else: off the list)",
		      shortfalls[i].run, shortfalls[i].listener ? shortfalls[i].listener : "(any)",
		      v2s_goal_name[shortfalls[i].goal]);
	v2s_list_free(runs);
}

int main(int argc, char **argv)
{
	test_origins(true);
	test_origins(false);
	test_set_tree();
	test_windows();
	test_thread_executor();
	test_resets();
	test_vanish();
	test_skew();
	test_standin();
	test_kernel_release();
	test_fail_passes();
	test_crowd();
	test_mglru_root();
	test_mglru_onset();
	test_depth();
	test_sweep();
	test_ownstall();
	test_grace();
	test_interval();
	test_args();
	test_random();
	if (argc > 1) {
		test_samples_local(argv[1]);
		test_fidelity(argv[1]);
	}
	else
		printf("# no v2-study directory given: fidelity not checked\n");
	return check_done("estimator");
}
