/* SPDX-License-Identifier: MIT */
/*
 * vmpressured under load: 1000 concurrent connections churning
 * subscriptions while a trace plays.
 *
 *   test_stress VMPRESSURED DATADIR      (VMP_STRESS_SECONDS, default 30)
 *
 * The daemon plays anon1.vmpt slowed down so that the replay lasts the
 * whole run. "Stayers" subscribe to every listen record of the file before
 * it starts and keep their subscriptions to the end: their eventfd and
 * stream counts must equal the file's expect records. (Churners may
 * subscribe anywhere, in any mode, without changing that: a listener only
 * ever suppresses delivery to listeners above it, and the file has none
 * above its own.) 1000 "churners", non-blocking sockets driven by one
 * poll() loop, keep subscribing (eventfd and/or stream), unsubscribing,
 * listing, asking status, sending garbage and overlong lines, and
 * disconnecting with live subscriptions. At the end every churner
 * subscription still alive must have received, on its eventfd and its
 * stream, exactly the number of notifications the daemon's `list` reports
 * for it.
 *
 * Before the churn, a warm-up round of 1000 connections brings the
 * daemon's heap to its working size; then its descriptors and VmRSS are
 * measured, and again after every client has gone: the descriptor count
 * must be the same, the RSS within a bound (a leak of a few dozen bytes
 * per operation would exceed it over this many operations).
 */
#include "../unit/check.h"
#include "client_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sanitizer runtimes keep freed memory (ASan's quarantine, TSan's
 * allocator and shadow): RSS says nothing about leaks there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

#define NCHURN 1000
#define MAXSUB 10
#define RSS_SLACK_KIB 4096

static const char *sock;
static char line[1 << 16];

/* ---- a churning client ------------------------------------------------------------ */

struct csub {
	uint64_t id;
	int efd;
	bool stream;
	uint64_t efd_total, stream_total;
};

struct churner {
	struct cu_conn c;
	bool up;
	char fifo[64]; /* kinds of the requests awaiting a reply */
	unsigned head, tail;
	bool fifo_efd[64];
	struct csub subs[MAXSUB + 8];
	int nsubs;
	int pending_subs; /* subscribe requests in flight */
	uint64_t dropped;
	uint64_t errors_expected, errors_unexpected;
};

static struct churner ch[NCHURN];
static uint64_t ops, reconnects;

static const char *const groups[] = {"/", "aa", "aa/ab"};
static const char *const argsv[] = {"low", "medium", "critical", "low,hierarchy", "medium,hierarchy",
				    "critical,hierarchy", "low,local", "medium,local", "critical,local",
				    "low,default"};

static unsigned rnd(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (unsigned)(s >> 11);
}

static void push(struct churner *k, char kind, bool efd)
{
	k->fifo_efd[k->tail % 64] = efd;
	k->fifo[k->tail++ % 64] = kind;
}

static void drop_all(struct churner *k)
{
	for (int i = 0; i < k->nsubs; i++)
		if (k->subs[i].efd >= 0)
			close(k->subs[i].efd);
	k->nsubs = 0;
	k->pending_subs = 0;
	k->head = k->tail = 0;
	cu_close(&k->c);
	k->up = false;
}

static bool connect_one(struct churner *k)
{
	k->nsubs = 0;
	k->head = k->tail = 0;
	k->pending_subs = 0;
	k->up = cu_connect(&k->c, sock, true) == 0;
	return k->up;
}

static struct csub *find_sub(struct churner *k, uint64_t id)
{
	for (int i = 0; i < k->nsubs; i++)
		if (k->subs[i].id == id)
			return &k->subs[i];
	return NULL;
}

static void subscribe(struct churner *k, const char *g, const char *a, bool efd, bool stream)
{
	cu_sendf(&k->c, "subscribe %s %s%s%s\n", g, a, efd ? " eventfd" : "", stream ? " stream" : "");
	push(k, 'S', efd);
	k->pending_subs++;
	ops++;
}

