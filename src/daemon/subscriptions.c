/* SPDX-License-Identifier: MIT */
/*
 * Subscriptions: one source subscription per distinct (cgroup, level,
 * mode), shared by every member subscribed to it: client subscriptions and
 * the daemon's own.
 *
 * Why share: on cgroup v1 every source subscription is up to three kernel
 * registrations (v1.c), each an eventfd and a kernel structure; on the
 * estimators each is an engine listener evaluated on every window. A
 * thousand clients watching the same cgroup should cost one of those, not a
 * thousand. Sharing changes nothing that a client can observe: listeners
 * with the same group, level and mode receive exactly the same
 * notifications (spec §8: delivery depends on the group, the level and the
 * mode, and on which listeners exist below, never on how many identical
 * ones there are). The key is the parsed level and mode, not the text, so
 * "low" and "low,default" share too; the source is subscribed with the
 * canonical text (protocol.c, vmpd_canonical_args()).
 *
 * Members: whoever shares a source subscription is a struct vmpd_member
 * with the operations of its kind (daemon.h: event, transition, removed).
 * The fan-out knows no kind. The client kinds are here: an eventfd (its
 * event adds the count to the eventfd at once: write(2) on an eventfd adds;
 * it cannot be dropped or reordered), a stream (it also queues a stream
 * event, client.c decides whether it fits) and a debounced stream. A
 * pressure event differs between stream subscribers only by the id, so its
 * text is formatted once per source event. The daemon's own kinds are
 * where they are used: a memory-pressure endpoint (mpwatch/mpwatch.c) and
 * an --exec action (actions.c); those are not counted in the client
 * totals of `status`.
 *
 * Debounced members ("debounce[=CONFIG]", src/lib/consumers/debounce.c;
 * an --exec action's `debounce`) have a state machine each, since each has
 * its own config: it is fed every notification after the member's event
 * (a client's eventfd still counts each one) and its transitions go to the
 * member's transition (a client's stream gets them instead of the
 * pressure events). The machines run on CLOCK_MONOTONIC, so that a step
 * of the wall clock (NTP, a suspended VM) cannot hold a level for as long
 * as the step: an event's time (CLOCK_REALTIME) is taken at its distance
 * from the wall clock now, which keeps a trace's own timeline when it is
 * played faster than real time. A CLOCK_MONOTONIC timerfd, armed at the
 * end of every loop round for the earliest transition any of them may
 * raise on its own (a level left when notifications stop), ticks them all.
 *
 * Removal: the source reports it once, last. Every member leaves and gets
 * its removed (a client subscription: the final increment and a `removed`
 * event; then it is freed, its id with it). The source subscription
 * itself is released at the end of the round (VMPD_ROUND_RELEASE),
 * because the source may not be called from its own callback.
 *
 * Metrics: the watch (vmpd_subs_watch(), metrics_serve.c) sees every
 * source subscription's notifications, members or not. --metrics-cgroup
 * pins one: it lives without members, and a client subscribing to the
 * same (cgroup, level, mode) shares it like any other, so the metrics have
 * one series per listener.
 */
#include "daemon.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct vmpd_shared {
	struct vmpd *d;
	char *cgroup;
	vmp_level level;
	vmp_mode mode;
	vmp_sub *sub;
	struct vmpd_member *members;
	unsigned nmembers;
	bool removed;
	bool pinned;        /* --metrics-cgroup: kept without members */
	struct vmpd_listener_stats stats;
	struct vmpd_shared *hnext;
	struct vmpd_shared *reap_next;
};

