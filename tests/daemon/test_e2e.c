/* SPDX-License-Identifier: MIT */
/*
 * vmpressured end to end, over its real socket.
 *
 *   test_e2e VMPRESSURED DATADIR
 *
 * 1. Counts: for each of file1.vmpt and anon1.vmpt, a daemon plays the
 *    trace (--speed 0 --trace-hold); for every `listen` record of the file,
 *    clients subscribe with its cgroup and args: one connection per record
 *    with an eventfd and a stream, one connection holding all of them as
 *    eventfds only, one as streams only with the args spelled differently
 *    ("low" as "low,default": the same subscription to the daemon). Then
 *    SIGUSR1 starts the replay, we wait for the daemon's event total to
 *    settle, and every eventfd count, stream count and `list` count must
 *    equal the file's `expect` record. A client that subscribed 200 times
 *    and never reads is there all along: the others are served regardless,
 *    its eventfds are exact, and once it reads it gets what fit in its
 *    queue plus a `dropped` event for the rest, adding up exactly.
 * 2. Every request kind and every error path (EPROTO, EMSGSIZE with the
 *    connection usable after, EINVAL, ENOENT, EMFILE, unsubscribe, list,
 *    status), pipelined and byte-by-byte requests, clients that disconnect
 *    at awkward moments (no descriptor leaks in the daemon), and on a v1
 *    fixture tree: EACCES for an unprivileged peer, ENOTSUP.
 * 3. Lifecycle: READY=1/STOPPING=1 on $NOTIFY_SOCKET, SIGHUP reopens the
 *    log, SIGTERM exits 0 and removes the socket, a second daemon on a live
 *    socket exits 3, a stale socket is replaced, a non-socket is refused,
 *    bad options and bad traces have their exit codes.
 */
#include "../unit/check.h"
#include "client_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *daemon_path, *data_dir;
static char tmp[256];

#define TIMEOUT 10000

static char line[65536];

static char *path_in_tmp(const char *name)
{
	static char bufs[8][512];
	static int k;
	char *p = bufs[k++ % 8];
	snprintf(p, 512, "%s/%s", tmp, name);
	return p;
}

static pid_t start_daemon(const char *sock, const char *errlog, int *status, ...)
{
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)daemon_path;
	argv[n++] = "--socket";
	argv[n++] = (char *)sock;
	va_list ap;
	va_start(ap, status);
	cu_argv_append(argv, n, 32, ap);
	va_end(ap);
	return cu_spawn_daemon(argv, sock, errlog, TIMEOUT, status);
}