/* One random action. */
static void act(struct churner *k)
{
	if (!k->up) {
		if (connect_one(k))
			reconnects++;
		return;
	}
	if (k->tail - k->head > 16)
		return; /* let it catch up */
	unsigned r = rnd() % 100;
	if (r < 35 && k->nsubs + k->pending_subs < MAXSUB) {
		unsigned f = rnd() % 3;
		subscribe(k, groups[rnd() % 3], argsv[rnd() % 10], f != 1, f != 0);
	} else if (r < 65 && k->nsubs) {
		int i = (int)(rnd() % (unsigned)k->nsubs);
		cu_sendf(&k->c, "unsubscribe %llu\n", (unsigned long long)k->subs[i].id);
		push(k, 'U', false);
		if (k->subs[i].efd >= 0)
			close(k->subs[i].efd);
		k->subs[i] = k->subs[--k->nsubs];
		ops++;
	} else if (r < 75) {
		cu_send(&k->c, "list\n");
		push(k, 'L', false);
		ops++;
	} else if (r < 80) {
		cu_send(&k->c, "status\n");
		push(k, 'T', false);
		ops++;
	} else if (r < 83) {
		cu_send(&k->c, rnd() % 2 ? "subscribe aa lowx stream\n" : "frob nicate\n");
		push(k, 'E', false);
		ops++;
	} else if (r < 84) {
		static char big[2100];
		memset(big, 'x', sizeof(big) - 2);
		big[sizeof(big) - 2] = '\n';
		cu_send(&k->c, big);
		push(k, 'E', false);
		ops++;
	} else if (r < 86) {
		/* vanish with live subscriptions and replies in flight */
		drop_all(k);
		ops++;
	}
}

static void on_line(struct churner *k, const char *l)
{
	uint64_t id, n;
	if (!strncmp(l, "{\"event\":\"pressure\"", 19)) {
		struct csub *s;
		if (cu_json_u64(l, "id", &id) && cu_json_u64(l, "count", &n) && (s = find_sub(k, id)))
			s->stream_total += n;
		return;
	}
	if (!strncmp(l, "{\"event\":\"dropped\"", 18)) {
		if (cu_json_u64(l, "count", &n))
			k->dropped += n;
		return;
	}
	if (strncmp(l, "{\"reply\":", 9))
		return;
	if (k->head == k->tail) {
		k->errors_unexpected++;
		return;
	}
	char kind = k->fifo[k->head % 64];
	bool efd = k->fifo_efd[k->head % 64];
	k->head++;
	bool ok = cu_json_is(l, "ok", "true");
	switch (kind) {
	case 'S':
		k->pending_subs--;
		if (ok && cu_json_u64(l, "id", &id)) {
			struct csub *s = &k->subs[k->nsubs++];
			*s = (struct csub){.id = id, .efd = -1, .stream = cu_json_is(l, "stream", "true")};
			if (efd && (s->efd = cu_take_fd(&k->c)) < 0)
				k->errors_unexpected++;
		} else
			k->errors_unexpected++;
		break;
	case 'U':
	case 'L':
	case 'T':
		if (!ok)
			k->errors_unexpected++;
		break;
	case 'E':
		if (ok)
			k->errors_unexpected++;
		else
			k->errors_expected++;
		break;
	}
}

static void service(struct churner *k)
{
	int r = cu_fill(&k->c, 0);
	if (r == 0) {
		drop_all(k);
		k->errors_unexpected++; /* the daemon closed on us */
		return;
	}
	while (cu_take_line(&k->c, line, sizeof(line)))
		on_line(k, line);
	for (int i = 0; i < k->nsubs; i++)
		k->subs[i].efd_total += cu_eventfd_take(k->subs[i].efd);
}

