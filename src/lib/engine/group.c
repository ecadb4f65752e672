/* SPDX-License-Identifier: MIT */
/*
 * The context and its group tree: creation, lookup by path, references and
 * removal.
 *
 * Lifetime: the context holds one reference on each live group, a child
 * holds one on its parent (delivery walks up, R-11), and a queued job holds
 * one on its group. vmp_group_destroy() drops the context's reference after
 * detaching the listeners; the memory goes with the last reference, after
 * a final flush, so a thread that took vmp_group_ref() may keep accounting
 * into a group that is being removed, as reclaim can into an offline memcg.
 */
#include "engine/engine.h"
#include "util/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

VMP_EXPORT unsigned vmp_version(void)
{
	return VMP_VERSION_HEX;
}

static uint64_t monotonic_ns(void *arg)
{
	(void)arg;
	return vmp__mono_ns();
}

uint64_t vmp__now_ns(const vmp_ctx *ctx)
{
	return ctx->cfg.clock_ns(ctx->cfg.clock_arg);
}

/* ---- lookup table: path -> live group, chained, under groups_lock ------ */

static size_t hash_path(const char *p)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211u;
	return (size_t)h;
}

static int htab_grow(vmp_ctx *ctx)
{
	size_t nsize = ctx->hsize ? ctx->hsize * 2 : 64;
	vmp_group **nt = calloc(nsize, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->hsize; i++) {
		vmp_group *g = ctx->htab[i];
		while (g) {
			vmp_group *next = g->hnext;
			size_t b = hash_path(g->path) & (nsize - 1);
			g->hnext = nt[b];
			nt[b] = g;
			g = next;
		}
	}
	free(ctx->htab);
	ctx->htab = nt;
	ctx->hsize = nsize;
	return 0;
}

static vmp_group *htab_find(vmp_ctx *ctx, const char *path)
{
	if (!ctx->hsize)
		return NULL;
	for (vmp_group *g = ctx->htab[hash_path(path) & (ctx->hsize - 1)]; g; g = g->hnext)
		if (strcmp(g->path, path) == 0)
			return g;
	return NULL;
}

static void htab_remove(vmp_ctx *ctx, vmp_group *g)
{
	vmp_group **pp = &ctx->htab[hash_path(g->path) & (ctx->hsize - 1)];
	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	ctx->hcount--;
}

static int htab_insert(vmp_ctx *ctx, vmp_group *g)
{
	if (ctx->hcount + 1 > ctx->hsize / 2) {
		int rc = htab_grow(ctx);
		if (rc)
			return rc;
	}
	size_t b = hash_path(g->path) & (ctx->hsize - 1);
	g->hnext = ctx->htab[b];
	ctx->htab[b] = g;
	ctx->hcount++;
	return 0;
}

/* ---- groups ------------------------------------------------------------ */

static vmp_group *group_alloc(vmp_ctx *ctx, vmp_group *parent, char *path)
{
	/* Aligned so that the hot accumulators own their cache lines. */
	vmp_group *g = aligned_alloc(64, (sizeof(*g) + 63) & ~(size_t)63);
	if (!g)
		return NULL;
	memset(g, 0, sizeof(*g)); /* counters zero, job idle, no listeners */
	atomic_flag_clear(&g->tree.lock);
	atomic_flag_clear(&g->local.lock);
	g->ctx = ctx;
	g->parent = parent;
	g->path = path;
	atomic_init(&g->refs, 1);
	pthread_mutex_init(&g->listeners_lock, NULL);
	return g;
}

static void group_free(vmp_group *g)
{
	pthread_mutex_destroy(&g->listeners_lock);
	free(g->path);
	free(g);
}

