/* SPDX-License-Identifier: MIT */
/* Internal engine declarations: shared by the engine's files, not exported. */
#ifndef VMP_ENGINE_H
#define VMP_ENGINE_H

#include "vmpressure.h"
#include "engine/accumulator.h"
#include "export.h"

#include <pthread.h>
#include <stdatomic.h>


/* level.c */
vmp_level vmp__level_of(uint64_t pressure);
uint64_t vmp__pressure_of(uint64_t s, uint64_t r, unsigned calc_flags);

/* The deferred job's states, kept in vmp_group.job. */
enum {
	JOB_IDLE = 0,
	JOB_PENDING,
	JOB_RUNNING,
	JOB_RUNNING_PENDING, /* scheduled again while running: one more run */
};

struct vmp_listener {
	struct vmp_listener *next; /* newest first */
	int efd;                   /* -1 for a callback listener */
	vmp_notify_fn fn;
	void *arg;
	vmp_level min_level;
	vmp_mode mode;
};

struct vmp_group {
	/* Hot: written by every vmp_account(). Alone in its cache lines. */
	struct vmp_acc tree;
	struct vmp_acc local;
	_Atomic int job;

	/* Cold. */
	_Alignas(64) vmp_ctx *ctx;
	vmp_group *parent;        /* holds a reference on the parent */
	_Atomic unsigned long refs;
	uint64_t id;              /* vmp_group_id(): never reused */
	_Atomic uint64_t socket_deadline_ns;
	bool removed;             /* under ctx->groups_lock */
	unsigned live_children;   /* under ctx->groups_lock */
	struct vmp_group *hnext;  /* lookup hash chain, under groups_lock */
	struct vmp_group *qnext;  /* executor queue link */
	atomic_bool queued;       /* in the executor queue */
	pthread_mutex_t listeners_lock;
	struct vmp_listener *listeners;
	char *path;
};

struct vmp_exec_thread;

struct vmp_ctx {
	struct vmp_config cfg;
	unsigned calc_flags;
	vmp_group *root;

	pthread_mutex_t groups_lock; /* the lookup table and tree shape */
	uint64_t next_id;            /* under groups_lock */
	vmp_group **htab;
	size_t hsize, hcount;

	/* executor.c: a lock-free queue, so that vmp_account() never takes a
	 * mutex even when it schedules; workers sleep on a futex. */
	_Atomic(vmp_group *) incoming;  /* LIFO of submitted jobs */
	_Atomic uint32_t wake_seq;      /* futex word */
	atomic_uint sleeping;           /* workers asleep on wake_seq */
	atomic_int waker_cpu;           /* CPU of the last thread to wake one */
	atomic_uint outstanding;        /* jobs queued or running */
	atomic_bool stopping;
	/* Flushers (cold path) wait here for a job to finish. */
	pthread_mutex_t exec_lock;
	pthread_cond_t idle_cond;
	atomic_uint flush_waiters;
	pthread_t *workers;
	unsigned nworkers;

	/* observe.h: told of every evaluated window (replay's plots). */
	void (*eval_hook)(const struct vmp_event *ev, void *arg);
	void *eval_arg;
};

/* executor.c */
int vmp__executor_start(vmp_ctx *ctx);
void vmp__executor_stop(vmp_ctx *ctx);
void vmp__job_schedule(vmp_group *g);
void vmp__job_flush(vmp_group *g);
void vmp__executor_wait_idle(vmp_ctx *ctx);

/* delivery.c */
void vmp__evaluate_tree_window(vmp_group *origin);
void vmp__notify(struct vmp_listener *l, const struct vmp_event *ev);

/* listener.c */
void vmp__listeners_remove_all(vmp_group *g);
void vmp__listeners_delivering(const vmp_group *g); /* NULL when done */

/* group.c */
uint64_t vmp__now_ns(const vmp_ctx *ctx);

#endif