/* One poll round over every connection; extra[] are serviced too. */
static void poll_round(struct churner *extra, int nextra, int timeout_ms)
{
	static struct pollfd pf[NCHURN + 64];
	static struct churner *who[NCHURN + 64];
	int n = 0;
	for (int i = 0; i < NCHURN; i++)
		if (ch[i].up) {
			pf[n] = (struct pollfd){.fd = ch[i].c.fd, .events = POLLIN};
			who[n++] = &ch[i];
		}
	for (int i = 0; i < nextra; i++)
		if (extra[i].up) {
			pf[n] = (struct pollfd){.fd = extra[i].c.fd, .events = POLLIN};
			who[n++] = &extra[i];
		}
	if (poll(pf, (nfds_t)n, timeout_ms) <= 0)
		return;
	for (int i = 0; i < n; i++)
		if (pf[i].revents)
			service(who[i]);
}

static bool settled(struct churner *extra, int nextra)
{
	for (int i = 0; i < NCHURN; i++)
		if (ch[i].up && ch[i].head != ch[i].tail)
			return false;
	for (int i = 0; i < nextra; i++)
		if (extra[i].up && extra[i].head != extra[i].tail)
			return false;
	return true;
}

/* ---- the control connection ------------------------------------------------------- */

static struct cu_conn ctl;

static uint64_t status_u64(const char *key)
{
	char r[4096];
	uint64_t v = UINT64_MAX;
	if (!cu_request(&ctl, "status\n", r, sizeof(r), NULL, NULL, NULL, 10000) || !cu_json_u64(r, key, &v))
		return UINT64_MAX;
	return v;
}

