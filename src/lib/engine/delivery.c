/* SPDX-License-Identifier: MIT */
/*
 * Delivery: evaluate a drained tree window once, at its origin, then walk
 * from the origin up to the root offering the level to every listener
 * (spec §7, truth table §7.1).
 *
 * A listener fires when the level reaches its minimum, except that
 *  - a LOCAL listener only hears windows of its own group (not ancestors'
 *    view of a descendant's window), and
 *  - a DEFAULT listener stays quiet once a listener at a lower node fired:
 *    the event was "handled" below (memory.rst's "stop once handled").
 * "Fired" is per node and sticky: all matching listeners at a node fire
 * together, and a HIERARCHY or LOCAL listener firing also counts. A
 * listener that merely exists, with its level unmet, handles nothing
 * (S2, S10). Events never flow down or sideways.
 *
 * Only one node's listener lock is held at a time.
 */
#include "engine/engine.h"
#include "engine/observe.h"

#include <errno.h>
#include <unistd.h>

void vmp__notify(struct vmp_listener *l, const struct vmp_event *ev)
{
	if (l->fn) {
		l->fn(ev, l->arg);
		return;
	}
	/* The kernel's eventfd_signal(): +1. A full counter (2^64-2 unread
	 * events, EAGAIN on a non-blocking fd) keeps its value, as the kernel
	 * saturates; a closed fd is the owner's business. */
	uint64_t one = 1;
	ssize_t n;
	do
		n = write(l->efd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

/* The per-node part of the walk. Returns whether any listener fired. */
static bool deliver(vmp_group *node, struct vmp_event *ev, bool ancestor,
		    bool signalled)
{
	bool fired = false;
	pthread_mutex_lock(&node->listeners_lock);
	vmp__listeners_delivering(node);
	for (struct vmp_listener *l = node->listeners; l; l = l->next) {
		if (ancestor && l->mode == VMP_MODE_LOCAL)
			continue;
		if (signalled && l->mode == VMP_MODE_DEFAULT)
			continue;
		if (ev->level < l->min_level)
			continue;
		ev->group = node;
		ev->min_level = l->min_level;
		ev->mode = l->mode;
		vmp__notify(l, ev);
		fired = true;
	}
	vmp__listeners_delivering(NULL);
	pthread_mutex_unlock(&node->listeners_lock);
	return fired;
}

void vmp__ctx_set_eval_hook(vmp_ctx *ctx, void (*fn)(const struct vmp_event *ev, void *arg), void *arg)
{
	ctx->eval_hook = fn;
	ctx->eval_arg = arg;
}

void vmp__evaluate_tree_window(vmp_group *origin)
{
	vmp_ctx *ctx = origin->ctx;
	const uint64_t ul = (ctx->calc_flags & VMP_CALC_UL32) ? UINT32_MAX : UINT64_MAX;
	uint64_t s, r;

	if (!vmp__acc_drain(&origin->tree, ul, &s, &r))
		return; /* a stale re-run found nothing */
	struct vmp_event ev = {
		.scanned = s,
		.reclaimed = r,
		.pressure = vmp__pressure_of(s, r, ctx->calc_flags),
		.origin = origin,
	};
	ev.level = vmp__level_of(ev.pressure);
	if (ctx->eval_hook)
		ctx->eval_hook(&ev, ctx->eval_arg);

	bool signalled = false, ancestor = false;
	for (vmp_group *node = origin; node; node = node->parent) {
		if (deliver(node, &ev, ancestor, signalled))
			signalled = true;
		ancestor = true;
	}
}
