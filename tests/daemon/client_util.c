/* SPDX-License-Identifier: MIT */
/* Shared by the daemon tests: see client_util.h. */
#include "client_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

int cu_file_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

bool cu_file_contains(const char *path, const char *needle)
{
	return cu_file_count(path, needle) > 0;
}

double cu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cu_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

int cu_connect(struct cu_conn *c, const char *path, bool nonblock)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	c->fd = fd;
	return 0;
}

void cu_close(struct cu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	for (size_t i = 0; i < c->nfd; i++)
		close(c->fdq[i]);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int cu_send(struct cu_conn *c, const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};
			if (poll(&p, 1, 5000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

int cu_sendf(struct cu_conn *c, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cu_send(c, buf);
}

int cu_fill(struct cu_conn *c, int timeout_ms)
{
	if (c->eof)
		return 0;
	if (timeout_ms != 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int n = poll(&p, 1, timeout_ms);
		if (n == 0)
			return -EAGAIN;
		if (n < 0)
			return -errno;
	}
	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 131072;
		char *b = realloc(c->buf, cap);
		if (!b)
			return -ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	struct iovec iov = {.iov_base = c->buf + c->len, .iov_len = c->cap - c->len};
	union {
		char b[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (c->nfd < CU_MAX_FDS)
					c->fdq[c->nfd++] = fd;
				else
					close(fd);
			}
		}
	if (n == 0)
		c->eof = true;
	c->len += (size_t)n;
	return (int)n;
}

bool cu_take_line(struct cu_conn *c, char *out, size_t cap)
{
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	if (!nl)
		return false;
	size_t n = (size_t)(nl - c->buf);
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(out, c->buf, k);
	out[k] = 0;
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return true;
}

bool cu_read_line(struct cu_conn *c, char *out, size_t cap, int timeout_ms)
{
	double end = cu_now() + timeout_ms / 1000.0;
	while (!cu_take_line(c, out, cap)) {
		int left = (int)((end - cu_now()) * 1000);
		if (left <= 0 || c->eof)
			return false;
		int r = cu_fill(c, left);
		if (r == 0 || (r < 0 && r != -EAGAIN && r != -EINTR))
			return false;
	}
	return true;
}

int cu_take_fd(struct cu_conn *c)
{
	if (!c->nfd)
		return -1;
	int fd = c->fdq[0];
	memmove(c->fdq, c->fdq + 1, (c->nfd - 1) * sizeof(int));
	c->nfd--;
	return fd;
}

bool cu_request(struct cu_conn *c, const char *req, char *reply, size_t cap, int *fd, cu_event_fn on_event,
		void *arg, int timeout_ms)
{
	if (fd)
		*fd = -1;
	if (cu_send(c, req) != 0)
		return false;
	double end = cu_now() + timeout_ms / 1000.0;
	for (;;) {
		int left = (int)((end - cu_now()) * 1000);
		if (left <= 0 || !cu_read_line(c, reply, cap, left))
			return false;
		if (!strncmp(reply, "{\"reply\":", 9))
			break;
		if (on_event)
			on_event(arg, reply);
	}
	if (fd && cu_json_is(reply, "ok", "true") && cu_json_is(reply, "eventfd", "true"))
		*fd = cu_take_fd(c);
	return true;
}

/* ---- JSON fields ---------------------------------------------------------------- */

/* The value of a top-level key: points at its first byte, *end after it. */
static const char *find_value(const char *line, const char *key, const char **vend)
{
	const char *p = line;
	int depth = 0;
	size_t kl = strlen(key);
	while (*p) {
		char ch = *p;
		if (ch == '"') {
			const char *s = ++p;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return NULL;
			const char *e = p++;
			if (depth == 1 && *p == ':' && (size_t)(e - s) == kl && !memcmp(s, key, kl)) {
				const char *v = p + 1;
				const char *q = v;
				int d = 0;
				bool instr = false;
				for (; *q; q++) {
					if (instr) {
						if (*q == '\\' && q[1])
							q++;
						else if (*q == '"')
							instr = false;
						continue;
					}
					if (*q == '"')
						instr = true;
					else if (*q == '{' || *q == '[')
						d++;
					else if (*q == '}' || *q == ']') {
						if (d == 0)
							break;
						d--;
					} else if (*q == ',' && d == 0)
						break;
				}
				*vend = q;
				return v;
			}
			continue;
		}
		if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
		p++;
	}
	return NULL;
}

bool cu_json_str(const char *line, const char *key, char *out, size_t cap)
{
	const char *e, *v = find_value(line, key, &e);
	if (!v || *v != '"' || e - v < 2)
		return false;
	size_t o = 0;
	for (const char *p = v + 1; p < e - 1 && o + 1 < cap; p++) {
		if (*p == '\\' && p + 1 < e - 1) {
			p++;
			char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
			if (*p == 'u' && p + 4 < e - 1) {
				char hex[5] = {p[1], p[2], p[3], p[4], 0};
				c = (char)strtol(hex, NULL, 16);
				p += 4;
			}
			out[o++] = c;
		} else
			out[o++] = *p;
	}
	out[o] = 0;
	return true;
}

bool cu_json_u64(const char *line, const char *key, uint64_t *out)
{
	const char *e, *v = find_value(line, key, &e);
	if (!v || *v < '0' || *v > '9')
		return false;
	*out = strtoull(v, NULL, 10);
	return true;
}

bool cu_json_double(const char *line, const char *key, double *out)
{
	const char *e, *v = find_value(line, key, &e);
	if (!v || !((*v >= '0' && *v <= '9') || *v == '-'))
		return false;
	*out = strtod(v, NULL);
	return true;
}

bool cu_json_is(const char *line, const char *key, const char *literal)
{
	const char *e, *v = find_value(line, key, &e);
	return v && (size_t)(e - v) == strlen(literal) && !memcmp(v, literal, (size_t)(e - v));
}

uint64_t cu_eventfd_take(int fd)
{
	uint64_t v = 0;
	if (fd < 0)
		return 0;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	return v;
}

/* ---- processes ------------------------------------------------------------------- */

int cu_wait_exit(pid_t pid, int timeout_ms)
{
	double end = cu_now() + timeout_ms / 1000.0;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 || cu_now() > end)
			return -1;
		cu_sleep_ms(5);
	}
}

bool cu_stop_daemon(pid_t pid, int timeout_ms, int *status)
{
	kill(pid, SIGTERM);
	*status = cu_wait_exit(pid, timeout_ms);
	if (*status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return false;
	}
	return true;
}

int cu_argv_append(char **argv, int n, int max, va_list ap)
{
	char *a;
	while ((a = va_arg(ap, char *)) && n < max - 1)
		argv[n++] = a;
	argv[n] = NULL;
	return n;
}

void cu_block_stop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigprocmask(SIG_BLOCK, mask, NULL);
}

