/* SPDX-License-Identifier: MIT */
/*
 * Memory-pressure endpoints (--memory-pressure-endpoint) against clients
 * that follow systemd's protocol: mp_client (reads $MEMORY_PRESSURE_WATCH
 * and $MEMORY_PRESSURE_WRITE, connects, writes the decoded data, polls for
 * POLLIN, reads and discards) and, where libsystemd >= 254 is there, a
 * real sd_event_add_memory_pressure() client.
 *
 *   test_mpwatch VMPRESSURED VMPRESSURE MP_CLIENT DATADIR SDEVENT_CLIENT|- [SKIP-REASON]
 *
 * 1. anon1.vmpt (a kernel capture) played by the trace source, endpoints
 *    at low, medium and critical for cgroup aa, several clients each (one
 *    writes systemd's own trigger, one nothing, one garbage). Every client
 *    receives exactly as many wake-up bytes as `vmpressure replay` counts
 *    for a listener with the endpoint's cgroup and level, in at least one
 *    and at most that many wakes; the bytes name levels at or above the
 *    endpoint's. The garbage is logged with its bytes, its client served
 *    all the same; the daemon answers afterwards. SIGTERM: exit 0, the
 *    endpoint sockets removed, the clients see the end.
 * 2. A trace of low windows only (written here, counted by `vmpressure
 *    replay`): the low endpoint's client gets them all, the critical
 *    endpoint's is never woken. A stale socket at an endpoint path is
 *    replaced.
 * 3. Bad --memory-pressure-endpoint values exit 64 with a message.
 * 4. sd-event: an unmodified sd_event_add_memory_pressure() program
 *    (sdevent_client.c; built by meson, or compiled here against the
 *    libsystemd 254 scripts/deps.sh unpacks into .deps/libsystemd/) at
 *    medium and critical endpoints on the capture: woken at least once,
 *    at most once per notification the replay counts; on the low-only
 *    trace woken at low, never at critical. Or a SKIP saying why not.
 */
#include "../unit/check.h"
#include "client_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT 20000

static const char *daemon_path, *cli_path, *client_path, *data_dir, *sdev_path, *sdev_skip;
static char tmp[256];

/* ---- helpers --------------------------------------------------------------- */

static void b64(const unsigned char *s, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned x = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		out[o++] = t[x >> 18 & 63];
		out[o++] = t[x >> 12 & 63];
		out[o++] = i + 1 < n ? t[x >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[x & 63] : '=';
	}
	out[o] = 0;
}

/* What systemd's service manager puts in $MEMORY_PRESSURE_WRITE: the PSI
 * trigger with its NUL. */
static void systemd_write(char *out)
{
	static const char trig[] = "some 200000 2000000";
	b64((const unsigned char *)trig, sizeof(trig), out);
}

struct mc {
	pid_t pid;
	int out;
	char buf[4096];
	size_t len;
	bool ready, eof, exited;
	uint64_t wakes, bytes, lv[4];
};

/* Run exe with the protocol's two variables (write NULL: unset). */
static bool mc_spawn(struct mc *m, const char *exe, const char *watch, const char *write_b64)
{
	memset(m, 0, sizeof(*m));
	int p[2];
	if (pipe(p))
		return false;
	fflush(NULL);
	m->pid = fork();
	if (m->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		setenv("MEMORY_PRESSURE_WATCH", watch, 1);
		if (write_b64)
			setenv("MEMORY_PRESSURE_WRITE", write_b64, 1);
		else
			unsetenv("MEMORY_PRESSURE_WRITE");
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	m->out = p[0];
	fcntl(m->out, F_SETFL, O_NONBLOCK);
	return m->pid > 0;
}

static void mc_line(struct mc *m, const char *l)
{
	unsigned long long w, b, x[4];
	if (!strcmp(l, "ready"))
		m->ready = true;
	else if (sscanf(l, "wake %llu %llu %llu %llu %llu %llu", &w, &b, &x[0], &x[1], &x[2], &x[3]) == 6 ||
		 sscanf(l, "eof %llu %llu %llu %llu %llu %llu", &w, &b, &x[0], &x[1], &x[2], &x[3]) == 6) {
		m->wakes = w;
		m->bytes = b;
		for (int i = 0; i < 4; i++)
			m->lv[i] = x[i];
		if (!strncmp(l, "eof", 3))
			m->eof = true;
	}
}

/* Read what the clients reported, waiting up to ms. */
static void mc_pump(struct mc *ms, int n, int ms_wait)
{
	struct pollfd p[32];
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = ms[i].out, .events = POLLIN};
	if (poll(p, (nfds_t)n, ms_wait) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		struct mc *m = &ms[i];
		ssize_t r;
		while ((r = read(m->out, m->buf + m->len, sizeof(m->buf) - 1 - m->len)) > 0) {
			m->len += (size_t)r;
			m->buf[m->len] = 0;
			char *nl;
			while ((nl = strchr(m->buf, '\n'))) {
				*nl = 0;
				mc_line(m, m->buf);
				size_t used = (size_t)(nl + 1 - m->buf);
				memmove(m->buf, nl + 1, m->len - used + 1);
				m->len -= used;
			}
		}
		if (r == 0)
			m->exited = true;
	}
}

