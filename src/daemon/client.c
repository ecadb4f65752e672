/* SPDX-License-Identifier: MIT */
/*
 * One client connection.
 *
 * Input: bytes go through the framer (protocol.c) into request lines,
 * which requests.c answers. Reading is bounded per wake-up, so one busy
 * client cannot starve the others.
 *
 * Output: one queue of bytes per client. Replies are always queued;
 * stream events only while the queue holds less than VMPD_MAX_QUEUE
 * (256 KiB). Past that, stream events are counted and dropped until the
 * queue has drained completely, and then a `dropped` event says how many
 * went. A client that sends requests but never reads gets back-pressure
 * instead: while its queue is over the limit we stop reading from it, so
 * its replies cannot grow without bound either. Eventfd counts never go
 * through the queue (subscriptions.c adds to the eventfd directly), so they
 * are never dropped.
 *
 * Descriptors: the eventfd of a `subscribe ... eventfd` reply must arrive
 * with the reply's first byte (docs/protocol.md). The queue keeps, beside
 * the bytes, a list of (offset, fd); a sendmsg() starting at such an
 * offset carries the fd as SCM_RIGHTS and stops before the next one, so
 * each fd travels with its own reply. The queue holds its own copy of the
 * fd: the client may unsubscribe (and we close the subscription's fd)
 * before the reply has left.
 *
 * Credentials: SO_PEERCRED and SO_PEERGROUPS are taken once, at accept();
 * they describe the process that connected, which is whom a subscription's
 * permission check is about.
 *
 * Memory: an idle connection holds neither an input nor an output buffer.
 * The framer (1 KiB) exists only while a partial line waits for its end,
 * the output queue only while something waits to be sent; both are freed
 * when they empty. Except one: a connection with a stream subscription
 * keeps an output queue of the first size (1 KiB, a few events), or each
 * event would cost a malloc and a free on the way from the kernel to the
 * client, the path that must not allocate when memory is short (test
 * alloc-path); a larger queue, grown in a burst, is still freed. A thousand idle subscribers then cost a few hundred
 * bytes each (bench/daemon_rss.c), not the 6 KiB that resident buffers
 * took.
 *
 * Closing: the socket, the queued fds and every subscription go at once;
 * the memory at the end of the loop round (loop.c).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Reads per wake-up: 16 KiB at most from one client before the others. */
#define READS_PER_WAKE 16

static bool over_limit(const struct vmpd_client *c)
{
	return c->len - c->head >= VMPD_MAX_QUEUE;
}

static bool has_output(const struct vmpd_client *c)
{
	return c->len > c->head;
}

static void mark_dirty(struct vmpd_client *c)
{
	if (c->is_dirty || c->closed)
		return;
	c->is_dirty = true;
	c->dirty_next = c->d->dirty;
	c->d->dirty = c;
}

static void update_interest(struct vmpd_client *c)
{
	if (c->closed)
		return;
	uint32_t want = 0;
	if (!c->rd_eof && !over_limit(c))
		want |= EPOLLIN;
	if (has_output(c))
		want |= EPOLLOUT;
	if (want != c->want && vmpd_loop_mod(c->d, &c->io, want) == 0)
		c->want = want;
}

/* ---- output queue ------------------------------------------------------------ */

#define OUT_FIRST 1024u /* the queue's first size */
#define OUT_KEEP 4096u  /* kept with a stream subscription (a page) */

static bool has_stream(const struct vmpd_client *c)
{
	for (const struct vmpd_csub *cs = c->subs; cs; cs = cs->cnext)
		if (cs->stream)
			return true;
	return false;
}

/* A full queue with no descriptor to pass: send it now, if the socket
 * takes it, rather than grow it. A burst of events then goes out in
 * queue-sized writes without an allocation; only a client that does not
 * read makes the queue grow. Errors are left for the flush at the end of
 * the round, which closes the connection (not from here: this may run
 * inside the source's dispatch). */
