/* SPDX-License-Identifier: MIT */
/*
 * The entry points that reclaim calls (spec §5, §6): vmpressure() and
 * vmpressure_prio(). This is the hot path: one atomic add in the common
 * case, no mutex, no allocation, never a sleep.
 *
 * Filters, in the kernel's order: cgroup v1 drops the local path (F1),
 * the GFP mask must allow userspace to help (F2), zero scanned is not
 * pressure and its reclaimed count is dropped with it (F3), and the local
 * path ignores the root (F4).
 *
 * The tree path only accumulates and schedules: the evaluation happens
 * later, in the group's job, so windows coalesce as in the kernel (R-6,
 * The local path evaluates at once in the caller and only moves the
 * socket-pressure deadline; it never reaches listeners.
 */
#include "engine/engine.h"

/* How long a local-path medium/critical keeps socket pressure on (HZ). */
#define SOCKET_PRESSURE_HOLD_NS 1000000000u

/* The local path, out of line: the tree path must not pay for its frame. */
static __attribute__((noinline)) void account_local(vmp_ctx *ctx, vmp_group *g, uint64_t ul,
						    uint64_t scanned, uint64_t reclaimed)
{
	if (g == ctx->root)
		return; /* F4 */
	if ((vmp__acc_add(&g->local, scanned, reclaimed) & ul) < VMP_WINDOW)
		return;
	uint64_t s, r;
	/* whoever crosses the window evaluates everything accumulated;
	 * a racing crosser may find it already taken. */
	if (!vmp__acc_drain(&g->local, ul, &s, &r))
		return;
	if (vmp__level_of(vmp__pressure_of(s, r, ctx->calc_flags)) > VMP_LEVEL_LOW)
		atomic_store_explicit(&g->socket_deadline_ns,
				      vmp__now_ns(ctx) + SOCKET_PRESSURE_HOLD_NS,
				      memory_order_relaxed);
}

VMP_EXPORT void vmp_account(vmp_ctx *ctx, vmp_group *g, uint32_t gfp, bool tree,
			    uint64_t scanned, uint64_t reclaimed)
{
	if (!tree && (ctx->cfg.flags & VMP_CTX_CGROUP_V1))
		return; /* F1 */
	if (!g)
		g = ctx->root;
	if (!(gfp & ctx->cfg.gfp_relevant))
		return; /* F2 */
	const uint64_t ul = (ctx->calc_flags & VMP_CALC_UL32) ? UINT32_MAX : UINT64_MAX;
	if ((scanned & ul) == 0)
		return; /* F3 */
	if (!tree) {
		account_local(ctx, g, ul, scanned, reclaimed);
		return;
	}
	/* the post-add total, compared outside any lock. Scheduling a
	 * job that is already pending does nothing: skip the call. */
	if ((vmp__acc_add(&g->tree, scanned, reclaimed) & ul) >= VMP_WINDOW) {
		int js = atomic_load_explicit(&g->job, memory_order_relaxed);
		if (js != JOB_PENDING && js != JOB_RUNNING_PENDING)
			vmp__job_schedule(g);
	}
}

VMP_EXPORT void vmp_account_prio(vmp_ctx *ctx, vmp_group *g, uint32_t gfp, int prio)
{
	if (prio > VMP_CRIT_PRIO)
		return;
	/* R-9a: added to whatever is there, so not necessarily critical. */
	vmp_account(ctx, g, gfp, true, VMP_WINDOW, 0);
}

VMP_EXPORT bool vmp_group_socket_pressure(const vmp_group *g)
{
	if (!g)
		return false;
	uint64_t now = vmp__now_ns(g->ctx);
	for (; g; g = g->parent)
		if (now < atomic_load_explicit(&((vmp_group *)g)->socket_deadline_ns,
					       memory_order_relaxed))
			return true;
	return false;
}
