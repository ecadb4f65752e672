/* SPDX-License-Identifier: MIT */
/*
 * The action runner: one shell command per event, never two at once, with
 * a least interval between starts. The contract is in vmpressure.h; this
 * is how it is kept.
 *
 * State. At most one run (pid, its pidfd, when it started, whether the
 * timeout has signalled it) and at most one pending run (its environment
 * additions, how many events it stands for). An event starts a run at once
 * when none is going and the interval since the last start has passed;
 * otherwise it becomes the pending run, replacing (coalescing) the one
 * there. Keeping the latest rather than the first is the point: an action
 * should see the pressure as it is when it runs, not as it was when the
 * previous run began. Dropping instead would lose the last word of a
 * burst, which is the one that matters.
 *
 * Waking up. The caller polls one fd, an epoll set of our own that holds
 * a timerfd and, while a child runs, its pidfd (readable once it has
 * exited). The timer is always armed for the earliest of: the pending
 * run's turn, the running one's timeout, the SIGKILL after the timeout's
 * SIGTERM, and, where pidfd_open() does not exist (kernels before 5.3) or
 * fails, a 20 ms poll of waitid(WNOHANG). Dispatch does whatever is due
 * and re-arms. Nothing here touches SIGCHLD: waitid() on the one pid we
 * forked cannot take another part of the program's children.
 *
 * Spawning. fork(), then in the child only async-signal-safe calls (the
 * caller may have threads): its own process group, so that a timeout (and
 * vmp_exec_free()) reaches whatever the shell started; empty signal mask
 * and default dispositions, because the CLI and the daemon block their
 * signals for a signalfd and the daemon ignores SIGPIPE, and a child
 * inherits both across exec; stdin from /dev/null; every descriptor above
 * 2 closed (close_range(), else a loop up to the descriptor limit read
 * before the fork), because a descriptor the program did not mark
 * close-on-exec (a socket of the daemon's, an eventfd of a client's) must
 * not outlive it in a command. Nor do the daemon's protections: the
 * child's OOM score adjustment goes back to 0 (raising it is always
 * allowed, and a command must not inherit a daemon's -900: it would be the
 * last process the OOM killer takes), its nice value and I/O priority to
 * the default, its scheduling policy to SCHED_OTHER, and its memory
 * unlocked (fork(2) already drops the locks; munlockall() states it).
 * Each is best effort: a value the child may not set stays as it was.
 * The environment is built before the fork:
 * the caller's, less every VMP_* variable (a stale one from the caller's
 * own environment would look like evidence), plus the event's.
 *
 * Rate limiting counts from the start (fork) of the previous run,
 * including one that failed to start, so that a failing fork cannot turn
 * into a busy loop.
 */
#include "consumers/exec.h"
#include "util/clock.h"
#include "export.h"
#include "vmpressure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Without a pidfd, how often a running child is looked at. */
#define POLL_NS (20u * 1000000u)
#define NONE UINT64_MAX

struct vmp_exec {
	char *command, *shell;
	uint64_t interval_ns, timeout_ns;
	int stdout_fd, stderr_fd;
	vmp_exec_fn fn;
	void *arg;
	int epfd, tfd;
	bool no_pidfd;          /* vmp__exec_no_pidfd() */

	/* the run going, if pid > 0 */
	pid_t pid;
	int pidfd;              /* -1: poll waitid() on the timer */
	uint64_t started_ns;
	uint64_t run_events;
	bool term_sent, kill_sent, timed_out;
	uint64_t kill_at_ns;
	bool have_last;
	uint64_t last_start_ns;

	/* the pending run, if pending */
	bool pending;
	char **penv;            /* npenv strings, each malloc'd */
	size_t npenv;
	uint64_t pevents;

	struct vmp_exec_stats st;
};

VMP_EXPORT void vmp_exec_config_init(struct vmp_exec_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_ms = VMP_EXEC_DEFAULT_INTERVAL_MS;
	cfg->stdout_fd = -1;
	cfg->stderr_fd = -1;
}

VMP_EXPORT int vmp_exec_new(vmp_exec **out, const struct vmp_exec_config *cfg)
{
	if (!out || !cfg || !cfg->command || !*cfg->command)
		return -EINVAL;
	struct vmp_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->epfd = x->tfd = x->pidfd = -1;
	x->command = strdup(cfg->command);
	x->shell = strdup(cfg->shell ? cfg->shell : "/bin/sh");
	int rc = -ENOMEM;
	if (!x->command || !x->shell)
		goto fail;
	x->interval_ns = (uint64_t)cfg->interval_ms * 1000000u;
	x->timeout_ns = (uint64_t)cfg->timeout_ms * 1000000u;
	x->stdout_fd = cfg->stdout_fd;
	x->stderr_fd = cfg->stderr_fd;
	x->fn = cfg->on_exit;
	x->arg = cfg->arg;
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	x->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (x->epfd < 0 || x->tfd < 0) {
		rc = -errno;
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = x->tfd};
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->tfd, &ev) != 0) {
		rc = -errno;
		goto fail;
	}
	*out = x;
	return 0;
