/* SPDX-License-Identifier: MIT */
/*
 * What the commands that watch a source (watch, record) take alike: the
 * listener (--level, --mode), the source (--source, --trace, --speed,
 * --cgroup-root, --proc-root), when to stop (--count, a number of seconds
 * named --timeout or --duration, the signals), and the source's start with
 * its error messages; and the value of an option, for every command. One
 * place, so that the same option is spelled, checked and refused alike.
 * Errors go to standard error as "vmpressure CMD: ..."; the functions
 * return -errno (cli.h says which), and the command's exit status is
 * chosen in its cmd_*() (cli_opt_status(), cli_source_status()).
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s%s%s: ", prog, cmd ? " " : "", cmd ? cmd : "");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\n(%s %s --help lists the options)\n", prog, cmd);
	else
		fprintf(stderr, "\n(%s help lists the commands)\n", prog);
	return -EINVAL;
}

int cli_opt_status(int rc)
{
	switch (-rc) {
	case 0: return EXIT_OK;
	case EINVAL: return EXIT_USAGE;
	case EDOM: return EXIT_BADINPUT;
	case ENOTSUP: return EXIT_UNAVAILABLE;
	default: return EXIT_SOFTWARE;
	}
}

const char *cli_optval(const char *cmd, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		cli_usage_error(cmd, "%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

bool cli_parse_decimal(const char *val, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (errno || *end || !*val || !(v >= 0) || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_count(const char *val, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(val, &end, 10);
	if (errno || *end || !*val || val[0] == '-' || n == 0)
		return false;
	*out = n;
	return true;
}

void cli_source_opts_init(struct cli_source_opts *o, const char *cmd, const char *limit_short,
			  const char *limit_long)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->limit_short = limit_short;
	o->limit_long = limit_long;
	o->cgroup = "/";
	o->level = "low";
	o->mode = "hierarchy";
	o->limit = -1;
	vmp_source_config_init(&o->cfg);
}

static int source_kind(struct cli_source_opts *o, const char *val)
{
	static const struct {
		const char *name;
		enum vmp_source_kind kind;
	} k[] = {{"auto", VMP_SOURCE_AUTO}, {"v1", VMP_SOURCE_V1}, {"v2", VMP_SOURCE_V2},
		 {"machine", VMP_SOURCE_MACHINE}};
	if (o->v1_refused && !strcmp(val, "v1")) {
		fprintf(stderr, "%s %s: --source v1: %s\n", prog, o->cmd, o->v1_refused);
		return -ENOTSUP;
	}
	for (size_t j = 0; j < sizeof(k) / sizeof(k[0]); j++)
		if (!strcmp(val, k[j].name)) {
			o->cfg.kind = k[j].kind;
			return 0;
		}
	fprintf(stderr, "%s %s: --source '%s': use %s\n", prog, o->cmd, val,
		o->v1_refused ? "auto, v2 or machine" : "auto, v1, v2 or machine");
	return -EDOM;
}

int cli_source_opt(struct cli_source_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *val;
	bool limit = !strcmp(a, o->limit_short) || !strcmp(a, o->limit_long);
	if (!limit && strcmp(a, "-l") && strcmp(a, "--level") && strcmp(a, "-m") && strcmp(a, "--mode") &&
	    strcmp(a, "-n") && strcmp(a, "--count") && strcmp(a, "--source") && strcmp(a, "--trace") &&
	    strcmp(a, "--speed") && strcmp(a, "--cgroup-root") && strcmp(a, "--proc-root"))
		return CLI_OPT_OTHER;
	if (!(val = cli_optval(o->cmd, argc, argv, i)))
		return -EINVAL;
	if (limit) {
		if (!cli_parse_decimal(val, 1e9, &o->limit)) {
			fprintf(stderr, "%s %s: %s '%s' is not a number of seconds\n", prog, o->cmd, o->limit_long,
				val);
			return -EDOM;
		}
	} else if (!strcmp(a, "-l") || !strcmp(a, "--level")) {
		o->level = val;
		o->level_opt = a;
	} else if (!strcmp(a, "-m") || !strcmp(a, "--mode")) {
		o->mode = val;
		o->mode_opt = a;
	} else if (!strcmp(a, "-n") || !strcmp(a, "--count")) {
		if (!cli_parse_count(val, &o->max_count)) {
			fprintf(stderr, "%s %s: --count '%s' is not a positive integer\n", prog, o->cmd, val);
			return -EDOM;
		}
	} else if (!strcmp(a, "--source")) {
		return source_kind(o, val);
	} else if (!strcmp(a, "--trace")) {
		o->cfg.kind = VMP_SOURCE_TRACE;
		o->cfg.trace_path = val;
	} else if (!strcmp(a, "--speed")) {
		if (!cli_parse_decimal(val, INFINITY, &o->cfg.trace_speed)) {
			fprintf(stderr, "%s %s: --speed '%s' is not a non-negative number\n", prog, o->cmd, val);
			return -EDOM;
		}
		o->speed_set = true;
	} else if (!strcmp(a, "--cgroup-root")) {
		o->cfg.cgroup_root = val;
	} else {
		o->cfg.proc_root = val;
	}
	return 0;
}

int cli_source_arg(struct cli_source_opts *o, const char *a)
{
	if (a[0] == '-' && a[1])
		return cli_usage_error(o->cmd, "unknown option '%s'", a);
	if (o->have_cgroup)
		return cli_usage_error(o->cmd, "one CGROUP only ('%s' is extra)", a);
	o->cgroup = a;
	o->have_cgroup = true;
	return 0;
}

int cli_source_opts_finish(struct cli_source_opts *o)
{
	snprintf(o->args, sizeof(o->args), "%s,%s", o->level, o->mode);
	vmp_level lv;
	vmp_mode md;
	/* Each on its own, so that the message quotes what was typed. */
	if (vmp_parse_args(o->level, &lv, &md) != 0 || strchr(o->level, ',')) {
		fprintf(stderr, "%s %s: %s '%s' is not a level (low, medium or critical)\n", prog, o->cmd,
			o->level_opt ? o->level_opt : "--level", o->level);
		return -EDOM;
	}
	char low_mode[64];
	snprintf(low_mode, sizeof(low_mode), "low,%s", o->mode);
	if (vmp_parse_args(low_mode, &lv, &md) != 0 || strchr(o->mode, ',')) {
		fprintf(stderr, "%s %s: %s '%s' is not a mode (default, hierarchy or local)\n", prog, o->cmd,
			o->mode_opt ? o->mode_opt : "--mode", o->mode);
		return -EDOM;
	}
	if (vmp_parse_args(o->args, &lv, &md) != 0) {
		fprintf(stderr, "%s %s: '%s' is not level[,mode] (levels: low medium critical; "
				"modes: default hierarchy local)\n", prog, o->cmd, o->args);
		return -EDOM;
	}
	/* A trace plays in real time unless --speed says otherwise. */
	if (o->cfg.kind == VMP_SOURCE_TRACE && !o->speed_set)
		o->cfg.trace_speed = 1;
	return 0;
}

