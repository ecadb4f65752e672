/* SPDX-License-Identifier: MIT */
/*
 * v2_goals: the goals of issue 10, per configuration of the VM suite,
 * tuning and test workloads apart, in the same run: the estimator's
 * defaults (the baseline: what it did before it knew the kernel), the
 * estimator set up for the capture's kernel as the live source sets it up
 * (vmp__est_config_kernel() with the release and lru_gen of the run's
 * JSON: "new"), the same with the kernel's own priority loops per failed
 * call (vmp__est_fail_passes(): 2 on 6.12) and with adaptive sampling;
 * and, for root listeners (--root), the silent MGLRU root
 * (vmp_est_config.mglru_silent_root).
 *
 *   v2_goals [--misses] [--prio +BITS,-BITS] OUT_DIR DIR...
 *   v2_goals OUT_DIR --root MGLRU_DIR NOLRU_DIR
 *   v2_goals OUT_DIR --boots DIR_A DIR_B
 *
 * Each DIR is a VM suite study directory (build/vm/<config>/study:
 * <workload>.{vmpt,samples,psi,json}); a workload's set ("tuning" or
 * "test", as tests/vm/vmsuite.py declares them) and its kernel come from
 * its JSON. Per listener, against the kernel's capture of the same boot:
 * the same levels and no other; low within 25 %, medium/critical within
 * 50 %; the first medium and the first critical within 1 s of the
 * kernel's, early or late (a level only one side reached misses it); and
 * the false windows: estimator medium/critical notifications with no
 * kernel medium/critical one within 1 s, summed over the listeners, as a
 * share of the kernel's medium + critical. The same rules as vmsuite.py's
 * judge(), on the offline re-run (each notification counts once).
 *
 * --prio: VMP_EST_PRIO_* bits added to (+) or taken from (-) the
 * defaults of every estimator but the baseline: a candidate stand-in
 * measured against the defaults of the same run (--prio +0x80: DEPTH_MAX).
 *
 * --root: the root listeners ("/") of the MGLRU directory's workloads,
 * the three estimators on the MGLRU samples judged against the MGLRU kernel and against the same
 * workload's kernel with lru_gen off (another boot: times from the first
 * sample of each).
 *
 * --boots: two boots of one configuration, the kernel judged against
 * itself. Boot B's kernel notifications are put through the goals as if
 * they were an estimator's, against boot A's kernel, and A's against B's;
 * beside them, each boot's estimator against its own kernel: how much of
 * the goals the kernel itself reproduces from boot to boot. A reference,
 * not a bound: a boot's counters carry part of that boot's variation,
 * and the estimator reads the counters of the boot it is judged on. Also
 * the count goals alone (levels, low, medium, critical), which do not
 * depend on aligning two boots' clocks (times are from each run's first
 * sample).
 *
 * Prints markdown and writes OUT_DIR/v2_goals.md (or v2_goals_root.md,
 * v2_goals_boots.md).
 * Exit 0 when a goal is missed (the verdict says so), 1 on a real error.
 */
#include "v2study.h"

#include "bench_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLACK_S 1.0

static FILE *md;
#define out(...) bench_tee(md, __VA_ARGS__)

