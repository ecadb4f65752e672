/* SPDX-License-Identifier: MIT */
/*
 * The action runner (src/lib/consumers/exec.c) through its public API: input
 * checks, the environment it builds (variables unset when evidence is
 * absent, extras overriding, the caller's VMP_* stripped), coalescing into
 * one pending run, callbacks with exit codes, signals and timeouts, and
 * that it reaps only its own children. Commands write to a scratch
 * directory; no check depends on how fast anything runs.
 */
#include "consumers/exec.h"
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct results {
	struct vmp_exec_result r[16];
	int n;
};

static void on_exit_cb(const struct vmp_exec_result *r, void *arg)
{
	struct results *rs = arg;
	if (rs->n < 16)
		rs->r[rs->n] = *r;
	rs->n++;
}

/* Dispatch until the runner is idle (the commands here end by themselves). */
static int run_idle(vmp_exec *x)
{
	int rounds = 0;
	while (vmp_exec_busy(x) && rounds < 100000) {
		struct pollfd p = {.fd = vmp_exec_fd(x), .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			return -ETIMEDOUT;
		int rc = vmp_exec_dispatch(x);
		if (rc)
			return rc;
		rounds++;
	}
	return 0;
}

static char dir[64];

static char *slurp(const char *name)
{
	static char buf[8192];
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static vmp_exec *runner(const char *cmd, unsigned interval_ms, unsigned timeout_ms, struct results *rs)
{
	struct vmp_exec_config cfg;
	vmp_exec_config_init(&cfg);
	cfg.command = cmd;
	cfg.interval_ms = interval_ms;
	cfg.timeout_ms = timeout_ms;
	cfg.on_exit = on_exit_cb;
	cfg.arg = rs;
	vmp_exec *x = NULL;
	int rc = vmp_exec_new(&x, &cfg);
	REQUIRE(rc == 0, "vmp_exec_new: %d", rc);
	return x;
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vmp-test-exec.XXXXXX");
	REQUIRE(mkdtemp(dir), "mkdtemp");
	setenv("VMP_STALE", "1", 1);
	char cmd[512];

	/* ---- configuration and input checks ---- */
	struct vmp_exec_config cfg;
	vmp_exec_config_init(&cfg);
	CHECK_EQ_U64(cfg.interval_ms, VMP_EXEC_DEFAULT_INTERVAL_MS, "default interval");
	CHECK(cfg.stdout_fd == -1 && cfg.stderr_fd == -1, "default fds inherit");
	vmp_exec *x = (vmp_exec *)0x1;
	CHECK(vmp_exec_new(&x, &cfg) == -EINVAL && x == (vmp_exec *)0x1, "no command: -EINVAL, out untouched");
	cfg.command = "";
	CHECK(vmp_exec_new(&x, &cfg) == -EINVAL, "empty command: -EINVAL");
	vmp_exec_free(NULL);

	struct results rs = {0};
	snprintf(cmd, sizeof(cmd), "env | grep '^VMP_' | LC_ALL=C sort > %s/env", dir);
	x = runner(cmd, 0, 0, &rs);
	const char *bad[] = {"NOEQUALS", "=v", "1X=v", "A-B=v", NULL};
	for (int i = 0; bad[i]; i++)
		CHECK(vmp_exec_trigger(x, &bad[i], 1) == -EINVAL, "'%s' is refused", bad[i]);
	struct vmp_exec_stats st;
	vmp_exec_stats(x, &st);
	CHECK(st.events == 0 && st.runs == 0 && !vmp_exec_busy(x), "refused events leave no trace");

	/* ---- the environment of an event ---- */
	struct vmp_source_event ev = {
		.level = VMP_LEVEL_MEDIUM, .cgroup = "a/b", .origin = "a/b/c", .scanned = 512,
		.reclaimed = 100, .pressure = 80, .psi_some_avg10 = 1.5, .psi_full_avg10 = 0.25,
		.time_ns = 1764000000123000000ull, .count = 2, .flags = VMP_EVENT_ESTIMATED,
	};
	const char *extra[] = {"VMP_EVENT=transition", "VMP_PREV_LEVEL=low"};
	CHECK(vmp_exec_trigger_event(x, &ev, "cgroup-v2", extra, 2) == 0, "trigger_event");
	CHECK(run_idle(x) == 0, "ran");
	const char *want = "VMP_CGROUP=a/b\nVMP_COALESCED=0\nVMP_COUNT=2\nVMP_ESTIMATED=1\nVMP_EVENT=transition\n"
			   "VMP_LEVEL=medium\nVMP_ORIGIN=a/b/c\nVMP_PRESSURE=80\nVMP_PREV_LEVEL=low\n"
			   "VMP_PSI_FULL_AVG10=0.25\nVMP_PSI_SOME_AVG10=1.50\nVMP_RECLAIMED=100\nVMP_SCANNED=512\n"
			   "VMP_SOURCE=cgroup-v2\nVMP_TIME=2025-11-24T16:00:00.123Z\n";
	char *got = slurp("env");
	CHECK(got && !strcmp(got, want), "every variable, extras override, VMP_STALE stripped");
	CHECK(rs.n == 1 && rs.r[0].exit_code == 0 && rs.r[0].signal == 0 && rs.r[0].pid > 0 && rs.r[0].events == 1,
	      "one callback: exit 0, one event");

	/* Absent evidence: unset, not empty. */
	struct vmp_source_event bare = {.level = VMP_LEVEL_LOW, .cgroup = "/", .count = 1, .psi_some_avg10 = -1,
					.psi_full_avg10 = -1, .flags = VMP_EVENT_NO_EVIDENCE};
	CHECK(vmp_exec_trigger_event(x, &bare, NULL, NULL, 0) == 0 && run_idle(x) == 0, "bare event ran");
	got = slurp("env");
	CHECK(got && !strstr(got, "VMP_PRESSURE") && !strstr(got, "VMP_SCANNED") && !strstr(got, "VMP_ORIGIN") &&
		      !strstr(got, "VMP_PSI") && !strstr(got, "VMP_SOURCE") && !strstr(got, "VMP_ESTIMATED") &&
		      strstr(got, "VMP_LEVEL=low\n") && strstr(got, "VMP_EVENT=pressure\n"),
	      "no evidence: those variables unset");
	struct vmp_source_event gone = bare;
	gone.flags = VMP_EVENT_REMOVED | VMP_EVENT_NO_EVIDENCE;
	CHECK(vmp_exec_trigger_event(x, &gone, NULL, NULL, 0) == 0 && run_idle(x) == 0, "removal ran");
	got = slurp("env");
	CHECK(got && strstr(got, "VMP_EVENT=removed\n") && !strstr(got, "VMP_LEVEL"), "removal: VMP_EVENT=removed, no level");

	/* ---- a debounced transition ---- */
	struct vmp_transition t = {
		.from = VMP_STATE_LOW, .to = VMP_STATE_CRITICAL, .cause = VMP_CAUSE_ENTER,
		.ev = {.count = {3, 1, 2}, .with_evidence = 6, .scanned = 3000, .reclaimed = 100,
		       .max_pressure = 99, .psi_some_avg10 = 2.5, .psi_full_avg10 = -1, .triggered = true,
		       .trigger_level = VMP_LEVEL_CRITICAL, .origin = "a/b"},
	};
	CHECK(vmp_exec_trigger_transition(x, &t, "a", 1764000000123000000ull, "trace", NULL, 0) == 0 && run_idle(x) == 0,
	      "transition ran");
	got = slurp("env");
	CHECK(got && !strcmp(got, "VMP_CAUSE=enter\nVMP_CGROUP=a\nVMP_COALESCED=0\nVMP_COUNT=6\nVMP_EVENT=transition\n"
				  "VMP_LEVEL=critical\nVMP_ORIGIN=a/b\nVMP_PRESSURE=99\nVMP_PREV_LEVEL=low\n"
				  "VMP_PSI_SOME_AVG10=2.50\nVMP_RECLAIMED=100\nVMP_SCANNED=3000\nVMP_SOURCE=trace\n"
				  "VMP_TIME=2025-11-24T16:00:00.123Z\n"),
	      "transition: to and from, cause, the window's evidence, PSI full unset");
	t.from = VMP_STATE_CRITICAL;
	t.to = VMP_STATE_NONE;
	t.cause = VMP_CAUSE_LEAVE;
	t.ev.with_evidence = 0;
	t.ev.triggered = false;
	CHECK(vmp_exec_trigger_transition(x, &t, "a", 0, NULL, NULL, 0) == 0 && run_idle(x) == 0, "leave ran");
	got = slurp("env");
	CHECK(got && strstr(got, "VMP_LEVEL=none\n") && strstr(got, "VMP_PREV_LEVEL=critical\n") &&
		      !strstr(got, "VMP_PRESSURE") && !strstr(got, "VMP_ORIGIN"),
	      "leave: level none, no evidence, no origin");
	t.to = (vmp_state)9;
	CHECK(vmp_exec_trigger_transition(x, &t, "a", 0, NULL, NULL, 0) == -EINVAL, "a state out of range: -EINVAL");
	vmp_exec_free(x);

	/* ---- coalescing: one run going, the rest fold into one pending ---- */
	memset(&rs, 0, sizeof(rs));
	snprintf(cmd, sizeof(cmd), "read line < %s/fifo; echo \"$N $VMP_COALESCED\" >> %s/runs", dir, dir);
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0, "mkfifo");
	x = runner(cmd, 0, 0, &rs);
	for (int i = 1; i <= 5; i++) {
		char var[16];
		snprintf(var, sizeof(var), "N=%d", i);
		const char *v = var;
		CHECK(vmp_exec_trigger(x, &v, 1) == 0, "event %d", i);
	}
	vmp_exec_stats(x, &st);
	CHECK(st.runs == 1 && st.pending == 1 && st.coalesced == 3 && st.events == 5,
	      "the first runs (blocked on the fifo), the others are one pending run: runs %llu pending %llu coalesced %llu",
	      (unsigned long long)st.runs, (unsigned long long)st.pending, (unsigned long long)st.coalesced);
	/* Release both runs: each reads one line. */
	FILE *w = fopen(fifo, "w");
	REQUIRE(w, "open fifo");
	fputs("go\n", w);
	fclose(w);
	for (int i = 0; i < 1000 && rs.n < 1; i++) {
		struct pollfd p = {.fd = vmp_exec_fd(x), .events = POLLIN};
		poll(&p, 1, 10);
		vmp_exec_dispatch(x);
	}
	w = fopen(fifo, "w");
	REQUIRE(w, "open fifo");
	fputs("go\n", w);
	fclose(w);
	CHECK(run_idle(x) == 0, "both ran");
	got = slurp("runs");
	CHECK(got && !strcmp(got, "1 0\n5 3\n"), "the first event ran, then the latest with VMP_COALESCED=3");
	CHECK(rs.n == 2 && rs.r[0].events == 1 && rs.r[1].events == 4, "results say 1 and 4 events");
	vmp_exec_free(x);

	/* ---- exit codes, signals, a timeout, someone else's child ---- */
	memset(&rs, 0, sizeof(rs));
	pid_t other = fork();
	if (other == 0) {
		pause();
		_exit(0);
	}
	x = runner("exit 7", 0, 0, &rs);
	const char *none[1];
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && run_idle(x) == 0, "exit 7 ran");
	CHECK(rs.n == 1 && rs.r[0].exit_code == 7 && rs.r[0].signal == 0 && !rs.r[0].timed_out, "exit code 7");
	vmp_exec_stats(x, &st);
	CHECK(st.failed == 1, "counted as failed");
	vmp_exec_free(x);
	memset(&rs, 0, sizeof(rs));
	x = runner("kill -USR2 $$", 0, 0, &rs);
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && run_idle(x) == 0, "kill ran");
	CHECK(rs.n == 1 && rs.r[0].exit_code == -1 && rs.r[0].signal == SIGUSR2, "killed by SIGUSR2 (signal %d)", rs.r[0].signal);
	vmp_exec_free(x);
	memset(&rs, 0, sizeof(rs));
	x = runner("sleep 30", 0, 50, &rs);
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && run_idle(x) == 0, "sleep 30 with a 50 ms timeout ended");
	CHECK(rs.n == 1 && rs.r[0].timed_out && rs.r[0].signal == SIGTERM, "timed out, SIGTERM");
	vmp_exec_stats(x, &st);
	CHECK(st.timed_out == 1, "counted as timed out");
	/* vmp_exec_free() kills and reaps a run still going. */
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && vmp_exec_busy(x), "another sleep 30 running");
	vmp_exec_free(x);
	CHECK(rs.n == 1, "free: no callback");
	int status;
	CHECK(waitpid(other, &status, WNOHANG) == 0, "the program's own child is still there, unreaped");
	kill(other, SIGTERM);
	CHECK(waitpid(other, &status, 0) == other && WIFSIGNALED(status), "and it reaps it itself");
	CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "no child left behind (the freed run was reaped)");

	/* ---- without a pidfd: the same results, by polling waitid() ---- */
	memset(&rs, 0, sizeof(rs));
	x = runner("exit 5", 0, 0, &rs);
	vmp__exec_no_pidfd(x);
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && vmp_exec_trigger(x, none, 0) == 0 && run_idle(x) == 0,
	      "no pidfd: two events ran");
	CHECK(rs.n == 2 && rs.r[0].exit_code == 5 && rs.r[1].exit_code == 5 && rs.r[1].events == 1,
	      "no pidfd: both runs reported, exit 5");
	vmp_exec_free(x);
	memset(&rs, 0, sizeof(rs));
	x = runner("sleep 30", 0, 50, &rs);
	vmp__exec_no_pidfd(x);
	CHECK(vmp_exec_trigger(x, none, 0) == 0 && run_idle(x) == 0 && rs.n == 1 && rs.r[0].timed_out &&
		      rs.r[0].signal == SIGTERM,
	      "no pidfd: the timeout still kills");
	vmp_exec_free(x);

	/* ---- the interval: a second event waits its turn ---- */
	memset(&rs, 0, sizeof(rs));
	x = runner("true", 60000, 0, &rs);
	CHECK(vmp_exec_trigger(x, none, 0) == 0, "first");
	for (int i = 0; i < 1000 && rs.n < 1; i++) {
		struct pollfd p = {.fd = vmp_exec_fd(x), .events = POLLIN};
		poll(&p, 1, 10);
		vmp_exec_dispatch(x);
	}
	CHECK(vmp_exec_trigger(x, none, 0) == 0, "second");
	vmp_exec_stats(x, &st);
	CHECK(rs.n == 1 && st.runs == 1 && st.pending == 1, "within the 60 s interval the second only pends");
	vmp_exec_free(x);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done("exec");
}