struct vmpd_subs {
	struct vmpd_shared **buckets;
	size_t nbuckets, count;
	struct vmpd_shared *reap;
	struct vmp__buf tail, line;
	bool have_tail;               /* tail holds this source event's text */
	struct vmpd_member *debounced; /* every member with a db */
	/* Those with a due time (vmp_debounce_next_ns()), a min-heap on it:
	 * the timer is armed for the top, and a tick runs only those due. A
	 * member's place changes only when it was fed or ticked, so a loop
	 * round costs what changed, not a walk of every debouncer. */
	struct vmpd_member **heap;
	size_t nheap, heapcap;
	struct vmpd_io timer;         /* their ticks: CLOCK_MONOTONIC */
	uint64_t armed;               /* the timer's expiry; 0: disarmed */
	/* Redacting origin: its directories, loaded once per event for
	 * och_origin; the redacted text the last tail was formatted with. */
	struct vmpd_chain och;
	const char *och_origin;
	char red[VMPD_LINE_MAX];
	struct vmp__buf rtail;
	size_t rtail_len;             /* of `red` the rtail holds; SIZE_MAX: none */
	struct vmpd_round_hook reap_hook, arm_hook;
};

static uint64_t hash_key(const char *cgroup, vmp_level level, vmp_mode mode)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)cgroup; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ (unsigned)level) * 1099511628211ull;
	h = (h ^ (unsigned)mode) * 1099511628211ull;
	return h;
}

static struct vmpd_shared **bucket(struct vmpd_subs *s, const char *cgroup, vmp_level level,
				   vmp_mode mode)
{
	return &s->buckets[hash_key(cgroup, level, mode) & (s->nbuckets - 1)];
}

static struct vmpd_shared *lookup(struct vmpd_subs *s, const char *cgroup, vmp_level level,
				  vmp_mode mode)
{
	for (struct vmpd_shared *sh = *bucket(s, cgroup, level, mode); sh; sh = sh->hnext)
		if (sh->level == level && sh->mode == mode && !strcmp(sh->cgroup, cgroup))
			return sh;
	return NULL;
}

static void grow(struct vmpd_subs *s)
{
	size_t n = s->nbuckets * 2;
	struct vmpd_shared **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* longer chains; still correct */
	for (size_t i = 0; i < s->nbuckets; i++)
		while (s->buckets[i]) {
			struct vmpd_shared *sh = s->buckets[i];
			s->buckets[i] = sh->hnext;
			struct vmpd_shared **b = &nb[hash_key(sh->cgroup, sh->level, sh->mode) & (n - 1)];
			sh->hnext = *b;
			*b = sh;
		}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

static void unhash(struct vmpd_subs *s, struct vmpd_shared *sh)
{
	for (struct vmpd_shared **pp = bucket(s, sh->cgroup, sh->level, sh->mode); *pp;
	     pp = &(*pp)->hnext)
		if (*pp == sh) {
			*pp = sh->hnext;
			s->count--;
			return;
		}
}

static void shared_free(struct vmpd_shared *sh)
{
	free(sh->cgroup);
	free(sh);
}

static void on_timer(struct vmpd *d, struct vmpd_io *io, uint32_t events);
static void subs_reap(struct vmpd *d);
static void subs_arm(struct vmpd *d);

int vmpd_subs_init(struct vmpd *d)
{
	struct vmpd_subs *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nbuckets = 64;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return -ENOMEM;
	}
	vmp__buf_init(&s->tail);
	vmp__buf_init(&s->line);
	vmp__buf_init(&s->rtail);
	s->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->timer.ready = on_timer;
	int rc = s->timer.fd < 0 ? -errno : vmpd_loop_add(d, &s->timer, EPOLLIN);
	if (rc) {
		if (s->timer.fd >= 0)
			close(s->timer.fd);
		free(s->buckets);
		free(s);
		return rc;
	}
	d->subs = s;
	s->reap_hook.run = subs_reap;
	s->arm_hook.run = subs_arm;
	vmpd_loop_at_round_end(d, VMPD_ROUND_RELEASE, &s->reap_hook);
	vmpd_loop_at_round_end(d, VMPD_ROUND_TIMERS, &s->arm_hook);
	return 0;
}

