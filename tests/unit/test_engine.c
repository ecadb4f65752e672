/* SPDX-License-Identifier: MIT */
/*
 * The engine's state machine: the accumulator vectors of spec §12.2 (T1-T7,
 * L1-L3), coalescing under the deferred job, the priority path, removal
 * with a pending evaluation, duplicate registrations, callbacks and their
 * evidence, the group API's errors, and the three executors.
 */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define GFP 0xcau

struct rec {
	int n;
	struct vmp_event ev[16];
};

static void record(const struct vmp_event *ev, void *arg)
{
	struct rec *r = arg;
	if (r->n < 16)
		r->ev[r->n] = *ev;
	r->n++;
}

static vmp_ctx *new_ctx(vmp_executor ex, unsigned flags)
{
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = ex;
	cfg.flags = flags;
	vmp_ctx *ctx;
	REQUIRE(vmp_ctx_new(&ctx, &cfg) == 0, "context");
	return ctx;
}

/* T1: (100,90) (200,150) (300,10): one evaluation of (600,250), 58, low. */
static void t1(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	vmp_group *b;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "B", &b) == 0, "B");
	struct rec r = {0};
	REQUIRE(vmp_listen_callback(b, "low", record, &r) == 0, "listen");
	vmp_account(ctx, b, GFP, true, 100, 90);
	vmp_account(ctx, b, GFP, true, 200, 150);
	CHECK(r.n == 0, "T1: below the window, nothing yet (%d)", r.n);
	vmp_account(ctx, b, GFP, true, 300, 10);
	CHECK(r.n == 1, "T1: one evaluation (%d)", r.n);
	CHECK(r.ev[0].scanned == 600 && r.ev[0].reclaimed == 250 && r.ev[0].pressure == 58 &&
		      r.ev[0].level == VMP_LEVEL_LOW,
	      "T1: evidence %" PRIu64 "/%" PRIu64 " %" PRIu64, r.ev[0].scanned, r.ev[0].reclaimed,
	      r.ev[0].pressure);
	CHECK(r.ev[0].origin == b && r.ev[0].group == b && r.ev[0].flags == 0, "T1: origin and group");
	/* the counters returned to 0/0: another 511 does not fire */
	vmp_account(ctx, b, GFP, true, 511, 0);
	CHECK(r.n == 1, "T1: counters were reset");
	vmp_ctx_free(ctx);
}

/* T2 and S9: (100,90) then prio 3: (612,90), 85, medium. T7: prio 4 does
 * nothing. */
static void t2_t7(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	struct rec r = {0};
	vmp_group *b;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "B", &b) == 0, "B");
	REQUIRE(vmp_listen_callback(b, "low", record, &r) == 0, "listen");
	vmp_account(ctx, b, GFP, true, 100, 90);
	vmp_account_prio(ctx, b, GFP, 4);
	vmp_account_prio(ctx, b, GFP, 12);
	CHECK(r.n == 0, "T7: prio > 3 adds nothing");
	vmp_account_prio(ctx, b, GFP, 3);
	CHECK(r.n == 1 && r.ev[0].scanned == 612 && r.ev[0].reclaimed == 90 && r.ev[0].pressure == 85 &&
		      r.ev[0].level == VMP_LEVEL_MEDIUM,
	      "T2: 612/90 gives 85 medium (n=%d p=%" PRIu64 ")", r.n, r.ev[0].pressure);
	vmp_account_prio(ctx, b, GFP, 0);
	CHECK(r.n == 2 && r.ev[1].pressure == 100 && r.ev[1].level == VMP_LEVEL_CRITICAL,
	      "prio 0 on an empty accumulator: 512/0, critical");
	vmp_account_prio(ctx, b, 0x101, 0);
	CHECK(r.n == 2, "the GFP filter applies to the priority path");
	vmp_account_prio(ctx, b, GFP, -1);
	CHECK(r.n == 3, "a negative priority is <= 3");
	vmp_ctx_free(ctx);
}

/* T3, T4: zero scanned (its reclaimed is lost) and a GFP mask of none of
 * HIGHMEM/MOVABLE/IO/FS are ignored. */