static void send_early(struct vmpd_client *c)
{
	if (c->nfds || c->closed || c->head == c->len)
		return;
	ssize_t k = send(c->io.fd, c->out + c->head, c->len - c->head, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k > 0)
		c->head += (size_t)k;
}

static int append(struct vmpd_client *c, const char *s, size_t n)
{
	if (c->len + n > c->cap)
		send_early(c);
	if (c->len + n > c->cap && c->head) {
		/* Reclaim the sent part before growing. */
		memmove(c->out, c->out + c->head, c->len - c->head);
		for (size_t i = 0; i < c->nfds; i++)
			c->fds[i].off -= c->head;
		c->len -= c->head;
		c->head = 0;
	}
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : OUT_FIRST;
		while (cap < c->len + n)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->cap = cap;
	}
	memcpy(c->out + c->len, s, n);
	c->len += n;
	return 0;
}

int vmpd_client_reply(struct vmpd_client *c, const char *s, size_t n, int fd)
{
	if (c->closed)
		return 0;
	int copy = -1;
	if (fd >= 0) {
		if (c->nfds == c->fdcap) {
			size_t cap = c->fdcap ? c->fdcap * 2 : 8;
			struct vmpd_passfd *p = realloc(c->fds, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			c->fds = p;
			c->fdcap = cap;
		}
		copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (copy < 0)
			return -errno;
	}
	if (append(c, s, n)) {
		if (copy >= 0)
			close(copy);
		return -ENOMEM;
	}
	if (copy >= 0) {
		/* append() may have moved the queue: the line starts n from the end. */
		c->fds[c->nfds++] = (struct vmpd_passfd){.off = c->len - n, .fd = copy};
	}
	mark_dirty(c);
	return 0;
}

void vmpd_client_drop(struct vmpd_client *c)
{
	if (c->closed)
		return;
	c->dropping = true;
	c->dropped++;
	c->d->dropped++;
	mark_dirty(c); /* the flush that finds the queue empty sends `dropped` */
}

void vmpd_client_event(struct vmpd_client *c, const char *s, size_t n, bool must)
{
	if (c->closed)
		return;
	if (!must && (c->dropping || c->len - c->head + n > VMPD_MAX_QUEUE || append(c, s, n))) {
		vmpd_client_drop(c);
		return;
	}
	if (must && append(c, s, n)) {
		/* Out of memory for a removal notice: the subscription is gone
		 * anyway, and the eventfd has its final increment. */
		vmpd_log(VMPD_LOG_WARNING, "client pid %ld: out of memory for an event", (long)c->pid);
		return;
	}
	mark_dirty(c);
}

/* Write as much as the socket takes. */
static void flush_one(struct vmpd_client *c)
{
	while (!c->closed) {
		if (!has_output(c)) {
			c->head = c->len = 0;
			if (!c->dropping) {
				if (c->cap <= OUT_KEEP && has_stream(c))
					break; /* kept: see "Memory" at the top */
				c->d->freed_since_trim += c->cap;
				free(c->out);
				c->out = NULL;
				c->cap = 0;
				free(c->fds); /* every fd went with its reply */
				c->fds = NULL;
				c->fdcap = 0;
				break;
			}
			/* The queue has drained: say what was lost, then resume. */
			struct vmp__buf *b = &c->d->scratch;
			vmp__buf_reset(b);
			vmpd_fmt_dropped(b, c->dropped);
			c->dropping = false;
			c->dropped = 0;
			if (b->oom || append(c, b->p, b->len))
				break;
			continue;
		}
		size_t end = c->len;
		int fd = -1;
		if (c->nfds) {
			if (c->fds[0].off == c->head) {
				fd = c->fds[0].fd;
				if (c->nfds > 1)
					end = c->fds[1].off;
			} else
				end = c->fds[0].off;
		}
		struct iovec iov = {.iov_base = c->out + c->head, .iov_len = end - c->head};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		if (fd >= 0) {
			memset(&u, 0, sizeof(u));
			msg.msg_control = u.buf;
			msg.msg_controllen = sizeof(u.buf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(c->io.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* EPIPE, ECONNRESET: the peer went away; that is no news */
			vmpd_client_close(c, errno == EPIPE || errno == ECONNRESET ? NULL : strerror(errno));
			return;
		}
		if (fd >= 0 && n > 0) {
			close(fd);
			memmove(c->fds, c->fds + 1, (c->nfds - 1) * sizeof(*c->fds));
			c->nfds--;
		}
		c->head += (size_t)n;
	}
}

/* ---- input -------------------------------------------------------------------- */

static bool input_pending(const struct vmpd_client *c)
{
	return c->in && (vmpd_framer_pending(c->in) || c->in->discarding);
}

static void process_lines(struct vmpd_client *c)
{
	const char *line;
	size_t len;
	while (c->in && !c->closed && !over_limit(c)) {
		enum vmpd_frame f = vmpd_framer_next(c->in, &line, &len);
		if (f == VMPD_FRAME_NONE)
			break;
		if (f == VMPD_FRAME_LINE)
			vmpd_request(c->d, c, line, len);
		else
			vmpd_request_overlong(c->d, c);
	}
	if (c->in && !input_pending(c)) {
		free(c->in);
		c->in = NULL;
	}
}

/* A client that shut down its side and has nothing left to receive. */
static void maybe_finish(struct vmpd_client *c)
{
	if (!c->closed && c->rd_eof && !c->nsubs && !has_output(c))
		vmpd_client_close(c, NULL);
}

static void read_input(struct vmpd_client *c)
{
	for (int i = 0; i < READS_PER_WAKE && !c->closed && !c->rd_eof; i++) {
		process_lines(c);
		if (c->closed || over_limit(c))
			break;
		if (!c->in) {
			if (!(c->in = malloc(sizeof(*c->in)))) {
				vmpd_client_close(c, "out of memory for input");
				break;
			}
			vmpd_framer_init(c->in);
		}
		size_t room;
		char *p = vmpd_framer_space(c->in, &room);
		ssize_t n = read(c->io.fd, p, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vmpd_client_close(c, errno == ECONNRESET ? NULL : strerror(errno));
			break;
		}
		if (n == 0) {
			/* A partial last line is not a request: dropped. */
			c->rd_eof = true;
			break;
		}
		vmpd_framer_commit(c->in, (size_t)n);
	}
	process_lines(c);
}

static void on_client(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)d;
	struct vmpd_client *c = (struct vmpd_client *)io;
	if (c->closed)
		return;
	if (events & EPOLLERR) {
		vmpd_client_close(c, "socket error");
		return;
	}
	if (events & EPOLLHUP) {
		/* Both directions are shut: nobody will read what we owe. */
		vmpd_client_close(c, NULL);
		return;
	}
	if (events & EPOLLOUT)
		flush_one(c);
	if (events & EPOLLIN)
		read_input(c);
	maybe_finish(c);
	update_interest(c);
}

/* ---- per-uid shares ---------------------------------------------------------- */

/*
 * One local user must not lock everyone else out (issue 12: 4,100
 * connections as nobody took all 4096 slots). A uid other than 0 holds at
 * most a quarter of the slots (VMPD_UID_SHARE), so that one greedy user
 * leaves room for three others of its size; and the last eighth
 * (VMPD_ROOT_RESERVE) is kept for root, so that an administrator can
 * always connect, see `status` and act, however many users fill theirs.
 * The same table counts each uid's subscriptions (subscriptions.c bounds
 * what they cost). Entries go with their last connection.
 */
struct vmpd_uidc {
	uid_t uid;
	unsigned conns;
	unsigned debounced;
	struct vmpd_uidc *next;
};
#define UID_BUCKETS 256u

static struct vmpd_uidc **uid_slot(struct vmpd *d, uid_t uid)
{
	if (!d->uids && !(d->uids = calloc(UID_BUCKETS, sizeof(*d->uids))))
		return NULL;
	struct vmpd_uidc **pp = &d->uids[(uid * 2654435761u) % UID_BUCKETS];
	while (*pp && (*pp)->uid != uid)
		pp = &(*pp)->next;
	return pp;
}

unsigned vmpd_uid_conns(struct vmpd *d, uid_t uid)
{
	struct vmpd_uidc **pp = uid_slot(d, uid);
	return pp && *pp ? (*pp)->conns : 0;
}

unsigned vmpd_uid_debounced(struct vmpd *d, uid_t uid, int delta)
{
	struct vmpd_uidc **pp = uid_slot(d, uid);
	if (!pp || !*pp)
		return 0;
	(*pp)->debounced += (unsigned)delta;
	return (*pp)->debounced;
}

/* 0, or the reason a connection of this uid is refused. */
static const char *uid_admit(struct vmpd *d, uid_t uid)
{
	if (d->nclients >= d->max_clients)
		return "the connection limit";
	if (uid == 0)
		return NULL;
	if (d->nclients >= d->max_clients - d->max_clients / VMPD_ROOT_RESERVE)
		return "the connections left are kept for root";
	if (vmpd_uid_conns(d, uid) >= d->max_clients / VMPD_UID_SHARE)
		return "its share of the connections";
	return NULL;
}

static int uid_add(struct vmpd *d, uid_t uid, int delta)
{
	struct vmpd_uidc **pp = uid_slot(d, uid);
	if (!pp)
		return -ENOMEM;
	if (!*pp) {
		if (delta < 0)
			return 0;
		if (!(*pp = calloc(1, sizeof(**pp))))
			return -ENOMEM;
		(*pp)->uid = uid;
	}
	(*pp)->conns += (unsigned)delta;
	if (!(*pp)->conns) {
		struct vmpd_uidc *e = *pp;
		*pp = e->next;
		free(e);
	}
	return 0;
}

void vmpd_uids_free(struct vmpd *d)
{
	if (!d->uids)
		return;
	for (unsigned i = 0; i < UID_BUCKETS; i++)
		while (d->uids[i]) {
			struct vmpd_uidc *e = d->uids[i];
			d->uids[i] = e->next;
			free(e);
		}
	free(d->uids);
	d->uids = NULL;
}

/* ---- accept, close ---------------------------------------------------------- */

static void get_credentials(struct vmpd_client *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(c->io.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->gid = cr.gid;
	} else {
		/* No credentials: treat as nobody. */
		c->pid = 0;
		c->uid = (uid_t)-2;
		c->gid = (gid_t)-2;
	}
	len = 64 * sizeof(gid_t);
	for (int tries = 0; tries < 3; tries++) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));
		if (!g)
			return;
		socklen_t got = len;
		if (getsockopt(c->io.fd, SOL_SOCKET, SO_PEERGROUPS, g, &got) == 0) {
			c->ngroups = got / sizeof(gid_t);
			if (!c->ngroups) {
				free(g);
				return;
			}
			gid_t *fit = realloc(g, got); /* most peers have a few groups */
			c->groups = fit ? fit : g;
			return;
		}
		free(g);
		if (errno != ERANGE)
			return; /* old kernel: the primary group only */
		len = got;
	}
}

