/* SPDX-License-Identifier: MIT */
/*
 * Listener registration and removal (spec §8, R-15, R-22).
 *
 * Each group keeps its listeners newest first under a mutex; registration
 * may sleep, accounting never touches this lock. Unregister removes the
 * newest match only, so N registrations of one eventfd need N removals.
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdlib.h>

/* Set while this thread delivers to listeners: re-entering the same
 * group's listener lock from a callback would deadlock. */
static _Thread_local const vmp_group *tls_delivering;

static int add(vmp_group *g, int efd, vmp_notify_fn fn, void *arg, const char *args)
{
	vmp_level level;
	vmp_mode mode;
	if (!g)
		return -EINVAL;
	int rc = vmp_parse_args(args, &level, &mode);
	if (rc)
		return rc;
	if (tls_delivering == g)
		return -EDEADLK;
	struct vmp_listener *l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct vmp_listener){.efd = efd, .fn = fn, .arg = arg,
				   .min_level = level, .mode = mode};
	pthread_mutex_lock(&g->listeners_lock);
	l->next = g->listeners;
	g->listeners = l;
	pthread_mutex_unlock(&g->listeners_lock);
	return 0;
}

VMP_EXPORT int vmp_listen_eventfd(vmp_group *g, int efd, const char *args)
{
	if (efd < 0)
		return -EBADF;
	return add(g, efd, NULL, NULL, args);
}

VMP_EXPORT int vmp_listen_callback(vmp_group *g, const char *args, vmp_notify_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	return add(g, -1, fn, arg, args);
}

static int del(vmp_group *g, int efd, vmp_notify_fn fn, void *arg)
{
	if (!g)
		return -EINVAL;
	if (tls_delivering == g)
		return -EDEADLK;
	struct vmp_listener *victim = NULL;
	pthread_mutex_lock(&g->listeners_lock);
	for (struct vmp_listener **pp = &g->listeners; *pp; pp = &(*pp)->next) {
		struct vmp_listener *l = *pp;
		if (fn ? (l->fn == fn && l->arg == arg) : (!l->fn && l->efd == efd)) {
			*pp = l->next;
			victim = l;
			break;
		}
	}
	pthread_mutex_unlock(&g->listeners_lock);
	free(victim);
	return victim ? 0 : -ENOENT;
}

VMP_EXPORT int vmp_unlisten_eventfd(vmp_group *g, int efd)
{
	return del(g, efd, NULL, NULL);
}

VMP_EXPORT int vmp_unlisten_callback(vmp_group *g, vmp_notify_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	return del(g, -1, fn, arg);
}

/* detach every registration, then signal each once more. */
void vmp__listeners_remove_all(vmp_group *g)
{
	pthread_mutex_lock(&g->listeners_lock);
	struct vmp_listener *l = g->listeners;
	g->listeners = NULL;
	pthread_mutex_unlock(&g->listeners_lock);
	while (l) {
		struct vmp_listener *next = l->next;
		struct vmp_event ev = {
			.flags = VMP_EVENT_REMOVED,
			.level = l->min_level,
			.origin = g,
			.group = g,
			.min_level = l->min_level,
			.mode = l->mode,
		};
		vmp__notify(l, &ev);
		free(l);
		l = next;
	}
}

void vmp__listeners_delivering(const vmp_group *g)
{
	tls_delivering = g;
}
