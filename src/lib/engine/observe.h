/* SPDX-License-Identifier: MIT */
/*
 * Internal: an observer of every evaluated tree window, for the library's
 * own replay (vmp_replay_run_hooks: the pressure of each group over time,
 * which listeners see only where their level is met). It runs in the
 * evaluation, after the drain and before the delivery walk, on the cold
 * path: vmp_account() never sees it. Set it before any evaluation can run
 * (the replay's executors are inline or manual); ev->group is NULL.
 */
#ifndef VMP_OBSERVE_H
#define VMP_OBSERVE_H

#include "vmpressure.h"

void vmp__ctx_set_eval_hook(vmp_ctx *ctx, void (*fn)(const struct vmp_event *ev, void *arg), void *arg);

#endif