static double last_warning;

static void warn_limited(const char *fmt, const char *what)
{
	double now = vmp__mono_s();
	if (now - last_warning < 10)
		return;
	last_warning = now;
	vmpd_log(VMPD_LOG_WARNING, fmt, what);
}

void vmpd_client_accept(struct vmpd *d)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(d->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			warn_limited("accept: %s; pausing new connections", strerror(errno));
			vmpd_loop_accept_backoff(d);
			return;
		}
		if (d->nclients >= d->max_clients) {
			close(fd);
			d->accept_refused++;
			warn_limited("connection limit (%s) reached: closing new connections", "4096");
			continue;
		}
		struct vmpd_client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			warn_limited("accept: %s", strerror(ENOMEM));
			continue;
		}
		c->io.fd = fd;
		c->io.ready = on_client;
		c->d = d;
		c->next_id = 1;
		get_credentials(c);
		const char *why = uid_admit(d, c->uid);
		if (why || uid_add(d, c->uid, 1)) {
			char msg[160];
			snprintf(msg, sizeof(msg), "uid %ld reached %s", (long)c->uid, why ? why : "no memory");
			warn_limited("%s: closing its new connections", msg);
			d->accept_refused++;
			free(c->groups);
			free(c);
			close(fd);
			continue;
		}
		c->want = EPOLLIN;
		if (vmpd_loop_add(d, &c->io, EPOLLIN)) {
			uid_add(d, c->uid, -1);
			warn_limited("epoll_ctl: %s", strerror(errno));
			free(c->groups);
			free(c);
			close(fd);
			continue;
		}
		c->next = d->clients;
		if (d->clients)
			d->clients->prev = &c->next;
		c->prev = &d->clients;
		d->clients = c;
		d->nclients++;
	}
}

