/* SPDX-License-Identifier: MIT */
/*
 * vmpressure forecast FILE: the OOM forecast run again over the samples a
 * recording kept (`vmpressure record --forecast`), with any setting
 * changed: the warnings and clears it would have printed, at the
 * recording's times, then a summary on standard error. The file is
 * checked whole before anything is printed: a malformed one prints
 * nothing on standard output (exit 2, its line and byte named).
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure forecast FILE [--setting CONFIG] [--json] [--every]\n"
		"\n"
		"Run the OOM forecast again over the forecast samples of FILE (a recording\n"
		"made with 'vmpressure record --forecast'), and print what watch --forecast\n"
		"would have printed, at the recording's times (seconds since it started).\n"
		"\n"
		"  -s, --setting CONFIG  the model's settings, key=value,... over the defaults:\n"
		"                     warn=DUR (30), window=DUR (1s), long=DUR (8s), sigma=X (3),\n"
		"                     confirm=N (2), least=DUR (1s), reraise=X (0.5), clear=X (2),\n"
		"                     hold=DUR (2s);\n"
		"                     docs/forecast.md says what each does\n"
		"  -j, --json         one JSON object per line, as watch --forecast --json\n"
		"      --every        one line per sample instead: time, eta (- when none),\n"
		"                     the deciding group, its headroom and growth\n"
		"\n"
		"exit status: 0 ok, 2 malformed file or setting, 64 usage, 74 cannot read FILE\n");
}

struct fcrun {
	bool json, every, print;
	uint64_t warnings, clears;
	double least;
};

static void on_sample(const struct vmp_fc_sample *s, const struct vmp_fc_result *r, void *arg)
{
	struct fcrun *f = arg;
	if (r->event == VMP_FC_EVENT_WARN)
		f->warnings++;
	else if (r->event == VMP_FC_EVENT_CLEAR)
		f->clears++;
	if (r->eta >= 0 && (f->least < 0 || r->eta < f->least))
		f->least = r->eta;
	if (!f->print)
		return;
	const char *cg = s->ngroups ? s->groups[0].path : "/";
	if (f->every) {
		if (r->eta >= 0)
			printf("%.3f %.3f", s->time, r->eta);
		else
			printf("%.3f -", s->time);
		printf(" %s %.0f %.0f%s\n", r->path ? r->path : "-", r->headroom, r->growth,
		       r->event == VMP_FC_EVENT_WARN ? " forecast" : r->event == VMP_FC_EVENT_CLEAR ? " clear" : "");
	} else if (r->event != VMP_FC_EVENT_NONE)
		watch_forecast_print(r, cg, 0, s->time, f->json, NULL);
}

int cmd_forecast(int argc, char **argv)
{
	const char *path = NULL, *setting = NULL;
	struct fcrun f = {.least = -1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			f.json = true;
		} else if (!strcmp(a, "--every")) {
			f.every = true;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--setting")) {
			if (setting) {
				fprintf(stderr, "%s forecast: --setting given twice (one CONFIG: key=value,...)\n", prog);
				return EXIT_USAGE;
			}
			if (!(setting = cli_optval("forecast", argc, argv, &i)))
				return EXIT_USAGE;
		} else if (!strncmp(a, "--setting=", 10)) {
			if (setting) {
				fprintf(stderr, "%s forecast: --setting given twice (one CONFIG: key=value,...)\n", prog);
				return EXIT_USAGE;
			}
			setting = a + 10;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "%s forecast: unknown option '%s'\n", prog, a);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "%s forecast: one FILE only ('%s' is extra)\n", prog, a);
			return EXIT_USAGE;
		}
	}
	if (!path) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct vmp_forecast_config cfg;
	struct vmp_error perr;
	if (vmp_forecast_parse(setting ? setting : "", &cfg, &perr) != 0) {
		fprintf(stderr, "%s forecast: --setting '%s': %s\n", prog, setting, perr.msg);
		return EXIT_BADINPUT;
	}
	char *buf;
	size_t len;
	int rc = read_file(path, &buf, &len);
	if (rc) {
		fprintf(stderr, "%s forecast: %s: %s\n", prog, path, strerror(-rc));
		return EXIT_IOERR;
	}
	struct vmp_error terr = {0};
	uint64_t n = 0;
	rc = vmp_forecast_replay(buf, len, &cfg, on_sample, &f, &n, &terr); /* the check */
	if (rc == 0) {
		f = (struct fcrun){.json = f.json, .every = f.every, .print = true, .least = -1};
		rc = vmp_forecast_replay(buf, len, &cfg, on_sample, &f, &n, &terr);
	}
	free(buf);
	if (rc == -EINVAL || rc == -ENODATA) {
		if (terr.line)
			fprintf(stderr, "%s forecast: %s:%lu: %s\n", prog, path, terr.line, terr.msg);
		else
			fprintf(stderr, "%s forecast: %s: %s\n", prog, path, terr.msg);
		return EXIT_BADINPUT;
	}
	if (rc) {
		fprintf(stderr, "%s forecast: %s: %s\n", prog, path, strerror(-rc));
		return EXIT_SOFTWARE;
	}
	char least[32] = "none";
	if (f.least >= 0)
		snprintf(least, sizeof(least), "%.1f s", f.least);
	fprintf(stderr, "%s: %s: %" PRIu64 " samples: %" PRIu64 " forecast warnings, %" PRIu64
			" cleared; least eta %s (warn under %.1f s)\n",
		prog, path, n, f.warnings, f.clears, least, cfg.warn_s);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s forecast: writing standard output: %s\n", prog, strerror(errno));
		return EXIT_IOERR;
	}
	return EXIT_OK;
}