struct ev {
	double t;
	int level;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

struct events {
	struct evlist l[V2S_MAXL];
};

static void ev_push(struct evlist *el, double t, int level)
{
	if (el->n == el->cap) {
		size_t cap = el->cap ? 2 * el->cap : 64;
		struct ev *v = realloc(el->v, cap * sizeof(*v));
		if (!v) {
			fprintf(stderr, "v2_goals: out of memory\n");
			exit(1);
		}
		el->v = v;
		el->cap = cap;
	}
	el->v[el->n++] = (struct ev){t, level};
}

static void events_free(struct events *e)
{
	for (size_t i = 0; i < V2S_MAXL; i++)
		free(e->l[i].v);
	memset(e, 0, sizeof(*e));
}

static void on_kev(size_t i, double t, vmp_level level, void *arg)
{
	ev_push(&((struct events *)arg)->l[i], t, (int)level);
}

static void on_eev(size_t i, double t, const struct vmp_event *ev, double some, double full,
		   void *arg)
{
	(void)some;
	(void)full;
	ev_push(&((struct events *)arg)->l[i], t, (int)ev->level);
}

/* ---- the goals of one listener ------------------------------------------ */

enum { G_LEVELS, G_LOW, G_MED, G_CRIT, G_FMED, G_FCRIT, NG };
static const char *const gname[NG] = {"levels", "low_25", "medium_50", "critical_50",
				      "first_medium_1s", "first_critical_1s"};

struct lgoals {
	bool applies[NG], met[NG], all;
	uint64_t false_w, kernel_mc;
};

static bool within(uint64_t k, uint64_t e, double frac)
{
	if (k == 0)
		return e == 0;
	return fabs((double)e - (double)k) <= frac * (double)k;
}

static void judge(const struct v2s_lres *k, const struct evlist *kev, const struct v2s_lres *e,
		  const struct evlist *eev, struct lgoals *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < NG; i++)
		g->applies[i] = g->met[i] = true;
	for (int lv = 0; lv < 3; lv++)
		if ((k->by_level[lv] != 0) != (e->by_level[lv] != 0))
			g->met[G_LEVELS] = false;
	g->met[G_LOW] = within(k->by_level[0], e->by_level[0], 0.25);
	g->met[G_MED] = within(k->by_level[1], e->by_level[1], 0.50);
	g->met[G_CRIT] = within(k->by_level[2], e->by_level[2], 0.50);
	for (int lv = 1; lv <= 2; lv++) {
		int gi = lv == 1 ? G_FMED : G_FCRIT;
		double kt = k->first[lv], et = e->first[lv];
		g->applies[gi] = kt >= 0 || et >= 0;
		if (g->applies[gi])
			g->met[gi] = kt >= 0 && et >= 0 && fabs(et - kt) <= SLACK_S;
	}
	g->all = true;
	for (int i = 0; i < NG; i++)
		g->all = g->all && g->met[i];
	/* False windows: both lists are in time order. */
	size_t j = 0;
	for (size_t a = 0; a < eev->n; a++) {
		if (eev->v[a].level == VMP_LEVEL_LOW)
			continue;
		double t = eev->v[a].t;
		while (j < kev->n && (kev->v[j].level == VMP_LEVEL_LOW || kev->v[j].t < t - SLACK_S))
			j++;
		if (!(j < kev->n && kev->v[j].t <= t + SLACK_S))
			g->false_w++;
	}
	g->kernel_mc = k->by_level[1] + k->by_level[2];
}

/* ---- per set ---------------------------------------------------------------- */

struct tally {
	unsigned n, all, met[NG], applies[NG];
	uint64_t false_w, kernel_mc;
};

static void tally_add(struct tally *t, const struct lgoals *g)
{
	t->n++;
	t->all += g->all;
	for (int i = 0; i < NG; i++)
		if (g->applies[i]) {
			t->applies[i]++;
			t->met[i] += g->met[i];
		}
	t->false_w += g->false_w;
	t->kernel_mc += g->kernel_mc;
}

static void tally_row(const char *cfgname, const char *set, const char *who, const struct tally *t)
{
	out("| %s | %s | %s | %u/%u (%.0f %%) | %llu/%llu (%.1f %%) |", cfgname, set, who, t->all,
	    t->n, t->n ? 100.0 * t->all / t->n : 0.0, (unsigned long long)t->false_w,
	    (unsigned long long)t->kernel_mc,
	    t->kernel_mc ? 100.0 * (double)t->false_w / (double)t->kernel_mc : 0.0);
	for (int i = 0; i < NG; i++)
		out(" %u/%u |", t->met[i], t->applies[i]);
	out("\n");
}

/* ---- a run's JSON: the few fields wanted --------------------------------- */

struct runinfo {
	char set[16];
	char kernel[96];
	char config[64];
	int lru_gen;
};

static void json_str(const char *buf, const char *key, char *dst, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	const char *p = strstr(buf, pat);
	dst[0] = 0;
	if (!p)
		return;
	p += strlen(pat);
	size_t n = 0;
	while (p[n] && p[n] != '"' && n + 1 < cap)
		n++;
	memcpy(dst, p, n);
	dst[n] = 0;
}