void vmpd_subs_watch(struct vmpd *d, const struct vmpd_listener_watch *w)
{
	d->watch = w;
}

size_t vmpd_subs_shared_count(const struct vmpd *d)
{
	return d->subs ? d->subs->count : 0;
}

const char *vmpd_member_cgroup(const struct vmpd_member *m)
{
	return m->shared->cgroup;
}

const char *vmpd_sub_cgroup(const struct vmpd_csub *cs)
{
	return vmpd_member_cgroup(&cs->m);
}

/* ---- the due heap ---- */

static void heap_put(struct vmpd_subs *s, size_t i, struct vmpd_member *m)
{
	s->heap[i] = m;
	m->hpos = i + 1;
}

static void heap_fix(struct vmpd_subs *s, size_t i)
{
	struct vmpd_member *m = s->heap[i];
	while (i && s->heap[(i - 1) / 2]->due > m->due) {
		heap_put(s, i, s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && s->heap[c + 1]->due < s->heap[c]->due)
			c++;
		if (s->heap[c]->due >= m->due)
			break;
		heap_put(s, i, s->heap[c]);
		i = c;
	}
	heap_put(s, i, m);
}

static void heap_remove(struct vmpd_subs *s, struct vmpd_member *m)
{
	if (!m->hpos)
		return;
	size_t i = m->hpos - 1;
	m->hpos = 0;
	struct vmpd_member *last = s->heap[--s->nheap];
	if (last != m) {
		heap_put(s, i, last);
		heap_fix(s, i);
	}
}

/* After its debouncer was fed or ticked: its new due time, its place. */
static void heap_update(struct vmpd_subs *s, struct vmpd_member *m)
{
	uint64_t due = vmp_debounce_next_ns(m->db);
	if (due == UINT64_MAX) {
		heap_remove(s, m);
		return;
	}
	m->due = due;
	if (m->hpos) {
		heap_fix(s, m->hpos - 1);
		return;
	}
	if (s->nheap == s->heapcap) {
		size_t cap = s->heapcap ? 2 * s->heapcap : 64;
		struct vmpd_member **h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return; /* not ticked by time: it still follows its notifications */
		s->heap = h;
		s->heapcap = cap;
	}
	heap_put(s, s->nheap++, m);
	heap_fix(s, s->nheap - 1);
}

/* Off its shared subscription's list and the debounced one, its
 * debouncer freed. The shared subscription is the caller's affair. */
static void member_unlink(struct vmpd_member *m)
{
	struct vmpd_shared *sh = m->shared;
	*m->sprev = m->snext;
	if (m->snext)
		m->snext->sprev = m->sprev;
	sh->nmembers--;
	if (m->db) {
		*m->dprev = m->dnext;
		if (m->dnext)
			m->dnext->dprev = m->dprev;
		heap_remove(sh->d->subs, m);
		vmp_debounce_free(m->db);
		m->db = NULL;
		/* Its slices (~4 KiB): counted for the loop's malloc_trim(), so
		 * that a crowd of debounced subscribers gives its memory back. */
		sh->d->freed_since_trim += 4096;
	}
	m->shared = NULL;
}

/* Components of a normalised cgroup ("/": 0). */
static size_t depth(const char *cg)
{
	if (!strcmp(cg, "/"))
		return 0;
	size_t n = 1;
	for (; *cg; cg++)
		n += *cg == '/';
	return n;
}

/* The origin this client may see (docs/protocol.md, access.c): all of it,
 * or its deepest ancestor whose directories from the subscription's cgroup
 * down the client may read; at least the subscription's own cgroup. Returns
 * origin itself, or s->red. The directories are stat()ed once per origin
 * per event (och_origin is reset by on_event()). */
