/* SPDX-License-Identifier: MIT */
/*
 * Memory-pressure endpoints: vmpressure levels for unmodified programs
 * that speak systemd's memory pressure protocol (docs/memory-pressure-
 * watch.md, systemd's "Memory Pressure Handling" document).
 *
 * The protocol, as its clients (sd_event_add_memory_pressure()) follow it:
 * $MEMORY_PRESSURE_WATCH names an absolute path; a regular file is a PSI
 * file watched for POLLPRI, a FIFO or an AF_UNIX socket is watched for
 * POLLIN. A socket is connected as SOCK_STREAM; right after connecting the
 * client writes the Base64-decoded $MEMORY_PRESSURE_WRITE (systemd's is a
 * PSI trigger, "some 200000 2000000" with a NUL), then every POLLIN is
 * "under pressure": the client reads and discards up to a pipe buffer of
 * whatever arrived and runs its handler (malloc_trim() and the like).
 *
 * So an endpoint is a listening AF_UNIX stream socket with one shared
 * subscription (subscriptions.c) to its (cgroup, level, mode): every
 * notification writes one byte to every connected client, which is what
 * makes POLLIN fire. The byte says which level it was ('L', 'M', 'C'), and
 * 'X' is the last one when the cgroup goes away; sd-event ignores the
 * value, other clients may use it. The PSI trigger a client writes is
 * checked and logged, but it does not choose anything: the endpoint's
 * level does, which is the point of it.
 *
 * Never blocking on a slow client: the bytes of a round go out in one
 * non-blocking write per client at the end of the round (loop.c). What the
 * socket does not take waits in a small per-client queue (at most
 * MPW_PENDING bytes, written on EPOLLOUT); past that, notifications are
 * coalesced: counted, not queued (logged when the client leaves). Nothing is lost that matters, because
 * the client is already woken (unread bytes keep POLLIN up) and an
 * sd-event client runs its handler once per read anyway.
 *
 * Why a connection is almost never closed by us: to a client that polls
 * for POLLIN, end-of-file is "readable" for ever, so sd-event would call
 * its handler in a loop. Malformed trigger data is therefore logged (with
 * its bytes) and ignored, the connection kept; a client that keeps writing
 * is drained. We close only what cannot be served: a peer whose
 * credentials may not read the cgroup, more than MPW_MAX_CLIENTS
 * connections on one endpoint, and everything at shutdown.
 *
 * The cgroup: an endpoint may be configured before its cgroup exists (a
 * service's cgroup appears when the service starts) and its cgroup may go
 * away (the service stopped) and come back (restarted). An endpoint
 * without a subscription tries again whenever a client connects, which is
 * exactly when it is wanted: the connecting process lives in the cgroup,
 * or it would not be asking. When the cgroup is removed every client gets
 * the 'X' byte and stays connected; a client that connects later starts a
 * new subscription, and while clients wait without one the endpoint tries
 * again every MPW_RETRY_S seconds, so that those that stayed are served
 * when the cgroup comes back.
 *
 * The daemon's life: an sd-event client connects once, and to it the
 * end-of-file of a daemon that died is "under pressure" for ever (its
 * handler runs in a loop). So each accepted connection is handed to the
 * service manager's file descriptor store (service.c) under a name of its
 * own, and a restarted daemon takes the kept ones back ($LISTEN_FDS): it
 * finds each one's endpoint by the socket's own address (getsockname(): the
 * endpoint's path), checks the peer again, and serves it as if it had just
 * connected. The client sees nothing but a pause. A connection the daemon
 * closes itself is removed from the store; one whose peer hung up systemd
 * drops by itself.
 */
#include "daemon.h"
#include "mpwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

/* Wake-up bytes kept per client beyond what its socket took at the end
 * of a round. The socket buffer itself holds a few hundred rounds' writes
 * (or one burst of up to ~200 KiB); this keeps the count exact for a
 * client that is a little behind, and bounds what a client that never
 * reads costs. */