static int read_info(const char *dir, const char *name, struct runinfo *ri)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "v2_goals: %s: %s (each run needs the suite's JSON beside it)\n", path,
			strerror(errno));
		return -errno;
	}
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	char lg[32];
	json_str(buf, "set", ri->set, sizeof(ri->set));
	json_str(buf, "kernel", ri->kernel, sizeof(ri->kernel));
	json_str(buf, "config", ri->config, sizeof(ri->config));
	json_str(buf, "lru_gen", lg, sizeof(lg));
	ri->lru_gen = lg[0] ? strtoul(lg, NULL, 0) != 0 : -1;
	return 0;
}

/* ---- one run: kernel, baseline, new ----------------------------------------- */

#define NWHO 5
static const char *const who_name[NWHO] = {"baseline", "new", "new, silent MGLRU root",
					   "new, the kernel's loops", "new, adaptive 1000/100 ms"};
/* The estimators of the per-configuration tables (the silent root only in
 * --root's). */
static const int dir_who[] = {0, 1, 3, 4};
#define NDIRWHO (sizeof(dir_who) / sizeof(dir_who[0]))

struct judged {
	struct v2s_run *run;
	struct runinfo ri;
	struct v2s_result k, e[NWHO];
	struct events kev, eev[NWHO];
};

/* --prio: stand-ins added to and taken from the defaults of the
 * estimators set up for the kernel (candidates side by side). */
static unsigned prio_add, prio_del;

static int run_all(const char *dir, const char *name, struct judged *j)
{
	char err[256];
	memset(j, 0, sizeof(*j));
	int rc = read_info(dir, name, &j->ri);
	if (rc)
		return rc;
	rc = v2s_load(dir, name, &j->run, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "v2_goals: %s/%s: %s\n", dir, name, err);
		return rc;
	}
	rc = v2s_kernel_events(j->run, &j->k, on_kev, &j->kev);
	if (rc) {
		fprintf(stderr, "v2_goals: %s/%s: the replay does not give the expect counts (%d)\n",
			dir, name, rc);
		return rc;
	}
	for (int w = 0; w < NWHO && !rc; w++) {
		/* baseline: the defaults; the others: set up for the capture's
		 * kernel (its release and lru_gen), as the live source does */
		struct vmp_est_config cfg;
		vmp__est_config_init(&cfg);
		if (w == 0)
			cfg.prio &= ~VMP_EST_PRIO_GRACE; /* as before this work */
		if (w > 0 && j->ri.kernel[0] &&
		    vmp__est_config_kernel(&cfg, j->ri.kernel, j->ri.lru_gen) < 0) {
			fprintf(stderr, "v2_goals: %s/%s.json: kernel \"%s\" is not MAJOR.MINOR...\n",
				dir, name, j->ri.kernel);
			return -EINVAL;
		}
		if (w > 0)
			cfg.prio = (cfg.prio | prio_add) & ~prio_del;
		cfg.mglru_silent_root = w == 2;
		if (w == 3)
			cfg.fail_passes = vmp__est_fail_passes(cfg.kernel);
		/* adaptive: the live source's default intervals, woken by the
		 * recorded PSI triggers */
		rc = v2s_estimate_events(j->run, &cfg, w == 4 ? 1000 : 0, w == 4 ? 100 : 0, &j->e[w],
					 on_eev, &j->eev[w]);
	}
	return rc;
}

static void judged_free(struct judged *j)
{
	events_free(&j->kev);
	for (int w = 0; w < NWHO; w++)
		events_free(&j->eev[w]);
	v2s_free(j->run);
}

/* --misses: the tuning set's listeners that the new estimator misses, on
 * stderr (the test set's are never listed: nothing is fitted on them). */
static bool verbose;

static void print_miss(const char *run, const struct judged *j, size_t i, const struct lgoals *g)
{
	const struct v2s_lres *k = &j->k.l[i], *e = &j->e[1].l[i];
	fprintf(stderr, "%s %s:%s kernel %llu/%llu/%llu first M %.2f C %.2f | est %llu/%llu/%llu "
			"first M %.2f C %.2f | missed:",
		run, j->run->l[i].group, j->run->l[i].args, (unsigned long long)k->by_level[0],
		(unsigned long long)k->by_level[1], (unsigned long long)k->by_level[2], k->first[1],
		k->first[2], (unsigned long long)e->by_level[0], (unsigned long long)e->by_level[1],
		(unsigned long long)e->by_level[2], e->first[1], e->first[2]);
	for (int x = 0; x < NG; x++)
		if (!g->met[x])
			fprintf(stderr, " %s", gname[x]);
	fprintf(stderr, " (false %llu)\n", (unsigned long long)g->false_w);
}

