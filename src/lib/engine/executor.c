/* SPDX-License-Identifier: MIT */
/*
 * Deferred evaluation: each group's job is the kernel's work item.
 *
 *   idle --schedule--> pending --run--> running --done--> idle
 *                                         |  ^
 *                               schedule  v  | done: run once more
 *                                   running+pending
 *
 * Scheduling a pending job does nothing, so windows that fill while it
 * waits coalesce into one evaluation over the combined counts; scheduling
 * a running job queues exactly one more run. A job never runs twice at
 * once; jobs of different groups may (with more than one worker).
 *
 * Executors decide where a pending job runs:
 *  - thread: a FIFO served by worker threads; the production choice. A
 *    worker woken on its waker's CPU lets the waker go first (see
 *    yield_to_waker: it keeps the eventfd reader's wake-up cheap).
 *  - inline: at once, in the thread that scheduled it. Replays of traces
 *    with no `work` records ("immediate timing") use it.
 *  - manual: only in vmp_group_run_job(), i.e. at a trace's `work` records.
 */
#include "engine/engine.h"
#include "util/clock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The group whose job this thread is running: flushing it from its own
 * notification callback must not wait for itself. */
static _Thread_local vmp_group *tls_running;

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/*
 * Thread executor queue: producers push onto a lock-free stack (one CAS),
 * a worker takes the whole stack at once and runs it oldest first. A
 * group is in the queue at most once (`queued`); a queued job holds a
 * group reference. A worker is woken through a futex only when one
 * sleeps, so a busy executor costs producers no system call.
 */
static void queue_push(vmp_ctx *ctx, vmp_group *g)
{
	bool was = false;
	if (!atomic_compare_exchange_strong(&g->queued, &was, true))
		return;
	vmp_group_ref(g);
	atomic_fetch_add(&ctx->outstanding, 1);
	vmp_group *head = atomic_load_explicit(&ctx->incoming, memory_order_relaxed);
	do
		g->qnext = head;
	while (!atomic_compare_exchange_weak_explicit(&ctx->incoming, &head, g, memory_order_release,
						      memory_order_relaxed));
	/* seq_cst with the worker's sleeping++ / re-check: one of the two
	 * sides sees the other (no lost wake-up). */
	if (atomic_load(&ctx->sleeping)) {
		atomic_store_explicit(&ctx->waker_cpu, sched_getcpu(), memory_order_relaxed);
		atomic_fetch_add(&ctx->wake_seq, 1);
		futex_wake(&ctx->wake_seq, 1);
	}
}

/*
 * Yielding to the waker. A worker woken by vmp_account() is often started
 * at once on the caller's CPU, preempting the caller. If it then writes an
 * eventfd, the reader is woken while two threads are runnable on this CPU,
 * and the scheduler places the reader on another CPU, an idle one; in a
 * virtual machine an idle vCPU is halted, and waking it costs 25-100 us,
 * several times the rest of the notification. A reader woken by a thread
 * that runs alone is usually placed on that thread's CPU (the baseline of
 * bench/bench_latency.c: 97-99 %; README, "On latency"). So a worker that
 * wakes on its waker's CPU yields once before taking the jobs: the waker,
 * which usually returns from vmp_account() and blocks within microseconds,
 * goes first, and the worker then runs alone.
 *
 * A waker that keeps running instead holds the evaluation back until it
 * blocks or its time slice ends (a scheduler tick or more). So a yield
 * that took longer than YIELD_SLOW_NS stops the yielding for a while:
 * YIELD_BACKOFF_MIN_NS, doubled after each slow yield up to
 * YIELD_BACKOFF_MAX_NS, and back to the minimum after a quick one. A
 * caller that always runs on gets seven such delays in its first second,
 * then one a second; one slow yield by chance (an interrupt, another
 * process) pauses the yielding only briefly.
 */
#define YIELD_SLOW_NS 50000u              /* ~ one wake-up of an idle vCPU: a longer yield costs more than it saves */
#define YIELD_BACKOFF_MIN_NS 10000000u    /* 10 ms */
#define YIELD_BACKOFF_MAX_NS 1000000000u  /* 1 s */