void vmpd_client_close(struct vmpd_client *c, const char *why)
{
	if (c->closed)
		return;
	struct vmpd *d = c->d;
	if (why)
		vmpd_log(VMPD_LOG_INFO, "client pid %ld uid %ld: %s; closing", (long)c->pid, (long)c->uid, why);
	while (c->subs)
		vmpd_sub_release(d, c->subs);
	c->closed = true;
	vmpd_loop_del(d, &c->io);
	close(c->io.fd);
	for (size_t i = 0; i < c->nfds; i++)
		close(c->fds[i].fd);
	c->nfds = 0;
	*c->prev = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nclients--;
	uid_add(d, c->uid, -1);
	c->dead_next = d->dead;
	d->dead = c;
}

static void clients_flush(struct vmpd *d)
{
	struct vmpd_client *c = d->dirty;
	d->dirty = NULL;
	while (c) {
		struct vmpd_client *next = c->dirty_next;
		c->is_dirty = false;
		c->dirty_next = NULL;
		/* Draining may lift back-pressure; lines already buffered are
		 * answered now, since no new input may come to wake us. */
		for (int i = 0; i < READS_PER_WAKE && !c->closed; i++) {
			flush_one(c);
			if (c->closed || over_limit(c) || !input_pending(c))
				break;
			size_t before = c->len - c->head;
			process_lines(c);
			if (c->len - c->head == before)
				break;
		}
		maybe_finish(c);
		update_interest(c);
		c = next;
	}
	/* process_lines() above may have marked clients dirty again: their
	 * EPOLLOUT interest (update_interest) brings them back next round. */
	for (c = d->dirty; c; c = c->dirty_next)
		update_interest(c);
}

