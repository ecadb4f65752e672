/* SPDX-License-Identifier: MIT */
/*
 * What the daemon tests, the helpers and the RSS benchmark share: a
 * protocol client (lines, replies, SCM_RIGHTS descriptors in arrival
 * order), reading fields out of the daemon's JSON lines, starting a
 * daemon and waiting for its socket, a vmptrace file's listen/expect
 * records, and /proc figures of a process (descriptors, VmRSS).
 *
 * Deliberately independent of src/daemon: the tests speak the protocol as
 * documented, not as the daemon's own code formats it.
 */
#ifndef VMPD_CLIENT_UTIL_H
#define VMPD_CLIENT_UTIL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CU_MAX_FDS 512

struct cu_conn {
	int fd;
	char *buf; /* received, not yet taken as lines */
	size_t len, cap;
	int fdq[CU_MAX_FDS]; /* passed descriptors, in arrival order */
	size_t nfd;
	bool eof;
};

/* Connect (blocking socket unless nonblock). -errno on failure. */
int cu_connect(struct cu_conn *c, const char *path, bool nonblock);
void cu_close(struct cu_conn *c);
/* Write all of s (blocking; a non-blocking socket is polled). */
int cu_send(struct cu_conn *c, const char *s);
int cu_sendf(struct cu_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read what is there (nonblock) or wait up to timeout_ms for something.
 * Returns bytes read, 0 on EOF, -EAGAIN on timeout, -errno. */
int cu_fill(struct cu_conn *c, int timeout_ms);
/* Take one complete line (without '\n') into out; false if none buffered. */
bool cu_take_line(struct cu_conn *c, char *out, size_t cap);
/* The next line, waiting up to timeout_ms. */
bool cu_read_line(struct cu_conn *c, char *out, size_t cap, int timeout_ms);
/* The oldest passed descriptor, or -1. */
int cu_take_fd(struct cu_conn *c);

/*
 * Send one request and wait for its reply line (events that arrive before
 * it go to on_event if set). If the reply is a successful subscribe with
 * "eventfd":true, *fd gets the descriptor that came with it (else -1).
 * Returns false on timeout or EOF.
 */
typedef void (*cu_event_fn)(void *arg, const char *line);
bool cu_request(struct cu_conn *c, const char *req, char *reply, size_t cap, int *fd,
		cu_event_fn on_event, void *arg, int timeout_ms);

/* Fields of a flat JSON object line (top-level keys only). */
bool cu_json_str(const char *line, const char *key, char *out, size_t cap);
bool cu_json_u64(const char *line, const char *key, uint64_t *out);
bool cu_json_double(const char *line, const char *key, double *out);
bool cu_json_is(const char *line, const char *key, const char *literal); /* true/false/null */

/* An eventfd's counter, read (and so reset). 0 if nothing was added. */
uint64_t cu_eventfd_take(int fd);

/* Start the daemon: argv[0] is its path. Its stderr goes to errpath (if
 * set). Waits until `socket` accepts connections (or the daemon exits, or
 * timeout_ms). Returns its pid, or -1 (with *status set if it exited). */
pid_t cu_spawn_daemon(char *const argv[], const char *socket, const char *errpath,
		      int timeout_ms, int *status);
/* Wait up to timeout_ms for pid to exit; its wait status, or -1. */
int cu_wait_exit(pid_t pid, int timeout_ms);
/* SIGTERM, then cu_wait_exit() into *status; one that does not exit in
 * time is killed and reaped, and the answer is false. */
bool cu_stop_daemon(pid_t pid, int timeout_ms, int *status);
/* Append ap's strings, up to a NULL, to argv from argv[n] on, keeping room
 * for the NULL written after them (argv holds max); the new count. */
int cu_argv_append(char **argv, int n, int max, va_list ap);

/* Descriptors open in a process; VmRSS in KiB. -1 on error. */
int cu_count_fds(pid_t pid);
long cu_rss_kib(pid_t pid);
/* Raise RLIMIT_NOFILE to at least n (up to the hard limit). The new soft
 * limit. */
long cu_raise_nofile(long n);

/* A vmptrace file's listeners. */
struct cu_listen {
	unsigned id;
	char cgroup[256];
	char args[32];
	bool has_expect;
	uint64_t expect;
};
/* Returns the number of listeners (at most max), -errno on error. Also the
 * time span of its reclaim records in seconds if span is set. */
int cu_trace_listeners(const char *path, struct cu_listen *out, int max, double *span);

/* Lines of the file at path that contain needle (0 if it cannot be read);
 * whether there is one. Daemon logs and outputs are checked with them. */
int cu_file_count(const char *path, const char *needle);
bool cu_file_contains(const char *path, const char *needle);

double cu_now(void);
void cu_sleep_ms(int ms);
/* A helper that runs until told to stop: SIGTERM and SIGINT blocked and
 * put in *mask, for sigwait() or a signalfd. */
void cu_block_stop_signals(sigset_t *mask);

#endif