#define MPW_PENDING 1024u
/* Bytes one round may queue for a client before they are written: a
 * source that delivers a burst at once (a trace at full speed, a v1
 * eventfd's counter) still gets one byte per notification. */
#define MPW_ROUND_MAX (64u << 10)
/* Connections per endpoint: a service's processes, not a crowd. */
#define MPW_MAX_CLIENTS 1024u
/* Bytes read from one client per wake-up before the others get a turn. */
#define MPW_READ_BUDGET 4096u
/* How often an endpoint with clients but no subscription (its cgroup
 * gone, or not made yet) tries again. A cgroup check is one stat() and
 * a failed open; a service restarted in its cgroup connects anyway, so
 * this only serves clients that stayed. */
#define MPW_RETRY_S 2
/* Supplementary groups looked at for the access check. */
#define MPW_MAX_GROUPS 256

struct mpw_ep;

struct mpw_client {
	struct vmpd_io io;
	struct mpw_ep *ep;
	pid_t pid;
	uid_t uid;           /* SO_PEERCRED, SO_PEERGROUPS: re-checked (recheck()) */
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	uint32_t want;       /* epoll interest registered */
	char *pend;          /* wake-up bytes not yet written */
	size_t plen, pcap;
	uint64_t coalesced;  /* notifications not queued: the queue was full */
	char in[VMPD_MPW_TRIGGER_MAX];
	size_t inlen;
	bool trigger_done;   /* a trigger line (or its error) was seen */
	bool extra_logged;   /* data after it was reported */
	bool dirty, closed;
	unsigned store_id;   /* its name in the fd store; 0: not stored */
	struct mpw_client *next, **prev;
	struct mpw_client *dirty_next;
};

struct mpw_ep {
	struct vmpd_mpw_spec spec;
	struct vmpd *d;
	struct vmpd_socket sock;
	struct vmpd_io lio;
	struct vmpd_member m; /* m.shared NULL while not subscribed */
	struct vmpd_fcsink *fc; /* ARGS forecast: its forecasts (forecasts.c) */
	int last_err;         /* of the last failed subscription, to log changes once */
	struct mpw_client *clients;
	unsigned nclients;
	uint64_t notifications;
	bool check_due;       /* bytes queued: check the clients' access first */
};

struct vmpd_mpws {
	struct mpw_ep *eps;
	size_t n;
	struct mpw_client *dirty;
	struct mpw_client *dead; /* closed this round, freed in flush */
	struct vmpd_io retry;    /* timerfd: MPW_RETRY_S while an endpoint waits */
	bool retry_armed;
	struct vmpd_round_hook flush_hook;
	unsigned next_store;              /* the last fd store id used */
	struct vmpd_listen_fd *kept;      /* handed back at startup, until start */
	size_t nkept;
	bool stopping;
};

#define STORE_PREFIX "mpw-client-"

static void store_name(char *buf, size_t n, unsigned id)
{
	snprintf(buf, n, STORE_PREFIX "%u", id);
}

static void client_free(struct mpw_client *c)
{
	free(c->groups);
	free(c->pend);
	free(c);
}

static void set_want(struct vmpd *d, struct mpw_client *c)
{
	uint32_t want = EPOLLIN | (c->plen ? EPOLLOUT : 0);
	if (!c->closed && want != c->want && vmpd_loop_mod(d, &c->io, want) == 0)
		c->want = want;
}