static void t3_t4(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	struct rec r = {0};
	vmp_group *b;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "B", &b) == 0, "B");
	REQUIRE(vmp_listen_callback(b, "low", record, &r) == 0, "listen");
	vmp_account(ctx, b, GFP, true, 0, 300);
	vmp_account(ctx, b, 0x101, true, 1000, 0);
	vmp_account(ctx, b, 0x10, true, 1000, 0);
	CHECK(r.n == 0, "T3/T4: nothing accumulated");
	vmp_account(ctx, b, 0x02, true, 512, 0); /* HIGHMEM alone counts */
	CHECK(r.n == 1 && r.ev[0].reclaimed == 0, "T3: the 300 reclaimed was dropped");
	vmp_account(ctx, b, 0x40, true, 512, 0); /* IO alone (GFP_NOFS) */
	vmp_account(ctx, b, 0x80, true, 512, 0);
	vmp_account(ctx, b, 0x08, true, 512, 0);
	CHECK(r.n == 4, "IO, FS, MOVABLE each pass the filter");
	vmp_ctx_free(ctx);
}

/* T5: one call far beyond the window is one evaluation, never split. */
static void t5(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	struct rec r = {0};
	REQUIRE(vmp_listen_callback(vmp_ctx_root(ctx), "low", record, &r) == 0, "listen");
	vmp_account(ctx, NULL, GFP, true, 5000, 100);
	CHECK(r.n == 1 && r.ev[0].scanned == 5000 && r.ev[0].pressure == 98 &&
		      r.ev[0].level == VMP_LEVEL_CRITICAL,
	      "T5: one evaluation of 5000/100, 98 critical");
	vmp_ctx_free(ctx);
}

/* T6 and R-9: windows that fill while the job is pending coalesce; a job
 * run with nothing accumulated does nothing; a job run below the
 * window evaluates what there is (kernel timing). */
static void t6_coalescing(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_MANUAL, 0);
	struct rec r = {0};
	vmp_group *b;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "B", &b) == 0, "B");
	REQUIRE(vmp_listen_callback(b, "low", record, &r) == 0, "listen");
	vmp_account(ctx, b, GFP, true, 512, 0);
	vmp_account(ctx, b, GFP, true, 1000, 1000);
	CHECK(r.n == 0, "manual executor: nothing runs until the job does");
	CHECK(vmp_group_run_job(b) == 0, "run job");
	CHECK(r.n == 1 && r.ev[0].scanned == 1512 && r.ev[0].reclaimed == 1000 && r.ev[0].pressure == 33 &&
		      r.ev[0].level == VMP_LEVEL_LOW,
	      "T6: one coalesced evaluation of 1512/1000, 33 low");
	CHECK(vmp_group_run_job(b) == 0 && r.n == 1, "R-10: a stale run finds nothing");
	vmp_account(ctx, b, GFP, true, 10, 3);
	vmp_group_run_job(b);
	CHECK(r.n == 2 && r.ev[1].scanned == 10 && r.ev[1].pressure == 76, "a run below the window evaluates it");
	vmp_ctx_free(ctx);
}

/* destroying a group with a pending evaluation runs it first,
 * then sends the removal signal. */
static void removal_flushes(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_MANUAL, 0);
	struct rec r = {0}, up = {0};
	vmp_group *a, *b;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "A", &a) == 0, "A");
	REQUIRE(vmp_group_new(a, "B", &b) == 0, "B");
	REQUIRE(vmp_listen_callback(b, "critical,local", record, &r) == 0, "listen B");
	REQUIRE(vmp_listen_callback(a, "low,hierarchy", record, &up) == 0, "listen A");
	vmp_account(ctx, b, GFP, true, 600, 0);
	CHECK(vmp_group_destroy(b) == 0, "destroy B");
	CHECK(r.n == 2, "B: the flushed evaluation, then the removal (%d)", r.n);
	CHECK(r.ev[0].flags == 0 && r.ev[0].level == VMP_LEVEL_CRITICAL && r.ev[0].scanned == 600,
	      "first the pending window");
	CHECK(r.ev[1].flags == VMP_EVENT_REMOVED && r.ev[1].group == b, "then VMP_EVENT_REMOVED");
	CHECK(up.n == 1 && up.ev[0].origin != NULL && up.ev[0].flags == 0, "A heard the flushed window only");
	vmp_ctx_free(ctx);
	CHECK(up.n == 2 && up.ev[1].flags == VMP_EVENT_REMOVED, "freeing the context removes A too");
}