fail:
	vmp_exec_free(x);
	return rc;
}

static void pending_clear(struct vmp_exec *x)
{
	for (size_t i = 0; i < x->npenv; i++)
		free(x->penv[i]);
	free(x->penv);
	x->penv = NULL;
	x->npenv = 0;
	x->pending = false;
	x->pevents = 0;
}

static void close_pidfd(struct vmp_exec *x)
{
	if (x->pidfd >= 0) {
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, x->pidfd, NULL);
		close(x->pidfd);
		x->pidfd = -1;
	}
}

VMP_EXPORT void vmp_exec_free(vmp_exec *x)
{
	if (!x)
		return;
	if (x->pid > 0) {
		kill(-x->pid, SIGKILL);
		siginfo_t si;
		while (waitid(P_PID, (id_t)x->pid, &si, WEXITED) < 0 && errno == EINTR) {
		}
	}
	close_pidfd(x);
	pending_clear(x);
	if (x->tfd >= 0)
		close(x->tfd);
	if (x->epfd >= 0)
		close(x->epfd);
	free(x->command);
	free(x->shell);
	free(x);
}

VMP_EXPORT int vmp_exec_fd(const vmp_exec *x)
{
	return x ? x->epfd : -1;
}

VMP_EXPORT bool vmp_exec_busy(const vmp_exec *x)
{
	return x && (x->pid > 0 || x->pending);
}

VMP_EXPORT void vmp_exec_stats(const vmp_exec *x, struct vmp_exec_stats *st)
{
	if (!x || !st)
		return;
	*st = x->st;
	st->pending = x->pending ? 1 : 0;
}

static uint64_t turn_ns(const struct vmp_exec *x)
{
	return x->have_last ? x->last_start_ns + x->interval_ns : 0;
}

/* The timer for the earliest thing due; disarmed if nothing is. */
static int rearm(struct vmp_exec *x)
{
	uint64_t at = NONE;
	if (x->pid > 0) {
		if (x->pidfd < 0)
			at = vmp__mono_ns() + POLL_NS;
		if (x->timeout_ns && !x->term_sent && x->started_ns + x->timeout_ns < at)
			at = x->started_ns + x->timeout_ns;
		if (x->term_sent && !x->kill_sent && x->kill_at_ns < at)
			at = x->kill_at_ns;
	} else if (x->pending) {
		at = turn_ns(x);
	}
	struct itimerspec it = {0};
	if (at != NONE) {
		if (at == 0)
			at = 1; /* 0 would disarm: "now" is any time in the past */
		it.it_value.tv_sec = (time_t)(at / 1000000000u);
		it.it_value.tv_nsec = (long)(at % 1000000000u);
	}
	return timerfd_settime(x->tfd, TFD_TIMER_ABSTIME, &it, NULL) ? -errno : 0;
}

/* "NAME=value" with NAME a shell-usable variable name. */
static bool valid_var(const char *s)
{
	if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (; *s && *s != '='; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return *s == '=';
}

static size_t name_len(const char *s)
{
	return (size_t)(strchr(s, '=') - s);
}

/* The child's environment, before the fork: pointers into environ and
 * into the additions (the later of two equal names wins); NULL on ENOMEM. */
static char **build_env(char *const *add, size_t nadd)
{
	size_t ne = 0;
	for (char **e = environ; e && *e; e++)
		ne++;
	char **env = malloc((ne + nadd + 1) * sizeof(*env));
	if (!env)
		return NULL;
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "VMP_", 4) != 0)
			env[n++] = *e;
	for (size_t i = 0; i < nadd; i++) {
		bool later = false;
		size_t len = name_len(add[i]);
		for (size_t j = i + 1; j < nadd && !later; j++)
			later = name_len(add[j]) == len && !memcmp(add[i], add[j], len);
		if (!later)
			env[n++] = add[i];
	}
	env[n] = NULL;
	return env;
}

/* In the child, async-signal-safe: see "Spawning" at the top. */
static void reset_protections(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "0", 1) != 1) {
			/* lowering a positive value needs CAP_SYS_RESOURCE */
		}
		close(fd);
	}
	munlockall();
	setpriority(PRIO_PROCESS, 0, 0);
	if (sched_getscheduler(0) != SCHED_OTHER) {
		struct sched_param sp = {0};
		sched_setscheduler(0, SCHED_OTHER, &sp);
	}
#ifdef SYS_ioprio_set
	syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 0 /* IOPRIO_CLASS_NONE: the default */);
#endif
}

/* In the child: only async-signal-safe calls from here on. */
static void child(const struct vmp_exec *x, char *const *env, int maxfd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL); /* EINVAL for SIGKILL, SIGSTOP and the libc's own: fine */
	setpgid(0, 0);
	reset_protections();
	if (x->stdout_fd >= 0 && x->stdout_fd != 1)
		dup2(x->stdout_fd, 1);
	if (x->stderr_fd >= 0 && x->stderr_fd != 2)
		dup2(x->stderr_fd, 2);
	int nul = open("/dev/null", O_RDONLY);
	if (nul > 0) {
		dup2(nul, 0);
		close(nul);
	}
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
		for (int fd = 3; fd < maxfd; fd++)
			close(fd);
	char *argv[] = {"sh", "-c", x->command, NULL};
	execve(x->shell, argv, env);
	_exit(127); /* as the shell does for a command it cannot run */
}

