/* SPDX-License-Identifier: MIT */
/* The OOM forecast model (src/lib/forecast/) on made-up counter sequences. */
#include "check.h"
#include "forecast/forecast.h"
#include "vmpressure.h"

#include <errno.h>
#include <math.h>

#define MB (1024.0 * 1024.0)
#define DT 0.1 /* the live readers' sampling period */

/* A watched group and up to two ancestors, and the machine. */
struct sim {
	struct vmp_fc_group g[3];
	size_t ng;
	struct vmp_fc_machine m;
	bool have_m;
	double t;
	vmp_forecast *fc;
	struct vmp_fc_result r;
	/* what happened over the run */
	unsigned warns, reraises, clears;
	vmp_fc_cause last_clear;
	double first_warn_t, first_warn_eta;
	uint64_t noise; /* an LCG: deterministic noise */
	double dt;      /* the sampling period; 0: DT */
};

static void sim_init(struct sim *s, const struct vmp_forecast_config *cfg, size_t ng)
{
	memset(s, 0, sizeof(*s));
	static const char *const paths[] = {"a/b", "a", "/"};
	s->ng = ng;
	for (size_t i = 0; i < 3; i++) {
		s->g[i].path = ng == 1 ? "a" : paths[i];
		s->g[i].flags = VMP_FC_HAVE_USAGE | VMP_FC_HAVE_RECLAIM;
		s->g[i].max = s->g[i].high = s->g[i].swap_max = VMP_FC_UNLIMITED;
	}
	s->first_warn_t = -1;
	s->noise = 12345;
	REQUIRE(vmp_forecast_new(&s->fc, cfg) == 0, "new");
}

static double noise(struct sim *s, double amp)
{
	s->noise = s->noise * 6364136223846793005ull + 1442695040888963407ull;
	return amp * ((double)(s->noise >> 11) / (double)(1ull << 53) * 2 - 1);
}

/* Set group i's memory: unreclaimable u, file f (usage = u + f). */
static void set_mem(struct sim *s, size_t i, double u, double f)
{
	s->g[i].anon = (uint64_t)u;
	s->g[i].file = (uint64_t)f;
	s->g[i].usage = (uint64_t)(u + f);
}

static int sim_step(struct sim *s)
{
	struct vmp_fc_sample smp = {.time = s->t, .groups = s->g, .ngroups = s->ng,
				    .machine = s->have_m ? &s->m : NULL, .psi_some_avg10 = -1,
				    .psi_full_avg10 = -1};
	int rc = vmp_forecast_step(s->fc, &smp, &s->r);
	if (rc)
		return rc;
	if (s->r.event == VMP_FC_EVENT_WARN) {
		if (s->r.cause == VMP_FC_CAUSE_RERAISE)
			s->reraises++;
		else
			s->warns++;
		if (s->first_warn_t < 0) {
			s->first_warn_t = s->t;
			s->first_warn_eta = s->r.eta;
		}
	} else if (s->r.event == VMP_FC_EVENT_CLEAR) {
		s->clears++;
		s->last_clear = s->r.cause;
	}
	s->t += s->dt > 0 ? s->dt : DT;
	return 0;
}

static void sim_free(struct sim *s)
{
	vmp_forecast_free(s->fc);
}

/* Steady anonymous growth at 5 MB/s to a 100 MB limit, then the kill. */
static void test_steady(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 5;
	struct sim s;
	sim_init(&s, &cfg, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	double u = 10 * MB;
	double eta_err = 0;
	while (u < 100 * MB) {
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
		if (s.r.eta >= 0 && s.t > 2) {
			double truth = (100 * MB - u) / (5 * MB);
			eta_err = fmax(eta_err, fabs(s.r.eta - truth));
		}
		u += 5 * MB * DT;
	}
	double kill_t = s.t;
	s.g[0].oom_kills = 1;
	set_mem(&s, 0, 1 * MB, 0);
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.warns == 1 && s.reraises == 0, "steady growth: one warning (%u, %u re-raised)", s.warns, s.reraises);
	CHECK(s.first_warn_t >= 0 && kill_t - s.first_warn_t >= 4.5 && kill_t - s.first_warn_t <= 5.2,
	      "warned %.2f s before the kill (warn=5s)", kill_t - s.first_warn_t);
	CHECK(eta_err < 0.05, "eta is the true time left within %.3f s", eta_err);
	CHECK(s.clears == 1 && s.last_clear == VMP_FC_CAUSE_KILLED, "the kill clears it (%u clears, cause %s)",
	      s.clears, vmp_fc_cause_name(s.last_clear));
	CHECK(s.r.decider == 0 && !strcmp(s.r.path, "a"), "the watched group decided");
	/* After the kill the trend starts over: no forecast for a window. */
	set_mem(&s, 0, 1 * MB, 0);
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.r.eta < 0 && !s.r.warning, "after the kill: no eta yet (%.2f)", s.r.eta);
	sim_free(&s);
}