static bool all_ready(struct mc *ms, int n)
{
	double end = cu_now() + TIMEOUT / 1000.0;
	for (;;) {
		int ok = 0;
		for (int i = 0; i < n; i++)
			ok += ms[i].ready;
		if (ok == n)
			return true;
		if (cu_now() > end)
			return false;
		mc_pump(ms, n, 100);
	}
}

/* Until every client has at least want[i] bytes, then a settling time in
 * which nothing more may come. */
static bool wait_counts(struct mc *ms, int n, const uint64_t *want)
{
	double end = cu_now() + 60;
	for (;;) {
		int ok = 0;
		for (int i = 0; i < n; i++)
			ok += ms[i].bytes >= want[i];
		if (ok == n)
			break;
		if (cu_now() > end)
			return false;
		mc_pump(ms, n, 100);
	}
	double settle = cu_now() + 0.5;
	while (cu_now() < settle)
		mc_pump(ms, n, 50);
	return true;
}

static void mc_stop(struct mc *ms, int n)
{
	for (int i = 0; i < n; i++)
		if (ms[i].pid > 0) {
			kill(ms[i].pid, SIGTERM);
			if (cu_wait_exit(ms[i].pid, 2000) == -1) {
				kill(ms[i].pid, SIGKILL);
				waitpid(ms[i].pid, NULL, 0);
			}
			close(ms[i].out);
			ms[i].pid = -1;
		}
}

static const char *speed = "0";

static pid_t start_daemon(const char *trace, const char *log, int *status, ...)
{
	static char sock[300];
	snprintf(sock, sizeof(sock), "%s/ctl", tmp);
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)daemon_path;
	argv[n++] = "--socket";
	argv[n++] = sock;
	argv[n++] = "--trace";
	argv[n++] = (char *)trace;
	argv[n++] = "--speed";
	argv[n++] = (char *)speed;
	argv[n++] = "--trace-hold";
	va_list ap;
	va_start(ap, status);
	cu_argv_append(argv, n, 32, ap);
	va_end(ap);
	return cu_spawn_daemon(argv, sock, log, TIMEOUT, status);
}

/* `vmpressure replay FILE` counts for the first listener of cgroup with
 * exactly these args; UINT64_MAX if there is none. */
static uint64_t replay_count(const char *trace, const char *cgroup, const char *args)
{
	struct cu_listen ls[64];
	int nl = cu_trace_listeners(trace, ls, 64, NULL);
	int id = -1;
	for (int i = 0; i < nl && id < 0; i++)
		if (!strcmp(ls[i].cgroup, cgroup) && !strcmp(ls[i].args, args))
			id = (int)ls[i].id;
	if (id < 0)
		return UINT64_MAX;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' replay '%s'", cli_path, trace);
	FILE *f = popen(cmd, "r");
	if (!f)
		return UINT64_MAX;
	unsigned lid;
	unsigned long long cnt;
	uint64_t res = UINT64_MAX;
	while (fscanf(f, "%u %llu", &lid, &cnt) == 2)
		if ((int)lid == id)
			res = cnt;
	pclose(f);
	return res;
}