static const char *base(const char *dir)
{
	const char *b = strrchr(dir, '/');
	return b && b[1] ? b + 1 : dir;
}

/* A study directory's runs, or an error naming it. */
static int list_runs(const char *dir, char ***runs, size_t *nruns)
{
	int rc = v2s_list(dir, false, runs, nruns);
	if (rc || !*nruns) {
		fprintf(stderr, "v2_goals: %s: no runs (<name>.vmpt with .samples)\n", dir);
		if (!rc)
			v2s_list_free(*runs);
		return rc ? rc : -ENOENT;
	}
	return 0;
}

/* 0 tuning, 1 test, -1 neither (from the run's JSON). */
static int set_index(const struct runinfo *ri)
{
	return !strcmp(ri->set, "test") ? 1 : !strcmp(ri->set, "tuning") ? 0 : -1;
}

static int one_dir(const char *dir)
{
	char **runs;
	size_t nruns;
	int rc = list_runs(dir, &runs, &nruns);
	if (rc)
		return rc;
	struct tally t[2][NWHO];
	memset(t, 0, sizeof(t));
	char cfgname[64] = "";
	char *misses = NULL;
	size_t mlen = 0;
	FILE *mf = open_memstream(&misses, &mlen);
	for (size_t r = 0; r < nruns && !rc; r++) {
		if (!strcmp(runs[r], "e2e"))
			continue; /* a check of its own, in neither set */
		struct judged j;
		rc = run_all(dir, runs[r], &j);
		if (!rc) {
			int set = set_index(&j.ri);
			if (!cfgname[0]) /* the directory's name: a configuration and a boot */
				snprintf(cfgname, sizeof(cfgname), "%s", base(dir));
			unsigned wall[NWHO] = {0};
			uint64_t wf[NWHO] = {0}, kmc = 0;
			for (size_t i = 0; set >= 0 && i < j.run->nlisten; i++) {
				for (int w = 0; w < NWHO; w++) {
					struct lgoals g;
					judge(&j.k.l[i], &j.kev.l[i], &j.e[w].l[i], &j.eev[w].l[i], &g);
					tally_add(&t[set][w], &g);
					if (verbose && set == 0 && w == 1 && !g.all)
						print_miss(runs[r], &j, i, &g);
					wall[w] += g.all;
					wf[w] += g.false_w;
					if (!w)
						kmc += g.kernel_mc;
				}
			}
			if (set >= 0) {
				fprintf(mf, "| %s | %s | %zu |", runs[r], j.ri.set, j.run->nlisten);
				for (size_t d = 0; d < NDIRWHO; d++)
					fprintf(mf, " %u |", wall[dir_who[d]]);
				for (size_t d = 0; d < NDIRWHO; d++)
					fprintf(mf, " %llu |", (unsigned long long)wf[dir_who[d]]);
				fprintf(mf, " %llu |\n", (unsigned long long)kmc);
			}
		}
		judged_free(&j);
	}
	fclose(mf);
	if (!rc) {
		out("## %s (%s)\n\n", cfgname, dir);
		out("| config | set | estimator | listeners meeting every goal | false windows / kernel M+C |");
		for (int i = 0; i < NG; i++)
			out(" %s |", gname[i]);
		out("\n|---|---|---|---|---|");
		for (int i = 0; i < NG; i++)
			out("---|");
		out("\n");
		for (int s = 0; s < 2; s++)
			for (size_t d = 0; d < NDIRWHO; d++)
				tally_row(cfgname, s ? "test" : "tuning", who_name[dir_who[d]],
					  &t[s][dir_who[d]]);
		out("\n%s, per workload: listeners meeting every goal and false windows, per estimator\n\n",
		    cfgname);
		out("| workload | set | listeners |");
		for (size_t d = 0; d < NDIRWHO; d++)
			out(" every goal (%s) |", who_name[dir_who[d]]);
		for (size_t d = 0; d < NDIRWHO; d++)
			out(" false (%s) |", who_name[dir_who[d]]);
		out(" kernel M+C |\n|---|---|---|");
		for (size_t d = 0; d < 2 * NDIRWHO + 1; d++)
			out("---|");
		out("\n");
		out("%s\n", misses ? misses : "");
		for (int s = 0; s < 2; s++)
			for (size_t d = 0; d < NDIRWHO; d++) {
				int w = dir_who[d];
				const struct tally *x = &t[s][w];
				double share = x->kernel_mc ? (double)x->false_w / (double)x->kernel_mc
							    : (x->false_w ? INFINITY : 0);
				bool ok = x->n && x->all * 100 >= 95 * x->n && share < 0.05;
				out("verdict: %s %s %s: %s (%u/%u listeners, false windows %.1f %%)\n",
				    cfgname, s ? "test" : "tuning", who_name[w],
				    ok ? "goals met" : "goals missed", x->all, x->n, 100 * share);
			}
		out("\n");
	}
	free(misses);
	v2s_list_free(runs);
	return rc;
}

