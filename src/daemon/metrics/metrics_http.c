/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint: GET /metrics over HTTP on a loopback address
 * (--metrics-listen), in the daemon's epoll loop, never blocking it.
 *
 * Loopback only: the endpoint has no authentication and no TLS, and the
 * metrics name every watched cgroup. A scraper on another machine should
 * reach it through something that adds both (a reverse proxy), or read
 * the textfile through node_exporter.
 *
 * One exchange per connection: read the request head (http.c parses it;
 * at most 8 KiB), queue the whole response, write it as the socket takes
 * it, then shut the sending side down and read until the peer closes, so
 * that unread request bytes cannot turn our close into a reset that
 * destroys the response in flight. Bounded: at most HTTPD_MAX_CONNS
 * connections, each closed HTTPD_DEADLINE_S after it was accepted whatever
 * state it is in (one timer armed for the earliest deadline, so 5 s is 5 s),
 * so a client that trickles bytes or never reads holds a slot for 5 s at
 * most.
 *
 * Slowloris (issue 12: 40 connections sending a byte every 0.2 s left 2
 * of 4 scrapes answered): holding slots must not starve a scraper, which
 * sends its whole request at once and is answered in the round it
 * arrives. So when every slot is taken, a new connection is still
 * accepted, and the oldest connection that has not sent a whole request
 * (or that was answered and only holds its slot by not closing) is closed
 * to make room; one peer address may hold at most half the slots with
 * such connections, its own oldest closed first. The listener is paused
 * (clients wait in the backlog) only while every slot is writing a
 * response. Connections closed during a loop round are freed
 * at its end (vmpd_httpd_reap()), as clients are: a later event of the
 * same epoll batch may still name one.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Scrapers connect one at a time; 16 leaves room for a few slow ones
 * (and for `curl` by hand) while bounding memory to 16 x 8 KiB plus the
 * responses. */
#define HTTPD_MAX_CONNS 16
/* A whole exchange on loopback takes milliseconds. */
#define HTTPD_DEADLINE_S 5.0

enum cstate { C_READ, C_WRITE, C_DRAIN };

struct conn {
	struct vmpd_io io;
	struct vmpd_httpd *h;
	struct sockaddr_storage peer;
	enum cstate state;
	bool eof;
	double deadline;
	size_t inlen;
	char in[VMPD_HTTP_HEAD_MAX];
	struct vmp__buf out;
	size_t off;
	struct conn *next, **prev;
	struct conn *dead_next;
};

struct vmpd_httpd {
	struct vmpd *d;
	struct vmpd_io listener, timer;
	struct conn *conns, *dead;
	unsigned n;
	bool paused;     /* listener out of the epoll set */
	double armed;    /* the timer's expiry (vmp__mono_s()); 0: disarmed */
	uint64_t evicted; /* connections closed to make room */
};

int vmpd_httpd_parse_addr(const char *s, void *storage, unsigned *len, char *err, size_t cap)
{
	const char *orig = s;
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1]) {
		snprintf(err, cap, "--metrics-listen '%s': use ADDRESS:PORT, e.g. 127.0.0.1:9101 or [::1]:9101",
			 s);
		return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || colon[1] < '0' || colon[1] > '9') {
		snprintf(err, cap, "--metrics-listen '%s': the port must be a number from 0 to 65535", s);
		return -EINVAL;
	}
	char host[64];
	size_t hn = (size_t)(colon - s);
	if (hn >= 2 && s[0] == '[' && s[hn - 1] == ']') {
		s++;
		hn -= 2;
	}
	if (hn >= sizeof(host)) {
		snprintf(err, cap, "--metrics-listen: the address is too long");
		return -EINVAL;
	}
	memcpy(host, s, hn);
	host[hn] = 0;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	bool loop;
	if (!strcmp(host, "localhost")) {
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		loop = true;
	} else if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		loop = (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
		loop = IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr);
		if (loop) {
			memcpy(storage, &a6, sizeof(a6));
			*len = sizeof(a6);
			return 0;
		}
	} else {
		snprintf(err, cap,
			 "--metrics-listen '%s': '%s' is not an IP address (use 127.0.0.1, [::1] or localhost)",
			 orig, host);
		return -EINVAL;
	}
	if (!loop) {
		snprintf(err, cap,
			 "--metrics-listen: %s is not a loopback address; the endpoint has no authentication, "
			 "so it listens only on 127.0.0.0/8 or [::1] (put a proxy in front of it, or use "
			 "--metrics-textfile with node_exporter)",
			 host);
		return -EINVAL;
	}
	memcpy(storage, &a4, sizeof(a4));
	*len = sizeof(a4);
	return 0;
}

/* Arm the one-shot timer for the earliest deadline (or a second while
 * the listener is paused for want of descriptors), disarm it with none. */