/* The daemon has accepted (and logged) this many endpoint clients: from
 * here on none of them can miss a notification. */
static bool wait_accepted(const char *log, int n)
{
	for (int i = 0; i < 1000; i++, cu_sleep_ms(10))
		if (cu_file_count(log, " connected") >= n)
			return true;
	return false;
}

static bool daemon_answers(void)
{
	char sock[300], r[4096];
	snprintf(sock, sizeof(sock), "%s/ctl", tmp);
	struct cu_conn c;
	if (cu_connect(&c, sock, false))
		return false;
	bool ok = cu_request(&c, "status\n", r, sizeof(r), NULL, NULL, NULL, TIMEOUT) && cu_json_is(r, "ok", "true");
	cu_close(&c);
	return ok;
}

/* ---- 1. a kernel capture, three levels --------------------------------------------- */

static void levels_on_capture(void)
{
	char trace[512], log[300], ep[3][300], spec[3][1024], sysw[64], junk[64];
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", data_dir);
	snprintf(log, sizeof(log), "%s/capture.log", tmp);
	static const char *const lvl[3] = {"low", "medium", "critical"};
	uint64_t want[3];
	for (int i = 0; i < 3; i++) {
		snprintf(ep[i], sizeof(ep[i]), "%s/mp/%s", tmp, lvl[i]);
		snprintf(spec[i], sizeof(spec[i]), "%s aa %s", ep[i], lvl[i]);
		want[i] = replay_count(trace, "aa", lvl[i]);
	}
	REQUIRE(want[0] != UINT64_MAX && want[1] != UINT64_MAX && want[2] != UINT64_MAX,
		"anon1.vmpt has aa listeners at low, medium and critical");
	CHECK(want[0] > want[1] && want[1] >= want[2] && want[2] > 0,
	      "the replay gives low %llu > medium %llu >= critical %llu > 0 (so the levels are told apart)",
	      (unsigned long long)want[0], (unsigned long long)want[1], (unsigned long long)want[2]);

	int st = 0;
	pid_t d = start_daemon(trace, log, &st, "--memory-pressure-endpoint", spec[0],
			       "--memory-pressure-endpoint", spec[1], "--memory-pressure-endpoint", spec[2],
			       (char *)NULL);
	REQUIRE(d > 0, "the daemon starts with three endpoints (status %d)", st);
	struct stat sst;
	CHECK(stat(ep[0], &sst) == 0 && S_ISSOCK(sst.st_mode) && (sst.st_mode & 0777) == 0666,
	      "the endpoint is a socket, mode 0666, its directory created");

	systemd_write(sysw);
	static const unsigned char garbage[] = "hello\xff world\n";
	b64(garbage, sizeof(garbage) - 1, junk);
	/* endpoint of each client */
	static const int epi[] = {0, 0, 0, 1, 1, 2, 2};
	const char *writes[] = {sysw, NULL, junk, sysw, NULL, sysw, junk};
	enum { N = 7 };
	struct mc ms[N];
	uint64_t w[N];
	/* A client that connects and leaves at once: nothing may break. */
	{
		struct cu_conn c;
		CHECK(cu_connect(&c, ep[0], false) == 0, "a client connects and goes away before the replay");
		cu_close(&c);
	}
	for (int i = 0; i < N; i++) {
		REQUIRE(mc_spawn(&ms[i], client_path, ep[epi[i]], writes[i]), "client %d starts", i);
		w[i] = want[epi[i]];
	}
	CHECK(all_ready(ms, N), "%d protocol clients connected and wrote their $MEMORY_PRESSURE_WRITE", N);
	CHECK(wait_accepted(log, N + 1), "the daemon accepted all of them (and the one that left)");
	for (int i = 0; i < 500 && !cu_file_contains(log, "malformed PSI trigger"); i++)
		cu_sleep_ms(10); /* their data reaches the daemon before the replay */
	kill(d, SIGUSR1);
	CHECK(wait_counts(ms, N, w), "every client got its wake-ups (timeout otherwise)");
	for (int i = 0; i < N; i++) {
		const struct mc *m = &ms[i];
		int e = epi[i];
		CHECK_EQ_U64(m->bytes, want[e], "client %d (%s, %s): one byte per notification the replay counts", i,
			     lvl[e], writes[i] == sysw ? "systemd's trigger" : writes[i] ? "garbage written" : "nothing written");
		CHECK(m->wakes >= 1 && m->wakes <= m->bytes, "client %d: %llu wakes for %llu notifications", i,
		      (unsigned long long)m->wakes, (unsigned long long)m->bytes);
		uint64_t at_or_above = 0;
		for (int l = e; l < 3; l++)
			at_or_above += m->lv[l];
		CHECK(at_or_above == m->bytes && m->lv[3] == 0,
		      "client %d: every byte names %s or above (L %llu M %llu C %llu)", i, lvl[e],
		      (unsigned long long)m->lv[0], (unsigned long long)m->lv[1], (unsigned long long)m->lv[2]);
	}
	CHECK(cu_file_contains(log, "malformed PSI trigger \"hello\\xff world\\x0a\""),
	      "the garbage is logged with its bytes");
	CHECK(cu_file_contains(log, "asked for some 200000 us per 2000000 us"), "systemd's trigger is understood");
	CHECK(kill(d, 0) == 0 && daemon_answers(), "the daemon still runs and answers on its control socket");

	CHECK(cu_stop_daemon(d, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	CHECK(access(ep[0], F_OK) != 0 && access(ep[1], F_OK) != 0 && access(ep[2], F_OK) != 0,
	      "the endpoint sockets are removed");
	double end = cu_now() + 5;
	int eofs = 0;
	while (cu_now() < end && eofs < N) {
		mc_pump(ms, N, 100);
		eofs = 0;
		for (int i = 0; i < N; i++)
			eofs += ms[i].eof;
	}
	CHECK(eofs == N, "every client sees the connection end (%d of %d)", eofs, N);
	mc_stop(ms, N);
}

/* Enough windows, in enough loop rounds (2 s in real time), that a client
 * that never reads fills its socket buffer and its queue. */
#define LOW_WINDOWS 6000
#define LOW_RATE 3000 /* a second */

/* ---- 2. low windows only ------------------------------------------------------------------ */

/* tmp/low-only.vmpt: LOW_WINDOWS low windows for aa, listeners at low
 * and critical. */
static void write_low_trace(char *trace, size_t n)
{
	snprintf(trace, n, "%s/low-only.vmpt", tmp);
	FILE *f = fopen(trace, "we");
	REQUIRE(f, "write %s", trace);
	fprintf(f, "# vmptrace 1\n# low windows only: 512 scanned, 400 reclaimed (21 %%)\n"
		   "group / -\ngroup aa /\nlisten 0 aa low\nlisten 1 aa critical\n");
	for (int i = 1; i <= LOW_WINDOWS; i++)
		fprintf(f, "vmpressure %d.%06d aa 1 512 400 0xca\n", i / LOW_RATE, (int)((i % LOW_RATE) * (1000000L / LOW_RATE)));
	fclose(f);
}

static void low_only(void)
{
	char trace[300], log[300], lowp[300], critp[300], s1[1024], s2[1024], sysw[64];
	write_low_trace(trace, sizeof(trace));
	snprintf(log, sizeof(log), "%s/low.log", tmp);
	uint64_t wl = replay_count(trace, "aa", "low"), wc = replay_count(trace, "aa", "critical");
	CHECK(wl != UINT64_MAX && wl > 0 && wc == 0, "the replay of the low-only trace: low %llu, critical %llu",
	      (unsigned long long)wl, (unsigned long long)wc);

	snprintf(lowp, sizeof(lowp), "%s/low.sock", tmp);
	snprintf(critp, sizeof(critp), "%s/crit.sock", tmp);
	/* A stale socket where the low endpoint goes: bound, then abandoned. */
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	REQUIRE(strlen(lowp) < sizeof(sa.sun_path), "%s fits a socket address", lowp);
	memcpy(sa.sun_path, lowp, strlen(lowp) + 1);
	CHECK(sfd >= 0 && bind(sfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "a stale socket at %s", lowp);
	close(sfd);
	snprintf(s1, sizeof(s1), "%s aa low", lowp);
	snprintf(s2, sizeof(s2), "%s aa critical,default 0600", critp);
	int st = 0;
	speed = "1"; /* real time: many rounds, each a small write */
	pid_t d = start_daemon(trace, log, &st, "--memory-pressure-endpoint", s1, "--memory-pressure-endpoint", s2,
			       (char *)NULL);
	speed = "0";
	REQUIRE(d > 0, "the daemon starts over the stale socket (status %d)", st);
	struct stat sst;
	CHECK(stat(critp, &sst) == 0 && (sst.st_mode & 0777) == 0600, "MODE 0600 is the socket's mode");
	systemd_write(sysw);
	struct mc ms[2];
	REQUIRE(mc_spawn(&ms[0], client_path, lowp, sysw) && mc_spawn(&ms[1], client_path, critp, sysw),
		"two clients start");
	CHECK(all_ready(ms, 2), "both connected");
	/* A client that connects and never reads, until the end. */
	struct cu_conn slow;
	CHECK(cu_connect(&slow, lowp, true) == 0, "a client that will not read connects");
	CHECK(wait_accepted(log, 3), "the daemon accepted the three");
	kill(d, SIGUSR1);
	uint64_t want[2] = {wl, 0};
	CHECK(wait_counts(ms, 2, want), "the low client got its wake-ups");
	CHECK_EQ_U64(ms[0].bytes, wl, "low endpoint: every low window the replay counts, the slow client beside it");
	CHECK(ms[0].lv[0] == wl, "... all of them 'L' bytes");
	CHECK(ms[1].wakes == 0 && ms[1].bytes == 0, "the critical endpoint is never woken by low windows (%llu wakes)",
	      (unsigned long long)ms[1].wakes);
	CHECK(daemon_answers(), "the daemon answers while a client sits on %llu unread wake-ups",
	      (unsigned long long)wl);
	uint64_t got = 0;
	for (;;) {
		char b[4096];
		ssize_t n = read(slow.fd, b, sizeof(b));
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	cu_close(&slow);
	char line[160];
	snprintf(line, sizeof(line), "had %llu notifications coalesced", (unsigned long long)(wl - got));
	bool logged = false;
	for (int i = 0; i < 100 && !logged; i++, cu_sleep_ms(20))
		logged = cu_file_contains(log, line);
	CHECK(got > 0 && got < wl && logged,
	      "the slow client had %llu bytes waiting, the other %llu notifications coalesced and logged", (unsigned long long)got,
	      (unsigned long long)(wl - got));
	CHECK(cu_stop_daemon(d, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	mc_stop(ms, 2);
}

/* ---- 3. the option -------------------------------------------------------------------- */

static int run_status(const char *spec, const char *spec2, const char *errpath)
{
	char sock[300], trace[512];
	snprintf(sock, sizeof(sock), "%s/ctl-bad", tmp);
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", data_dir);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		if (spec2)
			execl(daemon_path, daemon_path, "--socket", sock, "--trace", trace, "--memory-pressure-endpoint",
			      spec, "--memory-pressure-endpoint", spec2, (char *)NULL);
		execl(daemon_path, daemon_path, "--socket", sock, "--trace", trace, "--memory-pressure-endpoint", spec,
		      (char *)NULL);
		_exit(127);
	}
	int st = cu_wait_exit(p, TIMEOUT);
	if (st == -1) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad_options(void)
{
	char err[300];
	snprintf(err, sizeof(err), "%s/bad.err", tmp);
	static const struct {
		const char *spec, *spec2, *says;
	} cases[] = {
		{"relative/path aa low", NULL, "absolute and normalised"},
		{"/run/x//y aa low", NULL, "absolute and normalised"},
		{"/run/x/./y aa low", NULL, "absolute and normalised"},
		{"/run/x aa loww", NULL, "bad ARGS"},
		{"/run/x aa low,sideways", NULL, "bad ARGS"},
		{"/run/x ../etc low", NULL, "bad CGROUP"},
		{"/run/x aa low 0999", NULL, "MODE"},
		{"/run/x aa", NULL, "2 fields"},
		{"/run/x aa low 0600 extra", NULL, "too many fields"},
		{"/run/x aa low", "/run/x bb medium", "given twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = run_status(cases[i].spec, cases[i].spec2, err);
		CHECK(rc == 64 && cu_file_contains(err, cases[i].says), "'%s'%s%s: exit %d, says \"%s\"", cases[i].spec,
		      cases[i].spec2 ? " + " : "", cases[i].spec2 ? cases[i].spec2 : "", rc, cases[i].says);
	}
}

/* ---- 4. sd-event -------------------------------------------------------------------- */

/* The sd-event client: meson's build of it where pkg-config found a
 * libsystemd >= 254, else one compiled here against the libsystemd 254
 * that `scripts/deps.sh test` unpacks into .deps/libsystemd/ (Debian 12's
 * is 252). Compiled at run time, not by meson, because .deps/ may be
 * filled after `meson setup` ran (and meson would not look again), and
 * without the build's sanitizer flags: libsystemd is not instrumented, and
 * the client is a separate process, so every build runs the same plain
 * client. $MPWATCH_CC is meson's C compiler, $MPWATCH_SDEV_SRC the
 * source, $MPWATCH_SDEV_DEPS the unpacked tree. Returns false with why
 * filled when the part must be skipped; a compiler failure is a failure. */
static bool sdevent_exe(char *exe, size_t n, char *why, size_t wn)
{
	if (strcmp(sdev_path, "-")) {
		snprintf(exe, n, "%s", sdev_path);
		return true;
	}
	const char *cc = getenv("MPWATCH_CC"), *src = getenv("MPWATCH_SDEV_SRC"), *deps = getenv("MPWATCH_SDEV_DEPS");
	char hdr[600], pc[600], inc[620], libdir[600], lflag[620], rpath[620], ccbuf[600], clog[300];
	if (!cc || !src || !deps) {
		snprintf(why, wn, "%s; no $MPWATCH_CC/$MPWATCH_SDEV_SRC/$MPWATCH_SDEV_DEPS to compile one",
			 sdev_skip ? sdev_skip : "not built");
		return false;
	}
	snprintf(hdr, sizeof(hdr), "%s/usr/include/systemd/sd-event.h", deps);
	snprintf(pc, sizeof(pc), "%s/lib/pkgconfig/libsystemd.pc", deps);
	if (!cu_file_contains(hdr, "sd_event_add_memory_pressure")) {
		snprintf(why, wn, "%s, and no %s declaring sd_event_add_memory_pressure() (`sh scripts/deps.sh test` unpacks "
				  "bookworm-backports' libsystemd 254 there; it warns when it cannot)",
			 sdev_skip ? sdev_skip : "not built", hdr);
		return false;
	}
	snprintf(inc, sizeof(inc), "-I%s/usr/include", deps);
	snprintf(libdir, sizeof(libdir), "%s/lib", deps);
	snprintf(lflag, sizeof(lflag), "-L%s", libdir);
	snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s", libdir);
	snprintf(exe, n, "%s/sdevent_client", tmp);
	snprintf(clog, sizeof(clog), "%s/sdevent-cc.log", tmp);
	snprintf(ccbuf, sizeof(ccbuf), "%s", cc);
	char *argv[40];
	int a = 0;
	for (char *t = strtok(ccbuf, " "); t && a < 20; t = strtok(NULL, " "))
		argv[a++] = t; /* meson's compiler may be a command line (ccache cc) */
	const char *rest[] = {"-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", inc, src, "-o", exe, lflag, rpath, "-lsystemd", NULL};
	for (int i = 0; rest[i]; i++)
		argv[a++] = (char *)rest[i];
	argv[a] = NULL;
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		int fd = open(clog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = p > 0 ? cu_wait_exit(p, 60000) : -1;
	if (st == -1 && p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
	char ver[64] = "?";
	FILE *f = fopen(pc, "re");
	for (char line[256]; f && fgets(line, sizeof(line), f);)
		if (sscanf(line, "Version: %63s", ver) == 1)
			break;
	if (f)
		fclose(f);
	bool ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	CHECK(ok, "sdevent_client.c compiles against %s (libsystemd %s)", deps, ver);
	if (!ok) {
		f = fopen(clog, "re");
		for (char line[512]; f && fgets(line, sizeof(line), f);)
			printf("# %s", line);
		if (f)
			fclose(f);
		snprintf(why, wn, "the client did not compile");
	}
	return ok;
}

/* Wait until the refs (protocol clients) have their want bytes, then a
 * settling time; the sd-event clients are pumped all along (their wakes
 * come from the same loop rounds' bytes). */
static bool sd_wait(struct mc *ms, int n, const uint64_t *want)
{
	if (!wait_counts(ms, n, want))
		return false;
	double end = cu_now() + 2;
	while (cu_now() < end)
		mc_pump(ms, n, 50);
	return true;
}

/* sd_event_add_memory_pressure(3) promises the handler runs when the
 * watched socket turns readable (POLLIN), and sd-event reads and discards
 * what is there: the bytes of one loop round, or of several, may make one
 * wake. So what can be asserted is: woken at least once, at most once per
 * notification the replay counts at its level, and never by a trace
 * whose windows are all below it. The protocol clients beside it, which
 * count bytes, show the replay was delivered. */
static void sd_event_client(void)
{
	char exe[300], why[1024];
	if (!sdevent_exe(exe, sizeof(exe), why, sizeof(why))) {
		check_count++;
		printf("ok %d - # SKIP sd_event_add_memory_pressure() client: %s\n", check_count, why);
		return;
	}
	static const char *const lvl[3] = {"low", "medium", "critical"};
	char trace[512], log[300], ep[3][300], spec[3][1024], sysw[64];
	systemd_write(sysw);
	for (int i = 0; i < 3; i++) {
		snprintf(ep[i], sizeof(ep[i]), "%s/sd-%s.sock", tmp, lvl[i]);
		snprintf(spec[i], sizeof(spec[i]), "%s aa %s", ep[i], lvl[i]);
	}

	/* a. The capture: sd-event at medium and at critical, a protocol
	 *    client at each beside it. */
	snprintf(trace, sizeof(trace), "%s/anon1.vmpt", data_dir);
	snprintf(log, sizeof(log), "%s/sdevent.log", tmp);
	uint64_t wm = replay_count(trace, "aa", "medium"), wc = replay_count(trace, "aa", "critical");
	REQUIRE(wm != UINT64_MAX && wc != UINT64_MAX && wc > 0, "the replay: medium %llu, critical %llu",
		(unsigned long long)wm, (unsigned long long)wc);
	int st = 0;
	pid_t d = start_daemon(trace, log, &st, "--memory-pressure-endpoint", spec[1], "--memory-pressure-endpoint",
			       spec[2], (char *)NULL);
	REQUIRE(d > 0, "the daemon starts (status %d)", st);
	/* 0, 1: sd-event at medium, critical; 2, 3: protocol clients there */
	struct mc ms[4];
	REQUIRE(mc_spawn(&ms[0], exe, ep[1], sysw) && mc_spawn(&ms[1], exe, ep[2], sysw) &&
			mc_spawn(&ms[2], client_path, ep[1], sysw) && mc_spawn(&ms[3], client_path, ep[2], sysw),
		"two sd-event clients and two protocol clients start");
	CHECK(all_ready(ms, 4), "sd_event_add_memory_pressure() accepted $MEMORY_PRESSURE_WATCH (the endpoint)");
	CHECK(wait_accepted(log, 4), "the daemon accepted the four");
	/* sd-event writes $MEMORY_PRESSURE_WRITE in its first loop iteration,
	 * after "ready": wait until all four triggers are logged. */
	for (int i = 0; i < 1000 && cu_file_count(log, "asked for some 200000 us per 2000000 us") < 4; i++)
		cu_sleep_ms(10);
	CHECK(cu_file_count(log, "asked for some 200000 us per 2000000 us") == 4,
	      "sd-event wrote $MEMORY_PRESSURE_WRITE (systemd's trigger) to the endpoint");
	kill(d, SIGUSR1);
	uint64_t want[4] = {0, 0, wm, wc};
	CHECK(sd_wait(ms, 4, want), "the protocol clients got their wake-ups");
	CHECK(ms[2].bytes == wm && ms[3].bytes == wc, "... as many as the replay counts (medium %llu of %llu, critical %llu of %llu)",
	      (unsigned long long)ms[2].bytes, (unsigned long long)wm, (unsigned long long)ms[3].bytes,
	      (unsigned long long)wc);
	for (int i = 0; i < 2; i++) {
		uint64_t w = i ? wc : wm;
		CHECK(ms[i].wakes >= 1 && ms[i].wakes <= w && !ms[i].exited,
		      "the unmodified sd-event handler at %s ran %llu times for %llu %s-or-above notifications", lvl[i + 1],
		      (unsigned long long)ms[i].wakes, (unsigned long long)w, lvl[i + 1]);
	}
	/* The sd-event clients go first: to them the daemon's end would be an
	 * end-of-file, readable for ever. */
	mc_stop(ms, 2);
	CHECK(cu_stop_daemon(d, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	mc_stop(ms + 2, 2);

	/* b. Low windows only: sd-event at low is woken, at critical never. */
	write_low_trace(trace, sizeof(trace));
	snprintf(log, sizeof(log), "%s/sdevent-low.log", tmp);
	uint64_t wl = replay_count(trace, "aa", "low");
	wc = replay_count(trace, "aa", "critical");
	REQUIRE(wl != UINT64_MAX && wl > 0 && wc == 0, "the low-only replay: low %llu, critical %llu",
		(unsigned long long)wl, (unsigned long long)wc);
	d = start_daemon(trace, log, &st, "--memory-pressure-endpoint", spec[0], "--memory-pressure-endpoint", spec[2],
			 (char *)NULL);
	REQUIRE(d > 0, "the daemon starts (status %d)", st);
	/* 0, 1: sd-event at low, critical; 2: a protocol client at low */
	REQUIRE(mc_spawn(&ms[0], exe, ep[0], sysw) && mc_spawn(&ms[1], exe, ep[2], sysw) &&
			mc_spawn(&ms[2], client_path, ep[0], sysw),
		"two sd-event clients and a protocol client start");
	CHECK(all_ready(ms, 3) && wait_accepted(log, 3), "all three connected");
	for (int i = 0; i < 1000 && cu_file_count(log, "asked for some") < 3; i++)
		cu_sleep_ms(10);
	kill(d, SIGUSR1);
	uint64_t want2[3] = {0, 0, wl};
	CHECK(sd_wait(ms, 3, want2) && ms[2].bytes == wl, "the protocol client at low got all %llu (%llu)",
	      (unsigned long long)wl, (unsigned long long)ms[2].bytes);
	CHECK(ms[0].wakes >= 1 && ms[0].wakes <= wl, "sd-event at low: handler ran %llu times for %llu low notifications",
	      (unsigned long long)ms[0].wakes, (unsigned long long)wl);
	CHECK(ms[1].wakes == 0 && !ms[1].exited, "sd-event at critical: never woken by low windows (%llu wakes)",
	      (unsigned long long)ms[1].wakes);
	mc_stop(ms, 2);
	CHECK(cu_stop_daemon(d, TIMEOUT, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	mc_stop(ms + 2, 1);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: test_mpwatch VMPRESSURED VMPRESSURE MP_CLIENT DATADIR SDEVENT|- [REASON]\n");
		return 2;
	}
	daemon_path = argv[1];
	cli_path = argv[2];
	client_path = argv[3];
	data_dir = argv[4];
	sdev_path = argv[5];
	sdev_skip = argc > 6 ? argv[6] : NULL;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmp, sizeof(tmp), "/tmp/vmp-mpwatch-XXXXXX");
	REQUIRE(mkdtemp(tmp), "a temporary directory");

	levels_on_capture();
	low_only();
	bad_options();
	sd_event_client();

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return check_done("mpwatch");
}