static void client_close(struct vmpd *d, struct mpw_client *c, const char *why)
{
	if (c->closed)
		return;
	struct mpw_ep *ep = c->ep;
	if (why)
		vmpd_log(VMPD_LOG_INFO, "memory-pressure endpoint %s: pid %ld %s", ep->spec.path, (long)c->pid,
			 why);
	/* What is still queued never reaches it either. */
	c->coalesced += c->plen;
	c->plen = 0;
	if (c->coalesced)
		vmpd_log(VMPD_LOG_INFO,
			 "memory-pressure endpoint %s: pid %ld had %llu notifications coalesced (not each sent as a byte)",
			 ep->spec.path, (long)c->pid, (unsigned long long)c->coalesced);
	if (c->store_id && !d->mpw->stopping) {
		char name[40];
		store_name(name, sizeof(name), c->store_id);
		vmpd_fdstore_remove(name);
	}
	vmpd_loop_del(d, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	c->closed = true;
	*c->prev = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ep->nclients--;
	/* It may be on the dirty list; it is freed after the round. */
	c->next = d->mpw->dead;
	d->mpw->dead = c;
}

static void queue_byte(struct vmpd *d, struct mpw_client *c, char b, uint64_t n)
{
	if (c->closed)
		return;
	uint64_t fit = MPW_ROUND_MAX - c->plen < n ? MPW_ROUND_MAX - c->plen : n;
	if (c->plen + fit > c->pcap) {
		size_t cap = c->pcap ? c->pcap : 256;
		while (cap < c->plen + fit)
			cap *= 2;
		char *p = realloc(c->pend, cap);
		if (p) {
			c->pend = p;
			c->pcap = cap;
		} else
			fit = c->pcap - c->plen;
	}
	if (fit) {
		memset(c->pend + c->plen, b, (size_t)fit);
		c->plen += (size_t)fit;
	}
	c->coalesced += n - fit;
	if (!c->dirty) {
		c->dirty = true;
		c->dirty_next = d->mpw->dirty;
		d->mpw->dirty = c;
	}
}

static struct mpw_ep *ep_of(struct vmpd_member *m)
{
	return (struct mpw_ep *)((char *)m - offsetof(struct mpw_ep, m));
}

/* From inside vmp_source_dispatch(): queue only. */
static void on_notify(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	struct mpw_ep *ep = ep_of(m);
	static const char letter[] = {'L', 'M', 'C'};
	char b = (unsigned)ev->level < 3 ? letter[ev->level] : 'C';
	uint64_t n = ev->count ? ev->count : 1;
	ep->notifications += n;
	ep->check_due = true;
	for (struct mpw_client *c = ep->clients; c; c = c->next)
		queue_byte(ep->d, c, b, n);
}

static void on_removed(struct vmpd_member *m, const struct vmp_source_event *ev)
{
	(void)ev;
	struct mpw_ep *ep = ep_of(m);
	vmpd_log(VMPD_LOG_INFO,
		 "memory-pressure endpoint %s: cgroup %s was removed; %u client%s woken with 'X' and kept; "
		 "subscribing again when it is back",
		 ep->spec.path, ep->spec.cgroup, ep->nclients, ep->nclients == 1 ? "" : "s");
	ep->last_err = 0;
	ep->check_due = true;
	for (struct mpw_client *c = ep->clients; c; c = c->next)
		queue_byte(ep->d, c, 'X', 1);
}

static const struct vmpd_member_ops endpoint_ops = {
	.event = on_notify,
	.removed = on_removed,
};

static void recheck(struct mpw_ep *ep);

/* A forecast endpoint: each warning wakes the clients ('C': act now). */
static void on_forecast(void *arg, const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns)
{
	(void)cgroup;
	(void)time_ns;
	struct mpw_ep *ep = arg;
	if (r->event != VMP_FC_EVENT_WARN)
		return;
	ep->notifications++;
	for (struct mpw_client *c = ep->clients; c; c = c->next)
		queue_byte(ep->d, c, 'C', 1);
}

static int subscribe(struct mpw_ep *ep)
{
	if (ep->m.shared || ep->fc)
		return 0;
	ep->m.ops = &endpoint_ops;
	int rc = ep->spec.forecast
			 ? vmpd_fc_add(ep->d, ep->spec.cgroup, ep->spec.forecast_s, on_forecast, ep, &ep->fc)
			 : vmpd_member_join(ep->d, &ep->m, ep->spec.cgroup, ep->spec.level, ep->spec.mode, NULL);
	if (rc && rc != ep->last_err)
		vmpd_log(rc == -ENOENT ? VMPD_LOG_INFO : VMPD_LOG_WARNING,
			 "memory-pressure endpoint %s: cannot watch cgroup %s at %s: %s%s", ep->spec.path,
			 ep->spec.cgroup, ep->spec.args, strerror(-rc),
			 rc == -ENOENT ? " (yet); trying again when a client connects, and while clients wait" : "");
	else if (!rc)
		vmpd_log(VMPD_LOG_INFO, "memory-pressure endpoint %s: watching cgroup %s at %s", ep->spec.path,
			 ep->spec.cgroup, ep->spec.args);
	ep->last_err = rc;
	if (!rc)
		recheck(ep); /* admitted while it did not exist: its mode is known now */
	return rc;
}

/* The trigger data, as much of it as has arrived. */
static void check_input(struct mpw_client *c, bool at_eof)
{
	struct mpw_ep *ep = c->ep;
	char esc[4 * VMPD_MPW_TRIGGER_MAX + 8], err[160];
	if (c->trigger_done || !c->inlen)
		return; /* writing nothing is fine: $MEMORY_PRESSURE_WRITE is optional */
	size_t end = 0;
	while (end < c->inlen && c->in[end] != 0 && c->in[end] != '\n')
		end++;
	bool terminated = end < c->inlen;
	if (!terminated && c->inlen < sizeof(c->in) && !at_eof)
		return; /* wait for the rest */
	c->trigger_done = true;
	struct vmpd_mpw_trigger t;
	if (!terminated && c->inlen == sizeof(c->in)) {
		vmpd_mpw_escape(c->in, c->inlen, esc, sizeof(esc));
		vmpd_log(VMPD_LOG_WARNING,
			 "memory-pressure endpoint %s: pid %ld wrote %u bytes without a NUL or newline, not a PSI "
			 "trigger: \"%s\"; ignored, connection kept",
			 ep->spec.path, (long)c->pid, VMPD_MPW_TRIGGER_MAX, esc);
	} else if (vmpd_mpw_parse_trigger(c->in, end, &t, err, sizeof(err))) {
		vmpd_mpw_escape(c->in, c->inlen, esc, sizeof(esc));
		vmpd_log(VMPD_LOG_WARNING,
			 "memory-pressure endpoint %s: pid %ld wrote a malformed PSI trigger \"%s\": %s; ignored, "
			 "connection kept",
			 ep->spec.path, (long)c->pid, esc, err);
	} else {
		vmpd_log(VMPD_LOG_DEBUG,
			 "memory-pressure endpoint %s: pid %ld asked for %s %llu us per %llu us; it gets %s "
			 "notifications of cgroup %s instead",
			 ep->spec.path, (long)c->pid, t.full ? "full" : "some",
			 (unsigned long long)t.threshold_us, (unsigned long long)t.window_us, ep->spec.args,
			 ep->spec.cgroup);
	}
	/* systemd sends one NUL after the line; anything beyond is extra. */
	size_t used = terminated ? end + 1 : c->inlen;
	if (terminated && c->in[end] == '\n' && used < c->inlen && c->in[used] == 0)
		used++;
	if (used < c->inlen && !c->extra_logged) {
		c->extra_logged = true;
		vmpd_mpw_escape(c->in + used, c->inlen - used, esc, sizeof(esc));
		vmpd_log(VMPD_LOG_WARNING,
			 "memory-pressure endpoint %s: pid %ld wrote more after its trigger: \"%s\"; discarded",
			 ep->spec.path, (long)c->pid, esc);
	}
}

static void on_client(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	struct mpw_client *c = (struct mpw_client *)io;
	if (c->closed)
		return;
	if (events & EPOLLOUT) {
		/* Written in mpw_flush(), with the rest of the round. */
		if (!c->dirty) {
			c->dirty = true;
			c->dirty_next = d->mpw->dirty;
			d->mpw->dirty = c;
		}
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	size_t budget = MPW_READ_BUDGET;
	while (budget) {
		char junk[512];
		char *dst = junk;
		size_t room = sizeof(junk);
		if (!c->trigger_done) { /* check_input() ends it before c->in is full */
			dst = c->in + c->inlen;
			room = sizeof(c->in) - c->inlen;
		}
		ssize_t n = read(c->io.fd, dst, room < budget ? room : budget);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			check_input(c, true);
			client_close(d, c, n == 0 ? "disconnected" : "connection failed");
			return;
		}
		budget -= (size_t)n;
		if (!c->trigger_done) {
			c->inlen += (size_t)n;
			check_input(c, false);
		} else if (!c->extra_logged) {
			char esc[4 * sizeof(junk) + 8];
			c->extra_logged = true;
			vmpd_mpw_escape(junk, (size_t)n, esc, sizeof(esc));
			vmpd_log(VMPD_LOG_WARNING,
				 "memory-pressure endpoint %s: pid %ld wrote more after its trigger: \"%s\"; discarded",
				 c->ep->spec.path, (long)c->pid, esc);
		}
	}
}

/* SO_PEERCRED's process may read the endpoint's cgroup (access.c). A
 * cgroup that does not exist (yet), below directories the peer may search,
 * admits it: the check is made again when the cgroup appears, and before
 * every round of wake-up bytes (recheck()). */
/* The peer's credentials, for recheck(): taken again for a connection
 * handed back by the fd store after a restart. No SO_PEERCRED: nobody. */
static int client_creds(struct mpw_client *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		c->uid = (uid_t)-2;
		c->gid = (gid_t)-2;
		return -errno;
	}
	c->pid = cr.pid;
	c->uid = cr.uid;
	c->gid = cr.gid;
	gid_t groups[MPW_MAX_GROUPS];
	socklen_t glen = sizeof(groups);
	size_t ngroups = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = glen / sizeof(gid_t);
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
	if (ngroups) {
		c->groups = malloc(ngroups * sizeof(gid_t));
		if (!c->groups)
			return -ENOMEM;
		memcpy(c->groups, groups, ngroups * sizeof(gid_t));
		c->ngroups = ngroups;
	}
	return 0;
}