static void timer_update(struct vmpd_httpd *h)
{
	double due = 0;
	for (struct conn *c = h->conns; c; c = c->next)
		if (!due || c->deadline < due)
			due = c->deadline;
	if (h->paused && (!due || vmp__mono_s() + 1 < due))
		due = vmp__mono_s() + 1;
	if (due == h->armed)
		return;
	struct itimerspec it = {0};
	if (due) {
		/* vmp__mono_s() is CLOCK_MONOTONIC seconds: the timer's clock. */
		double sec = due < 1e-9 ? 1e-9 : due;
		it.it_value.tv_sec = (time_t)sec;
		it.it_value.tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9);
		if (!it.it_value.tv_sec && !it.it_value.tv_nsec)
			it.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(h->timer.fd, TFD_TIMER_ABSTIME, &it, NULL) == 0)
		h->armed = due;
}

static void listen_set(struct vmpd_httpd *h, bool on)
{
	if (on == !h->paused)
		return;
	if (vmpd_loop_mod(h->d, &h->listener, on ? EPOLLIN : 0) == 0)
		h->paused = !on;
}

static void conn_close(struct conn *c)
{
	struct vmpd_httpd *h = c->h;
	vmpd_loop_del(h->d, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	*c->prev = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead_next = h->dead;
	h->dead = c;
	h->n--;
	listen_set(h, true);
	timer_update(h);
}

static void conn_want(struct conn *c, uint32_t ev)
{
	if (vmpd_loop_mod(c->h->d, &c->io, ev))
		conn_close(c);
}

/* Write what the socket takes; then half-close and drain. */
static void conn_write(struct conn *c)
{
	while (c->off < c->out.len) {
		ssize_t w = send(c->io.fd, c->out.p + c->off, c->out.len - c->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want(c, EPOLLOUT);
			return;
		}
		if (w <= 0) {
			conn_close(c);
			return;
		}
		c->off += (size_t)w;
	}
	vmp__buf_free(&c->out);
	shutdown(c->io.fd, SHUT_WR);
	if (c->eof) {
		conn_close(c);
		return;
	}
	c->state = C_DRAIN;
	conn_want(c, EPOLLIN);
}

static void conn_respond(struct conn *c, const struct vmpd_http_request *req)
{
	struct vmpd *d = c->h->d;
	vmp__buf_init(&c->out);
	if (req->status == 200) {
		struct vmp__buf body;
		vmp__buf_init(&body);
		vmpd_metrics_snapshot(d, &body);
		if (body.oom) {
			static const char msg[] = "503 Service Unavailable: out of memory\n";
			vmpd_http_response(&c->out, 503, req->head, msg, sizeof(msg) - 1);
		} else
			vmpd_http_response(&c->out, 200, req->head, body.p ? body.p : "", body.len);
		vmp__buf_free(&body);
	} else {
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "%d: %s\n", req->status, req->reason);
		vmpd_http_response(&c->out, req->status, false, msg, (size_t)n);
	}
	if (c->out.oom) {
		conn_close(c);
		return;
	}
	c->state = C_WRITE;
	c->off = 0;
	conn_write(c);
}

static void on_conn(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)d;
	struct conn *c = (struct conn *)((char *)io - offsetof(struct conn, io));
	if (c->io.fd < 0)
		return; /* closed earlier in this round */
	if (c->state == C_WRITE) {
		if (events & EPOLLERR)
			conn_close(c);
		else
			conn_write(c);
		return;
	}
	/* C_READ or C_DRAIN: read what is there. */
	char sink[4096];
	for (int k = 0; k < 8; k++) {
		char *p = sink;
		size_t room = sizeof(sink);
		if (c->state == C_READ) {
			p = c->in + c->inlen;
			room = sizeof(c->in) - c->inlen;
			if (!room)
				break;
		}
		ssize_t r = recv(c->io.fd, p, room, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			c->eof = true;
			break;
		}
		if (c->state == C_READ)
			c->inlen += (size_t)r;
	}
	if (c->state == C_DRAIN) {
		if (c->eof || (events & (EPOLLERR | EPOLLHUP)))
			conn_close(c);
		return;
	}
	struct vmpd_http_request req;
	if (vmpd_http_parse(c->in, c->inlen, c->eof, &req) == 0) {
		if (events & EPOLLERR)
			conn_close(c);
		return;
	}
	conn_respond(c, &req);
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
	return true;
}

/* The connection to close for a new one from `peer`: the oldest idle one
 * (not yet a whole request, or answered and draining) of that peer if it
 * holds half the slots with those, else the oldest idle one at all when
 * the slots are full. NULL: keep them all. */