/* ---- root listeners: MGLRU against both kernels ------------------------------ */

static void lcounts(const struct v2s_lres *l, char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu/%llu/%llu", (unsigned long long)l->by_level[0],
		 (unsigned long long)l->by_level[1], (unsigned long long)l->by_level[2]);
}

static int root_dirs(const char *mglru, const char *nolru)
{
	char **runs;
	size_t nruns;
	int rc = v2s_list(mglru, false, &runs, &nruns);
	if (rc || !nruns) {
		fprintf(stderr, "v2_goals: %s: no runs\n", mglru);
		return rc ? rc : -ENOENT;
	}
	out("| workload | set | listener | kernel (MGLRU) | kernel (lru_gen off) |");
	for (int w = 0; w < NWHO; w++)
		out(" %s | vs MGLRU | vs lru_gen off |", who_name[w]);
	out("\n|---|---|---|---|---|");
	for (int w = 0; w < NWHO; w++)
		out("---|---|---|");
	out("\n");
	unsigned met[NWHO][2] = {{0}}, n = 0;
	for (size_t r = 0; r < nruns && !rc; r++) {
		if (!strcmp(runs[r], "e2e"))
			continue;
		struct judged a, b;
		rc = run_all(mglru, runs[r], &a);
		if (!rc)
			rc = run_all(nolru, runs[r], &b);
		if (!rc && a.run->nlisten != b.run->nlisten)
			rc = -EPROTO;
		for (size_t i = 0; !rc && i < a.run->nlisten; i++) {
			if (strcmp(a.run->l[i].group, "/"))
				continue;
			char kb[48], kn[48], eb[48];
			lcounts(&a.k.l[i], kb, sizeof(kb));
			lcounts(&b.k.l[i], kn, sizeof(kn));
			out("| %s | %s | `/:%s` | %s | %s |", runs[r], a.ri.set, a.run->l[i].args, kb, kn);
			n++;
			for (int w = 0; w < NWHO; w++) {
				struct lgoals ga, gb;
				judge(&a.k.l[i], &a.kev.l[i], &a.e[w].l[i], &a.eev[w].l[i], &ga);
				judge(&b.k.l[i], &b.kev.l[i], &a.e[w].l[i], &a.eev[w].l[i], &gb);
				met[w][0] += ga.all;
				met[w][1] += gb.all;
				lcounts(&a.e[w].l[i], eb, sizeof(eb));
				out(" %s | %s | %s |", eb, ga.all ? "yes" : "no", gb.all ? "yes" : "no");
			}
			out("\n");
		}
		judged_free(&a);
		judged_free(&b);
	}
	if (!rc)
		for (int w = 0; w < NWHO; w++)
			out("\nverdict: root listeners, %s: %u/%u meet every goal against the MGLRU kernel, "
			    "%u/%u against lru_gen off\n",
			    who_name[w], met[w][0], n, met[w][1], n);
	v2s_list_free(runs);
	return rc;
}

/* ---- --boots: the kernel against itself on another boot ---------------------- */