/* The same growth with 60 MB of page cache that reclaim gives up as anon
 * grows (usage pinned at the limit): the cushion does not delay the kill,
 * so the forecast must not count usage, only what cannot be reclaimed. */
static void test_cushion(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 5;
	struct sim s;
	sim_init(&s, &cfg, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	double u = 10 * MB;
	uint64_t scan = 0, steal = 0;
	while (u < 100 * MB) {
		double f = fmin(60 * MB, 100 * MB - u);
		set_mem(&s, 0, u, f);
		if (u + 60 * MB > 100 * MB) { /* reclaim at work */
			scan += 2000;
			steal += 1900;
		}
		s.g[0].pgscan = scan;
		s.g[0].pgsteal = steal;
		REQUIRE(sim_step(&s) == 0, "step");
		u += 5 * MB * DT;
	}
	double left = s.t - s.first_warn_t;
	CHECK(s.warns == 1 && left >= 4.5 && left <= 5.2, "cushion: one warning %.2f s ahead", left);
	CHECK(fabs(s.first_warn_eta - left) < 0.3, "its eta %.2f is the time that remained %.2f", s.first_warn_eta,
	      left);
	CHECK(s.r.reclaimable > 0 && s.r.efficiency > 0.9 && s.r.efficiency < 0.96,
	      "evidence: reclaimable %" PRIu64 ", efficiency %.3f", s.r.reclaimable, s.r.efficiency);
	sim_free(&s);
}

/* Swap: 50 MB of swap allowed. Past the limit anon moves to swap; the kill
 * comes when swap is full too. Swap is headroom while it lasts. */
static void test_swap(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 5;
	struct sim s;
	sim_init(&s, &cfg, 1);
	s.have_m = true;
	s.m.mem_total = (uint64_t)(8192 * MB);
	s.m.mem_available = (uint64_t)(6000 * MB);
	s.m.swap_total = (uint64_t)(1024 * MB);
	s.g[0].max = (uint64_t)(100 * MB);
	s.g[0].swap_max = (uint64_t)(50 * MB);
	s.g[0].flags |= VMP_FC_HAVE_SWAP;
	double v = 10 * MB; /* anon in memory + in swap */
	double eta_at_limit = -1;
	while (v < 150 * MB) {
		double inmem = fmin(v, 95 * MB), sw = v - inmem;
		set_mem(&s, 0, inmem, 0);
		s.g[0].swap_usage = (uint64_t)sw;
		s.m.swap_free = s.m.swap_total - (uint64_t)sw;
		REQUIRE(sim_step(&s) == 0, "step");
		if (eta_at_limit < 0 && v >= 95 * MB)
			eta_at_limit = s.r.eta;
		v += 5 * MB * DT;
	}
	double left = s.t - s.first_warn_t;
	CHECK(eta_at_limit > 10.5 && eta_at_limit < 11.5, "at the memory limit the swap still gives %.2f s (11)",
	      eta_at_limit);
	CHECK(s.warns == 1 && left >= 4.5 && left <= 5.2, "swap: one warning %.2f s before swap is full", left);
	CHECK(s.r.swap_usage > 0 && s.r.swap_free < (uint64_t)(1 * MB), "evidence: swap used %" PRIu64 ", free %" PRIu64,
	      s.r.swap_usage, s.r.swap_free);
	sim_free(&s);
	/* Without machine swap (SwapFree 0) the group's swap.max gives nothing. */
	sim_init(&s, &cfg, 1);
	s.have_m = true;
	s.m.mem_total = (uint64_t)(8192 * MB);
	s.m.mem_available = (uint64_t)(6000 * MB);
	s.g[0].max = (uint64_t)(85 * MB);
	s.g[0].swap_max = (uint64_t)(50 * MB);
	s.g[0].flags |= VMP_FC_HAVE_SWAP;
	for (int i = 0; i < 20; i++) {
		set_mem(&s, 0, 60 * MB + i * 0.5 * MB, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(fabs(s.r.eta - (85 - 69.5) / 5) < 0.2, "no machine swap: eta %.2f is to the memory limit (3.1)", s.r.eta);
	sim_free(&s);
}

/* The watched group has no limit; its parent's 60 MB, shared with a
 * sibling's 30 MB, stops it first. */
static void test_ancestor(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 3;
	struct sim s;
	sim_init(&s, &cfg, 3);
	s.g[1].max = (uint64_t)(60 * MB);
	s.g[2].flags &= ~VMP_FC_HAVE_USAGE; /* the root: no usage file */
	double u = 5 * MB;
	while (u + 30 * MB < 60 * MB) {
		set_mem(&s, 0, u, 0);
		set_mem(&s, 1, u + 30 * MB, 10 * MB);
		s.g[1].usage = (uint64_t)fmin(u + 40 * MB, 60 * MB);
		s.g[1].file = s.g[1].usage - (uint64_t)(u + 30 * MB);
		set_mem(&s, 2, u + 100 * MB, 0);
		if (s.first_warn_t >= 0 && s.t - s.first_warn_t > 1 && !s.g[2].oom_kills) {
			s.g[2].oom_kills = 1; /* a kill elsewhere below the root */
			s.have_m = true;
			s.m.mem_total = (uint64_t)(8192 * MB);
			s.m.mem_available = (uint64_t)(4096 * MB);
			s.m.oom_kills++;
		} else if (s.have_m)
			s.m.oom_kills++; /* vmstat counts memcg kills elsewhere too */
		REQUIRE(sim_step(&s) == 0, "step");
		u += 4 * MB * DT;
	}
	CHECK(s.g[2].oom_kills && s.clears == 0 && s.r.warning,
	      "kills elsewhere (an unlimited ancestor's, the machine's counter) do not clear it (%u)", s.clears);
	double left = s.t - s.first_warn_t;
	CHECK(s.warns == 1 && left >= 2.6 && left <= 3.2, "ancestor limit: warned %.2f s ahead", left);
	CHECK(s.r.decider == 1 && !strcmp(s.r.path, "a") && s.r.limit == (uint64_t)(60 * MB),
	      "the parent decided (decider %d, %s)", s.r.decider, s.r.path ? s.r.path : "-");
	sim_free(&s);
}

/* A counter going down: the cgroup was recreated under the same path. Its
 * history goes, so the jump of its memory is no growth. */
static void test_reset(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	for (int i = 0; i < 30; i++) {
		set_mem(&s, 0, 20 * MB, 10 * MB);
		s.g[0].refaults = 1000 + (uint64_t)i;
		s.g[0].pgscan = 5000;
		s.g[0].pgsteal = 4000;
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.r.eta < 0, "flat: no eta (%.2f)", s.r.eta);
	/* recreated: counters from 0, and 90 MB already in it */
	s.g[0].refaults = s.g[0].pgscan = s.g[0].pgsteal = 0;
	double worst = -1;
	for (int i = 0; i < 30; i++) {
		set_mem(&s, 0, 90 * MB, 0);
		REQUIRE(sim_step(&s) == 0, "step");
		if (s.r.eta >= 0 && (worst < 0 || s.r.eta < worst))
			worst = s.r.eta;
	}
	CHECK(worst < 0 && s.warns == 0, "after a counter reset the jump is no growth (eta %.2f, %u warnings)", worst,
	      s.warns);
	/* A path that changes is a new group too. */
	s.g[0].path = "other";
	set_mem(&s, 0, 10 * MB, 0);
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.r.eta < 0 && s.warns == 0, "a new path starts over");
	/* Time going back is refused and changes nothing. */
	double t = s.t;
	s.t -= 1;
	CHECK(sim_step(&s) == -EINVAL, "a time before the previous one: -EINVAL");
	s.t = t;
	CHECK(sim_step(&s) == 0, "and the next good sample is taken");
	sim_free(&s);
}

/* The watched cgroup vanishes while a warning stands. */
static void test_vanish(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(60 * MB);
	for (int i = 0; i < 30; i++) {
		set_mem(&s, 0, 10 * MB + i * 1 * MB, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.r.warning && s.warns == 1, "growing 10 MB/s to 60 MB: warned (eta %.2f)", s.r.eta);
	s.g[0].flags |= VMP_FC_GONE;
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.r.event == VMP_FC_EVENT_CLEAR && s.r.cause == VMP_FC_CAUSE_GONE && !s.r.warning,
	      "gone: cleared (%s, %s)", vmp_fc_event_name(s.r.event), vmp_fc_cause_name(s.r.cause));
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.r.event == VMP_FC_EVENT_NONE, "once");
	/* an ancestor that vanishes only loses its own history */
	sim_free(&s);
	sim_init(&s, NULL, 3);
	s.g[0].max = (uint64_t)(60 * MB);
	for (int i = 0; i < 30; i++) {
		set_mem(&s, 0, 10 * MB + i * 1 * MB, 0);
		if (i == 20)
			s.g[1].flags |= VMP_FC_GONE;
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.r.warning && s.r.decider == 0, "a vanished ancestor does not stop the forecast");
	sim_free(&s);
	/* no groups at all: as gone */
	sim_init(&s, NULL, 1);
	s.ng = 0;
	CHECK(sim_step(&s) == 0 && s.r.eta < 0 && s.r.event == VMP_FC_EVENT_NONE, "no groups: no forecast");
	sim_free(&s);
}

/* Page cache streaming through the limit: usage at the limit, file
 * churning, refaults climbing, unreclaimable flat with noise. */
static void test_streaming(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(64 * MB);
	uint64_t scan = 0, steal = 0, refaults = 0;
	for (int i = 0; i < 600; i++) {
		double u = 4 * MB + noise(&s, 256 * 1024);
		set_mem(&s, 0, u, 64 * MB - u - 100 * 1024);
		scan += 30000;
		steal += 29000;
		refaults += 500;
		s.g[0].pgscan = scan;
		s.g[0].pgsteal = steal;
		s.g[0].refaults = refaults;
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 0, "streaming: no warning in 60 s (%u)", s.warns);
	CHECK(s.r.refaults > 4000 && s.r.efficiency > 0.9, "evidence: %.0f refaults/s, efficiency %.3f", s.r.refaults,
	      s.r.efficiency);
	sim_free(&s);
}

/* A stable anonymous set at 95 % of the limit, with noise. */
static void test_stable(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(64 * MB);
	for (int i = 0; i < 600; i++) {
		set_mem(&s, 0, 61 * MB + noise(&s, 512 * 1024), 2 * MB);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 0, "a stable set near the limit: no warning (%u)", s.warns);
	sim_free(&s);
}

/* A burst to 90 % in half a second, then freed. */
static void test_burst(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	double u = 5 * MB;
	for (int i = 0; i < 100; i++) {
		if (i >= 20 && i < 25)
			u += 17 * MB;
		if (i == 40)
			u = 5 * MB;
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 0, "a burst shorter than the window: no warning (%u)", s.warns);
	sim_free(&s);
}

/* A fill of a tenth of the headroom in 1.5 s, then held: its one-second
 * trend says 9 s left, further than half the long window, so only the long
 * window could warn, and the fill stops before it covers the trend. With a
 * 20 s long window the same short trend reaches 10 s and does warn. */
static void test_reach(void)
{
	for (int k = 0; k < 2; k++) {
		struct vmp_forecast_config cfg;
		vmp_forecast_config_init(&cfg);
		if (k)
			cfg.long_s = 20;
		struct sim s;
		sim_init(&s, &cfg, 1);
		s.g[0].max = (uint64_t)(500 * MB);
		double u = 300 * MB;
		for (int i = 0; i < 100; i++) {
			if (i >= 20 && i < 35)
				u += 2 * MB; /* 20 MB/s for 1.5 s */
			set_mem(&s, 0, u, 0);
			REQUIRE(sim_step(&s) == 0, "step");
		}
		if (k)
			CHECK(s.warns == 1, "the same trend with long=20s reaches 10 s: warned at eta %.2f", s.first_warn_eta);
		else
			CHECK(s.warns == 0, "a short trend 9 s from the limit (half the 8 s long window is 4 s): no warning (%u)",
			      s.warns);
		sim_free(&s);
	}
}

/* A fill at 60 MB/s from 10 MB into 100 MB: its first covered trend (after
 * 0.9 s) leaves 0.6 s, under `least` (1 s): no warning; with least=0 the
 * same fill is warned. A threshold at or under `least` turns it off. */
static void test_least(void)
{
	for (int k = 0; k < 3; k++) {
		struct vmp_forecast_config cfg;
		vmp_forecast_config_init(&cfg);
		if (k == 1)
			cfg.least_s = 0;
		if (k == 2)
			cfg.warn_s = 0.8;
		struct sim s;
		sim_init(&s, &cfg, 1);
		s.g[0].max = (uint64_t)(100 * MB);
		double u = 10 * MB;
		for (int i = 0; i < 14 && u < 100 * MB; i++) {
			u += 60 * MB * DT;
			set_mem(&s, 0, u, 0);
			REQUIRE(sim_step(&s) == 0, "step");
		}
		if (k == 0)
			CHECK(s.warns == 0, "a fill whose first trend leaves 0.6 s (least 1 s): no warning (%u)", s.warns);
		else
			CHECK(s.warns == 1 && s.first_warn_eta < 1, "%s: warned at eta %.2f",
			      k == 1 ? "least=0" : "warn=0.8 (under least)", s.first_warn_eta);
		sim_free(&s);
	}
}

/* A sampler a little slower than a tenth of the window (112 ms, as the VM
 * suite's under TCG): eight intervals span 0.896 s, under 90 % of the short
 * window, and the ninth point is past its start; the history reaches back
 * past it all the same. 20 MB/s from 10 MB into 100 MB: the approach (50 MB
 * to the limit) lasts 2.5 s and must be warned half of it ahead, before the
 * long window has any trend. */
static void test_slow_sampler(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.dt = 0.112;
	s.g[0].max = (uint64_t)(100 * MB);
	double u = 10 * MB, warned_u = -1;
	while (u < 100 * MB) {
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
		if (warned_u < 0 && s.warns)
			warned_u = u;
		u += 20 * MB * s.dt;
	}
	double lead = (100 * MB - warned_u) / (20 * MB);
	CHECK(s.warns == 1 && warned_u > 0 && lead >= 1.25, "sampled every 112 ms: warned %.2f s before the limit", lead);
	sim_free(&s);
}

/* memory.high at 80 MB below max 100: the kernel throttles the group there. */
static void test_high(void)
{
	struct sim s;
	sim_init(&s, NULL, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	s.g[0].high = (uint64_t)(80 * MB);
	double u = 10 * MB;
	for (int i = 0; i < 300; i++) {
		u = fmin(u + 5 * MB * DT, 79.5 * MB + noise(&s, 100 * 1024));
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 0, "growth that memory.high throttles: no warning (%u)", s.warns);
	/* past high and still growing: it decides */
	for (int i = 0; i < 30; i++) {
		u = 81 * MB + i * 0.5 * MB;
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 1 && s.r.eta > 0, "past memory.high, growing: warned (eta %.2f)", s.r.eta);
	sim_free(&s);
}

/* Hysteresis: growth stops after a warning; eta hovering around warn_s. */
static void test_hysteresis(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 10;
	struct sim s;
	sim_init(&s, &cfg, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	/* eta hovering around warn_s: growth at 5 MB/s while the limit is
	 * raised with it, the headroom swinging between 40 and 60 MB (eta 8
	 * to 12 s) */
	for (int i = 0; i < 600; i++) {
		double v = 20 * MB + 5 * MB * s.t;
		set_mem(&s, 0, v, 0);
		s.g[0].max = (uint64_t)(v + 50 * MB + 10 * MB * sin(s.t * 2 * M_PI / 6));
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 1 && s.reraises == 0 && s.clears == 0, "no flapping: %u warnings, %u clears", s.warns + s.reraises, s.clears);
	sim_free(&s);

	cfg.long_s = 20; /* the short window's trend then reaches the threshold, 10 s */
	sim_init(&s, &cfg, 1);
	s.g[0].max = (uint64_t)(100 * MB);
	/* grow at 5 MB/s from 40 MB: warned when eta < 10 s; then stop. */
	double u = 40 * MB;
	int i = 0;
	for (; s.warns == 0 && i < 200; i++) {
		u += 5 * MB * DT;
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 1, "growing: warned at eta %.2f", s.first_warn_eta);
	double stop_t = s.t, clear_t = -1;
	for (int k = 0; k < 100; k++) {
		set_mem(&s, 0, u + noise(&s, 10 * 1024), 0);
		REQUIRE(sim_step(&s) == 0, "step");
		if (s.r.event == VMP_FC_EVENT_CLEAR && clear_t < 0)
			clear_t = s.t;
	}
	CHECK(s.clears == 1 && s.last_clear == VMP_FC_CAUSE_ETA, "growth stopped: cleared once (%u)", s.clears);
	CHECK(clear_t - stop_t >= cfg.clear_hold_s, "not before the hold: %.2f s after the growth stopped",
	      clear_t - stop_t);
	/* a second approach: a new warning */
	for (int k = 0; k < 40; k++) {
		u += 5 * MB * DT;
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.warns == 2, "a new approach warns again (%u)", s.warns);
	/* it speeds up to 40 MB/s: eta well below what the warning left */
	unsigned before = s.reraises;
	for (int k = 0; k < 6; k++) {
		u += 40 * MB * DT;
		set_mem(&s, 0, u, 0);
		REQUIRE(sim_step(&s) == 0, "step");
	}
	CHECK(s.reraises > before, "speeding up re-raises (%u)", s.reraises);
	sim_free(&s);
}

/* No cgroup limit on the path: the machine's MemAvailable decides. */
static void test_machine(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	struct sim s;
	sim_init(&s, &cfg, 1);
	s.have_m = true;
	s.m.mem_total = (uint64_t)(4096 * MB);
	double avail = 1600 * MB;
	for (int i = 0; i < 100; i++) {
		s.m.mem_available = (uint64_t)avail;
		set_mem(&s, 0, 3000 * MB - avail, 0);
		REQUIRE(sim_step(&s) == 0, "step");
		avail -= 50 * MB * DT;
	}
	CHECK(s.r.decider == -1 && !strcmp(s.r.path, "machine") && fabs(s.r.eta - avail / (50 * MB)) < 0.5,
	      "the machine decides: eta %.2f (%.2f)", s.r.eta, avail / (50 * MB));
	CHECK(s.warns == 1, "and warns (%u)", s.warns);
	s.m.oom_kills = 1;
	REQUIRE(sim_step(&s) == 0, "step");
	CHECK(s.r.event == VMP_FC_EVENT_CLEAR && s.r.cause == VMP_FC_CAUSE_KILLED, "a global OOM kill clears it");
	sim_free(&s);
}

static bool same_config(const struct vmp_forecast_config *a, const struct vmp_forecast_config *b)
{
	return a->warn_s == b->warn_s && a->window_s == b->window_s && a->long_s == b->long_s &&
	       a->sigma == b->sigma && a->confirm == b->confirm && a->reraise == b->reraise &&
	       a->clear == b->clear && a->clear_hold_s == b->clear_hold_s && a->least_s == b->least_s;
}

static void test_config(void)
{
	struct vmp_forecast_config c, d;
	struct vmp_error e;
	const char *err = e.msg;
	vmp_forecast_config_init(&d);
	CHECK(vmp_forecast_parse("", &c, &e) == 0 && same_config(&c, &d), "'' is the defaults");
	CHECK(vmp_forecast_parse("warn=10,window=500ms,long=4s,sigma=2,confirm=3,reraise=0.4,clear=3,hold=1.5,least=250ms",
				 &c, &e) == 0 &&
		      c.warn_s == 10 && fabs(c.window_s - 0.5) < 1e-9 && c.long_s == 4 && c.sigma == 2 &&
		      c.confirm == 3 && fabs(c.reraise - 0.4) < 1e-9 && c.clear == 3 && c.clear_hold_s == 1.5 &&
		      fabs(c.least_s - 0.25) < 1e-9,
	      "every key");
	CHECK(vmp_forecast_parse("least=-1", &c, &e) == -EINVAL, "least: not negative: %s", err);
	c.warn_s = 77;
	CHECK(vmp_forecast_parse("warn=x", &c, &e) == -EINVAL && c.warn_s == 77 &&
		      strstr(err, "byte 5"),
	      "a bad value names its byte, *cfg untouched: %s", err);
	CHECK(vmp_forecast_parse("nope=1", &c, &e) == -EINVAL && strstr(err, "unknown key"), "%s", err);
	CHECK(vmp_forecast_parse("warn=1,warn=2", &c, &e) == -EINVAL && strstr(err, "twice"), "%s", err);
	CHECK(vmp_forecast_parse("warn=1,", &c, &e) == -EINVAL, "trailing comma: %s", err);
	CHECK(vmp_forecast_parse("reraise=1", &c, &e) == -EINVAL, "out of range: %s", err);
	CHECK(vmp_forecast_parse("window=2,long=1", &c, &e) == -EINVAL, "long below window: refused");
	CHECK(vmp_forecast_parse("confirm=1.5", &c, &e) == -EINVAL, "confirm: whole numbers");
	vmp_forecast *fc;
	d.sigma = -1;
	CHECK(vmp_forecast_new(&fc, &d) == -EINVAL, "new refuses an invalid config");
	CHECK(!strcmp(vmp_fc_event_name(VMP_FC_EVENT_WARN), "forecast") &&
		      !strcmp(vmp_fc_event_name(VMP_FC_EVENT_CLEAR), "forecast-clear") && !vmp_fc_event_name(3) &&
		      !strcmp(vmp_fc_cause_name(VMP_FC_CAUSE_KILLED), "killed") && !vmp_fc_cause_name(9),
	      "names");
	vmp_forecast_free(NULL);
}

static void test_fit(void)
{
	double t[5] = {0, 1, 2, 3, 4}, v[5] = {1, 3, 5, 7, 9};
	struct vmp_fc_fit f;
	vmp__fc_fit_line(t, v, 5, 0, &f);
	CHECK(f.n == 5 && fabs(f.slope - 2) < 1e-12 && f.se < 1e-9 && f.span == 4, "a line: slope %.3f", f.slope);
	vmp__fc_fit_line(t, v, 5, 2.5, &f);
	CHECK(f.n == 2 && fabs(f.slope - 2) < 1e-12 && f.se == 0, "from t=2.5: two points");
	double w[5] = {0, 2, 0, 2, 0};
	vmp__fc_fit_line(t, w, 5, 0, &f);
	CHECK(fabs(f.slope) < 1e-12 && f.se > 0.3, "noise: slope 0, se %.3f", f.se);
}

/* Recordings: the sample lines round-trip, and replaying them steps the
 * model exactly as the live samples did. */
struct collect {
	unsigned warns, clears, n;
	double first_eta, first_t;
};
static void on_replayed(const struct vmp_fc_sample *smp, const struct vmp_fc_result *r, void *arg)
{
	struct collect *c = arg;
	c->n++;
	if (r->event == VMP_FC_EVENT_WARN && !c->warns++) {
		c->first_eta = r->eta;
		c->first_t = smp->time;
	}
	if (r->event == VMP_FC_EVENT_CLEAR)
		c->clears++;
}

static void test_samples(void)
{
	struct vmp_forecast_config cfg;
	vmp_forecast_config_init(&cfg);
	cfg.warn_s = 5.05; /* off the made-up numbers' exact etas: no tie at the threshold */
	struct sim s;
	sim_init(&s, &cfg, 3);
	s.g[1].max = (uint64_t)(100 * MB);
	s.g[1].high = (uint64_t)(200 * MB);
	s.g[0].flags |= VMP_FC_HAVE_SWAP;
	s.g[0].swap_usage = 4096;
	s.g[0].swap_max = VMP_FC_UNLIMITED;
	s.g[2].flags &= ~(VMP_FC_HAVE_USAGE | VMP_FC_HAVE_RECLAIM);
	s.have_m = true;
	s.m.mem_total = (uint64_t)(4096 * MB);
	s.m.mem_available = (uint64_t)(3000 * MB);
	s.m.swap_total = s.m.swap_free = (uint64_t)(512 * MB);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	REQUIRE(buf, "malloc");
	int k = vmp_fc_format_header(buf, cap);
	REQUIRE(k > 0, "header");
	len += (size_t)k;
	len += (size_t)snprintf(buf + len, cap - len, "# vmptrace 1\ngroup / -\n# another comment\n");
	double u = 10 * MB;
	double direct_first_eta = -1;
	while (u < 100 * MB) {
		set_mem(&s, 0, u, 1 * MB);
		set_mem(&s, 1, u + 2 * MB, 3 * MB);
		s.g[0].refaults += 3;
		s.g[0].pgscan += 100;
		s.g[0].pgsteal += 90;
		struct vmp_fc_sample smp = {.time = s.t, .groups = s.g, .ngroups = s.ng, .machine = &s.m,
					    .psi_some_avg10 = 1.25, .psi_full_avg10 = 0.5};
		k = vmp_fc_format_sample(&smp, buf + len, cap - len);
		REQUIRE(k > 0, "format: %d", k);
		len += (size_t)k;
		REQUIRE(sim_step(&s) == 0, "step");
		if (direct_first_eta < 0 && s.first_warn_t >= 0)
			direct_first_eta = s.first_warn_eta;
		u += 5 * MB * DT;
	}
	s.g[1].oom_kills = 1;
	s.g[0].flags = VMP_FC_GONE;
	struct vmp_fc_sample last = {.time = s.t, .groups = s.g, .ngroups = s.ng, .machine = NULL,
				     .psi_some_avg10 = -1, .psi_full_avg10 = -1};
	k = vmp_fc_format_sample(&last, buf + len, cap - len);
	REQUIRE(k > 0, "format");
	len += (size_t)k;
	CHECK(strstr(buf, "# fcsample-cg a/b gone\n") && strstr(buf, " max=max high=max swap=4096/max") &&
		      strstr(buf, "# fcsample-cg / usage=- ") && strstr(buf, "reclaim=-"),
	      "the lines say gone, max, usage=-, reclaim=-");
	struct collect c = {0};
	struct vmp_error err = {0};
	uint64_t n = 0;
	int rc = vmp_forecast_replay(buf, len, &cfg, on_replayed, &c, &n, &err);
	CHECK(rc == 0 && n == c.n && c.n > 100, "replayed %u samples (rc %d: %lu %s)", c.n, rc, err.line, err.msg);
	CHECK(c.warns == s.warns && fabs(c.first_eta - direct_first_eta) < 1e-3,
	      "the same warnings as the live steps (%u, eta %.3f vs %.3f)", c.warns, c.first_eta, direct_first_eta);
	CHECK(c.clears == 1, "and the gone sample clears it");
	/* another setting: warned later */
	struct vmp_forecast_config late = cfg;
	late.warn_s = 2.05;
	struct collect c2 = {0};
	CHECK(vmp_forecast_replay(buf, len, &late, on_replayed, &c2, NULL, &err) == 0 && c2.warns == 1 &&
		      c2.first_t > c.first_t + 2.5 && c2.first_eta < 2,
	      "warn=2.05: the warning %.1f s later, eta %.2f", c2.first_t - c.first_t, c2.first_eta);
	/* errors name the line and byte */
	static const struct {
		const char *text;
		unsigned long line;
		const char *what;
	} bad[] = {
		{"# fcsample 1.0 0 psi=- -\n", 1, "before"},
		{"# fcsamples 2\n", 1, "version"},
		{"# fcsamples 1\n# fcsample 1.0 1 psi=- -\n# other\n", 3, "follow it directly"},
		{"# fcsamples 1\n# fcsample 1.0 1 psi=- -\n", 3, "ends inside"},
		{"# fcsamples 1\n# fcsample x 0 psi=- -\n", 2, "byte 12"},
		{"# fcsamples 1\n# fcsample 2.0 0 psi=- -\n# fcsample 1.0 0 psi=- -\n", 3, "before the previous"},
		{"# fcsamples 1\n# fcsample 1.0 1 psi=- -\n# fcsample-cg a usage=1 max=2 high=max swap=- anon=1 "
		 "shmem=0 unevictable=0 file=0 slab=0/0 refaults=0 reclaim=- oom_kill=x\n",
		 3, "oom_kill"},
		{"# fcsamples 1\n# fcsample 1.0 0 psi=200/1 -\n", 2, "psi"},
		{"# fcsamples 1\n# fcsample 1.0 0 psi=- machine mem_total=1\n", 2, "machine fields"},
		{"# fcsamples 1\n# fcsample-cg a gone\n", 2, "no sample before"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		rc = vmp_forecast_replay(bad[i].text, strlen(bad[i].text), NULL, NULL, NULL, NULL, &err);
		CHECK(rc == -EINVAL && err.line == bad[i].line && strstr(err.msg, bad[i].what),
		      "malformed %zu: line %lu: %s", i, err.line, err.msg);
	}
	rc = vmp_forecast_replay("# vmptrace 1\n", 13, NULL, NULL, NULL, NULL, &err);
	CHECK(rc == -ENODATA && strstr(err.msg, "no forecast samples"), "no samples: -ENODATA (%s)", err.msg);
	struct vmp_fc_group sp = {.path = "a b"};
	struct vmp_fc_sample ss = {.time = 0, .groups = &sp, .ngroups = 1};
	CHECK(vmp_fc_format_sample(&ss, buf, cap) == -EILSEQ, "a path with a space: -EILSEQ");
	sp.path = "a";
	CHECK(vmp_fc_format_sample(&ss, buf, 10) == -ENOSPC, "too small: -ENOSPC");
	free(buf);
	sim_free(&s);
}

int main(void)
{
	test_fit();
	test_config();
	test_steady();
	test_cushion();
	test_swap();
	test_ancestor();
	test_reset();
	test_vanish();
	test_streaming();
	test_stable();
	test_burst();
	test_reach();
	test_least();
	test_slow_sampler();
	test_high();
	test_hysteresis();
	test_machine();
	test_samples();
	printf("1..%d\n", check_count);
	return check_failed ? 1 : 0;
}
