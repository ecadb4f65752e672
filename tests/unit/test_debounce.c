/* SPDX-License-Identifier: MIT */
/*
 * The debounced level state machine (src/lib/consumers/debounce.c): the
 * config parser, hysteresis, dwell, PSI confirmation held and abandoned,
 * leaving a level on ticks alone, the evidence, independence from how
 * often the caller ticks, and a source event as input
 * (vmp_debounce_input_from_event: clocks, evidence, origin).
 */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define MS 1000000ull
#define S 1000000000ull

struct rec {
	size_t n;
	uint64_t total;
	struct vmp_transition last;
	struct vmp_transition t[64];
	char origin[64][32];
};

static void on_tr(const struct vmp_transition *t, void *arg)
{
	struct rec *r = arg;
	r->total++;
	r->last = *t;
	if (r->n < 64) {
		r->t[r->n] = *t;
		snprintf(r->origin[r->n], sizeof(r->origin[0]), "%s", t->ev.origin ? t->ev.origin : "");
		r->t[r->n].ev.origin = NULL;
		r->n++;
	}
}

static vmp_debounce *mk(const char *cfgs, struct rec *r)
{
	struct vmp_debounce_config c;
	struct vmp_error err;
	memset(r, 0, sizeof(*r));
	REQUIRE(vmp_debounce_parse(cfgs, &c, &err) == 0, "parse '%s': %s", cfgs, err.msg);
	vmp_debounce *d;
	REQUIRE(vmp_debounce_new(&d, &c, on_tr, r) == 0, "new");
	return d;
}

static void feed(vmp_debounce *d, uint64_t t, vmp_level l, uint64_t pressure, double psi_some)
{
	struct vmp_debounce_input in = {.time_ns = t, .level = l, .has_evidence = true, .scanned = 512,
					.reclaimed = 512 - 512 * pressure / 100, .pressure = pressure,
					.origin = "a/b", .psi_some_avg10 = psi_some, .psi_full_avg10 = -1};
	CHECK(vmp_debounce_feed(d, &in) == 0, "feed at %.3f s", (double)t / S);
}

static bool same_cfg(const struct vmp_debounce_config *a, const struct vmp_debounce_config *b)
{
	return a->window_ns == b->window_ns && a->enter == b->enter && a->leave == b->leave &&
	       a->dwell_ns == b->dwell_ns && a->psi == b->psi && a->psi_min == b->psi_min;
}