/* unregister removes the newest match only; N registrations need N
 * removals. */
static void duplicates(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	vmp_group *g = vmp_ctx_root(ctx);
	int e = eventfd(0, EFD_NONBLOCK);
	REQUIRE(e >= 0, "eventfd");
	REQUIRE(vmp_listen_eventfd(g, e, "critical") == 0, "1");
	REQUIRE(vmp_listen_eventfd(g, e, "low") == 0, "2");
	REQUIRE(vmp_listen_eventfd(g, e, "low") == 0, "3");
	uint64_t v = 0;
	vmp_account(ctx, g, GFP, true, 512, 512); /* low */
	CHECK(read(e, &v, 8) == 8 && v == 2, "two low registrations fire (%" PRIu64 ")", v);
	CHECK(vmp_unlisten_eventfd(g, e) == 0, "remove newest");
	vmp_account(ctx, g, GFP, true, 512, 512);
	CHECK(read(e, &v, 8) == 8 && v == 1, "one low left (%" PRIu64 ")", v);
	CHECK(vmp_unlisten_eventfd(g, e) == 0, "remove next");
	vmp_account(ctx, g, GFP, true, 512, 512);
	CHECK(read(e, &v, 8) < 0, "only the critical one is left");
	vmp_account(ctx, g, GFP, true, 512, 0);
	CHECK(read(e, &v, 8) == 8 && v == 1, "critical fires");
	CHECK(vmp_unlisten_eventfd(g, e) == 0, "remove last");
	CHECK(vmp_unlisten_eventfd(g, e) == -ENOENT, "nothing left");
	CHECK(vmp_listen_eventfd(g, -1, "low") == -EBADF, "negative fd");
	CHECK(vmp_listen_eventfd(g, e, "Low") == -EINVAL, "bad args");
	struct rec r = {0};
	REQUIRE(vmp_listen_callback(g, "low", record, &r) == 0, "cb");
	REQUIRE(vmp_listen_callback(g, "low", record, &r) == 0, "cb dup");
	CHECK(vmp_unlisten_callback(g, record, &r) == 0, "cb remove");
	vmp_account(ctx, g, GFP, true, 512, 512);
	CHECK(r.n == 1, "one callback left");
	CHECK(vmp_unlisten_callback(g, record, NULL) == -ENOENT, "arg must match");
	CHECK(vmp_listen_callback(g, "low", NULL, NULL) == -EINVAL, "NULL callback");
	close(e);
	vmp_ctx_free(ctx);
	CHECK(r.n == 2 && r.ev[1].flags == VMP_EVENT_REMOVED, "removal reached the callback");
}

/* A callback must not change its own group's listeners: -EDEADLK, not a
 * deadlock. It may change other groups'. */
static vmp_group *other;
static int cb_rc1, cb_rc2, cb_rc3;
static void reentrant(const struct vmp_event *ev, void *arg)
{
	if (ev->flags)
		return;
	cb_rc1 = vmp_listen_callback(ev->group, "low", reentrant, arg);
	cb_rc2 = vmp_unlisten_callback(ev->group, reentrant, arg);
	cb_rc3 = vmp_listen_callback(other, "low", record, arg);
}

static void callbacks(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	struct rec r = {0};
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "o", &other) == 0, "o");
	REQUIRE(vmp_listen_callback(vmp_ctx_root(ctx), "low", reentrant, &r) == 0, "listen");
	vmp_account(ctx, NULL, GFP, true, 512, 0);
	CHECK(cb_rc1 == -EDEADLK && cb_rc2 == -EDEADLK, "same group from a callback: %d %d", cb_rc1, cb_rc2);
	CHECK(cb_rc3 == 0, "another group from a callback: %d", cb_rc3);
	vmp_ctx_free(ctx);
}

/* L1-L3 and R-12: the local path evaluates synchronously, never signals a
 * listener, ignores the root, is off on cgroup v1, and holds socket
 * pressure for 1 s on the injected clock. */