static int peer_access(struct vmpd *d, struct mpw_ep *ep, int fd, pid_t *pid)
{
	struct mpw_client t = {0};
	int rc = client_creds(&t, fd);
	*pid = t.pid;
	if (!rc && d->check_access) {
		struct vmpd_cred vc = {t.uid, t.gid, t.groups, t.ngroups};
		rc = vmpd_cgroup_access(d->cgroup_root, ep->spec.cgroup, &vc);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(t.groups);
	return rc;
}

/* Close the clients that may no longer read the endpoint's cgroup (it
 * appeared with a mode that excludes them, or was chmod-ed): one walk of
 * the directories for all of them. A cgroup that went away keeps its
 * clients, as the 'X' byte promises. */
static void recheck(struct mpw_ep *ep)
{
	struct vmpd *d = ep->d;
	ep->check_due = false;
	if (!d->check_access || !ep->clients)
		return;
	struct vmpd_chain ch;
	vmpd_chain_load(&ch, d->cgroup_root, ep->spec.cgroup);
	for (struct mpw_client *c = ep->clients, *next; c; c = next) {
		next = c->next;
		struct vmpd_cred vc = {c->uid, c->gid, c->groups, c->ngroups};
		int rc = vmpd_chain_check(&ch, &vc);
		if (rc == 0 || rc == -ENOENT)
			continue;
		vmpd_log(VMPD_LOG_WARNING, "memory-pressure endpoint %s: pid %ld (uid %ld) may not read cgroup %s%s",
			 ep->spec.path, (long)c->pid, (long)c->uid, ep->spec.cgroup,
			 rc == -EACCES ? " (any more); connection closed" : "; connection closed");
		c->plen = 0; /* nothing of it reaches the client */
		client_close(d, c, NULL);
	}
}

/* A checked connection becomes a client; NULL (fd closed) if it cannot. */
static struct mpw_client *client_add(struct vmpd *d, struct mpw_ep *ep, int fd, pid_t pid)
{
	struct mpw_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->io.fd = fd;
	c->io.ready = on_client;
	c->ep = ep;
	client_creds(c, fd);
	c->pid = pid;
	c->want = EPOLLIN;
	if (vmpd_loop_add(d, &c->io, EPOLLIN)) {
		close(fd);
		client_free(c);
		return NULL;
	}
	c->next = ep->clients;
	if (ep->clients)
		ep->clients->prev = &c->next;
	c->prev = &ep->clients;
	ep->clients = c;
	ep->nclients++;
	return c;
}

static void on_listener(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	struct mpw_ep *ep = (struct mpw_ep *)((char *)io - offsetof(struct mpw_ep, lio));
	for (int i = 0; i < 16; i++) {
		int fd = accept4(ep->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				vmpd_log(VMPD_LOG_WARNING,
					 "memory-pressure endpoint %s: out of file descriptors; a client waits", ep->spec.path);
			return;
		}
		pid_t pid = 0;
		int rc = peer_access(d, ep, fd, &pid);
		if (rc || ep->nclients >= MPW_MAX_CLIENTS) {
			if (rc == -EACCES)
				vmpd_log(VMPD_LOG_WARNING,
					 "memory-pressure endpoint %s: pid %ld may not read cgroup %s; connection closed",
					 ep->spec.path, (long)pid, ep->spec.cgroup);
			else if (rc)
				vmpd_log(VMPD_LOG_WARNING, "memory-pressure endpoint %s: cannot check a client: %s; closed",
					 ep->spec.path, strerror(-rc));
			else
				vmpd_log(VMPD_LOG_WARNING,
					 "memory-pressure endpoint %s: %u clients already, the limit; pid %ld closed",
					 ep->spec.path, MPW_MAX_CLIENTS, (long)pid);
			close(fd);
			continue;
		}
		struct mpw_client *c = client_add(d, ep, fd, pid);
		if (!c)
			continue;
		if (vmpd_fdstore_on()) {
			char name[40];
			c->store_id = ++d->mpw->next_store;
			store_name(name, sizeof(name), c->store_id);
			int src = vmpd_fdstore_add(fd, name);
			if (src) {
				vmpd_log(VMPD_LOG_WARNING,
					 "memory-pressure endpoint %s: cannot keep pid %ld's connection in the fd store: %s; "
					 "a restart will end it", ep->spec.path, (long)pid, strerror(-src));
				c->store_id = 0;
			}
		}
		vmpd_log(VMPD_LOG_DEBUG, "memory-pressure endpoint %s: pid %ld connected", ep->spec.path,
			 (long)pid);
		subscribe(ep);
	}
}

/* Arm the retry timer while some endpoint has clients and no
 * subscription, disarm it otherwise. Outside the source's dispatch. */
static void retry_update(struct vmpd *d)
{
	struct vmpd_mpws *m = d->mpw;
	bool need = false;
	for (size_t i = 0; i < m->n && !need; i++)
		need = !m->eps[i].m.shared && !m->eps[i].fc && m->eps[i].nclients;
	if (need == m->retry_armed || m->retry.fd < 0)
		return;
	struct itimerspec it = {{0, 0}, {0, 0}};
	if (need)
		it.it_value.tv_sec = it.it_interval.tv_sec = MPW_RETRY_S;
	if (timerfd_settime(m->retry.fd, 0, &it, NULL) == 0)
		m->retry_armed = need;
}

static void on_retry(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	uint64_t x;
	if (read(io->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: a spurious wake-up; try anyway */
	}
	struct vmpd_mpws *m = d->mpw;
	for (size_t i = 0; i < m->n; i++)
		if (!m->eps[i].m.shared && !m->eps[i].fc && m->eps[i].nclients)
			subscribe(&m->eps[i]);
	retry_update(d);
}

int vmpd_mpw_open(struct vmpd *d, const struct vmpd_mpw_spec *specs, size_t n)
{
	struct vmpd_mpws *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	d->mpw = m;
	m->retry.fd = -1;
	const char *lfds = getenv("LISTEN_FDS");
	size_t want = lfds ? strtoul(lfds, NULL, 10) : 0;
	if (want > 65536)
		want = 65536;
	if (want && (m->kept = calloc(want, sizeof(*m->kept))) != NULL)
		m->nkept = vmpd_listen_fds(m->kept, want);
	if (!n)
		return 0;
	m->eps = calloc(n, sizeof(*m->eps));
	if (!m->eps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct mpw_ep *ep = &m->eps[i];
		ep->spec = specs[i];
		ep->d = d;
		ep->sock.fd = -1;
		ep->lio.fd = -1;
		char err[512];
		int rc = vmpd_socket_open(&ep->sock, ep->spec.path, ep->spec.sockmode, err, sizeof(err));
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "memory-pressure endpoint: %s", err);
			return rc;
		}
		m->n = i + 1; /* fini closes what was opened */
	}
	return 0;
}

