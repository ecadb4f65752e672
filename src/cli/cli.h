/* SPDX-License-Identifier: MIT */
#ifndef VMP_CLI_H
#define VMP_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes of every vmpressure command (see vmpressure(1)). */
enum {
	EXIT_OK = 0,
	EXIT_MISMATCH = 1, /* replay --check: a count differs */
	EXIT_BADINPUT = 2, /* malformed input: trace, numbers */
	EXIT_USAGE = 64,   /* bad command line (EX_USAGE) */
	EXIT_UNAVAILABLE = 69, /* no pressure source here (EX_UNAVAILABLE) */
	EXIT_SOFTWARE = 70, /* internal error (EX_SOFTWARE) */
	EXIT_IOERR = 74,   /* a file could not be read (EX_IOERR) */
	EXIT_NOPERM = 77,  /* permission denied: a cgroup we may not read (EX_NOPERM) */
};

extern const char *prog;

int cmd_calc(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_forecast(int argc, char **argv);

/* watch_daemon.c: `vmpressure watch` through vmpressured. */
#include "vmpressure.h"
#define WATCH_DEFAULT_SOCKET "/run/vmpressure/control"
#include <errno.h>
#define WATCH_NO_DAEMON (-ENOTCONN) /* nothing (usable) answers: watch in-process */
struct watch_daemon;
/* Connect, check the daemon's source against `want` (AUTO: any), and
 * subscribe with a stream. 0; WATCH_NO_DAEMON; or another -errno, of the
 * daemon's error reply, with its message in err. */
int watch_daemon_open(struct watch_daemon **out, const char *path, const char *cgroup, const char *args,
		      enum vmp_source_kind want, char *err, size_t errcap);
const char *watch_daemon_source(const struct watch_daemon *wd);
int watch_daemon_fd(const struct watch_daemon *wd);
/* Read what arrived and pass each event to fn; -EPIPE once the daemon has
 * closed the connection. */
int watch_daemon_dispatch(struct watch_daemon *wd, vmp_source_fn fn, void *arg);
/* After the connection was lost: connect again, repeat the handshake and
 * the subscription. 0 (watch_daemon_fd() is the new socket);
 * WATCH_NO_DAEMON (nothing usable answers yet: try later); or another
 * -errno, of the daemon's error reply, its message in err. */
int watch_daemon_reconnect(struct watch_daemon *wd, char *err, size_t errcap);
/* The daemon's uptime_s at the last handshake, -1 if it did not say. */
double watch_daemon_uptime(const struct watch_daemon *wd);
void watch_daemon_close(struct watch_daemon *wd);

/* watch_exec.c: `vmpressure watch --exec CMD`. */
struct watch_exec;
int watch_exec_open(struct watch_exec **out, const char *command, unsigned interval_ms, unsigned timeout_ms);
/* extra: more "NAME=value" variables, which win (a debounced transition:
 * "VMP_EVENT=transition", "VMP_PREV_LEVEL=low"). we NULL: nothing. */
void watch_exec_event(struct watch_exec *we, const struct vmp_source_event *ev, const char *source,
		      const char *const *extra, size_t nextra);
/* A debounced transition, its time_ns on CLOCK_REALTIME. */
void watch_exec_transition(struct watch_exec *we, const struct vmp_transition *t, const char *cgroup,
			   const char *source);
int watch_exec_fd(const struct watch_exec *we);
int watch_exec_dispatch(struct watch_exec *we);
bool watch_exec_busy(const struct watch_exec *we);
/* Logs the counts, kills a run still going, frees. NULL is a no-op. */
void watch_exec_close(struct watch_exec *we);
/* A forecast event: the variables of vmp_exec_trigger_forecast(). */
void watch_exec_forecast(struct watch_exec *we, const struct vmp_fc_result *r, const char *cgroup,
			 uint64_t time_ns, const char *source);
/* watch_forecast.c: `vmpressure watch --forecast[=SECONDS]`. */
struct watch_forecast_opts {
	const char *cgroup;
	const struct vmp_source_config *cfg;
	double warn_s;            /* 0: the model's default */
	bool json;
	uint64_t max_count;       /* warnings; 0: none */
	double timeout;           /* seconds; negative: none */
	const char *exec_cmd;
	unsigned exec_interval, exec_timeout;
};
int watch_forecast(const struct watch_forecast_opts *o);
/* One forecast event as watch prints it, at time_ns (CLOCK_REALTIME), or
 * for `vmpressure forecast` at t >= 0 (a recording's seconds, "t" in
 * JSON). source NULL: not printed. */
void watch_forecast_print(const struct vmp_fc_result *r, const char *cgroup, uint64_t time_ns, double t,
			  bool json, const char *source);
/* watch_debounce.c: `vmpressure watch --debounce`: transitions only. */
#include <stdio.h>
struct watch_debounce;
/* config: vmp_debounce_parse() syntax; -EINVAL with the reason in err. */
int watch_debounce_new(struct watch_debounce **out, const char *config, bool json, const char *cgroup,
		       char *err, size_t errlen);
void watch_debounce_set_source(struct watch_debounce *wd, const char *name);
/* --exec: each transition runs the command. */
void watch_debounce_set_exec(struct watch_debounce *wd, struct watch_exec *we);
void watch_debounce_event(struct watch_debounce *wd, const struct vmp_source_event *ev);
/* poll() timeout until a tick is due; -1: none. */
int watch_debounce_timeout_ms(const struct watch_debounce *wd);
void watch_debounce_tick(struct watch_debounce *wd);
uint64_t watch_debounce_count(const struct watch_debounce *wd);
void watch_debounce_summary(const struct watch_debounce *wd, FILE *f);
void watch_debounce_free(struct watch_debounce *wd);

/* output.c: a time (CLOCK_REALTIME ns) as JSON's UTC ISO 8601 with a Z
 * (iso) or a person's local time of day; a JSON string (NULL: null) on
 * standard output. */
#include <stdint.h>
void cli_fmt_time(uint64_t ns, char *buf, size_t cap, bool iso);
void cli_json_str(const char *s);
struct vmp_source_event;
void cli_print_event_json(const struct vmp_source_event *ev);
/* Output held back in memory: struct vmp__buf (src/lib/util/util.h);
 * deadlines (--timeout, --duration) on vmp__mono_s() (util/clock.h). */
#include "util.h"
#include "clock.h"
/* The lines of replay and estimate, the same so that they compare line
 * for line: "<id> <count>", "mismatch <id> got <n> expected <m>". */
void cli_print_count(unsigned id, uint64_t count);
void cli_print_mismatch(unsigned id, uint64_t got, uint64_t expected);

/*
 * options.c: the options watch and record share, and an option's value
 * for every command.
 *
 * Errors, in every command: a function prints its message ("vmpressure
 * CMD: ...") and returns 0 or -errno; the exit status is chosen in the
 * command's cmd_*() only. For the command line: -EINVAL a usage error
 * (64), -EDOM a value that is not what the option takes (2), -ENOTSUP an
 * option refused here (69): cli_opt_status().
 */
#include <stdint.h>
/* A usage error: one line and where the options are listed (cmd NULL:
 * the commands), not the whole help, so that the error stays on screen.
 * Returns -EINVAL. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_opt_status(int rc);
/* The value after argv[*i] (*i advances); NULL after "needs a value". */
const char *cli_optval(const char *cmd, int argc, char **argv, int *i);
/* A decimal number from 0 to max (seconds, a speed); false if not. */
bool cli_parse_decimal(const char *val, double max, double *out);
/* A positive decimal integer; false if not. */
bool cli_parse_count(const char *val, uint64_t *out);
struct cli_source_opts {
	const char *cmd;                      /* "watch": named in errors */
	const char *limit_short, *limit_long; /* "-t", "--timeout": seconds until the end */
	const char *v1_refused;               /* set: why --source v1 is refused (exit 69) */
	const char *cgroup;                   /* the CGROUP argument, "/" if none */
	bool have_cgroup;
	const char *level, *mode;             /* as given: "low", "hierarchy" */
	const char *level_opt, *mode_opt;     /* the option that gave them: "-l", "--mode" */
	uint64_t max_count;                   /* --count; 0: none */
	double limit;                         /* the seconds of limit_long; -1: none */
	bool speed_set;
	struct vmp_source_config cfg;
	struct vmp_error terr;                /* cli_source_new()'s detail */
	char args[64];                        /* "level,mode", by cli_source_opts_finish() */
};
void cli_source_opts_init(struct cli_source_opts *o, const char *cmd, const char *limit_short,
			  const char *limit_long);
#define CLI_OPT_OTHER (-1) /* not one of the shared options */
/* Take argv[*i] and its value if it is a shared option: 0; CLI_OPT_OTHER;
 * or -errno as above. */
int cli_source_opt(struct cli_source_opts *o, int argc, char **argv, int *i);
/* A word no option took: CGROUP, once; an unknown option is refused.
 * 0 or -EINVAL. */
int cli_source_arg(struct cli_source_opts *o, const char *a);
/* After the options: check --level and --mode (each quoted as typed) into
 * o->args. 0 or -EDOM. */
int cli_source_opts_finish(struct cli_source_opts *o);
/* vmp_source_new() with the trace's or the source's error printed: 0 or
 * its -errno; cli_source_status() gives the exit status for it. */
int cli_source_new(struct cli_source_opts *o, vmp_source **src);
int cli_source_status(const struct cli_source_opts *o, int rc);
/* Block SIGINT, SIGTERM and SIGHUP and take them through a signalfd (or -1). */
int cli_stop_signalfd(void);

/* Read a whole file ("-" is stdin). 0, or -errno: -ENODEV a path that
 * is not a regular file, -EFBIG more than half of the memory available
 * (read_file_error() says so with the figure). */
int read_file(const char *path, char **buf, size_t *len);
const char *read_file_error(int rc);

#endif
