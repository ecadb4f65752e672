/* SPDX-License-Identifier: MIT */
/*
 * vmpressure estimate: run the cgroup v2 / machine estimator again over
 * the counter samples a `vmpressure record` file keeps, with other
 * settings (vmp_estimate_run()). Counts per listener on stdout in
 * replay's format, so that the two can be compared line for line; --check
 * compares them with the recording's own `expect` counts; -o writes the
 * re-estimated recording. Malformed input: the line and byte on stderr,
 * exit 2, nothing on stdout.
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure estimate FILE [--prio LIST] [--window-pages N]\n"
		"                           [--kernel RELEASE] [--lru-gen 0|1] [--fail-passes N]\n"
		"                           [--listen CGROUP:LEVEL[,MODE]]... [-o OUT] [--check] [--quiet]\n"
		"\n"
		"Run the estimator again over the counter samples that 'vmpressure record'\n"
		"keeps in FILE (a cgroup v2 or machine source's recording; '-' is stdin), with\n"
		"the recording's listeners, and print '<id> <count>' for every listener as\n"
		"'replay' does. With the default settings the counts are the recording's.\n"
		"\n"
		"  --prio LIST         the priority-path stand-ins, comma-separated:\n"
		"                        deficit   calls that freed under 32 pages failed\n"
		"                        oom       an oom event implies 18 failed calls (+ up to 17 after a kill)\n"
		"                        learn     refine deficit with the learned pages per call\n"
		"                        onset     an episode's first injections meet the latest pages\n"
		"                        grace     a shortfall the next interval repays is no failure\n"
		"                        psi-full  a failed call per interval of >= 7 %% full stall\n"
		"                        high      memory.high calls that went below priority 4,\n"
		"                                  from the file LRU (needs file_lru samples)\n"
		"                        depth-max the same for memory.max calls (instead of onset\n"
		"                                  where the file LRU is known, without MGLRU)\n"
		"                        sweep     a call that scanned most of the LRU and freed\n"
		"                                  nothing (needs anon_lru and file_lru samples)\n"
		"                        ownstall  no failed call at an origin whose PSI stall is\n"
		"                                  all an origin's below it\n"
		"                        killseen  the failed calls after an OOM kill: no more than\n"
		"                                  the interval's reclaim calls show\n"
		"                        crowd     kernels from 6.6: with tasks waiting for the CPUs,\n"
		"                                  fewer windows (needs sched samples)\n"
		"                      also 'default' (deficit,oom,learn,onset,grace,high,depth-max,\n"
		"                      sweep,ownstall,killseen,crowd)\n"
		"                      and 'none'; a list starting with +NAME or -NAME changes the\n"
		"                      default set ('--prio -oom': all but the OOM stand-in)\n"
		"  --window-pages N    pages per evaluation window (default 512, the kernel's)\n"
		"  --kernel RELEASE    the kernel to stand in for, as 'uname -r' prints it\n"
		"                      (default: the recording's '# estimator' line, the machine\n"
		"                      it was recorded on)\n"
		"  --lru-gen 0|1       MGLRU off / on (/sys/kernel/mm/lru_gen/enabled; default:\n"
		"                      as recorded)\n"
		"  --fail-passes N     priority loops injected per failed reclaim call, 1 to 8\n"
		"                      (default: as recorded, else 1)\n"
		"  --listen CG:ARGS    one more listener, e.g. 'a:critical' or '/:medium,local'\n"
		"                      (ids after the recording's; repeatable)\n"
		"  -o, --output OUT    write the re-estimated recording (samples, engine calls,\n"
		"                      new 'expect' counts); '-': standard output, then no counts\n"
		"  --check             compare each count with the recording's 'expect'; print\n"
		"                      'mismatch <id> got <n> expected <m>' and exit 1 if any differs\n"
		"  --quiet             do not print the counts (with --check: only mismatches)\n"
		"\n"
		"A summary (settings, steps, counts by level) goes to standard error.\n"
		"exit status: 0 ok, 1 mismatch, 2 malformed file or sample line, no samples in\n"
		"             FILE, or a bad option value, 64 usage, 74 cannot read FILE or write OUT\n");
}

static const struct {
	const char *name;
	unsigned bit;
} prio_names[] = {
	{"deficit", VMP_ESTIMATE_PRIO_DEFICIT}, {"oom", VMP_ESTIMATE_PRIO_OOM},
	{"learn", VMP_ESTIMATE_PRIO_LEARN},     {"onset", VMP_ESTIMATE_PRIO_ONSET},
	{"psi-full", VMP_ESTIMATE_PRIO_PSI_FULL}, {"grace", VMP_ESTIMATE_PRIO_GRACE},
	{"high", VMP_ESTIMATE_PRIO_HIGH},         {"depth-max", VMP_ESTIMATE_PRIO_DEPTH_MAX},
	{"sweep", VMP_ESTIMATE_PRIO_SWEEP},       {"ownstall", VMP_ESTIMATE_PRIO_OWNSTALL},
	{"killseen", VMP_ESTIMATE_PRIO_KILLSEEN}, {"crowd", VMP_ESTIMATE_PRIO_CROWD},
};

/* "deficit,oom", "default", "none", "-oom,+psi-full". */
static int parse_prio(const char *s, unsigned *out, char *err, size_t errlen)
{
	unsigned set = (s[0] == '+' || s[0] == '-') ? VMP_ESTIMATE_PRIO_DEFAULT : 0;
	const char *p = s;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char sign = n && (p[0] == '+' || p[0] == '-') ? p[0] : 0;
		const char *w = p + (sign != 0);
		size_t wl = n - (sign != 0);
		unsigned bits = 0;
		bool found = false;
		if (wl == 7 && !memcmp(w, "default", 7))
			bits = VMP_ESTIMATE_PRIO_DEFAULT, found = true;
		else if (wl == 4 && !memcmp(w, "none", 4) && !sign)
			set = 0, found = true;
		for (size_t i = 0; !found && i < sizeof(prio_names) / sizeof(prio_names[0]); i++)
			if (strlen(prio_names[i].name) == wl && !memcmp(prio_names[i].name, w, wl))
				bits = prio_names[i].bit, found = true;
		if (!found) {
			snprintf(err, errlen, "'%.*s' at byte %zu is not one of deficit, oom, learn, onset, "
					      "psi-full, high, depth-max, sweep, ownstall, killseen, crowd, default, none", (int)n, p, (size_t)(p - s) + 1);
			return -EINVAL;
		}
		if (sign == '-')
			set &= ~bits;
		else
			set |= bits;
		if (!e)
			break;
		p = e + 1;
	}
	*out = set;
	return 0;
}

