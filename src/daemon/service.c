/* SPDX-License-Identifier: MIT */
/*
 * What the daemon does to stay alive under the pressure it reports, and
 * what it tells its service manager: sd_notify(3) datagrams, the watchdog,
 * locked memory, the file descriptor store. Depends on loop.c (the watchdog's timer is one of its fds)
 * and log.c.
 *
 * sd_notify is written by hand: the protocol is one sendto() and not worth
 * a libsystemd dependency. The socket is opened once and kept, so that a
 * watchdog ping under memory pressure neither opens nor allocates.
 *
 * The watchdog ($WATCHDOG_USEC, for us if $WATCHDOG_PID is unset or ours)
 * is a timerfd in the event loop at half the interval, as sd_watchdog_
 * enabled(3) advises: the ping is sent by the loop itself, so a loop
 * wedged in a callback stops pinging and systemd restarts the daemon.
 *
 * Locked memory (mlockall): under pressure the kernel reclaims file pages
 * first, and the daemon's code is file pages: a daemon whose text was
 * dropped answers an event only after reading itself back from a disk
 * that is busy swapping. MCL_ONFAULT (Linux 4.4) locks pages as they are
 * touched rather than populating every mapping, which keeps the resident
 * size near what is used; without it, plain MCL_CURRENT | MCL_FUTURE. The
 * stack is grown first so that its pages are present, hence locked, before
 * a burst needs them. MCL_FUTURE without CAP_IPC_LOCK and with a finite
 * RLIMIT_MEMLOCK would make every allocation beyond the limit fail, so
 * then only the current mappings are locked.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

/* What is pre-faulted of the stack before locking: the loop's deepest
 * path (a request's reply, formatting with VMPD_LINE_MAX buffers, through
 * vfprintf) stays within a few pages; 128 KiB is a margin of that, and
 * costs nothing while unlocked. docs: vmpressured(8), RESOURCES. */
#define STACK_PREFAULT (128u << 10)

static struct {
	int fd;                 /* -1: not opened yet, -2: no $NOTIFY_SOCKET */
	struct sockaddr_un sa;
	socklen_t salen;
	struct vmpd_io timer;
	uint64_t interval_us;
	uint64_t pings;
} sv = {.fd = -1, .timer.fd = -1};

static int notify_open(void)
{
	if (sv.fd != -1)
		return sv.fd;
	sv.fd = -2;
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return sv.fd;
	size_t n = strlen(path);
	if (n >= sizeof(sv.sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
		vmpd_log(VMPD_LOG_WARNING, "NOTIFY_SOCKET=%s: not a socket path; not notifying", path);
		return sv.fd;
	}
	sv.sa.sun_family = AF_UNIX;
	memcpy(sv.sa.sun_path, path, n);
	if (path[0] == '@')
		sv.sa.sun_path[0] = 0; /* abstract namespace */
	sv.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vmpd_log(VMPD_LOG_WARNING, "sd_notify: socket: %s; not notifying", strerror(errno));
		return sv.fd;
	}
	return sv.fd = fd;
}

void vmpd_notify(const char *msg)
{
	int fd = notify_open();
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sv.sa,
		   sv.salen) < 0)
		vmpd_log(VMPD_LOG_WARNING, "sd_notify %.*s to %s: %s", (int)strcspn(msg, "\n"), msg,
			 getenv("NOTIFY_SOCKET"), strerror(errno));
}