static void test_parse(void)
{
	struct vmp_debounce_config c, def;
	struct vmp_error e;
	const char *err = e.msg;
	char buf[160];
	vmp_debounce_config_init(&def);
	CHECK(vmp_debounce_parse("", &c, &e) == 0 && same_cfg(&c, &def),
	      "empty string: the defaults");
	CHECK(vmp_debounce_parse("window=500ms,enter=4,leave=1,dwell=1.5s,psi=full:2.5", &c, &e) == 0,
	      "every key");
	CHECK(c.window_ns == 500 * MS && c.enter == 4 && c.leave == 1 && c.dwell_ns == 1500 * MS &&
		      c.psi == VMP_DEBOUNCE_PSI_FULL && c.psi_min == 2.5,
	      "values as written");
	CHECK(vmp_debounce_format(&c, buf, sizeof(buf)) == 0 &&
		      !strcmp(buf, "window=500ms,enter=4,leave=1,dwell=1500ms,psi=full:2.50"),
	      "canonical text: %s", buf);
	struct vmp_debounce_config c2;
	CHECK(vmp_debounce_parse(buf, &c2, &e) == 0 && same_cfg(&c, &c2),
	      "the canonical text parses back to the same config");
	CHECK(vmp_debounce_format(&c, buf, 10) == -ENOSPC, "format: -ENOSPC when it does not fit");

	static const struct {
		const char *s;
		const char *msg; /* a substring of the error */
	} bad[] = {
		{"window", "byte 0: 'window' is not key=value"},
		{"foo=1", "byte 0: unknown key 'foo'"},
		{"enter=2,enter=3", "byte 8: key 'enter' given twice"},
		{"enter=0", "byte 6: enter '0'"},
		{"enter=02", "byte 6"},
		{"enter=-1", "byte 6"},
		{"leave=2", "leave must be below enter"},
		{"enter=3,leave=3", "leave must be below enter"},
		{"window=1", "byte 7: window '1'"},
		{"window=5ms", "byte 7"},
		{"window=1.s", "byte 7"},
		{"window=1 s", "byte 7"},
		{"window=3601s", "byte 7"},
		{"dwell=1m", "byte 6: dwell '1m'"},
		{"dwell=0.0000000001s", "byte 6"},
		{"psi=10", "byte 4: psi '10'"},
		{"psi=some:", "byte 4"},
		{"psi=some:101", "byte 4"},
		{"psi=some:1.234", "byte 4"},
		{"psi=Some:1", "byte 4"},
		{"enter=2,", "trailing comma"},
		{"window=x,", "byte 7: window 'x'"}, /* the value is read before the comma after it */
		{",enter=2", "byte 0: empty item"},
		{"enter=2,,leave=0", "byte 8: empty item"},
		{"Enter=2", "unknown key"},
		{"enter=2 ", "byte 6"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = def;
		c.enter = 77;
		struct vmp_debounce_config before = c;
		int rc = vmp_debounce_parse(bad[i].s, &c, &e);
		CHECK(rc == -EINVAL && strstr(err, bad[i].msg) && same_cfg(&c, &before),
		      "'%s' rejected: %s (untouched config)", bad[i].s, err);
	}
	CHECK(vmp_debounce_parse("dwell=0s", &c, &e) == 0 && c.dwell_ns == 0, "dwell=0s");
	CHECK(vmp_debounce_parse("psi=off", &c, &e) == 0 && c.psi == VMP_DEBOUNCE_PSI_OFF, "psi=off");
	vmp_debounce *d;
	c = def;
	c.leave = c.enter;
	CHECK(vmp_debounce_new(&d, &c, on_tr, NULL) == -EINVAL, "new: leave >= enter rejected");
	CHECK(vmp_debounce_new(&d, NULL, NULL, NULL) == -EINVAL, "new: a callback is required");
	CHECK(!strcmp(vmp_state_name(VMP_STATE_NONE), "none") && !vmp_state_name((vmp_state)4), "state names");
	CHECK(!strcmp(vmp_cause_name(VMP_CAUSE_CONFIRMED), "confirmed") && !vmp_cause_name((vmp_transition_cause)3),
	      "cause names");
}

/* enter=3: two notifications are not enough, the third enters; the
 * hysteresis (leave=1) keeps the level while one is left in the window. */
static void test_hysteresis(void)
{
	struct rec r;
	vmp_debounce *d = mk("window=1s,enter=3,leave=1,dwell=0s", &r);
	feed(d, 10 * S, VMP_LEVEL_MEDIUM, 70, -1);
	feed(d, 10 * S + 100 * MS, VMP_LEVEL_MEDIUM, 75, -1);
	CHECK(r.n == 0 && vmp_debounce_state(d) == VMP_STATE_NONE, "two notifications: no transition (enter=3)");
	feed(d, 10 * S + 200 * MS, VMP_LEVEL_CRITICAL, 98, -1);
	REQUIRE(r.n == 1, "the third enters (%zu transitions)", r.n);
	CHECK(r.t[0].from == VMP_STATE_NONE && r.t[0].to == VMP_STATE_MEDIUM && r.t[0].cause == VMP_CAUSE_ENTER,
	      "none -> medium (two medium + one critical are 3 at >= medium, 1 at critical)");
	CHECK_EQ_U64(r.t[0].time_ns, 10 * S + 200 * MS, "raised at the third notification's time");
	CHECK(r.t[0].ev.count[1] == 2 && r.t[0].ev.count[2] == 1 && r.t[0].ev.count[0] == 0, "evidence: counts by level");
	CHECK(r.t[0].ev.max_pressure == 98 && r.t[0].ev.with_evidence == 3 && r.t[0].ev.scanned == 3 * 512,
	      "evidence: max pressure 98, 3 windows of 512 pages");
	CHECK(r.t[0].ev.triggered && r.t[0].ev.trigger_level == VMP_LEVEL_CRITICAL && r.t[0].ev.trigger_pressure == 98 &&
		      !strcmp(r.origin[0], "a/b"),
	      "evidence: the triggering notification and its origin");
	CHECK(r.t[0].prev_duration_ns == 0, "the first state lasted since creation: 0");
	/* Two more criticals: critical. */
	feed(d, 10 * S + 300 * MS, VMP_LEVEL_CRITICAL, 100, -1);
	feed(d, 10 * S + 400 * MS, VMP_LEVEL_CRITICAL, 100, -1);
	REQUIRE(r.n == 2, "critical entered");
	CHECK(r.t[1].from == VMP_STATE_MEDIUM && r.t[1].to == VMP_STATE_CRITICAL, "medium -> critical");
	CHECK_EQ_U64(r.t[1].prev_duration_ns, 200 * MS, "medium lasted 200 ms");
	/* A tick at 11.25 s: the two mediums (10.0, 10.1) and the critical of
	 * 10.2 have left the window; the criticals of 10.3 and 10.4 remain:
	 * 2 < enter but > leave, so critical stays (hysteresis). */
	vmp_debounce_tick(d, 11 * S + 250 * MS);
	CHECK(r.n == 2 && vmp_debounce_state(d) == VMP_STATE_CRITICAL, "2 criticals left, above leave=1: critical stays");
	vmp_debounce_tick(d, 11 * S + 350 * MS);
	REQUIRE(r.n == 3, "one critical left (= leave): critical is left");
	CHECK(r.t[2].from == VMP_STATE_CRITICAL && r.t[2].to == VMP_STATE_NONE && r.t[2].cause == VMP_CAUSE_LEAVE,
	      "critical -> none: 1 notification is not above leave at any level");
	CHECK(r.t[2].time_ns > 11 * S + 250 * MS && r.t[2].time_ns <= 11 * S + 300 * MS,
	      "raised when the critical of 10.3 s left the window, not at the tick (%.3f s)",
	      (double)r.t[2].time_ns / S);
	CHECK(!r.t[2].ev.triggered && r.t[2].ev.count[2] == 1, "evidence of a leave: by time, one critical left");
	vmp_debounce_free(d);
}

static void test_dwell(void)
{
	struct rec r;
	vmp_debounce *d = mk("window=1s,enter=1,leave=0,dwell=5s", &r);
	feed(d, 1 * S, VMP_LEVEL_LOW, 10, -1);
	REQUIRE(r.n == 1 && r.t[0].to == VMP_STATE_LOW, "enter=1: one notification enters low");
	CHECK_EQ_U64(vmp_debounce_next_ns(d), 1 * S + 1 * S, "next due: when the window empties (2 s)");
	vmp_debounce_tick(d, 3 * S);
	CHECK(r.n == 1, "window empty at 2 s, but the dwell (5 s) is not over");
	CHECK_EQ_U64(vmp_debounce_next_ns(d), 6 * S, "next due: the end of the dwell");
	/* Up is never delayed by the dwell. */
	feed(d, 4 * S, VMP_LEVEL_CRITICAL, 100, -1);
	REQUIRE(r.n == 2 && r.t[1].to == VMP_STATE_CRITICAL && r.t[1].time_ns == 4 * S, "up at once inside the dwell");
	vmp_debounce_tick(d, 100 * S);
	REQUIRE(r.n == 3, "left after the dwell");
	CHECK(r.t[2].to == VMP_STATE_NONE && r.t[2].time_ns == 9 * S, "critical -> none at 4 s + 5 s dwell (%.3f)",
	      (double)r.t[2].time_ns / S);
	CHECK_EQ_U64(r.t[2].prev_duration_ns, 5 * S, "critical lasted the dwell");
	CHECK_EQ_U64(vmp_debounce_next_ns(d), UINT64_MAX, "none: nothing due without a notification");
	vmp_debounce_free(d);

	/* Going down by steps: critical evidence gone, low still there. */
	d = mk("window=1s,enter=1,leave=0,dwell=0s", &r);
	feed(d, 1 * S, VMP_LEVEL_CRITICAL, 100, -1);
	feed(d, 1 * S + 600 * MS, VMP_LEVEL_LOW, 0, -1);
	vmp_debounce_tick(d, 2 * S + 100 * MS);
	REQUIRE(r.n == 2, "critical left");
	CHECK(r.t[1].from == VMP_STATE_CRITICAL && r.t[1].to == VMP_STATE_LOW,
	      "critical -> low directly (the low notification still in the window)");
	vmp_debounce_free(d);
}

static void test_psi(void)
{
	struct rec r;
	struct vmp_debounce_stats st;
	vmp_debounce *d = mk("window=1s,enter=2,leave=0,dwell=0s,psi=some:10", &r);
	feed(d, 1 * S, VMP_LEVEL_MEDIUM, 70, 2.0);
	feed(d, 1 * S + 100 * MS, VMP_LEVEL_MEDIUM, 70, 5.0);
	CHECK(r.n == 0, "enter reached, PSI some 5 < 10: held");
	feed(d, 1 * S + 200 * MS, VMP_LEVEL_MEDIUM, 70, -1);
	CHECK(r.n == 0, "unknown PSI does not confirm (the latest known, 5, is kept)");
	feed(d, 1 * S + 300 * MS, VMP_LEVEL_CRITICAL, 99, 12.5);
	REQUIRE(r.n == 1, "PSI 12.5 confirms");
	CHECK(r.t[0].to == VMP_STATE_MEDIUM && r.t[0].cause == VMP_CAUSE_CONFIRMED,
	      "confirmed to medium (one critical is below enter)");
	CHECK_EQ_U64(r.t[0].held_ns, 200 * MS, "held from the moment enter was reached (1.1 s) to 1.3 s");
	CHECK(r.t[0].ev.psi_some_avg10 == 12.5 && r.t[0].ev.psi_full_avg10 < 0, "evidence: the PSI that confirmed");
	vmp_debounce_stats(d, &st);
	CHECK(st.held == 1 && st.confirmed == 1 && st.abandoned == 0 && st.notifications == 4, "stats: held, confirmed");
	vmp_debounce_free(d);

	/* Abandoned: PSI never rises, the notifications stop. */
	d = mk("window=1s,enter=2,leave=0,dwell=0s,psi=some:10", &r);
	feed(d, 1 * S, VMP_LEVEL_CRITICAL, 100, 1.0);
	feed(d, 1 * S + 10 * MS, VMP_LEVEL_CRITICAL, 100, 1.0);
	CHECK_EQ_U64(vmp_debounce_next_ns(d), 2 * S, "a held transition has a deadline: the window's expiry");
	vmp_debounce_tick(d, 5 * S);
	vmp_debounce_stats(d, &st);
	CHECK(r.n == 0 && st.held == 1 && st.abandoned == 1 && vmp_debounce_state(d) == VMP_STATE_NONE,
	      "abandoned when the window emptied: no transition at all");
	CHECK_EQ_U64(vmp_debounce_next_ns(d), UINT64_MAX, "nothing due after the abandon");
	/* A later PSI spike alone does not raise anything. */
	struct vmp_debounce_input in = {.time_ns = 6 * S, .level = VMP_LEVEL_LOW, .psi_some_avg10 = 50, .psi_full_avg10 = -1};
	vmp_debounce_feed(d, &in);
	CHECK(r.n == 0, "one low notification with high PSI: below enter, nothing");
	vmp_debounce_free(d);
}

/* The transitions do not depend on how often the caller ticks. */
static void test_tick_independence(void)
{
	struct rec a, b;
	vmp_debounce *da = mk("window=500ms,enter=2,leave=0,dwell=1s", &a);
	vmp_debounce *db = mk("window=500ms,enter=2,leave=0,dwell=1s", &b);
	uint64_t x = 12345;
	uint64_t t = 0;
	for (int i = 0; i < 3000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t prev = t;
		t += (x >> 33) % (400 * MS);
		vmp_level l = (vmp_level)((x >> 20) % 3);
		struct vmp_debounce_input in = {.time_ns = t, .level = l, .count = 1 + (x >> 40) % 2,
						.psi_some_avg10 = -1, .psi_full_avg10 = -1};
		vmp_debounce_feed(da, &in);
		/* db is ticked every 7 ms in between as well. */
		for (uint64_t k = prev; k < t; k += 7 * MS)
			vmp_debounce_tick(db, k);
		vmp_debounce_feed(db, &in);
	}
	vmp_debounce_tick(da, t + 10 * S);
	vmp_debounce_tick(db, t + 10 * S);
	struct vmp_debounce_stats sa, sb;
	vmp_debounce_stats(da, &sa);
	vmp_debounce_stats(db, &sb);
	CHECK(sa.transitions == sb.transitions && sa.transitions == a.total && sa.transitions > 10, "same number of transitions (%" PRIu64 ")",
	      sa.transitions);
	bool same = a.n == b.n;
	for (size_t i = 0; same && i < a.n; i++)
		same = a.t[i].time_ns == b.t[i].time_ns && a.t[i].from == b.t[i].from && a.t[i].to == b.t[i].to;
	CHECK(same, "the same transitions at the same times, ticked or not");
	bool alternate = true;
	for (size_t i = 1; i < a.n; i++)
		alternate &= a.t[i].from == a.t[i - 1].to && a.t[i].from != a.t[i].to;
	CHECK(alternate, "each transition starts where the previous one ended");
	bool dwell = true;
	for (size_t i = 1; i < a.n; i++)
		if (a.t[i].to < a.t[i].from)
			dwell &= a.t[i].prev_duration_ns >= 1 * S;
	CHECK(dwell, "every transition down came after at least the dwell");
	CHECK(vmp_debounce_state(da) == VMP_STATE_NONE, "10 s after the last notification: none");
	/* A time that goes backwards counts as the latest. */
	struct vmp_debounce_input old = {.time_ns = 1, .level = VMP_LEVEL_CRITICAL, .psi_some_avg10 = -1,
					 .psi_full_avg10 = -1};
	uint64_t before = a.total;
	vmp_debounce_feed(da, &old);
	vmp_debounce_feed(da, &old);
	CHECK(a.total == before + 1 && a.last.time_ns == t + 10 * S, "an old time is taken as the latest");
	old.level = (vmp_level)3;
	CHECK(vmp_debounce_feed(da, &old) == -EINVAL, "a level out of range: -EINVAL");
	vmp_debounce_free(da);
	vmp_debounce_free(db);
	vmp_debounce_free(NULL);
}

static uint64_t clock_now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

/* vmp_debounce_input_from_event(): the one way from an event to input,
 * and transitions' wall time (real_ns) from the inputs'. */
static void test_from_event(void)
{
	struct vmp_source_event ev = {.level = VMP_LEVEL_MEDIUM, .cgroup = "a", .origin = "a/b",
				      .scanned = 512, .reclaimed = 100, .pressure = 80,
				      .psi_some_avg10 = 1.5, .psi_full_avg10 = -1,
				      .time_ns = 1700000000 * S, .mono_ns = 50 * S, .count = 3};
	struct vmp_debounce_input in;
	CHECK(vmp_debounce_input_from_event(&ev, &in) == 0 && in.time_ns == 50 * S &&
		      in.real_ns == 1700000000 * S && in.level == VMP_LEVEL_MEDIUM && in.count == 3 &&
		      in.has_evidence && in.scanned == 512 && in.reclaimed == 100 && in.pressure == 80 &&
		      in.origin == ev.origin && in.psi_some_avg10 == 1.5 && in.psi_full_avg10 == -1,
	      "an estimated event: its monotonic time, wall time, evidence, origin and PSI");
	/* The rule the CLI and the daemon once disagreed on: the origin is
	 * passed whenever the event names it, evidence or not. */
	ev.flags = VMP_EVENT_NO_EVIDENCE;
	CHECK(vmp_debounce_input_from_event(&ev, &in) == 0 && !in.has_evidence && in.scanned == 0 &&
		      in.reclaimed == 0 && in.pressure == 0 && in.origin && !strcmp(in.origin, "a/b"),
	      "VMP_EVENT_NO_EVIDENCE: no numbers, but the origin it names");
	ev.origin = NULL;
	CHECK(vmp_debounce_input_from_event(&ev, &in) == 0 && in.origin == NULL, "no origin: none");
	ev.flags = VMP_EVENT_REMOVED | VMP_EVENT_NO_EVIDENCE;
	CHECK(vmp_debounce_input_from_event(&ev, &in) == -EINVAL, "a removal is not a notification: -EINVAL");
	CHECK(vmp_debounce_input_from_event(NULL, &in) == -EINVAL, "NULL event: -EINVAL");

	/* No monotonic time (an event rebuilt from vmpressured's stream): its
	 * wall time's distance from now, on the monotonic clock. Bounds of
	 * minutes: only the arithmetic is judged, not the machine's speed. */
	ev.flags = 0;
	ev.mono_ns = 0;
	uint64_t r0 = clock_now(CLOCK_REALTIME), m0 = clock_now(CLOCK_MONOTONIC);
	ev.time_ns = r0 - 10 * S;
	CHECK(vmp_debounce_input_from_event(&ev, &in) == 0 && in.time_ns <= m0 - 10 * S + 60 * S &&
		      in.time_ns + 60 * S >= m0 - 10 * S && in.real_ns == ev.time_ns,
	      "no mono_ns: 10 s before now on the monotonic clock too (%.3f s before)",
	      ((double)m0 - (double)in.time_ns) / 1e9);

	/* Transitions get the wall time of the inputs' clock offset, also
	 * those a tick raises after the last input. */
	struct rec r;
	vmp_debounce *d = mk("window=1s,enter=2,leave=0,dwell=0s", &r);
	const uint64_t off = 1700000000 * S;
	ev = (struct vmp_source_event){.level = VMP_LEVEL_MEDIUM, .origin = "x", .scanned = 512,
				       .pressure = 90, .psi_some_avg10 = -1, .psi_full_avg10 = -1, .count = 1};
	for (int i = 0; i < 2; i++) {
		ev.mono_ns = 100 * S + (uint64_t)i * 10 * MS;
		ev.time_ns = off + ev.mono_ns;
		REQUIRE(vmp_debounce_input_from_event(&ev, &in) == 0, "input %d", i);
		vmp_debounce_feed(d, &in);
	}
	CHECK(r.n == 1 && r.t[0].to == VMP_STATE_MEDIUM && r.t[0].time_ns == 100 * S + 10 * MS &&
		      r.t[0].real_ns == off + 100 * S + 10 * MS && !strcmp(r.origin[0], "x"),
	      "up: real_ns is the triggering input's wall time (%llu)", (unsigned long long)r.t[0].real_ns);
	vmp_debounce_tick(d, 105 * S);
	CHECK(r.n == 2 && r.t[1].to == VMP_STATE_NONE && r.t[1].real_ns == off + r.t[1].time_ns &&
		      r.t[1].time_ns < 105 * S,
	      "down on a tick, at its due time: real_ns at the same offset");
	vmp_debounce_free(d);

	d = mk("window=1s,enter=1,dwell=0s", &r);
	struct vmp_debounce_input bare = {.time_ns = 5 * S, .level = VMP_LEVEL_LOW};
	vmp_debounce_feed(d, &bare);
	CHECK(r.n == 1 && r.t[0].real_ns == 0, "inputs without real_ns: transitions' real_ns 0");
	vmp_debounce_free(d);
}

int main(void)
{
	test_from_event();
	test_parse();
	test_hysteresis();
	test_dwell();
	test_psi();
	test_tick_independence();
	return check_done("debounce");
}