static void prio_text(unsigned set, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(prio_names) / sizeof(prio_names[0]); i++)
		if (set & prio_names[i].bit)
			o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%s", o ? "," : "", prio_names[i].name);
	if (!o)
		snprintf(buf, cap, "none");
}

static void on_text(const char *text, size_t len, void *arg)
{
	vmp__buf_add(arg, text, len);
}

/* What the command line asked for. */
struct estimate_opts {
	bool help, check, quiet;
	const char *path, *out_path;
	struct vmp_estimate_config cfg;
	struct vmp_estimate_listen *extra; /* --listen, their groups in extra_buf */
	char **extra_buf;
	size_t nextra;
};

static void opts_free(struct estimate_opts *o)
{
	for (size_t i = 0; i < o->nextra; i++)
		free(o->extra_buf[i]);
	free(o->extra_buf);
	free(o->extra);
}

/* --listen CGROUP:LEVEL[,MODE]: one more listener. */
static int add_listen(struct estimate_opts *o, const char *val)
{
	const char *colon = strrchr(val, ':');
	if (!colon || colon == val || !colon[1]) {
		fprintf(stderr, "%s estimate: --listen '%s' is not CGROUP:LEVEL[,MODE]\n", prog, val);
		return -EDOM;
	}
	struct vmp_estimate_listen *nx = realloc(o->extra, (o->nextra + 1) * sizeof(*nx));
	char **nb = nx ? realloc(o->extra_buf, (o->nextra + 1) * sizeof(*nb)) : NULL;
	if (nx)
		o->extra = nx;
	if (nb)
		o->extra_buf = nb;
	char *g = nb ? strndup(val, (size_t)(colon - val)) : NULL;
	if (!g) {
		fprintf(stderr, "%s estimate: out of memory\n", prog);
		return -ENOMEM;
	}
	o->extra_buf[o->nextra] = g;
	o->extra[o->nextra++] = (struct vmp_estimate_listen){.group = g, .args = colon + 1};
	return 0;
}