static void on_watchdog(struct vmpd *d, struct vmpd_io *io, uint32_t events)
{
	(void)d;
	(void)events;
	uint64_t ticks;
	if (read(io->fd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: nothing expired; pinging early is harmless */
	}
	vmpd_notify("WATCHDOG=1");
	sv.pings++;
}

int vmpd_watchdog_start(struct vmpd *d)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	if (!us || !*us)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(us, &end, 10);
	if (errno || *end || !v) {
		vmpd_log(VMPD_LOG_WARNING, "WATCHDOG_USEC=%s: not a number of microseconds; no watchdog", us);
		return 0;
	}
	if (pid && *pid) {
		unsigned long long p = strtoull(pid, &end, 10);
		if (*end || p != (unsigned long long)getpid())
			return 0; /* meant for another process (ours is a child of it) */
	}
	/* Not for --exec children, which inherit the environment. */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (notify_open() < 0) {
		vmpd_log(VMPD_LOG_WARNING, "WATCHDOG_USEC is set but NOTIFY_SOCKET is not usable; no watchdog");
		return 0;
	}
	uint64_t half = v / 2 ? v / 2 : 1;
	sv.timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sv.timer.fd < 0)
		return -errno;
	sv.timer.ready = on_watchdog;
	struct itimerspec it = {
		.it_interval = {.tv_sec = (time_t)(half / 1000000u), .tv_nsec = (long)(half % 1000000u) * 1000},
	};
	it.it_value = it.it_interval;
	int rc = timerfd_settime(sv.timer.fd, 0, &it, NULL) ? -errno : vmpd_loop_add(d, &sv.timer, EPOLLIN);
	if (rc) {
		close(sv.timer.fd);
		sv.timer.fd = -1;
		return rc;
	}
	sv.interval_us = v;
	vmpd_log(VMPD_LOG_INFO, "watchdog: WATCHDOG=1 every %.3f s (WATCHDOG_USEC=%llu)", (double)half / 1e6, v);
	return 0;
}

void vmpd_service_fini(struct vmpd *d)
{
	if (sv.timer.fd >= 0) {
		vmpd_loop_del(d, &sv.timer);
		close(sv.timer.fd);
		sv.timer.fd = -1;
	}
	if (sv.fd >= 0)
		close(sv.fd);
	sv.fd = -1;
}

/* ---- locked memory ---- */

/* The mlockall() flags in force when they lock on fault, else 0: only
 * then can a trim unlock and relock without populating every mapping. */
static int relock_flags;

static __attribute__((noinline)) void grow_stack(void)
{
	volatile char buf[STACK_PREFAULT];
	for (size_t i = 0; i < sizeof(buf); i += 4096)
		buf[i] = 0;
	buf[sizeof(buf) - 1] = 0;
}

static bool have_ipc_lock(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2];
	memset(c, 0, sizeof(c));
	if (syscall(SYS_capget, &h, c) != 0)
		return false;
	return c[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

static void fmt_limit(char *s, size_t n, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(s, n, "unlimited");
	else
		snprintf(s, n, "%llu KiB", (unsigned long long)v / 1024);
}

void vmpd_lock_memory(bool on)
{
	if (!on) {
		vmpd_log(VMPD_LOG_INFO, "memory not locked (--no-mlock)");
		return;
	}
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl); /* EPERM under the unit's filter: fine */
		getrlimit(RLIMIT_MEMLOCK, &rl);
	}
	bool cap = have_ipc_lock();
	bool future = cap || rl.rlim_cur == RLIM_INFINITY;
	char lim[32];
	fmt_limit(lim, sizeof(lim), rl.rlim_cur);
	grow_stack();
	int flags = MCL_CURRENT | (future ? MCL_FUTURE : 0);
	const char *how = "on fault";
	int rc = -1;
#ifdef MCL_ONFAULT
	rc = mlockall(flags | MCL_ONFAULT);
	if (rc && errno != EINVAL)
		goto failed;
