/* SPDX-License-Identifier: MIT */
/*
 * Every trace given on the command line replays to the kernel's own counts
 * (its `expect` records), through the library API. The engine knows
 * nothing of any particular trace: these counts are the test.
 */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <stdio.h>

static unsigned events;
static void on_ev(const char *t, size_t tlen, unsigned id, vmp_level level, void *arg)
{
	(void)t, (void)tlen, (void)id, (void)level, (void)arg;
	events++;
}

int main(int argc, char **argv)
{
	REQUIRE(argc > 1, "usage: test_replay TRACE...");
	for (int a = 1; a < argc; a++) {
		size_t len;
		char *buf = check_slurp(argv[a], &len);
		struct vmp_error err = {0};
		vmp_replay *r = NULL;
		events = 0;
		int rc = vmp_replay_run(buf, len, on_ev, NULL, &r, &err);
		CHECK(rc == 0, "%s: replay: line %lu: %s", argv[a], err.line, err.msg);
		if (rc) {
			free(buf);
			continue;
		}
		size_t n = vmp_replay_listener_count(r), expects = 0;
		uint64_t total = 0;
		unsigned prev_id = 0;
		for (size_t i = 0; i < n; i++) {
			struct vmp_replay_listener l;
			REQUIRE(vmp_replay_listener(r, i, &l) == 0, "listener %zu", i);
			CHECK(i == 0 || l.id > prev_id, "%s: ids ascend", argv[a]);
			prev_id = l.id;
			total += l.count;
			if (!l.has_expect)
				continue;
			expects++;
			CHECK_EQ_U64(l.count, l.expect, "%s: listener %u", argv[a], l.id);
		}
		CHECK(expects == n && n > 0, "%s: every listener has a kernel count (%zu of %zu)", argv[a], expects, n);
		CHECK_EQ_U64(events, total, "%s: one event callback per counted notification", argv[a]);
		struct vmp_replay_listener l;
		CHECK(vmp_replay_listener(r, n, &l) == -EINVAL, "index past the end");
		/* A replay is deterministic: twice gives the same counts. */
		vmp_replay *r2 = NULL;
		CHECK(vmp_replay_run(buf, len, NULL, NULL, &r2, &err) == 0, "second run");
		for (size_t i = 0; r2 && i < n; i++) {
			struct vmp_replay_listener l1, l2;
			vmp_replay_listener(r, i, &l1);
			vmp_replay_listener(r2, i, &l2);
			CHECK_EQ_U64(l2.count, l1.count, "%s: deterministic, listener %u", argv[a], l1.id);
		}
		vmp_replay_free(r2);
		vmp_replay_free(r);
		free(buf);
	}
	return check_done("replay");
}