struct yield_state {
	uint64_t no_yield_until; /* CLOCK_MONOTONIC ns */
	uint64_t backoff;        /* the next pause after a slow yield */
};

static void yield_to_waker(vmp_ctx *ctx, struct yield_state *ys)
{
	if (sched_getcpu() != atomic_load_explicit(&ctx->waker_cpu, memory_order_relaxed))
		return;
	uint64_t t0 = vmp__mono_ns();
	if (t0 < ys->no_yield_until)
		return;
	sched_yield();
	if (vmp__mono_ns() - t0 <= YIELD_SLOW_NS) {
		ys->backoff = YIELD_BACKOFF_MIN_NS;
		return;
	}
	ys->no_yield_until = t0 + ys->backoff;
	ys->backoff = ys->backoff * 2 > YIELD_BACKOFF_MAX_NS ? YIELD_BACKOFF_MAX_NS : ys->backoff * 2;
}

/* A job finished: wake flushers, if any wait. */
static void job_done(vmp_ctx *ctx)
{
	if (atomic_load(&ctx->flush_waiters)) {
		pthread_mutex_lock(&ctx->exec_lock);
		pthread_cond_broadcast(&ctx->idle_cond);
		pthread_mutex_unlock(&ctx->exec_lock);
	}
}

static void submit(vmp_group *g)
{
	vmp_ctx *ctx = g->ctx;
	switch (ctx->cfg.executor) {
	case VMP_EXECUTOR_THREAD:
		queue_push(ctx, g);
		break;
	case VMP_EXECUTOR_INLINE:
		vmp_group_run_job(g);
		break;
	case VMP_EXECUTOR_MANUAL:
		break; /* waits for vmp_group_run_job() */
	}
}

void vmp__job_schedule(vmp_group *g)
{
	int s = atomic_load_explicit(&g->job, memory_order_acquire);
	for (;;) {
		switch (s) {
		case JOB_IDLE:
			if (atomic_compare_exchange_weak(&g->job, &s, JOB_PENDING)) {
				submit(g);
				return;
			}
			break;
		case JOB_RUNNING:
			if (atomic_compare_exchange_weak(&g->job, &s, JOB_RUNNING_PENDING))
				return;
			break;
		default: /* pending, or one more run already queued */
			return;
		}
	}
}

/* Claim the job for running. False if someone else is running it. */
static bool claim(vmp_group *g, bool only_pending)
{
	int s = atomic_load_explicit(&g->job, memory_order_acquire);
	for (;;) {
		if (s == JOB_PENDING || (s == JOB_IDLE && !only_pending)) {
			if (atomic_compare_exchange_weak(&g->job, &s, JOB_RUNNING))
				return true;
		} else
			return false;
	}
}

/* After a run: idle, or pending again if scheduled meanwhile. Returns true
 * if it must run again. */
static bool finish(vmp_group *g)
{
	int s = JOB_RUNNING;
	if (atomic_compare_exchange_strong(&g->job, &s, JOB_IDLE))
		return false;
	atomic_store_explicit(&g->job, JOB_PENDING, memory_order_release);
	return true;
}

static void run_claimed(vmp_group *g)
{
	vmp_group *prev = tls_running;
	tls_running = g;
	vmp__evaluate_tree_window(g);
	tls_running = prev;
}

VMP_EXPORT int vmp_group_run_job(vmp_group *g)
{
	if (!g)
		return -EINVAL;
	if (!claim(g, false))
		return -EBUSY;
	vmp_ctx *ctx = g->ctx;
	bool thread = ctx->cfg.executor == VMP_EXECUTOR_THREAD;
	for (;;) {
		run_claimed(g);
		if (!finish(g))
			break;
		if (thread) { /* the kernel re-queues it behind other work */
			queue_push(ctx, g);
			break;
		}
		if (!claim(g, true))
			break;
	}
	if (thread)
		job_done(ctx);
	return 0;
}