static bool status_field(struct cu_conn *c, const char *key, uint64_t *v)
{
	char r[4096];
	return cu_request(c, "status\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) && cu_json_u64(r, key, v);
}

/* Wait until the daemon's event total reaches `want`, then make sure it
 * stays there (nothing delivered twice). */
static bool wait_events(struct cu_conn *c, uint64_t want, uint64_t *got)
{
	double end = cu_now() + 60;
	*got = 0;
	while (cu_now() < end) {
		if (!status_field(c, "events", got))
			return false;
		if (*got >= want)
			break;
		cu_sleep_ms(20);
	}
	cu_sleep_ms(300);
	return status_field(c, "events", got) && *got == want;
}

/* ---- stream counting ------------------------------------------------------------ */

struct stream_count {
	uint64_t by_id[300];
	uint64_t dropped, events, other;
};

static void count_event(void *arg, const char *l)
{
	struct stream_count *sc = arg;
	uint64_t id, n;
	if (strstr(l, "\"event\":\"pressure\"") && cu_json_u64(l, "id", &id) && cu_json_u64(l, "count", &n)) {
		if (id < 300)
			sc->by_id[id] += n;
		sc->events++;
	} else if (strstr(l, "\"event\":\"dropped\"") && cu_json_u64(l, "count", &n))
		sc->dropped += n;
	else
		sc->other++;
}

/* Read everything that arrives within quiet_ms of silence. */
static void drain(struct cu_conn *c, struct stream_count *sc, int quiet_ms)
{
	for (;;) {
		while (cu_take_line(c, line, sizeof(line)))
			count_event(sc, line);
		int r = cu_fill(c, quiet_ms);
		if (r <= 0)
			break;
	}
	while (cu_take_line(c, line, sizeof(line)))
		count_event(sc, line);
}

/* ---- 1. counts of a trace ---------------------------------------------------------- */

static void trace_counts(const char *trace_name, bool with_slow_reader)
{
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/%s", data_dir, trace_name);
	struct cu_listen ls[64];
	int nl = cu_trace_listeners(trace, ls, 64, NULL);
	REQUIRE(nl > 0, "%s has listen records", trace);
	const char *sock = path_in_tmp("counts.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("counts.err"), &st, "--source", "trace", "--trace", trace,
				 "--speed", "0", "--trace-hold", NULL);
	REQUIRE(pid > 0, "daemon started on %s (status %d)", trace_name, st);

	/* one connection per listener: eventfd and stream */
	struct cu_conn per[64];
	int per_fd[64];
	uint64_t per_id[64];
	bool ok = true;
	char r[4096];
	for (int i = 0; i < nl; i++) {
		REQUIRE(cu_connect(&per[i], sock, false) == 0, "connect");
		snprintf(line, sizeof(line), "subscribe %s %s eventfd stream\n", ls[i].cgroup, ls[i].args);
		ok &= cu_request(&per[i], line, r, sizeof(r), &per_fd[i], NULL, NULL, TIMEOUT) &&
		      cu_json_is(r, "ok", "true") && per_fd[i] >= 0 && cu_json_u64(r, "id", &per_id[i]);
	}
	CHECK(ok, "%s: %d connections subscribed with eventfd+stream, each got its eventfd", trace_name, nl);

	/* one connection with all as eventfds, one with all as streams */
	struct cu_conn all_efd, all_stream;
	int efds[64];
	uint64_t sids[64];
	REQUIRE(cu_connect(&all_efd, sock, false) == 0 && cu_connect(&all_stream, sock, false) == 0, "connect");
	ok = true;
	for (int i = 0; i < nl; i++) {
		snprintf(line, sizeof(line), "subscribe %s %s eventfd\n", ls[i].cgroup, ls[i].args);
		ok &= cu_request(&all_efd, line, r, sizeof(r), &efds[i], NULL, NULL, TIMEOUT) && efds[i] >= 0;
		/* the same subscription spelled differently shares the source one */
		char args[64];
		snprintf(args, sizeof(args), "%s%s", ls[i].args, strchr(ls[i].args, ',') ? "" : ",default");
		snprintf(line, sizeof(line), "subscribe /%s/ %s stream\n", ls[i].cgroup, args);
		int fd;
		ok &= cu_request(&all_stream, line, r, sizeof(r), &fd, NULL, NULL, TIMEOUT) && fd < 0 &&
		      cu_json_u64(r, "id", &sids[i]);
		char cg[256];
		ok &= cu_json_str(r, "cgroup", cg, sizeof(cg)) && !strcmp(cg, ls[i].cgroup);
	}
	CHECK(ok, "%s: one connection with %d eventfds, one with %d streams (paths normalised)", trace_name, nl, nl);

	/* the client that never reads */
	struct cu_conn slow;
	int slow_efd[200];
	int nslow = with_slow_reader ? 200 : 0;
	uint64_t slow_expect = 0;
	if (nslow) {
		REQUIRE(cu_connect(&slow, sock, false) == 0, "connect");
		ok = true;
		for (int i = 0; i < nslow; i++) {
			snprintf(line, sizeof(line), "subscribe %s %s eventfd stream\n", ls[0].cgroup, ls[0].args);
			ok &= cu_request(&slow, line, r, sizeof(r), &slow_efd[i], NULL, NULL, TIMEOUT) && slow_efd[i] >= 0;
		}
		CHECK(ok, "a client subscribed %d times to listener 0 (and will not read)", nslow);
		slow_expect = ls[0].expect;
	}

	uint64_t total = 0;
	for (int i = 0; i < nl; i++)
		total += 3 * ls[i].expect;
	total += (uint64_t)nslow * slow_expect;

	struct cu_conn ctl;
	REQUIRE(cu_connect(&ctl, sock, false) == 0, "connect");
	uint64_t subs;
	CHECK(status_field(&ctl, "subscriptions", &subs) && subs == (uint64_t)(3 * nl + nslow),
	      "status counts %d subscriptions", 3 * nl + nslow);

	kill(pid, SIGUSR1);
	uint64_t got;
	/* The other clients are served while the slow one's queue is full:
	 * status keeps answering and the events keep flowing. */
	CHECK(wait_events(&ctl, total, &got), "%s: replay done, the daemon delivered %llu notifications (want %llu)",
	      trace_name, (unsigned long long)got, (unsigned long long)total);

	/* eventfds and streams of the per-listener connections */
	int bad_efd = 0, bad_stream = 0, bad_list = 0;
	for (int i = 0; i < nl; i++) {
		uint64_t e = cu_eventfd_take(per_fd[i]);
		struct stream_count sc = {0};
		drain(&per[i], &sc, 100);
		if (e != ls[i].expect) {
			bad_efd++;
			printf("# listener %u (%s %s): eventfd %llu, expect %llu\n", ls[i].id, ls[i].cgroup, ls[i].args,
			       (unsigned long long)e, (unsigned long long)ls[i].expect);
		}
		if (sc.by_id[per_id[i]] != ls[i].expect || sc.dropped) {
			bad_stream++;
			printf("# listener %u: stream %llu, expect %llu\n", ls[i].id,
			       (unsigned long long)sc.by_id[per_id[i]], (unsigned long long)ls[i].expect);
		}
		uint64_t ev;
		if (!cu_request(&per[i], "list\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) ||
		    !cu_json_u64(strstr(r, "[{") ? strstr(r, "[{") + 1 : r, "events", &ev) || ev != ls[i].expect)
			bad_list++;
	}
	CHECK(!bad_efd, "%s: every eventfd count equals the trace's expect record", trace_name);
	CHECK(!bad_stream, "%s: every stream count equals the expect record, nothing dropped", trace_name);
	CHECK(!bad_list, "%s: list reports the same counts", trace_name);

	int bad = 0;
	for (int i = 0; i < nl; i++)
		if (cu_eventfd_take(efds[i]) != ls[i].expect)
			bad++;
	CHECK(!bad, "%s: the eventfd-only connection's counts are exact", trace_name);
	struct stream_count sc = {0};
	drain(&all_stream, &sc, 100);
	bad = 0;
	for (int i = 0; i < nl; i++)
		if (sc.by_id[sids[i]] != ls[i].expect)
			bad++;
	CHECK(!bad && !sc.dropped, "%s: the stream-only connection's counts are exact", trace_name);

	if (nslow) {
		uint64_t dropped;
		CHECK(status_field(&ctl, "dropped", &dropped) && dropped > 0,
		      "the slow reader had stream events dropped (%llu)", (unsigned long long)dropped);
		bad = 0;
		for (int i = 0; i < nslow; i++)
			if (cu_eventfd_take(slow_efd[i]) != slow_expect)
				bad++;
		CHECK(!bad, "the slow reader's %d eventfds are exact all the same (never dropped)", nslow);
		struct stream_count ss = {0};
		drain(&slow, &ss, 300);
		uint64_t seen = 0;
		for (int i = 0; i < 300; i++)
			seen += ss.by_id[i];
		CHECK(ss.dropped > 0 && seen + ss.dropped == (uint64_t)nslow * slow_expect,
		      "once it reads: %llu events + a dropped event of %llu = %llu, all of them",
		      (unsigned long long)seen, (unsigned long long)ss.dropped,
		      (unsigned long long)nslow * slow_expect);
		CHECK(status_field(&ctl, "dropped", &got) && got == dropped && ss.dropped == dropped,
		      "status.dropped matches the dropped event");
		for (int i = 0; i < nslow; i++)
			close(slow_efd[i]);
		cu_close(&slow);
	}

	for (int i = 0; i < nl; i++) {
		close(per_fd[i]);
		close(efds[i]);
		cu_close(&per[i]);
	}
	cu_close(&all_efd);
	cu_close(&all_stream);
	cu_close(&ctl);
	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: SIGTERM: exit 0", trace_name);
}

/* ---- 2. requests and errors ---------------------------------------------------------- */

static bool req_err(struct cu_conn *c, const char *req, const char *err)
{
	char r[4096], e[32];
	if (!cu_request(c, req, r, sizeof(r), NULL, NULL, NULL, TIMEOUT))
		return false;
	bool ok = cu_json_is(r, "ok", "false") && cu_json_str(r, "error", e, sizeof(e)) && !strcmp(e, err);
	if (!ok)
		printf("# %s-> %s\n", req, r);
	return ok;
}

/* Requests that must each be refused with their error, in order: one
 * check a row. */
struct refusal {
	const char *req, *err, *what;
};

static void check_refused(struct cu_conn *c, const struct refusal *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK(req_err(c, t[i].req, t[i].err), "%s", t[i].what);
}

static bool req_ok(struct cu_conn *c, const char *req, char *r, size_t cap)
{
	if (!cu_request(c, req, r, cap, NULL, NULL, NULL, TIMEOUT))
		return false;
	bool ok = cu_json_is(r, "ok", "true");
	if (!ok)
		printf("# %s-> %s\n", req, r);
	return ok;
}

static bool is_eventfd(int fd)
{
	char p[64], target[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[eventfd]");
}

static void requests(void)
{
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/file1.vmpt", data_dir);
	const char *sock = path_in_tmp("req.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("req.err"), &st, "--trace", trace, "--speed", "0",
				 "--trace-hold", NULL);
	REQUIRE(pid > 0, "daemon for the request tests");
	struct cu_conn c;
	REQUIRE(cu_connect(&c, sock, false) == 0, "connect");
	char r[65536], s[64];
	uint64_t v;
	/* The probe connection of cu_spawn_daemon() may not be closed yet. */
	for (int i = 0; i < 500 && !(status_field(&c, "clients", &v) && v == 1); i++)
		cu_sleep_ms(10);
	int fds_one = cu_count_fds(pid);

	CHECK(req_ok(&c, "hello 1\n", r, sizeof(r)) && cu_json_u64(r, "version", &v) && v == 1 &&
		      cu_json_str(r, "reply", s, sizeof(s)) && !strcmp(s, "hello"),
	      "hello 1: version 1");
	CHECK(req_err(&c, "hello 2\n", "EPROTO"), "hello 2: EPROTO");
	CHECK(req_ok(&c, "status\n", r, sizeof(r)) && cu_json_str(r, "source", s, sizeof(s)) && !strcmp(s, "trace") &&
		      cu_json_u64(r, "clients", &v) && v == 1 && cu_json_u64(r, "subscriptions", &v) && v == 0 &&
		      cu_json_u64(r, "version", &v) && v == 1,
	      "status: trace source, 1 client, 0 subscriptions");
	double up;
	CHECK(cu_json_double(r, "uptime_s", &up) && up >= 0 && up < 600, "status: uptime_s %.3f", up);

	int fd;
	CHECK(cu_request(&c, "subscribe fa low eventfd\n", r, sizeof(r), &fd, NULL, NULL, TIMEOUT) &&
		      cu_json_is(r, "ok", "true") && cu_json_u64(r, "id", &v) && v == 1 && fd >= 0 && is_eventfd(fd),
	      "subscribe ... eventfd: id 1 and an eventfd with the reply");
	int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0;
	CHECK(fd >= 0 && (fl & O_NONBLOCK), "the eventfd is non-blocking (EFD_NONBLOCK)");
	CHECK(fd >= 0 && cu_eventfd_take(fd) == 0, "nothing counted before the replay starts");
	if (fd >= 0)
		close(fd);
	CHECK(req_ok(&c, "subscribe fa/fb medium,hierarchy stream\n", r, sizeof(r)) && cu_json_u64(r, "id", &v) &&
		      v == 2 && cu_json_is(r, "eventfd", "false") && cu_json_is(r, "stream", "true") && c.nfd == 0,
	      "subscribe ... stream: id 2, no descriptor");
	CHECK(req_ok(&c, "list\n", r, sizeof(r)) && strstr(r, "\"id\":1,\"cgroup\":\"fa\",\"args\":\"low\"") &&
		      strstr(r, "\"id\":2,\"cgroup\":\"fa/fb\",\"args\":\"medium,hierarchy\""),
	      "list: both subscriptions, in id order");
	CHECK(req_ok(&c, "unsubscribe 1\n", r, sizeof(r)) && cu_json_u64(r, "id", &v) && v == 1, "unsubscribe 1");
	CHECK(req_err(&c, "unsubscribe 1\n", "ENOENT"), "unsubscribe 1 again: ENOENT");
	CHECK(req_ok(&c, "list\n", r, sizeof(r)) && !strstr(r, "\"id\":1,") && strstr(r, "\"id\":2,"),
	      "list: only id 2 left");
	CHECK(req_ok(&c, "subscribe fa low stream\n", r, sizeof(r)) && cu_json_u64(r, "id", &v) && v == 3,
	      "ids are not reused: the next is 3");

	/* EPROTO */
	CHECK(req_err(&c, "frobnicate\n", "EPROTO"), "unknown verb: EPROTO");
	CHECK(req_ok(&c, "status\n", r, sizeof(r)), "... and the connection still works");
	static const struct refusal malformed[] = {
		{"subscribe fa low\n", "EPROTO", "no flag: EPROTO"},
		{"subscribe fa low eventfd eventfd\n", "EPROTO", "a flag twice: EPROTO"},
		{"subscribe fa low evnetfd\n", "EPROTO", "a misspelt flag: EPROTO"},
		{"list  \n", "EPROTO", "trailing spaces: EPROTO"},
		{"list\r\n", "EPROTO", "CRLF: EPROTO"},
		{"\n", "EPROTO", "an empty line: EPROTO"},
		{"li\x01st\n", "EPROTO", "a control byte: EPROTO"},
		{"subscribe caf\xc3\xa9 low stream\n", "EPROTO", "a non-ASCII byte: EPROTO"},
		{"unsubscribe 01\n", "EPROTO", "an id with a leading zero: EPROTO"},
	};
	check_refused(&c, malformed, sizeof(malformed) / sizeof(malformed[0]));
	CHECK(cu_request(&c, "bogus\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) && cu_json_is(r, "reply", "null"),
	      "an unrecognised verb is answered with reply:null");
	/* a NUL byte inside a request */
	CHECK(cu_send(&c, "") == 0 && send(c.fd, "sta\0tus\n", 8, MSG_NOSIGNAL) == 8 &&
		      cu_read_line(&c, r, sizeof(r), TIMEOUT) && strstr(r, "\"error\":\"EPROTO\""),
	      "a NUL byte: EPROTO");

	/* EMSGSIZE, and the connection keeps working */
	static char big[3000];
	memset(big, 'x', sizeof(big));
	big[2998] = '\n';
	big[2999] = 0;
	CHECK(req_err(&c, big, "EMSGSIZE"), "a 2999-byte line: EMSGSIZE");
	CHECK(req_ok(&c, "status\n", r, sizeof(r)), "... and the next request is answered");
	memset(big, 'y', 1024);
	big[1024] = '\n';
	big[1025] = 0;
	CHECK(req_err(&c, big, "EMSGSIZE"), "1025 bytes with the newline: EMSGSIZE");
	memcpy(big, "subscribe fa", 12);
	memset(big + 12, '/', 1000);
	memcpy(big + 1012, " low stream\n", 13);
	CHECK(req_ok(&c, big, r, sizeof(r)), "1024 bytes with the newline is accepted (a request padded with slashes)");
	/* An overlong line sent in pieces, with a request after it in the same write. */
	memset(big, 'z', 2000);
	big[2000] = 0;
	CHECK(cu_send(&c, big) == 0 && cu_send(&c, big) == 0 && cu_send(&c, "zz\nstatus\n") == 0 &&
		      cu_read_line(&c, r, sizeof(r), TIMEOUT) && strstr(r, "EMSGSIZE") &&
		      cu_read_line(&c, r, sizeof(r), TIMEOUT) && strstr(r, "\"reply\":\"status\""),
	      "a 4002-byte line in pieces: one EMSGSIZE, then the status reply");

	/* EINVAL, ENOENT */
	static const struct refusal invalid[] = {
		{"subscribe fa lowx stream\n", "EINVAL", "bad level: EINVAL"},
		{"subscribe fa low,sideways stream\n", "EINVAL", "bad mode: EINVAL"},
		{"subscribe ../etc low stream\n", "EINVAL", "'..' escaping the root: EINVAL"},
		{"subscribe fa/../.. low eventfd\n", "EINVAL", "'fa/../..': EINVAL"},
		{"subscribe nosuch low stream\n", "ENOENT", "no such cgroup: ENOENT"},
		{"subscribe fa/nosuch low eventfd\n", "ENOENT", "no such cgroup below fa: ENOENT"},
	};
	check_refused(&c, invalid, sizeof(invalid) / sizeof(invalid[0]));
	CHECK(c.nfd == 0, "failed eventfd subscriptions pass no descriptor");
	CHECK(req_err(&c, "unsubscribe 999\n", "ENOENT"), "unsubscribe of an unknown id: ENOENT");
	CHECK(req_err(&c, "unsubscribe 18446744073709551615\n", "ENOENT"), "unsubscribe of the largest id: ENOENT");

	/* Pipelined: many requests in one write, replies in order. */
	cu_send(&c, "status\nlist\nbogus\nhello 1\nunsubscribe 77\n");
	const char *order[] = {"\"reply\":\"status\"", "\"reply\":\"list\"", "\"reply\":null", "\"reply\":\"hello\"",
			       "\"reply\":\"unsubscribe\""};
	bool inorder = true;
	for (int i = 0; i < 5; i++)
		inorder &= cu_read_line(&c, r, sizeof(r), TIMEOUT) && strstr(r, order[i]);
	CHECK(inorder, "five pipelined requests: five replies, in order");
	/* One byte at a time */
	const char *slowreq = "status\n";
	for (const char *p = slowreq; *p; p++) {
		send(c.fd, p, 1, MSG_NOSIGNAL);
		cu_sleep_ms(2);
	}
	CHECK(cu_read_line(&c, r, sizeof(r), TIMEOUT) && strstr(r, "\"reply\":\"status\""), "a request sent byte by byte");

	/* EMFILE: 256 subscriptions per connection */
	struct cu_conn m;
	REQUIRE(cu_connect(&m, sock, false) == 0, "connect");
	bool all = true;
	for (int i = 0; i < 256; i++)
		all &= req_ok(&m, i % 2 ? "subscribe fa low stream\n" : "subscribe fa/fb critical,local eventfd\n", r,
			      sizeof(r));
	CHECK(all, "256 subscriptions on one connection");
	CHECK(req_err(&m, "subscribe fa low stream\n", "EMFILE"), "the 257th: EMFILE");
	CHECK(req_ok(&m, "unsubscribe 5\n", r, sizeof(r)) && req_ok(&m, "subscribe fa low stream\n", r, sizeof(r)),
	      "after one unsubscribe there is room for one more");
	CHECK(req_ok(&m, "list\n", r, sizeof(r)) && strlen(r) > 256 * 60, "a list of 256 subscriptions (%zu bytes)",
	      strlen(r));
	for (int fd2; (fd2 = cu_take_fd(&m)) >= 0;)
		close(fd2);
	cu_close(&m);

	/* Disconnects at awkward moments */
	struct cu_conn d1;
	for (int i = 0; i < 20; i++) {
		if (cu_connect(&d1, sock, false))
			break;
		switch (i % 5) {
		case 0: /* subscribe with an eventfd and vanish before the reply */
			cu_send(&d1, "subscribe fa low eventfd stream\nsubscribe fa/fb low eventfd\n");
			break;
		case 1: /* half a request */
			cu_send(&d1, "subscr");
			break;
		case 2: /* half an overlong line */
			memset(big, 'q', 1500);
			big[1500] = 0;
			cu_send(&d1, big);
			break;
		case 3: /* read the reply, keep the fd, vanish with the subscription */
			cu_request(&d1, "subscribe fa critical eventfd\n", r, sizeof(r), &fd, NULL, NULL, TIMEOUT);
			if (fd >= 0)
				close(fd);
			break;
		case 4: /* shut down the write side after a request: still answered */
			cu_send(&d1, "status\n");
			shutdown(d1.fd, SHUT_WR);
			CHECK(cu_read_line(&d1, r, sizeof(r), TIMEOUT) && strstr(r, "\"reply\":\"status\""),
			      "a half-closed connection still gets its reply");
			CHECK(cu_fill(&d1, TIMEOUT) == 0, "... and is closed by the daemon after it");
			break;
		}
		cu_close(&d1);
	}
	cu_sleep_ms(200);
	CHECK(status_field(&c, "clients", &v) && v == 1, "after 20 disconnects only this client is left (%llu)",
	      (unsigned long long)v);
	CHECK(status_field(&c, "subscriptions", &v) && v == 3, "... with its 3 subscriptions (%llu)",
	      (unsigned long long)v);
	int fds1 = cu_count_fds(pid);
	CHECK(fds1 == fds_one, "the daemon's descriptors: %d with this one client at the start, %d now", fds_one, fds1);
	cu_close(&c);
	cu_sleep_ms(100);
	CHECK(cu_count_fds(pid) == fds_one - 1, "no descriptor leaked: %d after the last client left", cu_count_fds(pid));

	/* A client queued far beyond its limit with replies: the daemon stops
	 * reading it, serves others, and answers everything once it reads. */
	struct cu_conn flood, other;
	REQUIRE(cu_connect(&flood, sock, false) == 0 && cu_connect(&other, sock, false) == 0, "connect");
	enum { NFLOOD = 40000 };
	static char many[NFLOOD * 5 + 1];
	size_t o = 0;
	for (int i = 0; i < NFLOOD; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "list\n");
	int fl2 = fcntl(flood.fd, F_GETFL);
	fcntl(flood.fd, F_SETFL, fl2 | O_NONBLOCK);
	size_t sent = 0;
	for (;;) {
		ssize_t w = send(flood.fd, many + sent, o - sent, MSG_NOSIGNAL);
		if (w <= 0 || (sent += (size_t)w) == o)
			break;
	}
	cu_sleep_ms(300);
	uint64_t qv;
	CHECK(req_ok(&other, "status\n", r, sizeof(r)) && cu_json_u64(r, "clients", &qv) && qv == 2,
	      "another client is served while one floods without reading (%zu of %zu bytes of requests sent)", sent, o);
	int replies = 0;
	double end = cu_now() + 30;
	while (replies < NFLOOD && cu_now() < end && !flood.eof) {
		struct pollfd pf = {.fd = flood.fd, .events = POLLIN | (sent < o ? POLLOUT : 0)};
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if ((pf.revents & POLLOUT) && sent < o) {
			ssize_t w = send(flood.fd, many + sent, o - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
		}
		if (pf.revents & POLLIN) {
			cu_fill(&flood, 0);
			while (cu_take_line(&flood, r, sizeof(r)))
				if (strstr(r, "\"reply\":\"list\""))
					replies++;
		}
	}
	CHECK(sent == o && replies == NFLOOD, "the flooding client gets all %d replies once it reads (%d)", NFLOOD,
	      replies);
	cu_close(&flood);
	cu_close(&other);

	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	struct stat sb;
	CHECK(lstat(sock, &sb) != 0 && errno == ENOENT, "the socket is removed");
}

/* ---- 2a. the connection limit ------------------------------------------------------ */

static void connection_limit(void)
{
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/file1.vmpt", data_dir);
	if (cu_raise_nofile(4200) < 4200) {
		printf("ok %d - # SKIP the connection limit needs 4200 descriptors here\n", ++check_count);
		return;
	}
	const char *sock = path_in_tmp("limit.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("limit.err"), &st, "--trace", trace, NULL);
	REQUIRE(pid > 0, "daemon for the connection limit");
	static struct cu_conn cs[4097];
	int n = 0;
	for (; n < 4096; n++)
		if (cu_connect(&cs[n], sock, false))
			break;
	char r[4096];
	uint64_t v = 0;
	/* the last of them asks: the daemon has accepted all by then */
	CHECK(n == 4096 && cu_request(&cs[n - 1], "status\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) &&
		      cu_json_u64(r, "clients", &v) && v == 4096,
	      "4096 connections are served (%d connected, status says %llu)", n, (unsigned long long)v);
	struct cu_conn extra;
	/* Accepted and closed at once: the send may already fail (EPIPE), the
	 * read sees the end (or a reset), never a reply. */
	bool closed = cu_connect(&extra, sock, false) == 0;
	if (closed) {
		cu_send(&extra, "status\n");
		closed = cu_fill(&extra, TIMEOUT) <= 0 && extra.len == 0;
	}
	CHECK(closed, "the 4097th is closed without a reply");
	cu_close(&extra);
	cu_close(&cs[0]);
	double end = cu_now() + 5;
	bool back = false;
	while (!back && cu_now() < end) {
		struct cu_conn again;
		if (cu_connect(&again, sock, false) == 0) {
			back = cu_request(&again, "status\n", r, sizeof(r), NULL, NULL, NULL, 1000) &&
			       cu_json_is(r, "ok", "true");
			cu_close(&again);
		}
		if (!back)
			cu_sleep_ms(20);
	}
	CHECK(back, "once one has gone, a new connection is served again");
	for (int i = 1; i < n; i++)
		cu_close(&cs[i]);
	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "... and the daemon exits 0");
}

/* ---- 2a'. out of descriptors ------------------------------------------------------- */

/* The daemon's descriptor limit lowered under it (prlimit): accept() backs
 * off instead of spinning, an eventfd subscription gets EMFILE, and
 * everybody is served once descriptors are free again. */
static void fd_exhaustion(void)
{
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/file1.vmpt", data_dir);
	const char *sock = path_in_tmp("fds.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("fds.err"), &st, "--trace", trace, "--trace-hold", NULL);
	REQUIRE(pid > 0, "daemon for descriptor exhaustion");
	struct rlimit rl = {.rlim_cur = 32, .rlim_max = 32};
	if (prlimit(pid, RLIMIT_NOFILE, &rl, NULL) != 0) {
		printf("ok %d - # SKIP prlimit on the daemon: %s\n", ++check_count, strerror(errno));
		cu_stop_daemon(pid, TIMEOUT, &st);
		return;
	}
	enum { N = 40 };
	struct cu_conn cs[N];
	int n = 0;
	for (; n < N; n++)
		if (cu_connect(&cs[n], sock, false))
			break;
	char r[4096];
	CHECK(n == N, "%d connections made (the kernel queues what the daemon cannot accept)", n);
	/* The first one is surely accepted: fill the daemon's table with eventfds. */
	int got_emfile = 0, fds = 0;
	for (int i = 0; i < 40; i++) {
		int fd;
		if (!cu_request(&cs[0], "subscribe fa low eventfd\n", r, sizeof(r), &fd, NULL, NULL, TIMEOUT))
			break;
		if (fd >= 0) {
			close(fd);
			fds++;
		} else if (strstr(r, "\"error\":\"EMFILE\"") && strstr(r, "out of file descriptors")) {
			got_emfile++;
			break;
		} else {
			printf("# %s\n", r);
			break;
		}
	}
	CHECK(got_emfile == 1, "out of descriptors, subscribe ... eventfd gets EMFILE (after %d eventfds)", fds);
	CHECK(cu_request(&cs[0], "status\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT), "... and the connection works on");
	/* Give descriptors back: the first connection's subscriptions. */
	cu_close(&cs[0]);
	for (int i = 1; i < N / 2; i++)
		cu_close(&cs[i]);
	int answered = 0;
	for (int i = N / 2; i < N; i++)
		answered += cu_request(&cs[i], "status\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) &&
			    cu_json_is(r, "ok", "true");
	CHECK(answered == N - N / 2, "once descriptors are free, every waiting connection is served (%d of %d)", answered,
	      N - N / 2);
	for (int i = N / 2; i < N; i++)
		cu_close(&cs[i]);
	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the daemon exits 0");
	char logp[600];
	snprintf(logp, sizeof(logp), "%s", path_in_tmp("fds.err"));
	FILE *f = fopen(logp, "r");
	int lines = 0;
	bool paused = false;
	char buf[1024];
	while (f && fgets(buf, sizeof(buf), f)) {
		lines++;
		paused |= strstr(buf, "pausing new connections") != NULL;
	}
	if (f)
		fclose(f);
	CHECK(paused && lines < 50, "accept() paused and said so, without flooding the log (%d lines)", lines);
}

/* ---- 2b. permissions on a v1 fixture tree --------------------------------------------- */

static void permissions(void)
{
	char root[512];
	snprintf(root, sizeof(root), "%s/cg", tmp);
	mkdir(root, 0755);
	char p[600];
	snprintf(p, sizeof(p), "%s/cgroup.event_control", root);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/secret", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/open", root);
	mkdir(p, 0755);
	const char *sock = path_in_tmp("perm.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("perm.err"), &st, "--source", "v1", "--cgroup-root", root, NULL);
	REQUIRE(pid > 0, "a v1 daemon on a fixture tree");
	struct cu_conn c;
	REQUIRE(cu_connect(&c, sock, false) == 0, "connect");
	char r[4096], s[64];
	CHECK(req_ok(&c, "status\n", r, sizeof(r)) && cu_json_str(r, "source", s, sizeof(s)) && !strcmp(s, "cgroup-v1"),
	      "status: cgroup-v1");
	/* No memory.pressure_level in the fixture: the source cannot watch. */
	CHECK(req_err(&c, "subscribe open low eventfd\n", "ENOTSUP"), "no memory.pressure_level: ENOTSUP");
	CHECK(req_err(&c, "subscribe secret low stream\n", "ENOTSUP"), "root passes the permission check on secret");
	CHECK(req_err(&c, "subscribe missing low stream\n", "ENOENT"), "v1: no such cgroup: ENOENT");
	cu_close(&c);

	/* An unprivileged peer */
	int pfd[2];
	REQUIRE(pipe(pfd) == 0, "pipe");
	fflush(NULL); /* see cu_spawn_daemon() */
	pid_t child = fork();
	if (child == 0) {
		close(pfd[0]);
		char res[64] = "";
		gid_t g = 65534;
		if (setgroups(1, &g) || setgid(65534) || setuid(65534))
			strcpy(res, "setuid failed");
		else if (cu_connect(&c, sock, false))
			strcpy(res, "connect failed");
		else {
			strcat(res, req_err(&c, "subscribe secret low stream\n", "EACCES") ? "A" : "a");
			strcat(res, req_err(&c, "subscribe open low stream\n", "ENOTSUP") ? "N" : "n");
			strcat(res, req_err(&c, "subscribe missing low stream\n", "ENOENT") ? "E" : "e");
			strcat(res, req_ok(&c, "status\n", r, sizeof(r)) ? "S" : "s");
		}
		if (write(pfd[1], res, strlen(res)) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	char res[64] = "";
	ssize_t n = read(pfd[0], res, sizeof(res) - 1);
	res[n > 0 ? n : 0] = 0;
	close(pfd[0]);
	waitpid(child, NULL, 0);
	CHECK(!strcmp(res, "ANES"),
	      "uid 65534: EACCES on a 0700 cgroup, ENOTSUP on a 0755 one, ENOENT on none, status works (%s)", res);
	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "v1 fixture daemon: exit 0");
}

/* ---- 3. lifecycle ----------------------------------------------------------------- */

static int bind_dgram(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	return fd;
}

static bool recv_notify(int fd, const char *want, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[1024];
	double end = cu_now() + timeout_ms / 1000.0;
	while (cu_now() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (strstr(buf, want))
			return true;
	}
	return false;
}

static int run_status(char *const argv[])
{
	fflush(NULL); /* see cu_spawn_daemon() */
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = cu_wait_exit(pid, TIMEOUT);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void lifecycle(void)
{
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/file1.vmpt", data_dir);
	/* a socket in directories that do not exist yet */
	const char *sock = path_in_tmp("run/vmpressure/control");
	const char *logf = path_in_tmp("daemon.log");
	int nfd = bind_dgram(path_in_tmp("notify"));
	REQUIRE(nfd >= 0, "notify socket");
	setenv("NOTIFY_SOCKET", path_in_tmp("notify"), 1);
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("life.err"), &st, "--trace", trace, "--trace-hold", "--log-file",
				 logf, "--socket-mode", "0660", NULL);
	unsetenv("NOTIFY_SOCKET");
	REQUIRE(pid > 0, "daemon with --log-file and a socket in new directories");
	CHECK(recv_notify(nfd, "READY=1", TIMEOUT), "READY=1 on $NOTIFY_SOCKET");
	struct stat sb;
	CHECK(stat(path_in_tmp("run/vmpressure"), &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 07777) == 0755,
	      "the socket's directory was created 0755");
	CHECK(lstat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode) && (sb.st_mode & 0777) == 0660, "--socket-mode 0660: %o",
	      sb.st_mode & 0777);
	CHECK(cu_file_contains(logf, "serving on"), "the log file says it is serving");

	/* a second daemon on the same socket */
	char *argv2[] = {(char *)daemon_path, "--socket", (char *)sock, "--trace", trace, NULL};
	CHECK(run_status(argv2) == 3, "a second daemon on a live socket exits 3");
	CHECK(lstat(sock, &sb) == 0, "... and leaves the first one's socket alone");

	/* SIGHUP reopens the log */
	char moved[600];
	snprintf(moved, sizeof(moved), "%s.1", logf);
	rename(logf, moved);
	kill(pid, SIGHUP);
	double end = cu_now() + 5;
	while (access(logf, F_OK) != 0 && cu_now() < end)
		cu_sleep_ms(10);
	cu_sleep_ms(50);
	CHECK(cu_file_contains(logf, "log reopened"), "SIGHUP: a new log file, which says it was reopened");
	CHECK(!cu_file_contains(moved, "log reopened"), "... and the rotated one does not");

	/* SIGUSR1 starts the held trace */
	kill(pid, SIGUSR1);
	end = cu_now() + 5;
	while (!cu_file_contains(logf, "source started") && cu_now() < end)
		cu_sleep_ms(10);
	CHECK(cu_file_contains(logf, "SIGUSR1: source started"), "SIGUSR1 starts the trace");

	CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	CHECK(recv_notify(nfd, "STOPPING=1", 2000), "STOPPING=1 on $NOTIFY_SOCKET");
	CHECK(lstat(sock, &sb) != 0, "the socket is removed on exit");
	CHECK(cu_file_contains(logf, "stopped"), "the log says it stopped");
	close(nfd);

	/* a stale socket (bound, never removed) is replaced */
	const char *stale = path_in_tmp("stale.sock");
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
	CHECK(sfd >= 0 && bind(sfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "a stale socket file");
	close(sfd);
	pid = start_daemon(stale, path_in_tmp("stale.err"), &st, "--trace", trace, NULL);
	CHECK(pid > 0, "the daemon starts over a stale socket");
	if (pid > 0)
		CHECK(cu_stop_daemon(pid, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "... and stops");

	/* a regular file where the socket should be */
	const char *notsock = path_in_tmp("file.sock");
	close(open(notsock, O_CREAT | O_WRONLY, 0644));
	char *argv3[] = {(char *)daemon_path, "--socket", (char *)notsock, "--trace", trace, NULL};
	CHECK(run_status(argv3) == 73, "a regular file at the socket path: exit 73");
	CHECK(lstat(notsock, &sb) == 0 && S_ISREG(sb.st_mode), "... and the file is left alone");

	/* exit codes of bad starts */
	char *u1[] = {(char *)daemon_path, "--frobnicate", NULL};
	CHECK(run_status(u1) == 64, "unknown option: 64");
	char *u2[] = {(char *)daemon_path, "--source", "trace", "--socket", (char *)path_in_tmp("x.sock"), NULL};
	CHECK(run_status(u2) == 64, "--source trace without --trace: 64");
	char *u3[] = {(char *)daemon_path, "--socket-mode", "999", NULL};
	CHECK(run_status(u3) == 64, "--socket-mode 999: 64");
	char *u4[] = {(char *)daemon_path, "--speed", "-1", "--trace", trace, NULL};
	CHECK(run_status(u4) == 64, "--speed -1: 64");
	char *u5[] = {(char *)daemon_path, "--trace", (char *)path_in_tmp("missing.vmpt"), "--socket",
		      (char *)path_in_tmp("y.sock"), NULL};
	CHECK(run_status(u5) == 74, "a missing trace file: 74");
	const char *badtrace = path_in_tmp("bad.vmpt");
	FILE *f = fopen(badtrace, "w");
	fputs("# vmptrace 1\ngroup / -\nvmpressure x / 1 2 3 0xca\n", f);
	fclose(f);
	char *u6[] = {(char *)daemon_path, "--trace", (char *)badtrace, "--socket", (char *)path_in_tmp("z.sock"), NULL};
	CHECK(run_status(u6) == 2, "a malformed trace file: 2");
	char *u7[] = {(char *)daemon_path, "--source", "v1", "--cgroup-root", (char *)path_in_tmp("nowhere"),
		      "--socket", (char *)path_in_tmp("w.sock"), NULL};
	CHECK(run_status(u7) == 69, "no v1 hierarchy at --cgroup-root: 69");
	char *u8[] = {(char *)daemon_path, "--trace", trace, "--socket", (char *)path_in_tmp("v.sock"), "--log-file",
		      (char *)path_in_tmp("no/such/dir/log"), NULL};
	CHECK(run_status(u8) == 73, "a log file that cannot be created: 73");
	char *u9[] = {(char *)daemon_path, "--version", NULL};
	CHECK(run_status(u9) == 0, "--version: 0");
}

/* ---- debounced subscriptions ---------------------------------------------------- */

/* anon1 played at full speed to a raw stream and a debounced one of the
 * same listener: the debounced stream carries only transitions, which
 * alternate, are fewer than the raw notifications, reach the highest raw
 * level, and end in none (raised by the daemon's timer, after the trace);
 * its eventfd still counts every notification. */
static void debounced(void)
{
	char trace[512], r[4096];
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", data_dir);
	struct cu_listen ls[64];
	int nl = cu_trace_listeners(trace, ls, 64, NULL);
	REQUIRE(nl > 0, "anon1 has listeners");
	const struct cu_listen *l0 = &ls[0];
	const char *sock = path_in_tmp("db.sock");
	int st;
	pid_t pid = start_daemon(sock, path_in_tmp("db.err"), &st, "--trace", trace, "--speed", "0", "--trace-hold", NULL);
	REQUIRE(pid > 0, "daemon started (status %d)", st);
	struct cu_conn raw, db;
	REQUIRE(cu_connect(&raw, sock, false) == 0 && cu_connect(&db, sock, false) == 0, "connect");
	snprintf(line, sizeof(line), "subscribe %s %s stream\n", l0->cgroup, l0->args);
	CHECK(cu_request(&raw, line, r, sizeof(r), NULL, NULL, NULL, TIMEOUT) && cu_json_is(r, "ok", "true") &&
		      !strstr(r, "debounce"),
	      "a raw stream subscription (no debounce field in its reply)");
	int efd = -1;
	snprintf(line, sizeof(line), "subscribe %s %s debounce=dwell=0s,window=1s stream eventfd\n", l0->cgroup, l0->args);
	char cfg[256];
	CHECK(cu_request(&db, line, r, sizeof(r), &efd, NULL, NULL, TIMEOUT) && cu_json_is(r, "ok", "true") && efd >= 0 &&
		      cu_json_str(r, "debounce", cfg, sizeof(cfg)) && !strcmp(cfg, "window=1s,enter=2,leave=0,dwell=0s,psi=off"),
	      "a debounced subscription: its reply carries the canonical config (%s)", r);
	static const struct {
		const char *req, *err;
	} bad[] = {
		{"subscribe aa low debounce\n", "EPROTO"},
		{"subscribe aa low stream debounce debounce\n", "EPROTO"},
		{"subscribe aa low stream debounce=enter=0\n", "EINVAL"},
		{"subscribe aa low stream debounce=\n", "EPROTO"},
		{"subscribe aa low stream debounce=foo=1\n", "EINVAL"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char e[32];
		CHECK(cu_request(&db, bad[i].req, r, sizeof(r), NULL, NULL, NULL, TIMEOUT) && cu_json_is(r, "ok", "false") &&
			      cu_json_str(r, "error", e, sizeof(e)) && !strcmp(e, bad[i].err),
		      "%.*s: %s (%s)", (int)strlen(bad[i].req) - 1, bad[i].req, bad[i].err, r);
	}
	kill(pid, SIGUSR1);
	/* The raw stream: every notification and the highest level. */
	uint64_t nraw = 0;
	int raw_max = -1;
	double t0 = cu_now();
	while (nraw < l0->expect && cu_now() - t0 < 30 && cu_read_line(&raw, r, sizeof(r), TIMEOUT)) {
		char lv[32];
		if (!strstr(r, "\"event\":\"pressure\"") || !cu_json_str(r, "level", lv, sizeof(lv)))
			continue;
		nraw++;
		int k = !strcmp(lv, "low") ? 0 : !strcmp(lv, "medium") ? 1 : 2;
		raw_max = k > raw_max ? k : raw_max;
	}
	CHECK(nraw == l0->expect, "raw stream: %llu notifications (expect %llu)", (unsigned long long)nraw,
	      (unsigned long long)l0->expect);
	/* The debounced one, until it is back to none. */
	static const char *const names[] = {"none", "low", "medium", "critical"};
	uint64_t ntr = 0, other = 0;
	bool alternate = true, evidence = true;
	int state = 0, state_max = 0;
	t0 = cu_now();
	while (cu_now() - t0 < 20 && cu_read_line(&db, r, sizeof(r), 10000)) {
		char from[16], to[16];
		if (!strstr(r, "\"event\":\"transition\"") || !cu_json_str(r, "from", from, sizeof(from)) ||
		    !cu_json_str(r, "to", to, sizeof(to))) {
			other++;
			continue;
		}
		ntr++;
		int f = -1, t = -1;
		for (int k = 0; k < 4; k++) {
			if (!strcmp(from, names[k]))
				f = k;
			if (!strcmp(to, names[k]))
				t = k;
		}
		alternate &= f == state && t >= 0 && t != f;
		uint64_t n;
		double w;
		evidence &= cu_json_u64(r, "low", &n) && cu_json_u64(r, "critical", &n) && cu_json_double(r, "window_s", &w) &&
			    w == 1.0 && cu_json_double(r, "previous_s", &w);
		state = t;
		state_max = t > state_max ? t : state_max;
		if (state == 0)
			break;
	}
	CHECK(ntr > 0 && other == 0, "the debounced stream: %llu transitions, nothing else (%llu other lines)",
	      (unsigned long long)ntr, (unsigned long long)other);
	CHECK(alternate && evidence, "transitions alternate and carry their evidence");
	CHECK(ntr <= nraw, "fewer transitions (%llu) than raw notifications (%llu)", (unsigned long long)ntr,
	      (unsigned long long)nraw);
	CHECK(state_max == raw_max + 1, "the highest state (%s) is the highest raw level", names[state_max]);
	CHECK(state == 0, "back to none after the trace: raised by the daemon's timer");
	CHECK(cu_eventfd_take(efd) == l0->expect, "its eventfd counted every notification");
	close(efd);
	cu_close(&raw);
	cu_close(&db);
	kill(pid, SIGTERM);
	cu_wait_exit(pid, 5000);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_e2e VMPRESSURED DATADIR\n");
		return 64;
	}
	daemon_path = argv[1];
	data_dir = argv[2];
	signal(SIGPIPE, SIG_IGN);
	cu_raise_nofile(4096);
	snprintf(tmp, sizeof(tmp), "%s/vmpd-e2e.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(tmp), "temporary directory");
	chmod(tmp, 0755); /* an unprivileged client must reach the socket */

	trace_counts("file1.vmpt", true);
	trace_counts("anon1.vmpt", false);
	requests();
	debounced();
	connection_limit();
	fd_exhaustion();
	if (geteuid() == 0)
		permissions();
	else
		printf("ok %d - # SKIP permission tests need root (to become another uid)\n", ++check_count);
	lifecycle();

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return check_done("daemon end to end");
}
