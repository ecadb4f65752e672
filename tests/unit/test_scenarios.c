/* SPDX-License-Identifier: MIT */
/*
 * Hierarchy delivery: every scenario of spec §13 (S1-S10) and the removal
 * scenario, with real eventfds read back as a client would.
 *
 * Tree:  R ── A ─┬─ B ── C
 *                └─ D
 */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

static vmp_ctx *ctx;
static vmp_group *R, *A, *B, *C, *D;

static void setup(void)
{
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_INLINE;
	REQUIRE(vmp_ctx_new(&ctx, &cfg) == 0, "context");
	R = vmp_ctx_root(ctx);
	REQUIRE(vmp_group_new(R, "A", &A) == 0, "A");
	REQUIRE(vmp_group_new(A, "B", &B) == 0, "B");
	REQUIRE(vmp_group_new(B, "C", &C) == 0, "C");
	REQUIRE(vmp_group_new(A, "D", &D) == 0, "D");
}

static void teardown(void)
{
	vmp_ctx_free(ctx);
	ctx = NULL;
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(fd >= 0, "eventfd");
	return fd;
}

/* Read and reset an eventfd's counter; 0 if nothing was signalled. */
static uint64_t drain(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* One window at `origin` evaluating to `lv`. */
static void window(vmp_group *origin, vmp_level lv)
{
	static const uint64_t reclaimed[] = {512, 100, 0}; /* 0 %, 80 %, 100 % */
	vmp_account(ctx, origin, 0xca, true, 512, reclaimed[lv]);
}

struct reg {
	vmp_group **g;
	const char *args;
	int fd;
};

static void listen_all(struct reg *regs, int n)
{
	for (int i = 0; i < n; i++) {
		if (regs[i].fd < 0)
			regs[i].fd = efd();
		REQUIRE(vmp_listen_eventfd(*regs[i].g, regs[i].fd, regs[i].args) == 0, "listen %s",
			regs[i].args);
	}
}

static void expect(const char *sc, struct reg *regs, int n, const uint64_t *want)
{
	for (int i = 0; i < n; i++) {
		uint64_t got = drain(regs[i].fd);
		CHECK_EQ_U64(got, want[i], "%s: listener %d (%s on %s)", sc, i, regs[i].args,
			     vmp_group_path(*regs[i].g));
	}
}

static void close_all(struct reg *regs, int n)
{
	for (int i = 0; i < n; i++)
		close(regs[i].fd);
}

#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static void s1(void)
{
	setup();
	struct reg r[] = {{&R, "low", -1}, {&A, "low", -1}, {&B, "low", -1}, {&C, "low", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_LOW);
	expect("S1", r, N(r), (uint64_t[]){0, 0, 0, 1});
	close_all(r, N(r));
	teardown();
}

static void s2(void)
{
	setup();
	struct reg r[] = {{&A, "low,default", -1}, {&B, "critical,default", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_MEDIUM);
	expect("S2", r, N(r), (uint64_t[]){1, 0});
	close_all(r, N(r));
	teardown();
}

static void s3_s4(void)
{
	setup();
	struct reg r[] = {{&C, "low,local", -1}, {&B, "low,default", -1}, {&A, "low,hierarchy", -1},
			  {&R, "low,default", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_LOW);
	expect("S3", r, N(r), (uint64_t[]){1, 0, 1, 0});
	window(B, VMP_LEVEL_CRITICAL);
	expect("S4", r, N(r), (uint64_t[]){0, 1, 1, 0});
	close_all(r, N(r));
	teardown();
}

static void s5(void)
{
	setup();
	struct reg r[] = {{&A, "low,local", -1}, {&B, "low,local", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_CRITICAL);
	expect("S5", r, N(r), (uint64_t[]){0, 0});
	close_all(r, N(r));
	teardown();
}

static void s6(void)
{
	setup();
	struct reg r[] = {{&C, "critical,default", -1}, {&C, "low,default", -1}, {&C, "medium,hierarchy", -1},
			  {&B, "low,default", -1},      {&A, "low,hierarchy", -1}, {&R, "medium,default", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_MEDIUM);
	expect("S6", r, N(r), (uint64_t[]){0, 1, 1, 0, 1, 0});
	close_all(r, N(r));
	teardown();
}

static void s7(void)
{
	setup();
	struct reg r[] = {{&C, "low,default", -1}, {&R, "low,local", -1}, {&R, "critical,hierarchy", -1}};
	listen_all(r, N(r));
	window(R, VMP_LEVEL_MEDIUM);
	expect("S7", r, N(r), (uint64_t[]){0, 1, 0});
	/* A NULL group is the root, as for global reclaim. */
	vmp_account(ctx, NULL, 0xca, true, 512, 100);
	expect("S7 (NULL group)", r, N(r), (uint64_t[]){0, 1, 0});
	close_all(r, N(r));
	teardown();
}

static void s8(void)
{
	setup();
	int e = efd();
	REQUIRE(vmp_listen_eventfd(C, e, "low,default") == 0, "C");
	REQUIRE(vmp_listen_eventfd(C, e, "medium,hierarchy") == 0, "C");
	REQUIRE(vmp_listen_eventfd(A, e, "low,hierarchy") == 0, "A");
	window(D, VMP_LEVEL_MEDIUM);
	CHECK_EQ_U64(drain(e), 1, "S8 (i)");
	window(C, VMP_LEVEL_MEDIUM);
	CHECK_EQ_U64(drain(e), 3, "S8 (ii): three increments in one walk");
	window(D, VMP_LEVEL_MEDIUM);
	window(C, VMP_LEVEL_MEDIUM);
	CHECK_EQ_U64(drain(e), 4, "S8: (i) and (ii) unread give 4");
	close(e);
	teardown();
}

static void s9(void)
{
	setup();
	struct reg r[] = {{&B, "critical,default", -1}, {&B, "medium,default", -1}, {&A, "low,default", -1}};
	listen_all(r, N(r));
	vmp_account(ctx, B, 0xca, true, 100, 90);
	vmp_account_prio(ctx, B, 0xca, 3); /* 612/90: medium, not critical */
	expect("S9", r, N(r), (uint64_t[]){0, 1, 0});
	close_all(r, N(r));
	teardown();
}

static void s10(void)
{
	setup();
	struct reg r[] = {{&A, "critical,hierarchy", -1}, {&R, "low,default", -1}};
	listen_all(r, N(r));
	window(C, VMP_LEVEL_MEDIUM);
	expect("S10", r, N(r), (uint64_t[]){0, 1});
	close_all(r, N(r));
	teardown();
}

/* rmdir C with two registrations: each gets one last signal, and the
 * listeners above are unaffected. */
static void removal(void)
{
	setup();
	int e1 = efd(), e2 = efd(), eb = efd(), ea = efd();
	REQUIRE(vmp_listen_eventfd(C, e1, "critical") == 0, "C e1");
	REQUIRE(vmp_listen_eventfd(C, e2, "low,local") == 0, "C e2");
	REQUIRE(vmp_listen_eventfd(B, eb, "low,hierarchy") == 0, "B");
	REQUIRE(vmp_listen_eventfd(A, ea, "low") == 0, "A");
	CHECK(vmp_group_destroy(B) == -EBUSY, "B has a live child");
	vmp_group *held = vmp_group_ref(C); /* keeps the memory for the checks below */
	CHECK(vmp_group_destroy(C) == 0, "rmdir C");
	CHECK_EQ_U64(drain(e1), 1, "removal signal E1");
	CHECK_EQ_U64(drain(e2), 1, "removal signal E2");
	CHECK_EQ_U64(drain(eb), 0, "B unaffected");
	CHECK_EQ_U64(drain(ea), 0, "A unaffected");
	vmp_group *x;
	CHECK(vmp_group_lookup(ctx, "A/B/C", &x) == -ENOENT, "C is gone from lookup");
	CHECK(vmp_group_destroy(held) == -ENOENT, "second destroy");
	window(held, VMP_LEVEL_CRITICAL); /* a removed group still walks up */
	CHECK_EQ_U64(drain(e1) + drain(e2), 0, "removed group's listeners are gone");
	CHECK_EQ_U64(drain(eb), 1, "B hierarchy hears the removed (zombie) C");
	vmp_group_unref(held);
	window(B, VMP_LEVEL_LOW);
	CHECK_EQ_U64(drain(e1) + drain(e2), 0, "no event after removal");
	CHECK_EQ_U64(drain(eb), 1, "B still works");
	CHECK_EQ_U64(drain(ea), 0, "A: default suppressed below");
	/* a new C is a new group with no listeners */
	REQUIRE(vmp_group_new(B, "C", &C) == 0, "recreate C");
	window(C, VMP_LEVEL_CRITICAL);
	CHECK_EQ_U64(drain(e1), 0, "new C does not inherit listeners");
	CHECK_EQ_U64(drain(eb), 1, "B hierarchy hears new C");
	close(e1), close(e2), close(eb), close(ea);
	teardown();
}

int main(void)
{
	s1();
	s2();
	s3_s4();
	s5();
	s6();
	s7();
	s8();
	s9();
	s10();
	removal();
	return check_done("scenarios");
}
