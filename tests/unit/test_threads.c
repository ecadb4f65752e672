/* SPDX-License-Identifier: MIT */
/*
 * Conservation under concurrency (run it under TSan too): several threads
 * account into a few groups, fast-path and wide-path amounts mixed, while
 * another thread registers and removes listeners and creates and destroys
 * groups that the accounting threads also hit. Two worker threads
 * evaluate. Afterwards every page accounted to a group must have been
 * consumed by exactly one evaluation of that group: nothing lost, nothing
 * counted twice.
 */
#include "check.h"
#include "vmpressure.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NGROUPS 4
#define NTHREADS 4
#ifndef ITERS
#define ITERS 200000
#endif
#define GFP 0xcau

static vmp_ctx *ctx;
static vmp_group *groups[NGROUPS];
static const char *const paths[NGROUPS] = {"/", "a", "a/b", "c"};

struct sums {
	_Atomic uint64_t s, r, evals;
};
static struct sums consumed[NGROUPS];
static uint64_t accounted_s[NTHREADS][NGROUPS], accounted_r[NTHREADS][NGROUPS];
static atomic_bool stop;

/* A permanent "low,local" listener per group: it hears exactly the
 * evaluations whose origin is its own group, each once. */
static void sum_cb(const struct vmp_event *ev, void *arg)
{
	struct sums *sm = arg;
	if (ev->flags & VMP_EVENT_REMOVED)
		return;
	if (ev->origin != ev->group)
		return;
	atomic_fetch_add(&sm->s, ev->scanned);
	atomic_fetch_add(&sm->r, ev->reclaimed);
	atomic_fetch_add(&sm->evals, 1);
}

static void noop_cb(const struct vmp_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Keep going until every group has seen evaluations run concurrently with
 * accounting (a fast loop can otherwise coalesce everything into one), or
 * a time limit. */
#define MIN_EVALS 50
static bool enough(int i)
{
	static _Thread_local struct timespec t0;
	if (i < ITERS)
		return false;
	for (int g = 0; g < NGROUPS; g++)
		if (atomic_load(&consumed[g].evals) < MIN_EVALS) {
			struct timespec now;
			if (!t0.tv_sec)
				clock_gettime(CLOCK_MONOTONIC, &t0);
			clock_gettime(CLOCK_MONOTONIC, &now);
			return now.tv_sec - t0.tv_sec > 20;
		}
	return true;
}

static void *accountant(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15u * (uint64_t)(t + 1);
	for (int i = 0; !enough(i); i++) {
		if ((i & 1023) == 0)
			sched_yield(); /* let the workers in on 2 cores */
		uint64_t rnd = xorshift(&x);
		int gi = (int)(rnd % NGROUPS);
		uint64_t s, r;
		switch ((rnd >> 8) % 64) {
		case 0: /* the wide path: beyond the packed fast path */
			s = 70000 + (rnd >> 20) % 100000;
			r = (rnd >> 40) % (s + 100);
			break;
		case 1: /* zero scanned: dropped, reclaimed with it */
			s = 0;
			r = 77;
			break;
		case 2:
			vmp_account_prio(ctx, groups[gi], GFP, (int)((rnd >> 16) % 5));
			if ((rnd >> 16) % 5 <= 3)
				accounted_s[t][gi] += VMP_WINDOW;
			continue;
		case 3: { /* a group that may be being destroyed right now */
			vmp_group *tmp;
			if (vmp_group_lookup_ref(ctx, "a/tmp", &tmp) == 0) {
				vmp_account(ctx, tmp, GFP, true, 600, 1);
				vmp_group_unref(tmp);
			}
			continue;
		}
		default:
			s = (rnd >> 16) % 64;
			r = (rnd >> 32) % 64;
		}
		vmp_account(ctx, groups[gi], GFP, true, s, r);
		if (s) {
			accounted_s[t][gi] += s;
			accounted_r[t][gi] += r;
		}
	}
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	int efd = eventfd(0, EFD_NONBLOCK);
	unsigned n = 0;
	while (!atomic_load(&stop)) {
		vmp_group *g = groups[n % NGROUPS];
		vmp_listen_eventfd(g, efd, (n & 1) ? "low,hierarchy" : "medium");
		vmp_listen_callback(g, "low", noop_cb, &n);
		vmp_group *tmp;
		if (vmp_group_new(groups[1], "tmp", &tmp) == 0) {
			vmp_listen_eventfd(tmp, efd, "low");
			vmp_account(ctx, tmp, GFP, true, 512, 0);
			vmp_group_destroy(tmp);
		}
		vmp_unlisten_callback(g, noop_cb, &n);
		vmp_unlisten_eventfd(g, efd);
		uint64_t v;
		if (read(efd, &v, 8) < 0) {
			/* nothing pending: fine */
		}
		n++;
	}
	close(efd);
	return NULL;
}

int main(void)
{
	struct vmp_config cfg;
	vmp_config_init(&cfg);
	cfg.executor = VMP_EXECUTOR_THREAD;
	cfg.threads = 2;
	REQUIRE(vmp_ctx_new(&ctx, &cfg) == 0, "ctx");
	groups[0] = vmp_ctx_root(ctx);
	REQUIRE(vmp_group_new(groups[0], "a", &groups[1]) == 0, "a");
	REQUIRE(vmp_group_new(groups[1], "b", &groups[2]) == 0, "b");
	REQUIRE(vmp_group_new(groups[0], "c", &groups[3]) == 0, "c");
	for (int i = 0; i < NGROUPS; i++)
		REQUIRE(vmp_listen_callback(groups[i], "low,local", sum_cb, &consumed[i]) == 0, "sum");

	pthread_t th[NTHREADS], ch;
	REQUIRE(pthread_create(&ch, NULL, churner, NULL) == 0, "churner");
	for (int t = 0; t < NTHREADS; t++)
		REQUIRE(pthread_create(&th[t], NULL, accountant, (void *)(intptr_t)t) == 0, "thread");
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	atomic_store(&stop, true);
	pthread_join(ch, NULL);

	/* Drain what is still below the window: a job run evaluates it. */
	vmp_ctx_flush(ctx);
	for (int i = 0; i < NGROUPS; i++)
		vmp_group_run_job(groups[i]);
	vmp_ctx_flush(ctx);

	for (int i = 0; i < NGROUPS; i++) {
		uint64_t s = 0, r = 0;
		for (int t = 0; t < NTHREADS; t++) {
			s += accounted_s[t][i];
			r += accounted_r[t][i];
		}
		CHECK_EQ_U64(atomic_load(&consumed[i].s), s, "group %s: scanned conserved (%" PRIu64 " evaluations)",
			     paths[i], atomic_load(&consumed[i].evals));
		CHECK_EQ_U64(atomic_load(&consumed[i].r), r, "group %s: reclaimed conserved", paths[i]);
		CHECK(atomic_load(&consumed[i].evals) >= MIN_EVALS, "group %s: windows were evaluated", paths[i]);
	}
	vmp_ctx_free(ctx);
	return check_done("threads");
}