#endif
	if (rc) {
		how = "populated (no MCL_ONFAULT before Linux 4.4)";
		rc = mlockall(flags);
	}
	if (!rc) {
		if (strcmp(how, "on fault") == 0)
#ifdef MCL_ONFAULT
			relock_flags = flags | MCL_ONFAULT;
#else
			relock_flags = 0;
#endif
		if (future)
			vmpd_log(VMPD_LOG_INFO, "memory locked, %s, now and as it grows", how);
		else
			vmpd_log(VMPD_LOG_WARNING,
				 "memory locked, %s, but only what is mapped now: RLIMIT_MEMLOCK is %s and "
				 "there is no CAP_IPC_LOCK, so later allocations are not locked "
				 "(LimitMEMLOCK=infinity or CAP_IPC_LOCK locks them too; --no-mlock "
				 "says not to try)", how, lim);
		return;
	}
failed:;
	int e = errno;
	const char *why = e == EPERM ? "RLIMIT_MEMLOCK is 0 and there is no CAP_IPC_LOCK"
			: e == ENOMEM ? "more is mapped than RLIMIT_MEMLOCK allows, without CAP_IPC_LOCK"
				      : strerror(e);
	vmpd_log(VMPD_LOG_WARNING,
		 "cannot lock memory (mlockall: %s; RLIMIT_MEMLOCK %s): %s. Running unlocked: under "
		 "memory pressure the daemon may be paged out and answer late. Raise LimitMEMLOCK= "
		 "(ulimit -l) or grant CAP_IPC_LOCK; --no-mlock says not to try",
		 strerror(e), lim, why);
}

/* ---- the service manager's file descriptor store ---- */

/*
 * Connections that must outlive the process: a memory-pressure endpoint's
 * clients cannot reconnect (sd-event connects once), so each is handed to
 * systemd's store (FDSTORE=1, FileDescriptorStoreMax= in the unit) and
 * comes back to the restarted daemon as $LISTEN_FDS. systemd drops an
 * entry itself when its peer hangs up; FDSTOREREMOVE is for the ones the
 * daemon closes. Without $NOTIFY_SOCKET none of this happens.
 */
int vmpd_fdstore_add(int fd, const char *name)
{
	int sfd = notify_open();
	if (sfd < 0)
		return -ENOTCONN;
	char msg[300];
	int n = snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	struct iovec iov = {.iov_base = msg, .iov_len = (size_t)n};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = {.msg_name = &sv.sa, .msg_namelen = sv.salen, .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

void vmpd_fdstore_remove(const char *name)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	if (notify_open() >= 0)
		vmpd_notify(msg);
}

bool vmpd_fdstore_on(void)
{
	return notify_open() >= 0;
}

/* sd_listen_fds_with_names(3), by hand: fds 3.. named by $LISTEN_FDNAMES. */
size_t vmpd_listen_fds(struct vmpd_listen_fd *out, size_t max)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	size_t got = 0;
	if (pid && nfds && strtoull(pid, NULL, 10) == (unsigned long long)getpid()) {
		unsigned long n = strtoul(nfds, NULL, 10);
		const char *p = names ? names : "";
		for (unsigned long i = 0; i < n && i < 65536; i++) {
			int fd = 3 + (int)i;
			size_t len = strcspn(p, ":");
			if (got < max) {
				out[got].fd = fd;
				snprintf(out[got].name, sizeof(out[got].name), "%.*s", (int)len, p);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
				got++;
			} else {
				close(fd);
			}
			p += len;
			if (*p == ':')
				p++;
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return got;
}

/* malloc_trim() gives freed pages back with madvise(MADV_DONTNEED), which
 * fails on locked pages: under mlockall the RSS would keep every peak. So
 * the trim runs with the memory unlocked, and the lock is taken again on
 * fault (nothing is populated by it). */
void vmpd_trim_memory(void)
{
#ifdef __GLIBC__
	if (!relock_flags) {
		malloc_trim(0);
		return;
	}
	munlockall();
	malloc_trim(0);
	if (mlockall(relock_flags) != 0) {
		vmpd_log(VMPD_LOG_WARNING, "cannot lock memory again after a trim (mlockall: %s): running unlocked",
			 strerror(errno));
		relock_flags = 0;
	}
#endif
}
