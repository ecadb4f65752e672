/* SPDX-License-Identifier: MIT */
/*
 * The samples line format (src/lib/trace/samples.c) and offline
 * re-estimation (estimate.c): random snapshots survive format and parse
 * exactly; every kind of malformed sample line is refused with its line
 * and byte; a `# sample-gone` drops the group as the live source does;
 * and every recorded cgroup v2 run under argv[1] (tests/data/v2: the v2
 * study and the VM suite's runs), converted into sample lines, estimates
 * through vmp_estimate_run() to the counts that the estimator gives when
 * driven directly with the same samples (tests/tools/v2study.c), with the
 * defaults and with other windows.
 */
#include "check.h"
#include "v2study.h"
#include "v2record.h"
#include "trace/samples.h"

#include <errno.h>
#include <math.h>

/* ---- text buffers --------------------------------------------------------- */

struct text {
	char *p;
	size_t n, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		while (ncap < t->n + n + 1)
			ncap *= 2;
		t->p = realloc(t->p, ncap);
		REQUIRE(t->p, "out of memory");
		t->cap = ncap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void on_text(const char *s, size_t n, void *arg)
{
	put(arg, s, n);
}

/* ---- round trip ----------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t rnd_u64(void)
{
	switch (rnd() % 4) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - rnd() % 3;
	default:
		return rnd() >> (rnd() % 64);
	}
}

static double rnd_avg(void)
{
	return rnd() % 4 == 0 ? -1 : (double)(rnd() % 100000) / 100.0;
}

struct got {
	size_t steps, gones;
	uint64_t t;
	bool have_m;
	struct vmp_est_machine m;
	bool have_sched;
	struct vmp_est_sched sched;
	size_t n;
	char path[64];
	struct vmp_est_cgroup c;
	unsigned long line;
};

static int on_rec(const struct vmp_samples_rec *r, void *arg, struct vmp_error *err)
{
	struct got *g = arg;
	(void)err;
	if (r->kind == VMP_SAMPLES_GONE) {
		g->gones++;
		return 0;
	}
	g->steps++;
	g->t = r->t_ns;
	g->have_m = r->m != NULL;
	if (r->m)
		g->m = *r->m;
	g->have_sched = r->sched != NULL;
	if (r->sched)
		g->sched = *r->sched;
	g->n = r->n;
	g->line = r->line;
	if (r->n) {
		snprintf(g->path, sizeof(g->path), "%.*s", (int)r->paths[0].n, r->paths[0].p);
		g->c = r->c[0];
	}
	return 0;
}

static bool same_psi(double a, double b)
{
	return (a < 0 && b < 0) || fabs(a - b) < 0.001;
}

static void test_round_trip(void)
{
	int bad = 0;
	for (int k = 0; k < 2000; k++) {
		struct vmp_est_machine m = {
			.pgscan_kswapd = rnd_u64(), .pgscan_direct = rnd_u64(), .pgsteal_kswapd = rnd_u64(),
			.pgsteal_direct = rnd_u64(), .allocstall = rnd_u64(), .oom_kill = rnd_u64(),
			.psi_some_avg10 = rnd_avg(), .psi_full_avg10 = rnd_avg(), .psi_some_total = rnd_u64(),
			.psi_full_total = rnd_u64(), .valid = rnd() % 5 != 0,
		};
		struct vmp_est_cgroup c = {
			.pgscan = rnd_u64(), .pgsteal = rnd_u64(), .have_direct = rnd() % 2,
			.high = rnd_u64(), .max = rnd_u64(), .oom = rnd_u64(), .oom_kill = rnd_u64(),
			.have_local = rnd() % 2, .psi_some_avg10 = rnd_avg(), .psi_full_avg10 = rnd_avg(),
			.psi_some_total = rnd_u64(), .psi_full_total = rnd_u64(), .valid = rnd() % 6 != 0,
		};
		if (c.have_direct)
			c.pgscan_direct = rnd_u64(), c.pgsteal_direct = rnd_u64();
		if (c.have_local)
			c.local_high = rnd_u64(), c.local_max = rnd_u64(), c.local_oom = rnd_u64();
		c.have_lists = rnd() % 2;
		if (c.have_lists)
			c.file_lru = rnd_u64();
		c.have_anon = rnd() % 2;
		if (c.have_anon)
			c.anon_lru = rnd_u64();
		c.have_swap = rnd() % 2;
		if (c.have_swap)
			c.swap = rnd_u64();
		if (!c.valid)
			c = (struct vmp_est_cgroup){0};
		bool no_m = rnd() % 4 == 0;
		struct vmp_est_sched sc = {.cpus = rnd() % 3 ? 1u + (unsigned)(rnd() % VMP_EST_SCHED_MAX_CPUS) : 0,
					   .runq_ns = rnd_u64()};
		uint64_t t = rnd_u64() % (UINT64_MAX / 2);
		char buf[4096];
		struct text tx = {0};
		puts_(&tx, "group / -\n");
		REQUIRE(vmp__samples_fmt_header(buf, sizeof(buf)) > 0, "header");
		puts_(&tx, buf);
		REQUIRE(vmp__samples_fmt_step(buf, sizeof(buf), t, 1, no_m ? NULL : &m, &sc) > 0, "step");
		puts_(&tx, buf);
		REQUIRE(vmp__samples_fmt_cgroup(buf, sizeof(buf), "x/y-1", &c) > 0, "cgroup");
		puts_(&tx, buf);
		struct got g = {0};
		struct vmp_error err = {0};
		int rc = vmp__samples_parse(tx.p, tx.n, on_rec, &g, NULL, &err);
		bool ok = rc == 0 && g.steps == 1 && g.t == t && g.have_m == !no_m && g.n == 1 &&
			  !strcmp(g.path, "x/y-1") && g.line == 3 && g.have_sched == (sc.cpus != 0) &&
			  (!sc.cpus || (g.sched.cpus == sc.cpus && g.sched.runq_ns == sc.runq_ns));
		if (ok && !no_m) {
			ok = g.m.valid == m.valid;
			if (ok && m.valid)
				ok = g.m.pgscan_kswapd == m.pgscan_kswapd && g.m.pgscan_direct == m.pgscan_direct &&
				     g.m.pgsteal_kswapd == m.pgsteal_kswapd && g.m.pgsteal_direct == m.pgsteal_direct &&
				     g.m.allocstall == m.allocstall && g.m.oom_kill == m.oom_kill &&
				     g.m.psi_some_total == m.psi_some_total && g.m.psi_full_total == m.psi_full_total &&
				     same_psi(g.m.psi_some_avg10, m.psi_some_avg10) &&
				     same_psi(g.m.psi_full_avg10, m.psi_full_avg10);
		}
		if (ok) {
			const struct vmp_est_cgroup *a = &g.c, *b = &c;
			ok = a->valid == b->valid && a->pgscan == b->pgscan && a->pgsteal == b->pgsteal &&
			     a->have_direct == b->have_direct && a->pgscan_direct == b->pgscan_direct &&
			     a->pgsteal_direct == b->pgsteal_direct && a->high == b->high && a->max == b->max &&
			     a->oom == b->oom && a->oom_kill == b->oom_kill && a->have_local == b->have_local &&
			     a->local_high == b->local_high && a->local_max == b->local_max &&
			     a->local_oom == b->local_oom && a->have_lists == b->have_lists &&
			     a->file_lru == b->file_lru && a->have_anon == b->have_anon &&
			     a->anon_lru == b->anon_lru && a->have_swap == b->have_swap && a->swap == b->swap &&
			     a->psi_some_total == b->psi_some_total &&
			     a->psi_full_total == b->psi_full_total &&
			     (!b->valid || (same_psi(a->psi_some_avg10, b->psi_some_avg10) &&
					    same_psi(a->psi_full_avg10, b->psi_full_avg10)));
		}
		/* and formatting what was parsed gives the same text */
		if (ok) {
			char again[4096];
			int n = vmp__samples_fmt_cgroup(again, sizeof(again), "x/y-1", &g.c);
			const char *line3 = strstr(tx.p, "# sample-cg");
			ok = n > 0 && line3 && !strcmp(again, line3);
		}
		if (!ok && bad++ < 3)
			printf("# round trip %d failed (rc %d: %s):\n%s", k, rc, err.msg, tx.p);
		free(tx.p);
	}
	CHECK(bad == 0, "2000 random snapshots survive format and parse exactly (%d did not)", bad);

	char small[16];
	struct vmp_est_cgroup c = {.valid = true};
	CHECK(vmp__samples_fmt_cgroup(small, sizeof(small), "a", &c) == -ENOBUFS, "a short buffer: -ENOBUFS");
	CHECK(vmp__samples_fmt_cgroup(small, sizeof(small), "a b", &c) == -EINVAL, "a path with a space: -EINVAL");
	CHECK(vmp__samples_fmt_gone(small, sizeof(small), "../x") == -EINVAL, "a path with '..': -EINVAL");
}