static const char *origin_for(struct vmpd_subs *s, struct vmpd_csub *cs, const char *origin)
{
	struct vmpd_client *c = cs->client;
	if (!origin || !c || !c->d->check_access || c->uid == 0)
		return origin;
	if (s->och_origin != origin) {
		vmpd_chain_load(&s->och, c->d->cgroup_root, origin);
		s->och_origin = origin;
	}
	const char *sub = vmpd_sub_cgroup(cs);
	size_t sl = strlen(sub);
	size_t from = 0;
	if (!strcmp(sub, "/") || (!strncmp(origin, sub, sl) && (origin[sl] == '/' || !origin[sl])))
		from = depth(sub);
	struct vmpd_cred cr = {c->uid, c->gid, c->groups, c->ngroups};
	size_t keep = vmpd_chain_visible(&s->och, from, &cr);
	if (!origin[keep])
		return origin;
	if (keep == 0 || keep >= sizeof(s->red))
		return keep ? sub : "/";
	memcpy(s->red, origin, keep);
	s->red[keep] = 0;
	return s->red;
}

static void on_transition(const struct vmp_transition *t, void *arg)
{
	struct vmpd_member *m = arg;
	struct vmp_transition wall = *t;
	wall.time_ns = t->real_ns; /* the library's: events carry both clocks */
	m->ops->transition(m, &wall);
}

static void debounce_feed(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	struct vmp_debounce_input in;
	if (vmp_debounce_input_from_event(ev, &in) == 0)
		vmp_debounce_feed(m->db, &in);
	heap_update(m->shared->d->subs, m);
}

static void on_timer(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	uint64_t x;
	if (read(io->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: re-armed meanwhile; ticking is harmless anyway */
	}
	struct vmpd_subs *s = d->subs;
	s->armed = 0;
	uint64_t now = vmp__mono_ns();
	/* Only those due: a tick runs everything due up to now, so each one's
	 * next due time is later and the loop ends. */
	while (s->nheap && s->heap[0]->due <= now) {
		struct vmpd_member *m = s->heap[0];
		vmp_debounce_tick(m->db, now);
		if (vmp_debounce_next_ns(m->db) <= now)
			heap_remove(s, m); /* cannot be: but never spin on it */
		else
			heap_update(s, m);
	}
}

static void subs_arm(struct vmpd *d)
{
	struct vmpd_subs *s = d->subs;
	if (!s || s->timer.fd < 0)
		return;
	uint64_t due = s->nheap ? s->heap[0]->due : 0;
	if (due == s->armed)
		return;
	struct itimerspec it = {0};
	if (due) {
		/* 0 would disarm: a due time in the past fires at once anyway. */
		it.it_value.tv_sec = (time_t)(due / 1000000000u);
		it.it_value.tv_nsec = (long)(due % 1000000000u);
		if (!it.it_value.tv_sec && !it.it_value.tv_nsec)
			it.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(s->timer.fd, TFD_TIMER_ABSTIME, &it, NULL) == 0)
		s->armed = due;
}

static void on_event(const struct vmp_source_event *ev, void *arg)
{
	struct vmpd_shared *sh = arg;
	struct vmpd *d = sh->d;
	struct vmpd_subs *s = d->subs;
	if (sh->removed)
		return;
	if (ev->flags & VMP_EVENT_REMOVED) {
		sh->removed = true;
		if (d->watch)
			d->watch->removed(d, sh->cgroup, sh->pinned);
		unhash(s, sh);
		sh->reap_next = s->reap;
		s->reap = sh;
		struct vmp_source_event rm = *ev;
		rm.cgroup = sh->cgroup; /* normalised, as the members know it */
		while (sh->members) {
			struct vmpd_member *m = sh->members;
			member_unlink(m);
			m->ops->removed(m, &rm); /* may free m */
		}
		return;
	}
	if (d->watch)
		d->watch->event(d, &sh->stats, ev);
	s->have_tail = false;
	s->och_origin = NULL;
	s->rtail_len = SIZE_MAX;
	for (struct vmpd_member *m = sh->members; m; m = m->snext) {
		m->events += ev->count;
		if (m->ops->event)
			m->ops->event(m, ev);
		if (m->db)
			debounce_feed(m, ev);
	}
}

/* The source subscription to (cgroup, level, mode): the existing one, or a
 * new one made with the canonical args. */
static int shared_get(struct vmpd *d, const char *cgroup, vmp_level level, vmp_mode mode,
		      struct vmpd_shared **out)
{
	struct vmpd_subs *s = d->subs;
	struct vmpd_shared *sh = lookup(s, cgroup, level, mode);
	if (sh) {
		*out = sh;
		return 0;
	}
	sh = calloc(1, sizeof(*sh));
	int rc = -ENOMEM;
	if (sh && (sh->cgroup = strdup(cgroup))) {
		char args[32];
		vmpd_canonical_args(level, mode, args, sizeof(args));
		sh->d = d;
		sh->level = level;
		sh->mode = mode;
		rc = vmp_source_subscribe(d->src, cgroup, args, on_event, sh, &sh->sub);
	}
	if (rc) {
		if (sh)
			shared_free(sh);
		return rc;
	}
	if (s->count >= s->nbuckets)
		grow(s);
	struct vmpd_shared **b = bucket(s, sh->cgroup, sh->level, sh->mode);
	sh->hnext = *b;
	*b = sh;
	s->count++;
	*out = sh;
	return 0;
}

int vmpd_sub_pin(struct vmpd *d, const char *cgroup, vmp_level level, vmp_mode mode)
{
	struct vmpd_shared *sh;
	int rc = shared_get(d, cgroup, level, mode, &sh);
	if (!rc)
		sh->pinned = true;
	return rc;
}

void vmpd_subs_foreach(struct vmpd *d, vmpd_listener_fn *fn, void *arg)
{
	struct vmpd_subs *s = d->subs;
	if (!s)
		return;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct vmpd_shared *sh = s->buckets[i]; sh; sh = sh->hnext)
			fn(arg, sh->cgroup, sh->level, sh->mode, &sh->stats);
}

