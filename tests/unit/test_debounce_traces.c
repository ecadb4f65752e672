/* SPDX-License-Identifier: MIT */
/*
 * The debounced state machine on every recorded stream (tests/data: the
 * kernel captures, the synthetic traces, the v2 runs' kernel and estimator
 * streams; tests/tools/dstream.c), for several configs. Asserted per
 * stream, each computed from the stream itself:
 *  - transitions alternate: each starts where the previous one ended;
 *  - transitions up never outnumber raw notifications, and with enter >= 2
 *    neither do all transitions;
 *  - every transition down came after at least the dwell, and the state is
 *    none once the stream has been quiet for window + dwell;
 *  - level L is reached if and only if the stream has `enter`
 *    notifications at >= L close enough together: always when they fall
 *    within 63/64 of a window, never unless within one window;
 *  - the first transition to >= L comes no earlier than the first moment
 *    a window held `enter` such notifications, and no later than the first
 *    moment 63/64 of one did (the window is counted in 64 slices).
 */
#include "check.h"
#include "dstream.h"

#include <math.h>

/* The first time (ns) at which `enter` notifications of level >= lv fall
 * within `span` ns: t - t[k-enter+1] < span. UINT64_MAX if never. */
static uint64_t first_dense(const struct ds_stream *s, int lv, unsigned enter, uint64_t span)
{
	uint64_t *ring = malloc(sizeof(uint64_t) * enter);
	size_t k = 0;
	uint64_t res = UINT64_MAX;
	for (size_t i = 0; ring && i < s->n; i++) {
		if ((int)s->v[i].level < lv)
			continue;
		uint64_t t = (uint64_t)llround(s->v[i].t * 1e9);
		ring[k % enter] = t;
		k++;
		if (k >= enter && t - ring[k % enter] < span) {
			res = t;
			break;
		}
	}
	free(ring);
	return res;
}

struct ups {
	uint64_t up, all;
};

static void count_tr(const struct vmp_transition *t, void *arg)
{
	struct ups *u = arg;
	u->all++;
	if (t->to > t->from)
		u->up++;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	struct ds_set set = {0};
	char err[512];
	struct vmp_error perr;
	int rc = ds_load_all(&set, dir, err, sizeof(err));
	REQUIRE(rc == 0, "load %s: %s", dir, err);
	size_t nonempty = 0;
	for (size_t i = 0; i < set.n; i++)
		nonempty += set.s[i].n > 0;
	REQUIRE(set.n >= 100 && nonempty >= 100, "%zu streams, %zu with notifications", set.n, nonempty);
	static const char *const cfgs[] = {
		"",
		"enter=1,dwell=0s",
		"window=500ms,enter=4,leave=1,dwell=1s",
		"window=2s,enter=3,leave=2,dwell=5s",
		"window=100ms,enter=2,leave=0,dwell=0s",
	};
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		struct vmp_debounce_config cfg;
		REQUIRE(vmp_debounce_parse(cfgs[c], &cfg, &perr) == 0, "%s", perr.msg);
		uint64_t w = cfg.window_ns / 64;
		size_t bad[8] = {0}, reached = 0, total_tr = 0;
		const char *first_bad[8] = {0};
		for (size_t i = 0; i < set.n; i++) {
			const struct ds_stream *s = &set.s[i];
			struct ds_result r;
			REQUIRE(ds_run(s, &cfg, &r) == 0, "run %s", s->name);
			/* Up transitions counted independently of ds_run. */
			struct ups u = {0};
			vmp_debounce *d;
			REQUIRE(vmp_debounce_new(&d, &cfg, count_tr, &u) == 0, "new");
			for (size_t k = 0; k < s->n; k++) {
				struct vmp_debounce_input in = {.time_ns = (uint64_t)llround(s->v[k].t * 1e9),
								.level = s->v[k].level, .psi_some_avg10 = -1,
								.psi_full_avg10 = -1};
				vmp_debounce_feed(d, &in);
			}
			vmp_debounce_free(d);
			total_tr += r.transitions;
			bool ok[8];
			ok[0] = r.alternate;
			ok[1] = u.up <= r.raw && (cfg.enter < 2 || r.transitions <= r.raw);
			ok[2] = r.dwell_ok;
			ok[3] = r.ends_none;
			ok[4] = ok[5] = ok[6] = true;
			for (int lv = 0; lv < 3; lv++) {
				uint64_t lo = first_dense(s, lv, cfg.enter, 64 * w);  /* no earlier */
				uint64_t hi = first_dense(s, lv, cfg.enter, 63 * w);  /* no later */
				double fs = r.first_state[lv + 1];
				bool got = fs >= 0;
				reached += got;
				if (hi != UINT64_MAX && !got)
					ok[4] = false; /* should have been reached */
				if (got && lo == UINT64_MAX)
					ok[5] = false; /* reached without the evidence */
				if (got) {
					uint64_t ft = (uint64_t)llround(fs * 1e9);
					if (ft < lo || (hi != UINT64_MAX && ft > hi))
						ok[6] = false;
				}
			}
			ok[7] = r.raw == s->n;
			for (int k = 0; k < 8; k++)
				if (!ok[k] && !bad[k]++)
					first_bad[k] = s->name;
		}
		static const char *const what[8] = {
			"transitions alternate",
			"no more transitions up than raw notifications (and no more transitions at all with enter >= 2)",
			"every transition down after the dwell",
			"back to none once quiet",
			"each level reached where enter notifications fell within 63/64 of a window",
			"no level reached without enter notifications within one window",
			"the first transition to each level between the two moments",
			"every notification fed",
		};
		for (int k = 0; k < 8; k++)
			CHECK(bad[k] == 0, "[%s] %s: %zu streams fail%s%s", cfgs[c][0] ? cfgs[c] : "defaults", what[k], bad[k],
			      first_bad[k] ? ", first " : "", first_bad[k] ? first_bad[k] : "");
		CHECK(reached > 0 && total_tr > 0, "[%s] %zu levels reached, %zu transitions in all: the checks had something to check",
		      cfgs[c][0] ? cfgs[c] : "defaults", reached, total_tr);
	}
	ds_set_free(&set);
	return check_done("debounce-traces");
}