static bool counts_met(const struct lgoals *g)
{
	return g->met[G_LEVELS] && g->met[G_LOW] && g->met[G_MED] && g->met[G_CRIT];
}

/* The pairs judged: who stands in for the estimator, against whose kernel. */
enum { P_KB_KA, P_KA_KB, P_EA_KA, P_EB_KB, NPAIR };
static const char *const pair_name[NPAIR] = {
	"kernel B against kernel A", "kernel A against kernel B",
	"estimator on A against kernel A", "estimator on B against kernel B"};

struct btally {
	unsigned n, all, counts;
	uint64_t false_w, kernel_mc;
};

static bool same_listeners(const struct v2s_run *a, const struct v2s_run *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (size_t i = 0; i < a->nlisten; i++)
		if (strcmp(a->l[i].group, b->l[i].group) || strcmp(a->l[i].args, b->l[i].args))
			return false;
	return true;
}

static int boot_dirs(const char *da, const char *db)
{
	char **runs;
	size_t nruns;
	int rc = list_runs(da, &runs, &nruns);
	if (rc)
		return rc;
	struct btally t[2][NPAIR];
	memset(t, 0, sizeof(t));
	out("| workload | set | listeners |");
	for (int p = 0; p < NPAIR; p++)
		out(" every goal, %s |", pair_name[p]);
	out(" count goals, kernel B against A |\n|---|---|---|");
	for (int p = 0; p <= NPAIR; p++)
		out("---|");
	out("\n");
	unsigned skipped = 0;
	for (size_t r = 0; r < nruns && !rc; r++) {
		if (!strcmp(runs[r], "e2e"))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s.vmpt", db, runs[r]);
		FILE *probe = fopen(path, "r");
		if (!probe) {
			skipped++; /* a workload the other boot did not run */
			continue;
		}
		fclose(probe);
		struct judged a = {0}, b = {0};
		rc = run_all(da, runs[r], &a);
		if (!rc)
			rc = run_all(db, runs[r], &b);
		if (!rc && !same_listeners(a.run, b.run)) {
			fprintf(stderr, "v2_goals: %s: the two boots' listeners differ\n", runs[r]);
			rc = -EPROTO;
		}
		int set = rc ? -1 : set_index(&a.ri);
		unsigned wall[NPAIR] = {0}, wcounts = 0;
		for (size_t i = 0; set >= 0 && i < a.run->nlisten; i++) {
			struct lgoals g[NPAIR];
			judge(&a.k.l[i], &a.kev.l[i], &b.k.l[i], &b.kev.l[i], &g[P_KB_KA]);
			judge(&b.k.l[i], &b.kev.l[i], &a.k.l[i], &a.kev.l[i], &g[P_KA_KB]);
			judge(&a.k.l[i], &a.kev.l[i], &a.e[1].l[i], &a.eev[1].l[i], &g[P_EA_KA]);
			judge(&b.k.l[i], &b.kev.l[i], &b.e[1].l[i], &b.eev[1].l[i], &g[P_EB_KB]);
			for (int p = 0; p < NPAIR; p++) {
				struct btally *x = &t[set][p];
				x->n++;
				x->all += g[p].all;
				x->counts += counts_met(&g[p]);
				x->false_w += g[p].false_w;
				x->kernel_mc += g[p].kernel_mc;
				wall[p] += g[p].all;
			}
			wcounts += counts_met(&g[P_KB_KA]);
		}
		if (set >= 0) {
			out("| %s | %s | %zu |", runs[r], a.ri.set, a.run->nlisten);
			for (int p = 0; p < NPAIR; p++)
				out(" %u |", wall[p]);
			out(" %u |\n", wcounts);
		}
		if (a.run)
			judged_free(&a);
		if (b.run)
			judged_free(&b);
	}
	v2s_list_free(runs);
	if (rc)
		return rc;
	if (skipped)
		out("\n(%u workload(s) of A not run on B: left out)\n", skipped);
	out("\n| set | pair | listeners meeting every goal | count goals only | false windows / kernel M+C |\n"
	    "|---|---|---|---|---|\n");
	for (int s = 0; s < 2; s++)
		for (int p = 0; p < NPAIR; p++) {
			const struct btally *x = &t[s][p];
			out("| %s | %s | %u/%u (%.0f %%) | %u/%u (%.0f %%) | %llu/%llu (%.1f %%) |\n",
			    s ? "test" : "tuning", pair_name[p], x->all, x->n,
			    x->n ? 100.0 * x->all / x->n : 0.0, x->counts, x->n,
			    x->n ? 100.0 * x->counts / x->n : 0.0, (unsigned long long)x->false_w,
			    (unsigned long long)x->kernel_mc,
			    x->kernel_mc ? 100.0 * (double)x->false_w / (double)x->kernel_mc : 0.0);
		}
	for (int s = 0; s < 2; s++) {
		const struct btally *k1 = &t[s][P_KB_KA], *k2 = &t[s][P_KA_KB];
		if (!k1->n) {
			out("\nverdict: %s set: no listeners on both boots\n", s ? "test" : "tuning");
			continue;
		}
		out("\nverdict: %s set: the kernel meets every goal against itself on another boot on "
		    "%u/%u and %u/%u listeners (%s 95 %%)\n",
		    s ? "test" : "tuning", k1->all, k1->n, k2->all, k2->n,
		    k1->all * 100 >= 95 * k1->n && k2->all * 100 >= 95 * k2->n ? "at or above"
									     : "under");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: v2_goals [--misses] [--prio +BITS,-BITS] OUT_DIR DIR...\n"
				"       v2_goals OUT_DIR --root MGLRU_DIR NOLRU_DIR\n"
				"       v2_goals OUT_DIR --boots DIR_A DIR_B\n");
		return 2;
	}
	for (;;) {
		if (argc > 1 && !strcmp(argv[1], "--misses")) {
			verbose = true;
			argv++;
			argc--;
		} else if (argc > 2 && !strcmp(argv[1], "--prio")) {
			/* "+0x40,-0x10": VMP_EST_PRIO_* bits to add or take away */
			char *p = argv[2], *end;
			while (*p) {
				char sign = *p++;
				unsigned long v = strtoul(p, &end, 0);
				if ((sign != '+' && sign != '-') || end == p || (*end && *end != ',')) {
					fprintf(stderr, "v2_goals: --prio %s: want +BITS or -BITS, comma-separated "
							"(VMP_EST_PRIO_*, e.g. +0x80,-0x10)\n", argv[2]);
					return 2;
				}
				if (sign == '+')
					prio_add |= (unsigned)v;
				else
					prio_del |= (unsigned)v;
				p = *end ? end + 1 : end;
			}
			argv += 2;
			argc -= 2;
		} else {
			break;
		}
	}
	if (argc < 3)
		return 2;
	const char *odir = argv[1];
	bool root = !strcmp(argv[2], "--root"), boots = !strcmp(argv[2], "--boots");
	if (root && argc != 5) {
		fprintf(stderr, "v2_goals: --root takes the MGLRU study directory and the lru_gen-off one\n");
		return 2;
	}
	if (boots && argc != 5) {
		fprintf(stderr, "v2_goals: --boots takes two study directories of one configuration\n");
		return 2;
	}
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", odir,
		 root ? "v2_goals_root.md" : boots ? "v2_goals_boots.md" : "v2_goals.md");
	md = fopen(path, "w");
	if (!md) {
		fprintf(stderr, "v2_goals: %s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = 0;
	if (root) {
		out("Root listeners on MGLRU (%s) against its kernel and against lru_gen off (%s); counts low/medium/critical\n\n",
		    argv[3], argv[4]);
		rc = root_dirs(argv[3], argv[4]);
	} else if (boots) {
		out("The kernel against itself: boot A (%s) and boot B (%s) of one configuration, "
		    "judged by issue 10's goals\n\n",
		    argv[3], argv[4]);
		rc = boot_dirs(argv[3], argv[4]);
	} else {
		out("Issue 10's goals per configuration, tuning and test sets apart: the baseline "
		    "(the defaults) and the estimator set up for the capture's kernel (new)\n\n");
		for (int a = 2; a < argc && !rc; a++)
			rc = one_dir(argv[a]);
	}
	fclose(md);
	if (rc)
		return 1;
	printf("(written: %s)\n", path);
	return 0;
}