static void report(struct vmp_exec *x, const struct vmp_exec_result *r)
{
	if (r->error || r->exit_code != 0)
		x->st.failed++;
	if (x->fn)
		x->fn(r, x->arg);
}

static int open_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
		return 1 << 20;
	return (int)rl.rlim_cur;
}

static void start(struct vmp_exec *x)
{
	char coalesced[48];
	snprintf(coalesced, sizeof(coalesced), "VMP_COALESCED=%llu", (unsigned long long)(x->pevents - 1));
	/* VMP_COALESCED first, so that an event's own variable of that name wins. */
	char **add = malloc((x->npenv + 1) * sizeof(*add));
	char **env = NULL;
	if (add) {
		add[0] = coalesced;
		memcpy(add + 1, x->penv, x->npenv * sizeof(*add));
		env = build_env(add, x->npenv + 1);
	}
	uint64_t events = x->pevents;
	int maxfd = open_limit();
	uint64_t now = vmp__mono_ns();
	pid_t pid = env ? fork() : -1;
	int err = env ? errno : ENOMEM;
	if (pid == 0)
		child(x, env, maxfd);
	free(env);
	free(add);
	pending_clear(x);
	x->have_last = true;
	x->last_start_ns = now;
	if (pid < 0) {
		struct vmp_exec_result r = {.error = -err, .exit_code = -1, .events = events};
		report(x, &r);
		return;
	}
	x->st.runs++;
	x->pid = pid;
	x->started_ns = now;
	x->run_events = events;
	x->term_sent = x->kill_sent = x->timed_out = false;
	/* Also done in the child: whichever runs first, the group exists
	 * before anyone signals it. EACCES once the child has exec'd. */
	setpgid(pid, pid);
	x->pidfd = -1;
#ifdef SYS_pidfd_open
	if (!x->no_pidfd)
		x->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (x->pidfd >= 0) {
		fcntl(x->pidfd, F_SETFD, FD_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = x->pidfd};
		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->pidfd, &ev) != 0) {
			close(x->pidfd);
			x->pidfd = -1; /* the timer polls instead */
		}
	}
}

/* The run is over if waitid() says so; report it. */
static bool reap(struct vmp_exec *x)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int rc;
	while ((rc = waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG)) < 0 && errno == EINTR) {
	}
	struct vmp_exec_result r = {.pid = x->pid, .exit_code = -1, .events = x->run_events,
				    .timed_out = x->timed_out};
	if (rc < 0) {
		r.error = -errno; /* ECHILD: someone else reaped it */
	} else if (si.si_pid != x->pid) {
		return false; /* still running */
	} else if (si.si_code == CLD_EXITED) {
		r.exit_code = si.si_status;
	} else {
		r.signal = si.si_status;
	}
	r.duration_ns = vmp__mono_ns() - x->started_ns;
	x->pid = 0;
	close_pidfd(x);
	report(x, &r);
	return true;
}

VMP_EXPORT int vmp_exec_dispatch(vmp_exec *x)
{
	if (!x)
		return -EINVAL;
	uint64_t ticks;
	if (read(x->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	if (x->pid > 0 && !reap(x)) {
		uint64_t now = vmp__mono_ns();
		if (x->timeout_ns && !x->term_sent && now >= x->started_ns + x->timeout_ns) {
			kill(-x->pid, SIGTERM);
			x->term_sent = x->timed_out = true;
			x->st.timed_out++;
			x->kill_at_ns = now + (uint64_t)VMP_EXEC_KILL_GRACE_MS * 1000000u;
		} else if (x->term_sent && !x->kill_sent && now >= x->kill_at_ns) {
			kill(-x->pid, SIGKILL);
			x->kill_sent = true;
		}
	}
	/* The callback may have made a new pending run: it waits its turn. */
	if (x->pid <= 0 && x->pending && vmp__mono_ns() >= turn_ns(x))
		start(x);
	return rearm(x);
}

VMP_EXPORT int vmp_exec_trigger(vmp_exec *x, const char *const *env, size_t n)
{
	if (!x || (n && !env))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!valid_var(env[i]))
			return -EINVAL;
	char **copy = calloc(n ? n : 1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(copy[i] = strdup(env[i]))) {
			while (i--)
				free(copy[i]);
			free(copy);
			return -ENOMEM;
		}
	uint64_t events = 1;
	if (x->pending) {
		x->st.coalesced++;
		events += x->pevents;
		pending_clear(x);
	}
	x->pending = true;
	x->penv = copy;
	x->npenv = n;
	x->pevents = events;
	x->st.events++;
	if (x->pid <= 0 && vmp__mono_ns() >= turn_ns(x))
		start(x);
	return rearm(x);
}

void vmp__exec_no_pidfd(vmp_exec *x)
{
	x->no_pidfd = true;
}