static void *worker_main(void *arg)
{
	vmp_ctx *ctx = arg;
	vmp_group *batch = NULL; /* this worker's share, oldest first */
	struct yield_state ys = {0, YIELD_BACKOFF_MIN_NS};
	for (;;) {
		if (!batch) {
			vmp_group *g = atomic_exchange_explicit(&ctx->incoming, NULL, memory_order_acquire);
			while (g) { /* reverse the stack: FIFO, as a workqueue */
				vmp_group *next = g->qnext;
				g->qnext = batch;
				batch = g;
				g = next;
			}
		}
		if (!batch) {
			if (atomic_load(&ctx->stopping))
				break;
			uint32_t seq = atomic_load(&ctx->wake_seq);
			atomic_fetch_add(&ctx->sleeping, 1);
			if (!atomic_load(&ctx->incoming) && !atomic_load(&ctx->stopping))
				futex_wait(&ctx->wake_seq, seq);
			atomic_fetch_sub(&ctx->sleeping, 1);
			yield_to_waker(ctx, &ys);
			continue;
		}
		vmp_group *g = batch;
		batch = g->qnext;
		atomic_store(&g->queued, false);
		bool again = false;
		if (claim(g, true)) {
			run_claimed(g);
			again = finish(g);
		}
		if (again)
			queue_push(ctx, g);
		atomic_fetch_sub(&ctx->outstanding, 1);
		job_done(ctx);
		vmp_group_unref(g); /* the queue's reference */
	}
	return NULL;
}

int vmp__executor_start(vmp_ctx *ctx)
{
	if (ctx->cfg.executor != VMP_EXECUTOR_THREAD)
		return 0;
	atomic_store(&ctx->waker_cpu, -1);
	ctx->workers = calloc(ctx->cfg.threads, sizeof(*ctx->workers));
	if (!ctx->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < ctx->cfg.threads; i++) {
		int rc = pthread_create(&ctx->workers[i], NULL, worker_main, ctx);
		if (rc) {
			vmp__executor_stop(ctx);
			return -rc;
		}
		ctx->nworkers++;
	}
	return 0;
}

void vmp__executor_stop(vmp_ctx *ctx)
{
	atomic_store(&ctx->stopping, true);
	atomic_fetch_add(&ctx->wake_seq, 1);
	futex_wake(&ctx->wake_seq, INT32_MAX);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		pthread_join(ctx->workers[i], NULL);
	ctx->nworkers = 0;
	free(ctx->workers);
	ctx->workers = NULL;
}

/* Wait until nothing is queued or running (vmp_ctx_flush). */
void vmp__executor_wait_idle(vmp_ctx *ctx)
{
	if (ctx->cfg.executor != VMP_EXECUTOR_THREAD || !ctx->nworkers)
		return;
	pthread_mutex_lock(&ctx->exec_lock);
	atomic_fetch_add(&ctx->flush_waiters, 1);
	while (atomic_load(&ctx->outstanding))
		pthread_cond_wait(&ctx->idle_cond, &ctx->exec_lock);
	atomic_fetch_sub(&ctx->flush_waiters, 1);
	pthread_mutex_unlock(&ctx->exec_lock);
}

/* wait until g's job is neither pending nor running. */
void vmp__job_flush(vmp_group *g)
{
	vmp_ctx *ctx = g->ctx;
	if (tls_running == g)
		return;
	if (ctx->cfg.executor == VMP_EXECUTOR_THREAD && ctx->nworkers) {
		pthread_mutex_lock(&ctx->exec_lock);
		atomic_fetch_add(&ctx->flush_waiters, 1);
		while (atomic_load(&g->job) != JOB_IDLE)
			pthread_cond_wait(&ctx->idle_cond, &ctx->exec_lock);
		atomic_fetch_sub(&ctx->flush_waiters, 1);
		pthread_mutex_unlock(&ctx->exec_lock);
		return;
	}
	/* Inline or manual (or workers gone): a pending job runs here. */
	for (;;) {
		int s = atomic_load(&g->job);
		if (s == JOB_IDLE)
			return;
		if (s == JOB_PENDING)
			vmp_group_run_job(g);
		else
			sched_yield(); /* running in another thread */
	}
}