/* A new member at the head of its shared subscription's list. */
static void member_link(struct vmpd_shared *sh, struct vmpd_member *m)
{
	m->shared = sh;
	m->snext = sh->members;
	if (sh->members)
		sh->members->sprev = &m->snext;
	m->sprev = &sh->members;
	sh->members = m;
	sh->nmembers++;
}

/* A debounced member on the list whose ticks the timer runs (on_timer). */
static void debounced_link(struct vmpd_subs *s, struct vmpd_member *m)
{
	m->dnext = s->debounced;
	if (s->debounced)
		s->debounced->dprev = &m->dnext;
	m->dprev = &s->debounced;
	s->debounced = m;
}

/* The shared subscription when its last member left. */
static void shared_release(struct vmpd *d, struct vmpd_shared *sh)
{
	if (sh->nmembers || sh->removed || sh->pinned)
		return; /* still used, or waiting for subs_reap() */
	unhash(d->subs, sh);
	vmp_source_unsubscribe(d->src, sh->sub);
	shared_free(sh);
}

int vmpd_member_join(struct vmpd *d, struct vmpd_member *m, const char *cgroup, vmp_level level,
		     vmp_mode mode, const struct vmp_debounce_config *db)
{
	if (m->shared || (db && !m->ops->transition))
		return -EINVAL;
	if (db) {
		int rc = vmp_debounce_new(&m->db, db, on_transition, m);
		if (rc)
			return rc;
	}
	struct vmpd_shared *sh;
	int rc = shared_get(d, cgroup, level, mode, &sh);
	if (rc) {
		vmp_debounce_free(m->db);
		m->db = NULL;
		return rc;
	}
	member_link(sh, m);
	if (m->db)
		debounced_link(d->subs, m);
	return 0;
}