VMP_EXPORT vmp_group *vmp_group_ref(vmp_group *g)
{
	if (g)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

VMP_EXPORT void vmp_group_unref(vmp_group *g)
{
	while (g) {
		if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
			return;
		/* nothing may still be pending on the memory we free. */
		vmp__job_flush(g);
		vmp__listeners_remove_all(g); /* only ever non-empty for the root */
		vmp_group *parent = g->parent;
		group_free(g);
		g = parent;
	}
}

VMP_EXPORT void vmp_config_init(struct vmp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->executor = VMP_EXECUTOR_THREAD;
	cfg->threads = 1;
	cfg->gfp_relevant = VMP_GFP_RELEVANT_DEFAULT;
}

VMP_EXPORT int vmp_ctx_new(vmp_ctx **out, const struct vmp_config *cfg)
{
	if (!out)
		return -EINVAL;
	struct vmp_config c;
	if (cfg)
		c = *cfg;
	else
		vmp_config_init(&c);
	if ((unsigned)c.executor > VMP_EXECUTOR_MANUAL ||
	    (c.flags & ~(VMP_CTX_CGROUP_V1 | VMP_CTX_NO_GUARD | VMP_CTX_UL32)))
		return -EINVAL;
	if (!c.threads)
		c.threads = 1;
	if (!c.gfp_relevant)
		c.gfp_relevant = VMP_GFP_RELEVANT_DEFAULT;
	if (!c.clock_ns)
		c.clock_ns = monotonic_ns;

	vmp_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->cfg = c;
	ctx->calc_flags = ((c.flags & VMP_CTX_NO_GUARD) ? VMP_CALC_NO_GUARD : 0) |
			  ((c.flags & VMP_CTX_UL32) ? VMP_CALC_UL32 : 0);
	pthread_mutex_init(&ctx->groups_lock, NULL);
	pthread_mutex_init(&ctx->exec_lock, NULL);
	pthread_cond_init(&ctx->idle_cond, NULL);

	char *rp = strdup("/");
	ctx->root = rp ? group_alloc(ctx, NULL, rp) : NULL;
	int rc = ctx->root ? htab_insert(ctx, ctx->root) : -ENOMEM;
	if (!rc)
		rc = vmp__executor_start(ctx);
	if (rc) {
		if (ctx->root)
			group_free(ctx->root);
		else
			free(rp);
		free(ctx->htab);
		free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

VMP_EXPORT vmp_group *vmp_ctx_root(vmp_ctx *ctx)
{
	return ctx ? ctx->root : NULL;
}

VMP_EXPORT const char *vmp_group_path(const vmp_group *g)
{
	return g ? g->path : NULL;
}

VMP_EXPORT uint64_t vmp_group_id(const vmp_group *g)
{
	return g ? g->id : 0;
}

VMP_EXPORT vmp_group *vmp_group_parent(const vmp_group *g)
{
	return g ? g->parent : NULL;
}

static bool valid_name(const char *name)
{
	size_t n = strnlen(name, 256);
	return n > 0 && n < 256 && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

VMP_EXPORT int vmp_group_new(vmp_group *parent, const char *name, vmp_group **out)
{
	if (!parent || !name || !out || !valid_name(name))
		return -EINVAL;
	vmp_ctx *ctx = parent->ctx;
	size_t plen = strlen(parent->path), nlen = strlen(name);
	char *path = malloc(plen + nlen + 2);
	if (!path)
		return -ENOMEM;
	if (parent == ctx->root)
		memcpy(path, name, nlen + 1);
	else {
		memcpy(path, parent->path, plen);
		path[plen] = '/';
		memcpy(path + plen + 1, name, nlen + 1);
	}

	pthread_mutex_lock(&ctx->groups_lock);
	int rc = 0;
	vmp_group *g = NULL;
	if (parent->removed)
		rc = -ENOENT;
	else if (htab_find(ctx, path))
		rc = -EEXIST;
	else if (!(g = group_alloc(ctx, parent, path)))
		rc = -ENOMEM;
	else if ((rc = htab_insert(ctx, g)) != 0) {
		group_free(g);
		g = NULL;
		path = NULL;
	}
	if (!rc) {
		vmp_group_ref(parent);
		parent->live_children++;
		g->id = ++ctx->next_id;
	}
	pthread_mutex_unlock(&ctx->groups_lock);
	if (rc) {
		if (!g)
			free(path);
		return rc;
	}
	*out = g;
	return 0;
}

static const char *normalize(const char *path)
{
	if (strcmp(path, "/") == 0)
		return path;
	while (*path == '/')
		path++;
	return *path ? path : "/";
}

static int lookup(vmp_ctx *ctx, const char *path, vmp_group **out, bool ref)
{
	if (!ctx || !path || !out)
		return -EINVAL;
	pthread_mutex_lock(&ctx->groups_lock);
	vmp_group *g = htab_find(ctx, normalize(path));
	if (g && ref)
		vmp_group_ref(g);
	pthread_mutex_unlock(&ctx->groups_lock);
	if (!g)
		return -ENOENT;
	*out = g;
	return 0;
}

VMP_EXPORT int vmp_group_lookup(vmp_ctx *ctx, const char *path, vmp_group **out)
{
	return lookup(ctx, path, out, false);
}

VMP_EXPORT int vmp_group_lookup_ref(vmp_ctx *ctx, const char *path, vmp_group **out)
{
	return lookup(ctx, path, out, true);
}

VMP_EXPORT int vmp_group_destroy(vmp_group *g)
{
	if (!g)
		return -EINVAL;
	vmp_ctx *ctx = g->ctx;
	if (g == ctx->root)
		return -EPERM;
	pthread_mutex_lock(&ctx->groups_lock);
	int rc = 0;
	if (g->removed)
		rc = -ENOENT;
	else if (g->live_children)
		rc = -EBUSY;
	else {
		g->removed = true;
		htab_remove(ctx, g);
		g->parent->live_children--;
	}
	pthread_mutex_unlock(&ctx->groups_lock);
	if (rc)
		return rc;
	/* The order of R-22 and the issue: flush, then the removal signal. */
	vmp__job_flush(g);
	vmp__listeners_remove_all(g);
	vmp_group_unref(g);
	return 0;
}

/* A child's path is its parent's plus "/name": longer. */
static int longer_path_first(const void *a, const void *b)
{
	size_t la = strlen((*(vmp_group *const *)a)->path);
	size_t lb = strlen((*(vmp_group *const *)b)->path);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Children before parents, so every destroy succeeds. One pass over the
 * table and a sort by path length: rescanning the table for a leaf before
 * each removal made freeing n groups O(n^2). */
static void destroy_subtree(vmp_ctx *ctx)
{
	pthread_mutex_lock(&ctx->groups_lock);
	size_t n = 0;
	vmp_group **all = malloc((ctx->hcount ? ctx->hcount : 1) * sizeof(*all));
	if (all)
		for (size_t i = 0; i < ctx->hsize; i++)
			for (vmp_group *g = ctx->htab[i]; g; g = g->hnext)
				if (g != ctx->root)
					all[n++] = vmp_group_ref(g);
	pthread_mutex_unlock(&ctx->groups_lock);
	if (all) {
		qsort(all, n, sizeof(*all), longer_path_first);
		for (size_t i = 0; i < n; i++) {
			vmp_group_destroy(all[i]);
			vmp_group_unref(all[i]);
		}
		free(all);
		return;
	}
	for (;;) { /* out of memory: the slow way, a scan per leaf */
		vmp_group *leaf = NULL;
		pthread_mutex_lock(&ctx->groups_lock);
		for (size_t i = 0; i < ctx->hsize && !leaf; i++)
			for (vmp_group *g = ctx->htab[i]; g && !leaf; g = g->hnext)
				if (g != ctx->root && !g->live_children)
					leaf = g;
		pthread_mutex_unlock(&ctx->groups_lock);
		if (!leaf)
			return;
		vmp_group_destroy(leaf);
	}
}

VMP_EXPORT int vmp_ctx_flush(vmp_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	vmp__executor_wait_idle(ctx);
	return 0;
}

VMP_EXPORT void vmp_ctx_free(vmp_ctx *ctx)
{
	if (!ctx)
		return;
	vmp_ctx_flush(ctx);
	destroy_subtree(ctx);
	vmp__job_flush(ctx->root);
	vmp__listeners_remove_all(ctx->root);
	vmp__executor_stop(ctx);
	vmp_group_unref(ctx->root);
	pthread_mutex_destroy(&ctx->groups_lock);
	pthread_mutex_destroy(&ctx->exec_lock);
	pthread_cond_destroy(&ctx->idle_cond);
	free(ctx->htab);
	free(ctx);
}
