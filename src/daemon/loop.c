/* SPDX-License-Identifier: MIT */
/*
 * The event loop. One epoll set holds the listening socket, the signalfd,
 * the source's own epoll fd (vmp_source_fd(): readable when the source has
 * work), a timerfd used to pause accept() when we run out of descriptors,
 * and every client socket. Each fd is tagged with a struct vmpd_io that
 * says who handles it.
 *
 * A round is one epoll_wait() batch followed by the work that must not
 * happen in the middle of it. The loop names no module: each registers its
 * end-of-round work at one of the steps of enum vmpd_round_step (release
 * what the source's callbacks could not, arm timers, write the round's
 * output, free what was closed), and the loop runs them in that order.
 * Its own last step: after a burst (slow readers' queues grown and freed
 * again), free heap pages go back to the kernel, at most once a second.
 * Without it the daemon would keep its largest burst's footprint for ever:
 * the allocator keeps freed blocks below live ones resident.
 */
#include "daemon.h"

#include <errno.h>
#ifdef __GLIBC__
#endif
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* How long accept() pauses after EMFILE/ENFILE: long enough for clients to
 * go away, short enough that nobody notices. Retrying at once would spin:
 * the listening socket stays readable. */
#define ACCEPT_BACKOFF_MS 100

int vmpd_loop_add(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, io->fd, &ev) ? -errno : 0;
}

int vmpd_loop_mod(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	return epoll_ctl(d->epfd, EPOLL_CTL_MOD, io->fd, &ev) ? -errno : 0;
}

void vmpd_loop_del(struct vmpd *d, struct vmpd_io *io)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void vmpd_loop_at_round_end(struct vmpd *d, enum vmpd_round_step step, struct vmpd_round_hook *h)
{
	struct vmpd_round_hook **pp = &d->round_end[step];
	while (*pp)
		pp = &(*pp)->next;
	h->next = NULL;
	*pp = h;
}

void vmpd_loop_cancel_hook(struct vmpd *d, struct vmpd_round_hook *h)
{
	for (unsigned i = 0; i < VMPD_ROUND_STEPS; i++)
		for (struct vmpd_round_hook **pp = &d->round_end[i]; *pp; pp = &(*pp)->next)
			if (*pp == h) {
				*pp = h->next;
				return;
			}
}

static void on_listener(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)io;
	(void)events;
	vmpd_client_accept(d);
}

void vmpd_loop_accept_backoff(struct vmpd *d)
{
	struct itimerspec it = {.it_value = {.tv_sec = 0, .tv_nsec = ACCEPT_BACKOFF_MS * 1000000L}};
	if (timerfd_settime(d->backoff.fd, 0, &it, NULL) == 0)
		vmpd_loop_mod(d, &d->listener, 0);
}

static void on_backoff(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	uint64_t x;
	if (read(io->fd, &x, sizeof(x)) < 0) {
		/* EAGAIN: nothing expired; the listener is re-enabled anyway */
	}
	vmpd_loop_mod(d, &d->listener, EPOLLIN);
}

static void on_signal(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		d->on_signal(d, (int)si.ssi_signo);
}

static void on_source(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)io;
	(void)events;
	int rc = vmp_source_dispatch(d->src);
	if (rc) {
		vmpd_log(VMPD_LOG_ERR, "the %s source failed: %s; stopping", d->source_name, strerror(-rc));
		d->error = rc;
		d->running = false;
	}
}

/* The signals the daemon handles, all through its signalfd. */
void vmpd_signal_set(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGUSR1);
}

/* The signals are already blocked (main.c): only the signalfd sees them. */
int vmpd_loop_init(struct vmpd *d)
{
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigset_t mask;
	vmpd_signal_set(&mask);
	d->signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->signals.ready = on_signal;
	d->backoff.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->backoff.ready = on_backoff;
	d->listener.ready = on_listener;
	d->source.fd = vmp_source_fd(d->src);
	d->source.ready = on_source;
	int rc = 0;
	if (d->signals.fd < 0 || d->backoff.fd < 0)
		rc = -errno;
	if (!rc)
		rc = vmpd_loop_add(d, &d->signals, EPOLLIN);
	if (!rc)
		rc = vmpd_loop_add(d, &d->backoff, EPOLLIN);
	if (!rc)
		rc = vmpd_loop_add(d, &d->listener, EPOLLIN);
	if (!rc)
		rc = vmpd_loop_add(d, &d->source, EPOLLIN);
	return rc;
}

void vmpd_loop_fini(struct vmpd *d)
{
	if (d->signals.fd >= 0)
		close(d->signals.fd);
	if (d->backoff.fd >= 0)
		close(d->backoff.fd);
	if (d->epfd >= 0)
		close(d->epfd);
	d->signals.fd = d->backoff.fd = d->epfd = -1;
}

/* Buffer bytes freed that make a trim worth its heap walk. */
#define TRIM_AFTER (1u << 20)

static void maybe_trim(struct vmpd *d)
{
#ifdef __GLIBC__
	if (d->freed_since_trim < TRIM_AFTER)
		return;
	double now = vmp__mono_s();
	if (now - d->last_trim < 1.0)
		return;
	vmpd_trim_memory();
	d->last_trim = now;
	d->freed_since_trim = 0;
#else
	(void)d;
#endif
}

int vmpd_loop_run(struct vmpd *d)
{
	struct epoll_event evs[64];
	d->running = true;
	while (d->running) {
		int n = epoll_wait(d->epfd, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vmpd_log(VMPD_LOG_ERR, "epoll_wait: %s", strerror(errno));
			d->error = -errno;
			break;
		}
		for (int i = 0; i < n && d->running; i++) {
			struct vmpd_io *io = evs[i].data.ptr;
			io->ready(d, io, evs[i].events);
		}
		for (unsigned step = 0; step < VMPD_ROUND_STEPS; step++)
			for (struct vmpd_round_hook *h = d->round_end[step]; h; h = h->next)
				h->run(d);
		maybe_trim(d);
	}
	return d->error;
}