int cli_source_new(struct cli_source_opts *o, vmp_source **src)
{
	int rc = vmp_source_new(src, &o->cfg, &o->terr);
	if (rc && o->terr.line)
		fprintf(stderr, "%s %s: %s:%lu: %s\n", prog, o->cmd, o->cfg.trace_path, o->terr.line, o->terr.msg);
	else if (rc == -EINVAL && o->cfg.kind == VMP_SOURCE_TRACE && o->terr.msg[0]) /* not a regular file */
		fprintf(stderr, "%s %s: --trace %s: %s\n", prog, o->cmd, o->cfg.trace_path, o->terr.msg);
	else if (rc && o->cfg.kind == VMP_SOURCE_TRACE)
		fprintf(stderr, "%s %s: %s: %s\n", prog, o->cmd, o->cfg.trace_path, strerror(-rc));
	else if (rc && o->cfg.kind == VMP_SOURCE_AUTO && o->cfg.cgroup_root)
		fprintf(stderr,
			"%s %s: no pressure source: --cgroup-root '%s' is %s; give a cgroup v1 memory or v2 "
			"hierarchy (or no --cgroup-root for this machine's)\n",
			prog, o->cmd, o->cfg.cgroup_root,
			rc == -ENOTDIR	? "not a directory"
			: rc == -EINVAL ? "empty"
			: rc == -ENOENT ? "neither (no such directory, or no cgroup.event_control nor "
					  "cgroup.controllers in it)"
					: strerror(-rc));
	else if (rc)
		fprintf(stderr, "%s %s: no pressure source: %s\n", prog, o->cmd, strerror(-rc));
	return rc;
}

int cli_source_status(const struct cli_source_opts *o, int rc)
{
	if (!rc)
		return EXIT_OK;
	if (o->cfg.kind != VMP_SOURCE_TRACE)
		return EXIT_UNAVAILABLE;
	if (o->terr.line)
		return EXIT_BADINPUT;
	return rc == -ENOENT || rc == -EACCES ? EXIT_IOERR : EXIT_BADINPUT;
}

int cli_stop_signalfd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	return signalfd(-1, &mask, SFD_CLOEXEC);
}