static struct conn *victim(struct vmpd_httpd *h, const struct sockaddr_storage *peer)
{
	struct conn *oldest = NULL, *oldest_peer = NULL;
	unsigned idle_peer = 0;
	for (struct conn *c = h->conns; c; c = c->next) { /* newest first */
		if (c->state == C_WRITE)
			continue;
		oldest = c;
		if (same_peer(&c->peer, peer)) {
			oldest_peer = c;
			idle_peer++;
		}
	}
	if (idle_peer >= HTTPD_MAX_CONNS / 2)
		return oldest_peer;
	return h->n >= HTTPD_MAX_CONNS ? oldest : NULL;
}

static void on_accept(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	struct vmpd_httpd *h = (struct vmpd_httpd *)((char *)io - offsetof(struct vmpd_httpd, listener));
	for (int k = 0; k < 4 * HTTPD_MAX_CONNS; k++) {
		bool idle = false;
		for (struct conn *c = h->conns; c && !idle; c = c->next)
			idle = c->state != C_WRITE;
		if (h->n >= HTTPD_MAX_CONNS && !idle) {
			/* Every slot is writing a response: the rest wait in the
			 * backlog until one is done (conn_close()). */
			listen_set(h, false);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		int fd = accept4(h->listener.fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The listener stays readable: pause it until the timer. */
				listen_set(h, false);
				timer_update(h);
			}
			return;
		}
		struct conn *v = victim(h, &peer);
		if (v) {
			h->evicted++;
			conn_close(v);
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->io.fd = fd;
		c->io.ready = on_conn;
		c->h = h;
		c->peer = peer;
		c->state = C_READ;
		c->deadline = vmp__mono_s() + HTTPD_DEADLINE_S;
		if (vmpd_loop_add(d, &c->io, EPOLLIN)) {
			close(fd);
			free(c);
			return;
		}
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = &c->next;
		c->prev = &h->conns;
		h->conns = c;
		h->n++;
		timer_update(h);
	}
}

static void on_timer(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)d;
	(void)events;
	struct vmpd_httpd *h = (struct vmpd_httpd *)((char *)io - offsetof(struct vmpd_httpd, timer));
	uint64_t x;
	if (read(io->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: re-armed meanwhile */
	}
	h->armed = 0;
	double now = vmp__mono_s();
	for (struct conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		if (now >= c->deadline)
			conn_close(c);
	}
	listen_set(h, true);
	timer_update(h);
}

int vmpd_httpd_open(struct vmpd *d, const char *addr, struct vmpd_httpd **out, char *where,
		    size_t wcap)
{
	struct sockaddr_storage ss;
	unsigned sl;
	char err[256];
	snprintf(where, wcap, "%s", addr);
	if (vmpd_httpd_parse_addr(addr, &ss, &sl, err, sizeof(err)))
		return -EINVAL; /* main.c checked it already */
	struct vmpd_httpd *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->d = d;
	h->listener.ready = on_accept;
	h->timer.ready = on_timer;
	h->listener.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	h->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int rc = 0, one = 1;
	if (h->listener.fd < 0 || h->timer.fd < 0)
		rc = -errno;
	if (!rc)
		setsockopt(h->listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!rc && (bind(h->listener.fd, (struct sockaddr *)&ss, sl) || listen(h->listener.fd, 64)))
		rc = -errno;
	if (!rc)
		rc = vmpd_loop_add(d, &h->listener, EPOLLIN);
	if (!rc && (rc = vmpd_loop_add(d, &h->timer, EPOLLIN)))
		vmpd_loop_del(d, &h->listener);
	if (rc) {
		if (h->listener.fd >= 0)
			close(h->listener.fd);
		if (h->timer.fd >= 0)
			close(h->timer.fd);
		free(h);
		return rc;
	}
	/* The address actually bound: port 0 asks the kernel for one. */
	socklen_t bl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	if (getsockname(h->listener.fd, (struct sockaddr *)&ss, &bl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			snprintf(where, wcap, "%s:%u", host, ntohs(a->sin_port));
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			snprintf(where, wcap, "[%s]:%u", host, ntohs(a->sin6_port));
		}
	}
	*out = h;
	return 0;
}

void vmpd_httpd_reap(struct vmpd *d, struct vmpd_httpd *h)
{
	(void)d;
	while (h && h->dead) {
		struct conn *c = h->dead;
		h->dead = c->dead_next;
		vmp__buf_free(&c->out);
		free(c);
	}
}

void vmpd_httpd_close(struct vmpd *d, struct vmpd_httpd *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_close(h->conns);
	vmpd_httpd_reap(d, h);
	vmpd_loop_del(d, &h->listener);
	vmpd_loop_del(d, &h->timer);
	close(h->listener.fd);
	close(h->timer.fd);
	free(h);
}