/* 0 or -errno (cli.h), the message printed; opts_free() either way. */
static int parse_opts(struct estimate_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	vmp_estimate_config_init(&o->cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		bool takes = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--prio") ||
			     !strcmp(a, "--window-pages") || !strcmp(a, "--listen") ||
			     !strcmp(a, "--kernel") || !strcmp(a, "--lru-gen") || !strcmp(a, "--fail-passes");
		if (takes && !(val = cli_optval("estimate", argc, argv, &i)))
			return -EINVAL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
			return 0;
		} else if (!strcmp(a, "--check")) {
			o->check = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = true;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			o->out_path = val;
		} else if (!strcmp(a, "--prio")) {
			char err[160];
			if (parse_prio(val, &o->cfg.prio, err, sizeof(err)) != 0) {
				fprintf(stderr, "%s estimate: --prio '%s': %s\n", prog, val, err);
				return -EDOM;
			}
		} else if (!strcmp(a, "--window-pages")) {
			char *end;
			errno = 0;
			unsigned long n = strtoul(val, &end, 10);
			if (errno || *end || !*val || val[0] < '0' || val[0] > '9' || n == 0 || n > (1ul << 30)) {
				fprintf(stderr, "%s estimate: --window-pages '%s' is not a number of pages from 1 to "
						"1073741824\n", prog, val);
				return -EDOM;
			}
			o->cfg.window_pages = (unsigned)n;
		} else if (!strcmp(a, "--kernel")) {
			if (!*val || val[0] < '0' || val[0] > '9' || !strchr(val, '.')) {
				fprintf(stderr, "%s estimate: --kernel '%s' is not a release MAJOR.MINOR[...] "
						"(as 'uname -r' prints it, e.g. 6.12.95+deb12-amd64)\n", prog, val);
				return -EDOM;
			}
			o->cfg.kernel = val;
		} else if (!strcmp(a, "--lru-gen")) {
			if (strcmp(val, "0") && strcmp(val, "1")) {
				fprintf(stderr, "%s estimate: --lru-gen '%s': 0 (MGLRU off) or 1 (on)\n", prog, val);
				return -EDOM;
			}
			o->cfg.lru_gen = val[0] == '1';
		} else if (!strcmp(a, "--fail-passes")) {
			if (strlen(val) != 1 || val[0] < '1' || val[0] > '8') {
				fprintf(stderr, "%s estimate: --fail-passes '%s' is not a number from 1 to 8\n",
					prog, val);
				return -EDOM;
			}
			o->cfg.fail_passes = (unsigned)(val[0] - '0');
		} else if (!strcmp(a, "--listen")) {
			int rc = add_listen(o, val);
			if (rc)
				return rc;
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("estimate", "unknown option '%s'", a);
		} else if (!o->path) {
			o->path = a;
		} else {
			return cli_usage_error("estimate", "one FILE only ('%s' is extra)", a);
		}
	}
	if (!o->path)
		return cli_usage_error("estimate", "FILE is missing: estimate FILE (a recording; '-': "
						   "standard input)");
	if (o->out_path && !*o->out_path)
		return cli_usage_error("estimate", "-o: an empty file name");
	o->cfg.listen = o->extra;
	o->cfg.nlisten = o->nextra;
	return 0;
}

/* The whole of ob to path ("-": standard output): 0 or -errno. */
static int write_out(const char *path, const struct vmp__buf *ob)
{
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	if (!f)
		return -errno;
	int werr = 0;
	if (fwrite(ob->p, 1, ob->len, f) != ob->len)
		werr = errno ? errno : EIO;
	if (fflush(f) != 0 && !werr)
		werr = errno ? errno : EIO;
	if (!to_stdout && fclose(f) != 0 && !werr)
		werr = errno ? errno : EIO;
	return -werr;
}