static void mpw_flush(struct vmpd *d);

/* The connections a previous daemon kept in the fd store: back to their
 * endpoints; what has none any more (the option was dropped) or may not
 * read its cgroup is closed and removed from the store. */
static void adopt_kept(struct vmpd *d)
{
	struct vmpd_mpws *m = d->mpw;
	size_t adopted = 0;
	for (size_t i = 0; i < m->nkept; i++) {
		struct vmpd_listen_fd *k = &m->kept[i];
		char *end;
		unsigned long id = strncmp(k->name, STORE_PREFIX, strlen(STORE_PREFIX)) ? 0
				   : strtoul(k->name + strlen(STORE_PREFIX), &end, 10);
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		struct mpw_ep *ep = NULL;
		if (id && id <= UINT32_MAX && getsockname(k->fd, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.sun_family == AF_UNIX)
			for (size_t e = 0; e < m->n && !ep; e++)
				if (!strncmp(m->eps[e].spec.path, sa.sun_path, sizeof(sa.sun_path)))
					ep = &m->eps[e];
		pid_t pid = 0;
		int rc = ep ? peer_access(d, ep, k->fd, &pid) : -ENOENT;
		if (!rc && ep->nclients >= MPW_MAX_CLIENTS)
			rc = -EMFILE;
		if (rc) {
			vmpd_log(VMPD_LOG_WARNING, "fd store: %s (%s): %s; closed", k->name,
				 sa.sun_path[0] ? sa.sun_path : "not a socket of ours",
				 !ep ? "no such memory-pressure endpoint now" : rc == -EACCES ? "its peer may not read the cgroup"
				 : strerror(-rc));
			vmpd_fdstore_remove(k->name);
			close(k->fd);
			continue;
		}
		fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
		struct mpw_client *c = client_add(d, ep, k->fd, pid);
		if (!c)
			continue;
		c->store_id = (unsigned)id;
		if (c->store_id > m->next_store)
			m->next_store = c->store_id;
		adopted++;
		vmpd_log(VMPD_LOG_INFO, "memory-pressure endpoint %s: pid %ld kept across the restart", ep->spec.path,
			 (long)pid);
	}
	if (m->nkept)
		vmpd_log(VMPD_LOG_INFO, "fd store: %zu of %zu kept connections served again", adopted, m->nkept);
	free(m->kept);
	m->kept = NULL;
	m->nkept = 0;
}

int vmpd_mpw_start(struct vmpd *d)
{
	struct vmpd_mpws *m = d->mpw;
	if (m) {
		m->flush_hook.run = mpw_flush;
		vmpd_loop_at_round_end(d, VMPD_ROUND_WRITE, &m->flush_hook);
	}
	if (m && m->n) {
		m->retry.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		m->retry.ready = on_retry;
		int rc = m->retry.fd < 0 ? -errno : vmpd_loop_add(d, &m->retry, EPOLLIN);
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "memory-pressure endpoints: timerfd: %s", strerror(-rc));
			return rc;
		}
	}
	for (size_t i = 0; m && i < m->n; i++) {
		struct mpw_ep *ep = &m->eps[i];
		ep->lio.fd = ep->sock.fd;
		ep->lio.ready = on_listener;
		int rc = vmpd_loop_add(d, &ep->lio, EPOLLIN);
		if (rc) {
			vmpd_log(VMPD_LOG_ERR, "memory-pressure endpoint %s: epoll: %s", ep->spec.path,
				 strerror(-rc));
			ep->lio.fd = -1;
			return rc;
		}
		rc = subscribe(ep);
		/* A cgroup that does not exist yet is normal (its service has not
		 * started); anything else is a configuration that can never work. */
		if (rc && rc != -ENOENT) {
			vmpd_log(VMPD_LOG_ERR, "memory-pressure endpoint %s: the %s source cannot serve it; stopping",
				 ep->spec.path, d->source_name);
			return rc;
		}
		vmpd_log(VMPD_LOG_INFO, "memory-pressure endpoint %s (mode %04o): cgroup %s at %s", ep->spec.path,
			 (unsigned)ep->spec.sockmode, ep->spec.cgroup, ep->spec.args);
	}
	if (m)
		adopt_kept(d);
	return 0;
}