/* ---- malformed lines ------------------------------------------------------ */

static const char head[] = "group / -\n# samples 1\n";
#define CG_OK "pgscan=1 pgsteal=1 high=0 max=0 oom=0 oom_kill=0 some=-/0 full=-/0"

static void refused(const char *body, unsigned long line, unsigned long byte, const char *what)
{
	struct text tx = {0};
	puts_(&tx, head);
	puts_(&tx, body);
	struct vmp_error err = {0};
	int rc = vmp__samples_parse(tx.p, tx.n, NULL, NULL, NULL, &err);
	char want[32];
	snprintf(want, sizeof(want), "byte %lu:", byte);
	bool ok = rc == -EINVAL && err.line == line && (!byte || strstr(err.msg, want)) && strstr(err.msg, what);
	char shown[96];
	size_t o = 0;
	for (const char *p = body; *p && o + 5 < sizeof(shown); p++)
		o += (size_t)snprintf(shown + o, sizeof(shown) - o, (unsigned char)*p < 0x20 ? "\\x%02x" : "%c",
				      (unsigned char)*p);
	CHECK(ok, "refused at line %lu%s%s (%s): %s... (got rc %d, line %lu: %s)", line, byte ? ", " : "",
	      byte ? want : "", what, shown, rc, err.line, err.msg);
	free(tx.p);
}