static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void local_path(void)
{
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_INLINE;
	cfg.clock_ns = fake_clock;
	vmp_ctx *ctx;
	REQUIRE(vmp_ctx_new(&ctx, &cfg) == 0, "ctx");
	vmp_group *a, *c;
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "A", &a) == 0, "A");
	REQUIRE(vmp_group_new(a, "C", &c) == 0, "C");
	struct rec r = {0};
	REQUIRE(vmp_listen_callback(c, "low,local", record, &r) == 0, "listen");
	REQUIRE(vmp_listen_callback(vmp_ctx_root(ctx), "low,local", record, &r) == 0, "listen root");
	fake_now = 5000000000u;
	vmp_account(ctx, NULL, GFP, false, 10000, 0);
	CHECK(!vmp_group_socket_pressure(vmp_ctx_root(ctx)), "L1: the root is ignored");
	vmp_account(ctx, c, GFP, false, 300, 0);
	CHECK(!vmp_group_socket_pressure(c), "below the window");
	vmp_account(ctx, c, GFP, false, 300, 0);
	CHECK(vmp_group_socket_pressure(c), "L3: 600/0 is critical: socket pressure");
	CHECK(!vmp_group_socket_pressure(a), "not on the parent");
	CHECK(r.n == 0, "L3: no listener is touched");
	fake_now += 999999999u;
	CHECK(vmp_group_socket_pressure(c), "still within 1 s");
	fake_now += 1;
	CHECK(!vmp_group_socket_pressure(c), "over after 1 s");
	vmp_account(ctx, a, GFP, false, 600, 0);
	CHECK(vmp_group_socket_pressure(c), "an ancestor's pressure counts");
	fake_now += 2000000000u;
	vmp_account(ctx, c, GFP, false, 600, 600);
	CHECK(!vmp_group_socket_pressure(c), "a low local window sets nothing");
	vmp_ctx_free(ctx);

	/* L2: cgroup v1 skips the local path entirely */
	cfg.flags = VMP_CTX_CGROUP_V1;
	REQUIRE(vmp_ctx_new(&ctx, &cfg) == 0, "ctx v1");
	REQUIRE(vmp_group_new(vmp_ctx_root(ctx), "C", &c) == 0, "C");
	vmp_account(ctx, c, GFP, false, 600, 0);
	CHECK(!vmp_group_socket_pressure(c), "L2: v1 ignores the local path");
	vmp_ctx_free(ctx);
}

/* Emulated 32-bit kernel: counters wrap at 2^32 and the formula is the
 * 32-bit one (vector 41: 100000/50000 is 78 medium). */
static void ul32(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, VMP_CTX_UL32);
	struct rec r = {0};
	REQUIRE(vmp_listen_callback(vmp_ctx_root(ctx), "low", record, &r) == 0, "listen");
	vmp_account(ctx, NULL, GFP, true, 100000, 50000);
	CHECK(r.n == 1 && r.ev[0].pressure == 78 && r.ev[0].level == VMP_LEVEL_MEDIUM, "32-bit formula");
	vmp_account(ctx, NULL, GFP, true, UINT64_C(1) << 32, 0);
	CHECK(r.n == 1, "2^32 scanned is 0 on 32-bit: filtered");
	vmp_ctx_free(ctx);
}

/* Huge counts wrap like the kernel's unsigned long, through the
 * accumulator's wide path and back. */
static void wraparound(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_MANUAL, 0);
	struct rec r = {0};
	vmp_group *g = vmp_ctx_root(ctx);
	REQUIRE(vmp_listen_callback(g, "low", record, &r) == 0, "listen");
	vmp_account(ctx, g, GFP, true, 300, 7);
	vmp_account(ctx, g, GFP, true, UINT64_MAX - 299, 0); /* total wraps to 0 */
	vmp_group_run_job(g);
	CHECK(r.n == 0, "a scanned total of 0 (mod 2^64) evaluates nothing (R-10)");
	vmp_account(ctx, g, GFP, true, 100, 5);
	vmp_group_run_job(g);
	CHECK(r.n == 1 && r.ev[0].scanned == 100 && r.ev[0].reclaimed == 12, "the reclaimed 7 was kept: %" PRIu64,
	      r.ev[0].reclaimed);
	vmp_account(ctx, g, GFP, true, UINT64_C(1) << 63, UINT64_C(1) << 62);
	vmp_group_run_job(g);
	CHECK(r.n == 2 && r.ev[1].pressure == 0, "vector 37 through the engine");
	vmp_ctx_free(ctx);
}

