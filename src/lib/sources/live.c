/* SPDX-License-Identifier: MIT */
/* Estimator sources (cgroup v2, machine): not wired up yet. */
#include "source.h"

#include <errno.h>

static int est_init(struct vmp_source *src)
{
	(void)src;
	return -ENOTSUP;
}

static void est_fini(struct vmp_source *src)
{
	(void)src;
}

static int est_subscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	(void)src;
	(void)sub;
	return -ENOTSUP;
}

static void est_unsubscribe(struct vmp_source *src, struct vmp_sub *sub)
{
	(void)src;
	(void)sub;
}

const struct vmp_source_ops vmp_source_est_ops = {
	.name = "estimator",
	.init = est_init,
	.fini = est_fini,
	.subscribe = est_subscribe,
	.unsubscribe = est_unsubscribe,
};
