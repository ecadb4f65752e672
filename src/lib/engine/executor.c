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
 *  - thread: a FIFO served by worker threads; the production choice.
 *  - inline: at once, in the thread that scheduled it. Replays of traces
 *    with no `work` records ("immediate timing") use it.
 *  - manual: only in vmp_group_run_job(), i.e. at a trace's `work` records.
 */
#include "engine.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

/* The group whose job this thread is running: flushing it from its own
 * notification callback must not wait for itself. */
static _Thread_local vmp_group *tls_running;

static void queue_push(vmp_ctx *ctx, vmp_group *g)
{
	/* Caller holds exec_lock. A queued job holds a group reference. */
	if (g->queued)
		return;
	vmp_group_ref(g);
	g->queued = true;
	g->qnext = NULL;
	if (ctx->qtail)
		ctx->qtail->qnext = g;
	else
		ctx->qhead = g;
	ctx->qtail = g;
	if (ctx->sleeping_workers)
		pthread_cond_signal(&ctx->exec_cond);
}

static void submit(vmp_group *g)
{
	vmp_ctx *ctx = g->ctx;
	switch (ctx->cfg.executor) {
	case VMP_EXECUTOR_THREAD:
		pthread_mutex_lock(&ctx->exec_lock);
		queue_push(ctx, g);
		pthread_mutex_unlock(&ctx->exec_lock);
		break;
	case VMP_EXECUTOR_INLINE:
		vmp_group_run_job(g);
		break;
	case VMP_EXECUTOR_MANUAL:
		break; /* waits for vmp_group_run_job() */
	}
}

void vmp_job_schedule(vmp_group *g)
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
	vmp_evaluate_tree_window(g);
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
			pthread_mutex_lock(&ctx->exec_lock);
			queue_push(ctx, g);
			pthread_mutex_unlock(&ctx->exec_lock);
			break;
		}
		if (!claim(g, true))
			break;
	}
	if (thread) {
		pthread_mutex_lock(&ctx->exec_lock);
		pthread_cond_broadcast(&ctx->idle_cond);
		pthread_mutex_unlock(&ctx->exec_lock);
	}
	return 0;
}

static void *worker_main(void *arg)
{
	vmp_ctx *ctx = arg;
	pthread_mutex_lock(&ctx->exec_lock);
	for (;;) {
		while (!ctx->qhead && !ctx->stopping) {
			ctx->sleeping_workers++;
			pthread_cond_wait(&ctx->exec_cond, &ctx->exec_lock);
			ctx->sleeping_workers--;
		}
		if (!ctx->qhead)
			break; /* stopping, and the queue is drained */
		vmp_group *g = ctx->qhead;
		ctx->qhead = g->qnext;
		if (!ctx->qhead)
			ctx->qtail = NULL;
		g->queued = false;
		ctx->running_jobs++;
		pthread_mutex_unlock(&ctx->exec_lock);

		bool again = false;
		if (claim(g, true)) {
			run_claimed(g);
			again = finish(g);
		}
		pthread_mutex_lock(&ctx->exec_lock);
		if (again)
			queue_push(ctx, g);
		ctx->running_jobs--;
		pthread_cond_broadcast(&ctx->idle_cond);
		pthread_mutex_unlock(&ctx->exec_lock);
		vmp_group_unref(g); /* the queue's reference */
		pthread_mutex_lock(&ctx->exec_lock);
	}
	pthread_mutex_unlock(&ctx->exec_lock);
	return NULL;
}

int vmp_exec_start(vmp_ctx *ctx)
{
	if (ctx->cfg.executor != VMP_EXECUTOR_THREAD)
		return 0;
	ctx->workers = calloc(ctx->cfg.threads, sizeof(*ctx->workers));
	if (!ctx->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < ctx->cfg.threads; i++) {
		int rc = pthread_create(&ctx->workers[i], NULL, worker_main, ctx);
		if (rc) {
			vmp_exec_stop(ctx);
			return -rc;
		}
		ctx->nworkers++;
	}
	return 0;
}

void vmp_exec_stop(vmp_ctx *ctx)
{
	pthread_mutex_lock(&ctx->exec_lock);
	ctx->stopping = true;
	pthread_cond_broadcast(&ctx->exec_cond);
	pthread_mutex_unlock(&ctx->exec_lock);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		pthread_join(ctx->workers[i], NULL);
	ctx->nworkers = 0;
	free(ctx->workers);
	ctx->workers = NULL;
}

/* wait until g's job is neither pending nor running. */
void vmp_job_flush(vmp_group *g)
{
	vmp_ctx *ctx = g->ctx;
	if (tls_running == g)
		return;
	if (ctx->cfg.executor == VMP_EXECUTOR_THREAD && ctx->nworkers) {
		pthread_mutex_lock(&ctx->exec_lock);
		while (atomic_load(&g->job) != JOB_IDLE)
			pthread_cond_wait(&ctx->idle_cond, &ctx->exec_lock);
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
