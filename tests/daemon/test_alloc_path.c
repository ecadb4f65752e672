/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_path VMPRESSURED DATADIR ALLOC_COUNT_SO: the steady-state path
 * from a source event to a client's wake-up neither allocates nor opens a
 * file (TAP).
 *
 * A daemon under LD_PRELOAD=alloc_count.so plays tests/data/anon1.vmpt in
 * real time (3 s of notifications) to, for each of the trace's listeners,
 * a stream client and an eventfd client on connections of their own, and
 * to a client of a memory-pressure endpoint on the first listener (a byte
 * per notification). Once
 * a quarter of the expected notifications has arrived (warm-up: the
 * buffers have their working size), the counters are read; again when the
 * last one has arrived, before the test sends anything else. Between the
 * two the daemon did nothing but deliver events, so the difference per
 * delivered notification must be 0, allocations and openings alike. The
 * counts must also be right (each client gets its listener's `expect`),
 * and the counter must see the allocations of a request afterwards (a
 * `status`), so that a broken preload cannot pass for a clean path.
 */
#include "alloc_count.h"
#include "client_util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXL 32

static int n_tap, n_fail;
static void ok(bool c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(bool c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %d - ", c ? "ok" : "not ok", ++n_tap);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	if (!c)
		n_fail++;
}

struct cl {
	struct cu_conn stream, efd;
	int fd;
	uint64_t got_stream, got_efd, expect;
};

static struct cl cls[MAXL];

static void count_line(struct cl *c, const char *l)
{
	uint64_t n;
	char ev[32];
	if (cu_json_str(l, "event", ev, sizeof(ev)) && !strcmp(ev, "pressure") && cu_json_u64(l, "count", &n))
		c->got_stream += n;
}

static void dump_ring(const struct alloc_count *a, pid_t pid)
{
	char maps[64], line[512];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "vmpressured") || strstr(line, "libvmpressure"))
			printf("# map %s", line);
	if (f)
		fclose(f);
	uint64_t n = a->nring < ALLOC_COUNT_RING ? a->nring : ALLOC_COUNT_RING;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = (a->nring - 1 - i) % ALLOC_COUNT_RING;
		printf("# %s from %#" PRIx64 "\n", a->ring[k].open ? "open" : "alloc", a->ring[k].ra);
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: test_alloc_path VMPRESSURED DATADIR ALLOC_COUNT_SO\n");
		return 64;
	}
	char trace[4096], dir[] = "/tmp/vmp-alloc-XXXXXX";
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", argv[2]);
	if (!mkdtemp(dir))
		return 1;
	char sock[256], log[256], cnt[256], ep[256], epspec[700];
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(cnt, sizeof(cnt), "%s/count", dir);
	snprintf(ep, sizeof(ep), "%s/ep", dir);
	int cfd = open(cnt, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (cfd < 0 || ftruncate(cfd, 4096) != 0)
		return 1;
	struct alloc_count *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	close(cfd);
	if (a == MAP_FAILED)
		return 1;

	struct cu_listen ls[MAXL];
	int nl = cu_trace_listeners(trace, ls, MAXL, NULL);
	ok(nl > 0, "the trace has %d listeners", nl);

	if (nl > 0)
		snprintf(epspec, sizeof(epspec), "%s %s %s", ep, ls[0].cgroup, ls[0].args);
	setenv("VMP_ALLOC_COUNT", cnt, 1);
	setenv("LD_PRELOAD", argv[3], 1);
	char *dargv[] = {argv[1], "--socket", sock, "--trace", trace, "--speed", "1", "--trace-hold",
			 "--memory-pressure-endpoint", epspec, NULL};
	int st = 0;
	pid_t pid = cu_spawn_daemon(dargv, sock, log, 10000, &st);
	unsetenv("LD_PRELOAD");
	unsetenv("VMP_ALLOC_COUNT");
	ok(pid > 0, "the daemon starts under the counting preload");
	if (pid <= 0)
		goto out;
	ok(a->allocs > 0, "the preload counts: %" PRIu64 " allocations at startup", a->allocs);

	uint64_t expect = 0;
	bool subs_ok = true;
	for (int i = 0; i < nl; i++) {
		struct cl *c = &cls[i];
		char req[512], rep[1024];
		c->expect = ls[i].expect;
		expect += c->expect;
		snprintf(req, sizeof(req), "subscribe %s %s stream\n", ls[i].cgroup, ls[i].args);
		int fd = -1;
		subs_ok &= cu_connect(&c->stream, sock, false) == 0 &&
			   cu_request(&c->stream, req, rep, sizeof(rep), &fd, NULL, NULL, 5000) &&
			   strstr(rep, "\"ok\":true");
		snprintf(req, sizeof(req), "subscribe %s %s eventfd\n", ls[i].cgroup, ls[i].args);
		subs_ok &= cu_connect(&c->efd, sock, false) == 0 &&
			   cu_request(&c->efd, req, rep, sizeof(rep), &c->fd, NULL, NULL, 5000) &&
			   c->fd >= 0;
	}
	ok(subs_ok, "%d stream and %d eventfd clients subscribed (%" PRIu64 " notifications expected each way)",
	   nl, nl, expect);
	struct cu_conn epc;
	uint64_t ep_bytes = 0, ep_expect = cls[0].expect;
	bool ep_ok = cu_connect(&epc, ep, true) == 0 && cu_send(&epc, "some 200000 2000000\n") == 0;
	ok(ep_ok, "a memory-pressure endpoint client connected (%" PRIu64 " notifications expected)", ep_expect);
	cu_sleep_ms(100); /* accepted before the replay starts */
	kill(pid, SIGUSR1);

	struct alloc_count at_warm = {0};
	uint64_t warm_events = 0, total = 0;
	bool warm = false;
	double end = cu_now() + 60;
	while (total < 2 * expect + ep_expect && cu_now() < end) {
		struct pollfd p[2 * MAXL + 1];
		for (int i = 0; i < nl; i++) {
			p[2 * i] = (struct pollfd){.fd = cls[i].stream.fd, .events = POLLIN};
			p[2 * i + 1] = (struct pollfd){.fd = cls[i].fd, .events = POLLIN};
		}
		p[2 * nl] = (struct pollfd){.fd = ep_ok ? epc.fd : -1, .events = POLLIN};
		if (poll(p, (nfds_t)(2 * nl + 1), 1000) <= 0)
			continue;
		if (p[2 * nl].revents) {
			char b[4096];
			ssize_t k;
			while ((k = read(epc.fd, b, sizeof(b))) > 0)
				ep_bytes += (uint64_t)k;
		}
		for (int i = 0; i < nl; i++) {
			struct cl *c = &cls[i];
			if (p[2 * i].revents) {
				cu_fill(&c->stream, 0);
				char l[2048];
				while (cu_take_line(&c->stream, l, sizeof(l)))
					count_line(c, l);
			}
			if (p[2 * i + 1].revents)
				c->got_efd += cu_eventfd_take(c->fd);
		}
		total = ep_bytes;
		for (int i = 0; i < nl; i++)
			total += cls[i].got_stream + cls[i].got_efd;
		if (!warm && total >= (2 * expect + ep_expect) / 4) {
			memcpy(&at_warm, a, sizeof(at_warm));
			warm_events = total;
			warm = true;
		}
	}
	struct alloc_count at_end;
	memcpy(&at_end, a, sizeof(at_end));
	bool counts = true;
	for (int i = 0; i < nl; i++)
		counts &= cls[i].got_stream == cls[i].expect && cls[i].got_efd == cls[i].expect;
	ok(counts, "every client got its listener's expected count (%" PRIu64 " of %" PRIu64 ")", total - ep_bytes,
	   2 * expect);
	ok(ep_bytes == ep_expect, "the endpoint client got a byte per notification (%" PRIu64 " of %" PRIu64 ")",
	   ep_bytes, ep_expect);
	uint64_t n = total - warm_events;
	uint64_t da = at_end.allocs - at_warm.allocs, dop = at_end.opens - at_warm.opens;
	printf("# after warm-up: %" PRIu64 " notifications delivered, %" PRIu64 " allocations, %" PRIu64
	       " file openings (%.4f and %.4f per notification)\n",
	       n, da, dop, n ? (double)da / (double)n : 0.0, n ? (double)dop / (double)n : 0.0);
	ok(warm && n >= (2 * expect + ep_expect) / 2, "warm-up after %" PRIu64 ", %" PRIu64 " measured", warm_events, n);
	ok(da == 0, "no allocation on the delivery path after warm-up (%" PRIu64 ")", da);
	ok(dop == 0, "no file opened on the delivery path after warm-up (%" PRIu64 ")", dop);
	if (da || dop)
		dump_ring(&at_end, pid);

	/* The counter is live: a status request allocates (its reply). */
	char rep[1024];
	uint64_t before = a->allocs;
	bool got = cu_request(&cls[0].stream, "status\n", rep, sizeof(rep), NULL, NULL, NULL, 5000);
	cu_sleep_ms(50);
	ok(got && a->allocs > before, "the counter sees a status request's allocations (%" PRIu64 ")",
	   a->allocs - before);

	if (ep_ok)
		cu_close(&epc);
	for (int i = 0; i < nl; i++) {
		cu_close(&cls[i].stream);
		cu_close(&cls[i].efd);
		close(cls[i].fd);
	}
	kill(pid, SIGTERM);
	st = cu_wait_exit(pid, 10000);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the daemon stops cleanly");
out:
	unlink(cnt);
	unlink(log);
	unlink(ep);
	rmdir(dir);
	printf("1..%d\n", n_tap);
	return n_fail ? 1 : 0;
}