void vmpd_member_leave(struct vmpd *d, struct vmpd_member *m)
{
	struct vmpd_shared *sh = m->shared;
	if (!sh)
		return;
	member_unlink(m);
	shared_release(d, sh);
}

/* ---- the client kinds ---- */

static struct vmpd_csub *csub_of(struct vmpd_member *m)
{
	return (struct vmpd_csub *)((char *)m - offsetof(struct vmpd_csub, m));
}

/* Add to an eventfd's counter. EAGAIN only if the counter would pass
 * 2^64-2, which a reader would have to ignore for centuries. */
static void efd_add(int efd, uint64_t n)
{
	if (efd < 0 || !n)
		return;
	while (write(efd, &n, sizeof(n)) < 0 && errno == EINTR) {
	}
}

/* Off its client's list, its eventfd closed, freed. */
static void csub_free(struct vmpd *d, struct vmpd_csub *cs)
{
	*cs->cprev = cs->cnext;
	if (cs->cnext)
		cs->cnext->cprev = cs->cprev;
	cs->client->nsubs--;
	d->nsubs--;
	if (cs->db_text)
		vmpd_uid_debounced(d, cs->client->uid, -1);
	if (cs->efd >= 0)
		close(cs->efd);
	vmpd_fc_release(d, cs->fc);
	free(cs->db_text);
	free(cs->args);
	free(cs);
}

/* eventfd: the count; also the first half of the other two. */
static void efd_event(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	struct vmpd_csub *cs = csub_of(m);
	cs->client->d->events += ev->count;
	efd_add(cs->efd, ev->count);
}

static void stream_event(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	efd_event(m, ev);
	struct vmpd_csub *cs = csub_of(m);
	struct vmpd_subs *s = cs->client->d->subs;
	if (!s->have_tail) {
		vmp__buf_reset(&s->tail);
		vmpd_fmt_pressure_tail(&s->tail, ev);
		s->have_tail = true;
	}
	struct vmp__buf *tail = &s->tail;
	const char *origin = ev->flags & VMP_EVENT_NO_EVIDENCE ? NULL : origin_for(s, cs, ev->origin);
	if (origin != ev->origin) {
		/* Redacted: the tail again with the text this client may see. */
		size_t rl = strlen(origin);
		if (s->rtail_len != rl) {
			struct vmp_source_event rev = *ev;
			rev.origin = origin;
			vmp__buf_reset(&s->rtail);
			vmpd_fmt_pressure_tail(&s->rtail, &rev);
			s->rtail_len = rl;
		}
		tail = &s->rtail;
	}
	vmp__buf_reset(&s->line);
	vmpd_fmt_pressure(&s->line, cs->id, tail->p, tail->len);
	if (tail->oom || s->line.oom)
		vmpd_client_drop(cs->client);
	else
		vmpd_client_event(cs->client, s->line.p, s->line.len, false);
}

static void stream_transition(struct vmpd_member *m, const struct vmp_transition *t)
{
	struct vmpd_csub *cs = csub_of(m);
	struct vmpd_subs *s = cs->client->d->subs;
	struct vmp_transition red = *t;
	s->och_origin = NULL; /* its origin: valid only during this call */
	red.ev.origin = origin_for(s, cs, t->ev.origin);
	vmp__buf_reset(&s->line);
	vmpd_fmt_transition(&s->line, cs->id, vmpd_sub_cgroup(cs), &red);
	if (s->line.oom)
		vmpd_client_drop(cs->client);
	else
		vmpd_client_event(cs->client, s->line.p, s->line.len, false);
}

/* The final increment, a `removed` event on a stream; the id ends. */
static void client_removed(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	struct vmpd_csub *cs = csub_of(m);
	struct vmpd *d = cs->client->d;
	efd_add(cs->efd, ev->count ? ev->count : 1);
	if (cs->stream) {
		struct vmpd_subs *s = d->subs;
		vmp__buf_reset(&s->line);
		vmpd_fmt_removed(&s->line, cs->id, ev->time_ns, ev->cgroup);
		if (!s->line.oom)
			vmpd_client_event(cs->client, s->line.p, s->line.len, true);
	}
	csub_free(d, cs);
}