static void clients_reap(struct vmpd *d)
{
	struct vmpd_client *keep = NULL;
	while (d->dead) {
		struct vmpd_client *c = d->dead;
		d->dead = c->dead_next;
		if (c->is_dirty) {
			/* Still on d->dirty (closed after it was marked): the next
			 * flush takes it off, the next reap frees it. */
			c->dead_next = keep;
			keep = c;
			continue;
		}
		d->freed_since_trim += c->cap;
		free(c->in);
		free(c->out);
		free(c->fds);
		free(c->groups);
		free(c);
	}
	d->dead = keep;
}

void vmpd_clients_close_all(struct vmpd *d)
{
	while (d->clients)
		vmpd_client_close(d->clients, NULL);
	for (struct vmpd_client *c = d->dirty; c; c = c->dirty_next)
		c->is_dirty = false;
	d->dirty = NULL;
	clients_reap(d);
	vmpd_uids_free(d);
}

void vmpd_clients_init(struct vmpd *d)
{
	d->clients_flush.run = clients_flush;
	d->clients_reap.run = clients_reap;
	vmpd_loop_at_round_end(d, VMPD_ROUND_WRITE, &d->clients_flush);
	vmpd_loop_at_round_end(d, VMPD_ROUND_FREE, &d->clients_reap);
}

int vmpd_client_check_access(const struct vmpd_client *c, const char *cgroup)
{
	struct vmpd_cred cr = {c->uid, c->gid, c->groups, c->ngroups};
	return vmpd_cgroup_access(c->d->cgroup_root, cgroup, &cr);
}