pid_t cu_spawn_daemon(char *const argv[], const char *socket, const char *errpath, int timeout_ms, int *status)
{
	/* A child must not inherit unwritten TAP output: some runtimes (TSan)
	 * flush stdio even on _exit(). */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (errpath) {
			int fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 2);
				close(fd);
			}
		}
		/* The test may have blocked signals or ignored SIGPIPE. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	double end = cu_now() + timeout_ms / 1000.0;
	while (cu_now() < end) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (status)
				*status = st;
			return -1;
		}
		struct cu_conn c;
		if (socket && cu_connect(&c, socket, false) == 0) {
			cu_close(&c);
			return pid;
		}
		cu_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (status)
		*status = -1;
	return -1;
}

int cu_count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long cu_rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

long cu_raise_nofile(long n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if ((long)rl.rlim_cur < n) {
		rl.rlim_cur = (rlim_t)n < rl.rlim_max ? (rlim_t)n : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

/* ---- traces ----------------------------------------------------------------------- */

int cu_trace_listeners(const char *path, struct cu_listen *out, int max, double *span)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[1024];
	int n = 0;
	double t0 = -1, t1 = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned id;
		char g[256], a[32];
		unsigned long long cnt;
		double t;
		if (sscanf(line, "listen %u %255s %31s", &id, g, a) == 3 && n < max) {
			out[n] = (struct cu_listen){.id = id};
			snprintf(out[n].cgroup, sizeof(out[n].cgroup), "%s", g);
			snprintf(out[n].args, sizeof(out[n].args), "%s", a);
			n++;
		} else if (sscanf(line, "expect %u %llu", &id, &cnt) == 2) {
			for (int i = 0; i < n; i++)
				if (out[i].id == id) {
					out[i].has_expect = true;
					out[i].expect = cnt;
				}
		} else if ((sscanf(line, "vmpressure %lf", &t) == 1 || sscanf(line, "prio %lf", &t) == 1 ||
			    sscanf(line, "work %lf", &t) == 1)) {
			if (t0 < 0)
				t0 = t;
			t1 = t;
		}
	}
	fclose(f);
	if (span)
		*span = t0 >= 0 ? t1 - t0 : 0;
	return n;
}