static const struct vmpd_member_ops efd_ops = {
	.event = efd_event,
	.removed = client_removed,
};
static const struct vmpd_member_ops stream_ops = {
	.event = stream_event,
	.removed = client_removed,
};
static const struct vmpd_member_ops debounced_stream_ops = {
	.event = efd_event, /* an eventfd beside it counts every notification */
	.transition = stream_transition,
	.removed = client_removed,
};

int vmpd_sub_add(struct vmpd *d, struct vmpd_client *c, const struct vmpd_request *req,
		 struct vmpd_csub **out)
{
	struct vmpd_csub *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->efd = -1;
	cs->m.ops = req->debounce ? &debounced_stream_ops : req->stream ? &stream_ops : &efd_ops;
	cs->args = strdup(req->args);
	int rc = cs->args ? 0 : -ENOMEM;
	if (!rc && req->debounce) {
		char text[160];
		rc = vmp_debounce_format(&req->debounce_cfg, text, sizeof(text));
		if (!rc && !(cs->db_text = strdup(text)))
			rc = -ENOMEM;
	}
	/* The eventfd first: it is the one step that commonly fails (out of
	 * descriptors), and it needs no undoing at the source. */
	if (!rc && req->eventfd && (cs->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		rc = -errno;
	if (!rc)
		rc = vmpd_member_join(d, &cs->m, req->cgroup, req->level, req->mode,
				      req->debounce ? &req->debounce_cfg : NULL);
	if (rc) {
		if (cs->efd >= 0)
			close(cs->efd);
		free(cs->db_text);
		free(cs->args);
		free(cs);
		return rc;
	}
	cs->id = c->next_id++;
	cs->client = c;
	cs->stream = req->stream;
	/* Client list in id order (list replies), at most 256 long. */
	struct vmpd_csub **pp = &c->subs;
	while (*pp)
		pp = &(*pp)->cnext;
	cs->cprev = pp;
	*pp = cs;
	c->nsubs++;
	d->nsubs++;
	if (cs->db_text)
		vmpd_uid_debounced(d, c->uid, 1);
	*out = cs;
	return 0;
}

void vmpd_sub_release(struct vmpd *d, struct vmpd_csub *cs)
{
	vmpd_member_leave(d, &cs->m);
	csub_free(d, cs);
}

static void subs_reap(struct vmpd *d)
{
	struct vmpd_subs *s = d->subs;
	while (s->reap) {
		struct vmpd_shared *sh = s->reap;
		s->reap = sh->reap_next;
		vmp_source_unsubscribe(d->src, sh->sub);
		shared_free(sh);
	}
}

void vmpd_subs_fini(struct vmpd *d)
{
	struct vmpd_subs *s = d->subs;
	if (!s)
		return;
	vmpd_loop_cancel_hook(d, &s->reap_hook);
	vmpd_loop_cancel_hook(d, &s->arm_hook);
	subs_reap(d);
	/* Every member has left before (main.c), so nothing is left but in
	 * case: members are their owners' to free. */
	for (size_t i = 0; i < s->nbuckets; i++)
		while (s->buckets[i]) {
			struct vmpd_shared *sh = s->buckets[i];
			s->buckets[i] = sh->hnext;
			while (sh->members)
				member_unlink(sh->members);
			vmp_source_unsubscribe(d->src, sh->sub);
			shared_free(sh);
		}
	free(s->heap);
	free(s->buckets);
	if (s->timer.fd >= 0) {
		vmpd_loop_del(d, &s->timer);
		close(s->timer.fd);
	}
	vmp__buf_free(&s->tail);
	vmp__buf_free(&s->line);
	vmp__buf_free(&s->rtail);
	free(s);
	d->subs = NULL;
}