static void flush_one(struct vmpd *d, struct mpw_client *c)
{
	while (c->plen) {
		ssize_t n = send(c->io.fd, c->pend, c->plen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_close(d, c, "went away (write failed)");
			return;
		}
		memmove(c->pend, c->pend + n, c->plen - (size_t)n);
		c->plen -= (size_t)n;
	}
	if (c->plen > MPW_PENDING) {
		/* Behind by more than a queue: keep the oldest, count the rest. */
		c->coalesced += c->plen - MPW_PENDING;
		c->plen = MPW_PENDING;
	}
	/* A queue grown in a burst shrinks back; one of MPW_PENDING or less
	 * is kept, empty or not, so that a notification does not cost a
	 * malloc and a free on its way to the client (test alloc-path). */
	if (c->pcap > 4 * MPW_PENDING) {
		char *p = realloc(c->pend, MPW_PENDING);
		if (p) {
			c->pend = p;
			c->pcap = MPW_PENDING;
		}
	}
	set_want(d, c);
}

/* End of a loop round: the queued wake-up bytes. */
static void mpw_flush(struct vmpd *d)
{
	struct vmpd_mpws *m = d->mpw;
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->eps[i].check_due)
			recheck(&m->eps[i]);
	while (m->dirty) {
		struct mpw_client *c = m->dirty;
		m->dirty = c->dirty_next;
		c->dirty = false;
		if (!c->closed)
			flush_one(d, c);
	}
	while (m->dead) {
		struct mpw_client *c = m->dead;
		m->dead = c->next;
		client_free(c);
	}
	retry_update(d); /* a cgroup went, a client came or left */
}

void vmpd_mpw_fini(struct vmpd *d)
{
	struct vmpd_mpws *m = d->mpw;
	if (!m)
		return;
	vmpd_loop_cancel_hook(d, &m->flush_hook);
	m->stopping = true; /* the store keeps them until the unit stops */
	for (size_t i = 0; i < m->nkept; i++)
		close(m->kept[i].fd);
	free(m->kept);
	for (size_t i = 0; i < m->n; i++) {
		struct mpw_ep *ep = &m->eps[i];
		while (ep->clients)
			client_close(d, ep->clients, NULL);
		vmpd_member_leave(d, &ep->m);
		vmpd_fc_release(d, ep->fc);
		ep->fc = NULL;
		if (ep->lio.fd >= 0)
			vmpd_loop_del(d, &ep->lio);
		vmpd_socket_close(&ep->sock, ep->spec.path);
	}
	m->dirty = NULL;
	while (m->dead) {
		struct mpw_client *c = m->dead;
		m->dead = c->next;
		client_free(c);
	}
	if (m->retry.fd >= 0) {
		vmpd_loop_del(d, &m->retry);
		close(m->retry.fd);
	}
	free(m->eps);
	free(m);
	d->mpw = NULL;
}