static void group_api(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_INLINE, 0);
	vmp_group *root = vmp_ctx_root(ctx), *a, *b, *x;
	CHECK(strcmp(vmp_group_path(root), "/") == 0, "root path");
	CHECK(vmp_group_parent(root) == NULL, "root has no parent");
	REQUIRE(vmp_group_new(root, "a", &a) == 0, "a");
	REQUIRE(vmp_group_new(a, "b", &b) == 0, "b");
	CHECK(strcmp(vmp_group_path(b), "a/b") == 0, "path a/b: %s", vmp_group_path(b));
	CHECK(vmp_group_parent(b) == a, "parent");
	CHECK(vmp_group_lookup(ctx, "a/b", &x) == 0 && x == b, "lookup a/b");
	CHECK(vmp_group_lookup(ctx, "/a/b", &x) == 0 && x == b, "lookup /a/b");
	CHECK(vmp_group_lookup(ctx, "/", &x) == 0 && x == root, "lookup /");
	CHECK(vmp_group_lookup(ctx, "a/c", &x) == -ENOENT, "lookup missing");
	CHECK(vmp_group_new(a, "b", &x) == -EEXIST, "duplicate");
	CHECK(vmp_group_new(a, "", &x) == -EINVAL, "empty name");
	CHECK(vmp_group_new(a, "x/y", &x) == -EINVAL, "slash in name");
	CHECK(vmp_group_new(a, "..", &x) == -EINVAL, "dot-dot");
	char big[300];
	memset(big, 'n', sizeof(big) - 1);
	big[299] = 0;
	CHECK(vmp_group_new(a, big, &x) == -EINVAL, "name too long");
	CHECK(vmp_group_destroy(root) == -EPERM, "root");
	CHECK(vmp_group_destroy(a) == -EBUSY, "a has a child");
	uint64_t bid = vmp_group_id(b);
	CHECK(bid != 0 && bid != vmp_group_id(a) && vmp_group_id(root) != bid, "ids differ");
	CHECK(vmp_group_destroy(b) == 0 && vmp_group_new(a, "b", &b) == 0, "recreate a/b");
	CHECK(vmp_group_id(b) != bid, "a recreated group has a new id");
	vmp_group *held = vmp_group_ref(a);
	CHECK(vmp_group_destroy(b) == 0 && vmp_group_destroy(a) == 0, "leaf first");
	CHECK(vmp_group_new(held, "c", &x) == -ENOENT, "no child of a removed group");
	vmp_group_unref(held);
	vmp_group_unref(NULL);
	vmp_ctx_free(NULL);
	vmp_replay_free(NULL);
	CHECK(vmp_ctx_new(NULL, NULL) == -EINVAL, "NULL out");
	struct vmp_config bad;
	vmp_config_init(&bad);
	bad.flags = 0x100;
	CHECK(vmp_ctx_new(&ctx, &bad) == -EINVAL, "unknown flag");
	vmp_config_init(&bad);
	bad.executor = (vmp_executor)9;
	CHECK(vmp_ctx_new(&ctx, &bad) == -EINVAL, "unknown executor");
	vmp_ctx_free(ctx);
}

/* The worker thread: evaluations happen off the caller's thread and
 * vmp_ctx_flush() waits for them. */
static void thread_executor(void)
{
	vmp_ctx *ctx = new_ctx(VMP_EXECUTOR_THREAD, 0);
	vmp_group *g = vmp_ctx_root(ctx);
	int e = eventfd(0, 0);
	REQUIRE(e >= 0, "eventfd");
	REQUIRE(vmp_listen_eventfd(g, e, "medium") == 0, "listen");
	vmp_account(ctx, g, GFP, true, 512, 0);
	uint64_t v = 0;
	CHECK(read(e, &v, 8) == 8 && v == 1, "a blocked reader is woken by the worker");
	for (int i = 0; i < 100; i++)
		vmp_account(ctx, g, GFP, true, 512, 0);
	vmp_ctx_flush(ctx);
	CHECK(read(e, &v, 8) == 8 && v >= 1 && v <= 100, "100 windows, coalesced into 1..100 events: %" PRIu64, v);
	close(e);
	vmp_ctx_free(ctx);
}

int main(void)
{
	t1();
	t2_t7();
	t3_t4();
	t5();
	t6_coalescing();
	removal_flushes();
	duplicates();
	callbacks();
	local_path();
	ul32();
	wraparound();
	group_api();
	thread_executor();
	return check_done("engine");
}