static bool wait_clients(uint64_t n, int timeout_ms)
{
	double end = cu_now() + timeout_ms / 1000.0;
	while (cu_now() < end) {
		if (status_u64("clients") == n)
			return true;
		cu_sleep_ms(20);
	}
	return false;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_stress VMPRESSURED DATADIR\n");
		return 64;
	}
	double seconds = 30;
	if (getenv("VMP_STRESS_SECONDS"))
		seconds = strtod(getenv("VMP_STRESS_SECONDS"), NULL);
	if (!(seconds >= 1))
		seconds = 1;
	signal(SIGPIPE, SIG_IGN);
	long lim = cu_raise_nofile(20000);
	REQUIRE(lim >= NCHURN * 4, "RLIMIT_NOFILE %ld is enough for %d clients with eventfds", lim, NCHURN);

	char trace[512], tmp[256], errlog[300];
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", argv[2]);
	struct cu_listen ls[32];
	double span;
	int nl = cu_trace_listeners(trace, ls, 32, &span);
	REQUIRE(nl > 0 && span > 0, "listeners of %s", trace);
	snprintf(tmp, sizeof(tmp), "%s/vmpd-stress.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(tmp), "temporary directory");
	static char sockpath[300];
	snprintf(sockpath, sizeof(sockpath), "%s/control", tmp);
	snprintf(errlog, sizeof(errlog), "%s/daemon.log", tmp);
	sock = sockpath;
	/* The replay lasts about the whole churn. */
	char speed[64];
	snprintf(speed, sizeof(speed), "%.6f", span / (seconds * 0.9));
	char *dargv[] = {argv[1], "--socket", sockpath, "--trace", trace, "--speed", speed, "--trace-hold", NULL};
	int st;
	pid_t pid = cu_spawn_daemon(dargv, sockpath, errlog, 10000, &st);
	REQUIRE(pid > 0, "the daemon started");
	printf("# %d churning connections for %.0f s; the trace plays at speed %s\n", NCHURN, seconds, speed);

	REQUIRE(cu_connect(&ctl, sockpath, false) == 0, "control connection");
	wait_clients(1, 5000); /* the spawn's probe connection has gone */
	int fds_ctl = cu_count_fds(pid);

	/* ---- warm-up: the heap's working size ---- */
	for (int i = 0; i < NCHURN; i++) {
		REQUIRE(connect_one(&ch[i]), "warm-up connection %d", i);
		for (int j = 0; j < 4; j++)
			subscribe(&ch[i], groups[j % 3], argsv[(i + j) % 10], j % 2, true);
	}
	double end = cu_now() + 30;
	while (!settled(NULL, 0) && cu_now() < end)
		poll_round(NULL, 0, 100);
	CHECK(settled(NULL, 0), "warm-up: %d connections with 4 subscriptions each", NCHURN);
	CHECK(status_u64("clients") == NCHURN + 1, "status counts %d clients", NCHURN + 1);
	for (int i = 0; i < NCHURN; i++)
		drop_all(&ch[i]);
	CHECK(wait_clients(1, 10000), "warm-up connections gone");
	cu_sleep_ms(200);
	int fds0 = cu_count_fds(pid);
	long rss0 = cu_rss_kib(pid);
	CHECK(fds0 == fds_ctl, "after the warm-up: %d descriptors, as many as with the control connection alone (%d)",
	      fds0, fds_ctl);

	/* ---- stayers ---- */
	struct churner stay[32];
	memset(stay, 0, sizeof(stay));
	bool ok = true;
	for (int i = 0; i < nl; i++) {
		ok &= connect_one(&stay[i]);
		subscribe(&stay[i], ls[i].cgroup, ls[i].args, true, true);
	}
	end = cu_now() + 10;
	while (!settled(stay, nl) && cu_now() < end)
		poll_round(stay, nl, 100);
	for (int i = 0; i < nl; i++)
		ok &= stay[i].nsubs == 1 && stay[i].subs[0].efd >= 0;
	CHECK(ok, "%d stayers subscribed to the trace's listen records", nl);

	/* ---- churn while the trace plays ---- */
	for (int i = 0; i < NCHURN; i++)
		connect_one(&ch[i]);
	kill(pid, SIGUSR1);
	double t0 = cu_now(), next_sample = t0 + 1;
	long rss_peak = 0;
	int fds_peak = 0;
	while (cu_now() - t0 < seconds) {
		for (int i = 0; i < NCHURN; i++)
			if (rnd() % 8 == 0)
				act(&ch[i]);
		poll_round(stay, nl, 5);
		if (cu_now() > next_sample) {
			long r = cu_rss_kib(pid);
			int f = cu_count_fds(pid);
			rss_peak = r > rss_peak ? r : rss_peak;
			fds_peak = f > fds_peak ? f : fds_peak;
			next_sample += 1;
		}
	}
	uint64_t churn_ops = ops;
	printf("# %llu requests and %llu reconnections in %.1f s; daemon peak %d descriptors, %ld KiB RSS\n",
	       (unsigned long long)churn_ops, (unsigned long long)reconnects, cu_now() - t0, fds_peak, rss_peak);

	/* Let everything in flight be answered, the replay finish, the
	 * notifications settle. */
	end = cu_now() + 60;
	while (!settled(stay, nl) && cu_now() < end)
		poll_round(stay, nl, 50);
	CHECK(settled(stay, nl), "every request was answered");
	double replay_end = t0 + span / (span / (seconds * 0.9)) + 1;
	uint64_t last = UINT64_MAX, now;
	end = cu_now() + 60;
	while (cu_now() < end) {
		for (int k = 0; k < 10; k++)
			poll_round(stay, nl, 20);
		now = status_u64("events");
		if (cu_now() > replay_end && now == last)
			break;
		last = now;
	}
	for (int k = 0; k < 20; k++)
		poll_round(stay, nl, 10);

	int bad = 0;
	for (int i = 0; i < nl; i++) {
		struct csub *s = &stay[i].subs[0];
		s->efd_total += cu_eventfd_take(s->efd);
		if (s->efd_total != ls[i].expect || s->stream_total != ls[i].expect || stay[i].dropped) {
			bad++;
			printf("# stayer %u (%s %s): eventfd %llu, stream %llu, expect %llu\n", ls[i].id, ls[i].cgroup,
			       ls[i].args, (unsigned long long)s->efd_total, (unsigned long long)s->stream_total,
			       (unsigned long long)ls[i].expect);
		}
	}
	CHECK(!bad, "no lost notification: every stayer's eventfd and stream count equals its expect record");

	/* Every churner subscription alive now: eventfd and stream against list. */
	for (int i = 0; i < NCHURN; i++)
		if (ch[i].up) {
			cu_send(&ch[i].c, "list\n");
			push(&ch[i], 'X', false);
		}
	uint64_t nsub = 0, bad_efd = 0, bad_stream = 0, dropped = 0, unexpected = 0, expected_err = 0;
	end = cu_now() + 30;
	for (int i = 0; i < NCHURN; i++) {
		struct churner *k = &ch[i];
		if (!k->up)
			continue;
		/* read up to the list reply */
		char l2[1 << 16];
		bool got = false;
		while (!got && cu_now() < end) {
			if (!cu_take_line(&k->c, l2, sizeof(l2))) {
				if (cu_fill(&k->c, 1000) == 0)
					break;
				continue;
			}
			if (!strncmp(l2, "{\"reply\":\"list\"", 15) && k->tail - k->head == 1) {
				got = true;
				k->head++;
			} else
				on_line(k, l2);
		}
		if (!got) {
			unexpected++;
			continue;
		}
		for (int j = 0; j < k->nsubs; j++) {
			struct csub *s = &k->subs[j];
			s->efd_total += cu_eventfd_take(s->efd);
			char key[48];
			snprintf(key, sizeof(key), "{\"id\":%llu,", (unsigned long long)s->id);
			const char *p = strstr(l2, key), *e;
			uint64_t events = UINT64_MAX;
			if (p && (e = strstr(p, "\"events\":")))
				events = strtoull(e + 9, NULL, 10);
			nsub++;
			if (s->efd >= 0 && s->efd_total != events)
				bad_efd++;
			if (s->stream && !k->dropped && s->stream_total != events)
				bad_stream++;
		}
		dropped += k->dropped;
	}
	for (int i = 0; i < NCHURN; i++) {
		unexpected += ch[i].errors_unexpected;
		expected_err += ch[i].errors_expected;
	}
	CHECK(nsub > 0 && !bad_efd, "%llu live churner subscriptions: every eventfd count equals the daemon's list count",
	      (unsigned long long)nsub);
	CHECK(!bad_stream, "... and every stream count (%llu stream events dropped for slow reading)",
	      (unsigned long long)dropped);
	CHECK(!unexpected, "no unexpected reply or error (%llu expected error replies to bad requests)",
	      (unsigned long long)expected_err);
	CHECK(churn_ops > (uint64_t)(seconds * 500), "%llu requests in the churn (>%.0f)", (unsigned long long)churn_ops,
	      seconds * 500);

	/* ---- everybody leaves ---- */
	for (int i = 0; i < NCHURN; i++)
		if (ch[i].up)
			drop_all(&ch[i]);
	for (int i = 0; i < nl; i++)
		drop_all(&stay[i]);
	CHECK(wait_clients(1, 20000), "all clients gone");
	CHECK(status_u64("subscriptions") == 0, "no subscription left");
	cu_sleep_ms(300);
	int fds1 = cu_count_fds(pid);
	long rss1 = cu_rss_kib(pid);
	CHECK(fds1 == fds0, "no descriptor leak: %d before the churn, %d after", fds0, fds1);
	printf("# daemon VmRSS: %ld KiB after the warm-up, %ld KiB peak, %ld KiB after the churn\n", rss0, rss_peak,
	       rss1);
	if (UNDER_SANITIZER)
		printf("ok %d - # SKIP RSS bound under a sanitizer (it keeps freed memory); ASan's leak check runs at exit\n",
		       ++check_count);
	else
		CHECK(rss1 <= rss0 + RSS_SLACK_KIB, "no memory growth: %ld KiB after <= %ld KiB + %d KiB", rss1, rss0,
		      RSS_SLACK_KIB);

	cu_close(&ctl);
	kill(pid, SIGTERM);
	st = cu_wait_exit(pid, 30000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the daemon exits 0 (status %d; a leak report under ASan would fail it)",
	      st);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (check_failed)
		printf("# daemon log kept: %s\n", errlog);
	else if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return check_done("daemon stress");
}