/* The counts and the summary; EXIT_MISMATCH if --check finds one. */
static int report(const struct estimate_opts *o, vmp_estimate *est, const char *shown, const char *prio,
		  bool quiet)
{
	int status = EXIT_OK;
	struct vmp_estimate_stats st;
	vmp_estimate_stats(est, &st);
	fprintf(stderr, "%s: %s: %" PRIu64 " samples (%" PRIu64 " cgroup snapshots) with prio=%s window_pages=%u: "
			"%" PRIu64 " windows, %" PRIu64 " failed reclaim calls\n", prog, shown, st.steps,
		st.cgroup_samples, prio, o->cfg.window_pages, st.windows, st.failed_calls);
	size_t n = vmp_estimate_listener_count(est);
	for (size_t i = 0; i < n; i++) {
		struct vmp_estimate_listener l;
		vmp_estimate_listener(est, i, &l);
		if (!quiet)
			cli_print_count(l.id, l.count);
		char rec[48] = "";
		if (l.has_expect)
			snprintf(rec, sizeof(rec), "; recorded %" PRIu64, l.expect);
		fprintf(stderr, "%s:   listener %u (%s %s%s): %" PRIu64 " notifications: %" PRIu64 " low, %" PRIu64
				" medium, %" PRIu64 " critical%s\n", prog, l.id, l.group, l.args, l.extra ? ", extra" : "",
			l.count, l.by_level[0], l.by_level[1], l.by_level[2], rec);
		if (o->check && l.has_expect && l.count != l.expect) {
			cli_print_mismatch(l.id, l.count, l.expect);
			status = EXIT_MISMATCH;
		}
	}
	return status;
}

/* The second half of cmd_estimate(): read, estimate, write, report. Its
 * exit status. */
static int run(const struct estimate_opts *o, char **buf, struct vmp__buf *ob, vmp_estimate **est)
{
	const char *path = o->path, *out_path = o->out_path;
	size_t len;
	int rc = read_file(path, buf, &len);
	if (rc) {
		fprintf(stderr, "%s estimate: cannot read '%s': %s\n", prog, path, read_file_error(rc));
		return EXIT_IOERR;
	}
	char prio[96];
	prio_text(o->cfg.prio, prio, sizeof(prio));
	if (out_path) {
		char head[512];
		int hn = snprintf(head, sizeof(head),
				  "# vmptrace 1\n# estimated by vmpressure %s estimate from %s with prio=%s "
				  "window_pages=%u\n", VMP_VERSION_STRING, strcmp(path, "-") ? path : "standard input",
				  prio, o->cfg.window_pages);
		if (hn > 0)
			on_text(head, (size_t)hn < sizeof(head) ? (size_t)hn : sizeof(head) - 1, ob);
	}
	struct vmp_error terr = {0};
	rc = vmp_estimate_run(*buf, len, &o->cfg, out_path ? on_text : NULL, ob, est, &terr);
	const char *shown = strcmp(path, "-") ? path : "standard input";
	if (rc == -ENOMEM || ob->oom) {
		fprintf(stderr, "%s estimate: out of memory\n", prog);
		return EXIT_SOFTWARE;
	}
	if (rc) {
		if (terr.line)
			fprintf(stderr, "%s estimate: %s:%lu: %s\n", prog, shown, terr.line, terr.msg);
		else
			fprintf(stderr, "%s estimate: %s: %s\n", prog, shown, terr.msg[0] ? terr.msg : strerror(-rc));
		return EXIT_BADINPUT;
	}
	bool quiet = o->quiet;
	if (out_path) {
		if ((rc = write_out(out_path, ob)) != 0) {
			fprintf(stderr, "%s estimate: cannot write '%s': %s\n", prog, out_path, strerror(-rc));
			return EXIT_IOERR;
		}
		if (!strcmp(out_path, "-"))
			quiet = true; /* the trace is standard output */
	}
	int status = report(o, *est, shown, prio, quiet);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s estimate: writing standard output: %s\n", prog, strerror(errno));
		status = EXIT_IOERR;
	}
	return status;
}

int cmd_estimate(int argc, char **argv)
{
	struct estimate_opts o;
	int rc = parse_opts(&o, argc, argv);
	int status;
	if (rc) {
		status = cli_opt_status(rc);
	} else if (o.help) {
		usage(stdout);
		status = EXIT_OK;
	} else {
		char *buf = NULL;
		struct vmp__buf ob = {0};
		vmp_estimate *est = NULL;
		status = run(&o, &buf, &ob, &est);
		vmp_estimate_free(est);
		free(buf);
		free(ob.p);
	}
	opts_free(&o);
	return status;
}