static void test_malformed_lines(void)
{
	struct {
		const char *body;
		unsigned long line, byte;
		const char *what;
	} cases[] = {
		{"# sample 1.00000000 0 -\n", 3, 10, "9 decimals"},
		{"# sample 1.000000000x 0 -\n", 3, 10, "time"},
		{"# sample 1.000000000 0 -\n# sample 1.000000000 0 -\n", 4, 10, "previous sample's (line 3)"},
		{"# sample 1.000000000 0\n", 3, 23, "ends early"},
		{"# sample 1.000000000 0 - \n", 3, 26, "empty field"},
		{"# sample 1.000000000  0 -\n", 3, 22, "empty field"},
		{"# sample 1.000000000 0 x\n", 3, 24, "'-', 'invalid' or 'machine'"},
		{"# sample 1.000000000 0 - x\n", 3, 26, "expected 'sched=<cpus>/"},
		{"# sample 1.000000000 0 - sched=2\n", 3, 26, "expected 'sched=<cpus>/"},
		{"# sample 1.000000000 0 - sched=0/5\n", 3, 32, "cpus 1 to 1048576"},
		{"# sample 1.000000000 0 - sched=1048577/5\n", 3, 32, "cpus 1 to 1048576"},
		{"# sample 1.000000000 0 - sched=2/x\n", 3, 34, "run+wait time"},
		{"# sample 1.000000000 0 - sched=2/\n", 3, 26, "run+wait time"},
		{"# sample 1.000000000 0 - sched=2/5 x\n", 3, 36, "unexpected field"},
		{"# sample 1.000000000 0 invalid sched=2/5 x\n", 3, 42, "unexpected field"},
		{"# sample 1.000000000 99999999999 -\n", 3, 22, "cgroup count"},
		{"# sample 1.000000000 0 machine pgscan_kswapd=1\n", 3, 47, "ends early"},
		{"# sample 1.000000000 0 machine pgscan_direct=1\n", 3, 32, "expected 'pgscan_kswapd="},
		{"# sample 1.000000000 0 machine pgscan_kswapd=-1\n", 3, 46, "unsigned 64-bit"},
		{"# sample 1.000000000 0 machine pgscan_kswapd=18446744073709551616\n", 3, 46, "unsigned 64-bit"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgscan=1\n", 4, 23, "ends early"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgsteal=1\n", 4, 15, "expected 'pgscan="},
		{"# sample 1.000000000 1 -\n# sample-cg / " CG_OK "\n", 4, 13, "root"},
		{"# sample 1.000000000 1 -\n# sample-cg /a " CG_OK "\n", 4, 13, "path"},
		{"# sample 1.000000000 1 -\n# sample-cg a/ " CG_OK "\n", 4, 13, "path"},
		{"# sample 1.000000000 1 -\n# sample-cg a//b " CG_OK "\n", 4, 13, "path"},
		{"# sample 1.000000000 1 -\n# sample-cg a/./b " CG_OK "\n", 4, 13, "path"},
		{"# sample 1.000000000 1 -\n# sample-cg a\x01 " CG_OK "\n", 4, 13, "path"},
		{"# sample 1.000000000 2 -\n# sample-cg a " CG_OK "\n# sample-cg a " CG_OK "\n", 5, 13,
		 "second line for this cgroup"},
		{"# sample 1.000000000 2 -\n# sample-cg a " CG_OK "\nvmpressure 1.0 a 1 1 1 0xca\n", 5, 1,
		 "cgroup line 2 of 2"},
		{"# sample 1.000000000 1 -\n# comment\n", 4, 1, "cgroup line 1 of 1"},
		{"# sample 1.000000000 1 -\n", 3, 0, "file ends after 0"},
		{"# sample-cg a " CG_OK "\n", 3, 3, "outside a sample"},
		{"# sample 1.000000000 1 -\n# sample-cg a invalid x\n", 4, 23, "unexpected field"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgscan=1 pgsteal=1 high=0 max=0 oom=0 oom_kill=0 "
		 "some=1.5/0 full=-/0\n", 4, 69, "2 decimals"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgscan=1 pgsteal=1 high=0 max=0 oom=0 oom_kill=0 "
		 "some=-/x full=-/0\n", 4, 71, "total"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgscan=1 pgsteal=1 high=0 max=0 oom=0 oom_kill=0 "
		 "some=-/0 full=-/0 x=1\n", 4, 82, "unexpected field"},
		{"# sample 1.000000000 1 -\n# sample-cg a pgscan=1 pgsteal=1 pgscan_direct=1 high=0 max=0 oom=0 "
		 "oom_kill=0 some=-/0 full=-/0\n", 4, 50, "expected 'pgsteal_direct="},
		{"# sample 1.000000000 1 -\n# sample-cg a " CG_OK "\r\n", 4, 80, "total"},
		{"# sample-gone\n", 3, 14, "ends early"},
		{"# sample-gone a/..\n", 3, 15, "path"},
		{"# sample-foo 1\n", 3, 3, "unknown sample record"},
		{"# samples 1\n", 3, 3, "second `# samples` header (the first is line 2)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].body, cases[i].line, cases[i].byte, cases[i].what);

	struct vmp_error err = {0};
	const char *nohead = "group / -\n# sample 1.000000000 0 -\n";
	int rc = vmp__samples_parse(nohead, strlen(nohead), NULL, NULL, NULL, &err);
	CHECK(rc == -EINVAL && err.line == 2 && strstr(err.msg, "byte 3:") && strstr(err.msg, "header"),
	      "a sample before the header: line 2, byte 3 (%s)", err.msg);
	const char *v2 = "# samples 2\n";
	rc = vmp__samples_parse(v2, strlen(v2), NULL, NULL, NULL, &err);
	CHECK(rc == -EINVAL && err.line == 1 && strstr(err.msg, "byte 11:") && strstr(err.msg, "version 1 only"),
	      "samples version 2: refused at its byte (%s)", err.msg);
	/* other comments, even ones that begin alike, are not sample lines */
	const char *others = "# sampled by hand\n# samplesize 3\n#sample 1\n# kernel-signal 1.0 0\n";
	size_t steps = 7;
	rc = vmp__samples_parse(others, strlen(others), NULL, NULL, &steps, &err);
	CHECK(rc == 0 && steps == 0, "comments that merely begin like sample lines are left alone (rc %d)", rc);
}

/* ---- estimate: errors, gone ------------------------------------------------ */

static int estimate(const char *text, const struct vmp_estimate_config *cfg, uint64_t *count0,
		    struct text *out, struct vmp_error *err)
{
	vmp_estimate *e = NULL;
	int rc = vmp_estimate_run(text, strlen(text), cfg, out ? on_text : NULL, out, &e, err);
	if (!rc && count0) {
		struct vmp_estimate_listener l;
		*count0 = vmp_estimate_listener_count(e) && !vmp_estimate_listener(e, 0, &l) ? l.count : UINT64_MAX;
	}
	vmp_estimate_free(e);
	return rc;
}

/* A cgroup whose limit keeps being hit, heard from the root; gone (or
 * not) between two samples, its counters going on. */
static void gone_text(struct text *t, bool gone)
{
	puts_(t, "group / -\nlisten 0 / low,hierarchy\n# samples 1\n");
	char buf[512];
	for (int k = 0; k < 6; k++) {
		if (gone && k == 3)
			puts_(t, "# sample-gone a\n");
		struct vmp_est_cgroup c = {.valid = true, .pgscan = 4096u * (unsigned)k,
					   .pgsteal = 2048u * (unsigned)k, .max = 64u * (unsigned)k,
					   .psi_some_avg10 = -1, .psi_full_avg10 = -1};
		vmp__samples_fmt_step(buf, sizeof(buf), 1000000000ull * (unsigned)(k + 1), 1, NULL, NULL);
		puts_(t, buf);
		vmp__samples_fmt_cgroup(buf, sizeof(buf), "a", &c);
		puts_(t, buf);
	}
}

static void test_estimate_api(void)
{
	struct vmp_error err = {0};
	uint64_t with, without;
	struct text a = {0}, b = {0}, out = {0};
	gone_text(&a, false);
	gone_text(&b, true);
	int r1 = estimate(a.p, NULL, &without, NULL, &err);
	int r2 = estimate(b.p, NULL, &with, &out, &err);
	CHECK(r1 == 0 && r2 == 0, "two synthetic recordings estimate (%d, %d: %s)", r1, r2, err.msg);
	/* 5 deltas of 4096 pages, the last 128 held back: 39 windows; gone
	 * after the second, two deltas each side: 15 + 15 */
	CHECK(without == 39 && with == 30, "`# sample-gone` starts the cgroup afresh: %" PRIu64 " windows, not %"
	      PRIu64, with, without);
	CHECK(out.p && strstr(out.p, "# sample-gone a\n"), "the re-estimated recording keeps the gone line");
	uint64_t again = 0;
	struct text out2 = {0};
	r1 = estimate(out.p, NULL, &again, &out2, &err);
	CHECK(r1 == 0 && again == with && out2.p && !strcmp(out.p, out2.p),
	      "re-estimating the re-estimated recording changes nothing");
	free(out2.p);
	vmp_replay *rp = NULL;
	r1 = vmp_replay_run(out.p, out.n, NULL, NULL, &rp, &err);
	struct vmp_replay_listener rl = {0};
	CHECK(r1 == 0 && vmp_replay_listener(rp, 0, &rl) == 0 && rl.has_expect && rl.count == rl.expect &&
	      rl.count == with, "the re-estimated recording replays to its expect record");
	vmp_replay_free(rp);

	struct vmp_estimate_config cfg;
	vmp_estimate_config_init(&cfg);
	cfg.prio = 0x200; /* above the last bit, VMP_ESTIMATE_PRIO_SWEEP */
	CHECK(estimate(a.p, &cfg, NULL, NULL, &err) == -EINVAL && strstr(err.msg, "unknown bits"),
	      "unknown prio bits: -EINVAL (%s)", err.msg);
	vmp_estimate_config_init(&cfg);
	cfg.window_pages = (1u << 30) + 1;
	CHECK(estimate(a.p, &cfg, NULL, NULL, &err) == -EINVAL, "a window over 2^30 pages: -EINVAL");
	vmp_estimate_config_init(&cfg);
	struct vmp_estimate_listen x = {"a/../..", "low"};
	cfg.listen = &x;
	cfg.nlisten = 1;
	CHECK(estimate(a.p, &cfg, NULL, NULL, &err) == -EINVAL && err.line == 0 && strstr(err.msg, "extra listener 1"),
	      "an extra listener outside the tree: -EINVAL (%s)", err.msg);
	x = (struct vmp_estimate_listen){"a", "loud"};
	CHECK(estimate(a.p, &cfg, NULL, NULL, &err) == -EINVAL && strstr(err.msg, "level[,mode]"),
	      "an extra listener with bad args: -EINVAL (%s)", err.msg);
	x = (struct vmp_estimate_listen){"b/c", "medium,local"};
	uint64_t c0;
	CHECK(estimate(a.p, &cfg, &c0, NULL, &err) == 0 && c0 == without,
	      "an extra listener on a group the samples never name: fine");

	const char *jump = "group / -\n# samples 1\n"
			   "# sample 1.000000000 1 -\n# sample-cg a " CG_OK "\n"
			   "# sample 2.000000000 1 -\n# sample-cg a pgscan=1 pgsteal=0 high=0 max=0 oom=0 oom_kill=0 "
			   "some=-/0 full=-/0\n"
			   "# sample 3.000000000 1 -\n# sample-cg a pgscan=68719476738 pgsteal=0 high=0 max=0 oom=0 "
			   "oom_kill=0 some=-/0 full=-/0\n";
	CHECK(estimate(jump, NULL, NULL, NULL, &err) == -EINVAL && err.line == 7 && strstr(err.msg, "a: pgscan grows by"),
	      "2^36 + 1 pages in one sample: refused, the line named (line %lu: %s)", err.line, err.msg);
	const char *back = "group / -\n# samples 1\n"
			   "# sample 1.000000000 1 -\n# sample-cg a pgscan=68719476738 pgsteal=0 high=0 max=0 oom=0 "
			   "oom_kill=0 some=-/0 full=-/0\n"
			   "# sample 2.000000000 1 -\n# sample-cg a " CG_OK "\n"
			   "# sample 3.000000000 1 -\n# sample-cg a pgscan=2 pgsteal=1 high=0 max=1 oom=0 oom_kill=0 "
			   "some=-/0 full=-/0\n"
			   "# sample 4.000000000 0 machine pgscan_kswapd=0 pgscan_direct=0 pgsteal_kswapd=0 "
			   "pgsteal_direct=0 allocstall=0 oom_kill=0 some=-/0 full=-/0\n"
			   "# sample 5.000000000 0 machine pgscan_kswapd=0 pgscan_direct=0 pgsteal_kswapd=0 "
			   "pgsteal_direct=0 allocstall=16777217 oom_kill=0 some=-/0 full=-/0\n";
	CHECK(estimate(back, NULL, NULL, NULL, &err) == -EINVAL && err.line == 10 &&
	      strstr(err.msg, "the machine: allocstall"),
	      "counters that go back are no jump; 2^24 + 1 reclaim calls in one sample are (line %lu: %s)", err.line,
	      err.msg);
	CHECK(estimate("group / -\nlisten 0 / low\n", NULL, NULL, NULL, &err) == -ENODATA &&
	      strstr(err.msg, "no sample lines"), "no samples: -ENODATA, said (%s)", err.msg);
	CHECK(estimate("", NULL, NULL, NULL, &err) == -ENODATA, "an empty file: -ENODATA");
	CHECK(estimate("group / -\nlisten 0 x low\n# samples 1\n", NULL, NULL, NULL, &err) == -EINVAL &&
	      err.line == 2, "a listen on an undeclared group: refused as replay refuses it (line %lu)", err.line);
	vmp_estimate *e = (vmp_estimate *)&err;
	CHECK(vmp_estimate_run(NULL, 0, NULL, NULL, NULL, NULL, &err) == -EINVAL, "no out: -EINVAL");
	CHECK(vmp_estimate_run("# samples 3\n", 12, NULL, NULL, NULL, &e, &err) == -EINVAL &&
	      e == (vmp_estimate *)&err, "on error *out is not written");
	free(a.p);
	free(b.p);
	free(out.p);
}

/* ---- the recorded v2 runs --------------------------------------------------- */

static void run_text(const struct v2s_run *run, struct text *t)
{
	REQUIRE(v2s_recording(run, false, on_text, t) == 0, "%s as sample lines", run->name);
}

static void test_runs(const char *dir)
{
	char **names;
	size_t n;
	REQUIRE(v2s_list(dir, true, &names, &n) == 0, "list %s", dir);
	CHECK(n >= 4, "%zu recorded runs under %s", n, dir);
	unsigned windows[] = {VMP_WINDOW, 1024, 256};
	for (size_t i = 0; i < n; i++) {
		struct v2s_run *run;
		char err[256];
		REQUIRE(v2s_load(dir, names[i], &run, err, sizeof(err)) == 0, "%s", err);
		struct text t = {0};
		run_text(run, &t);
		for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
			struct vmp_est_config ec;
			vmp__est_config_init(&ec);
			ec.window_pages = windows[w];
			struct v2s_result direct;
			int rc = v2s_estimate(run, &ec, 0, 0, &direct);
			struct vmp_estimate_config cfg;
			vmp_estimate_config_init(&cfg);
			cfg.window_pages = windows[w];
			vmp_estimate *e = NULL;
			struct vmp_error terr = {0};
			struct text out = {0};
			int rc2 = vmp_estimate_run(t.p, t.n, &cfg, on_text, &out, &e, &terr);
			bool same = rc == 0 && rc2 == 0 && vmp_estimate_listener_count(e) == run->nlisten;
			char got[256] = "", want[256] = "";
			size_t go = 0, wo = 0;
			for (size_t l = 0; same && l < run->nlisten; l++) {
				struct vmp_estimate_listener el;
				vmp_estimate_listener(e, l, &el);
				/* listeners sorted by id; the run's are too */
				size_t k = 0;
				while (k < run->nlisten && run->l[k].id != el.id)
					k++;
				/* The harness counts what its context's teardown
				 * flushes; with windows over 512 pages that can be
				 * one evaluation pending in the engine (it queued a
				 * job at 512), which a replay does not count either. */
				same = k < run->nlisten &&
				       (windows[w] <= VMP_WINDOW ? el.count == direct.l[k].count
								 : direct.l[k].count - el.count <= 1);
				go += (size_t)snprintf(got + go, sizeof(got) - go, " %" PRIu64, el.count);
				wo += (size_t)snprintf(want + wo, sizeof(want) - wo, " %" PRIu64,
						       k < run->nlisten ? direct.l[k].count : 0);
			}
			CHECK(same, "%s, window %u: vmp_estimate_run over its samples gives the direct estimator's "
			      "counts%s (%s;%s) (rc %d, %d: %s)", names[i], windows[w],
			      windows[w] > VMP_WINDOW ? " (less at most the one its teardown flushes)" : "", got, want,
			      rc, rc2, terr.msg);
			/* and its re-estimated recording replays to them */
			vmp_replay *rp = NULL;
			rc = rc2 ? rc2 : vmp_replay_run(out.p, out.n, NULL, NULL, &rp, &terr);
			bool ok = rc == 0;
			for (size_t l = 0; ok && l < vmp_replay_listener_count(rp); l++) {
				struct vmp_replay_listener rl;
				vmp_replay_listener(rp, l, &rl);
				ok = rl.has_expect && rl.count == rl.expect;
			}
			CHECK(ok, "%s, window %u: the re-estimated recording replays with --check", names[i],
			      windows[w]);
			vmp_replay_free(rp);
			vmp_estimate_free(e);
			free(out.p);
		}
		free(t.p);
		v2s_free(run);
	}
	v2s_list_free(names);
}

int main(int argc, char **argv)
{
	test_round_trip();
	test_malformed_lines();
	test_estimate_api();
	if (argc > 1)
		test_runs(argv[1]);
	else
		printf("# SKIP the recorded runs: no directory given\n");
	return check_done("samples");
}
