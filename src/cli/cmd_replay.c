/* SPDX-License-Identifier: MIT */
/*
 * vmpressure replay: the contract of docs/vmptrace.md. Counts per listener
 * on stdout; --check compares them with the file's `expect` records;
 * malformed input is reported on stderr with its line number, exit 2, and
 * nothing on stdout (events are therefore held back until the end).
 */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure replay [--check] [--events] [--quiet] FILE\n"
		"\n"
		"Replay a vmptrace v1 file (FILE '-' is stdin) through the engine and print\n"
		"'<id> <count>' for every listener, in ascending id order.\n"
		"\n"
		"  --check   compare each count with the file's 'expect' records; print\n"
		"            'mismatch <id> got <n> expected <m>' for each difference and\n"
		"            exit 1 if any differs\n"
		"  --events  first print every notification as '<t> <listener> <level>'\n"
		"  --quiet   do not print the counts (with --check: only mismatches)\n"
		"\n"
		"exit status: 0 ok, 1 mismatch, 2 malformed trace, 64 usage, 74 unreadable file\n");
}

static void on_event(const char *t, size_t tlen, unsigned id, vmp_level level, void *arg)
{
	struct vmp__buf *b = arg;
	if (!vmp__buf_reserve(b, tlen + 32))
		return;
	memcpy(b->p + b->len, t, tlen);
	b->len += tlen;
	b->len += (size_t)snprintf(b->p + b->len, b->cap - b->len, " %u %s\n", id, vmp_level_name(level));
}

int cmd_replay(int argc, char **argv)
{
	bool check = false, events = false, quiet = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--events") == 0)
			events = true;
		else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			quiet = true;
		else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_opt_status(cli_usage_error("replay", "unknown option '%s'", argv[i]));
		} else if (!path)
			path = argv[i];
		else {
			return cli_opt_status(cli_usage_error("replay", "one FILE only ('%s' is extra)", argv[i]));
		}
	}
	if (!path)
		return cli_opt_status(cli_usage_error("replay", "FILE is missing: replay [--check] [--events] FILE "
							       "('-': standard input)"));

	char *buf;
	size_t len;
	int rc = read_file(path, &buf, &len);
	if (rc) {
		fprintf(stderr, "%s replay: %s: %s\n", prog, path, read_file_error(rc));
		return EXIT_IOERR;
	}
	struct vmp__buf eb = {0};
	struct vmp_error err = {0};
	vmp_replay *r = NULL;
	rc = vmp_replay_run(buf, len, events ? on_event : NULL, &eb, &r, &err);
	free(buf);
	if (rc == -EINVAL) {
		fprintf(stderr, "%s replay: %s:%lu: %s\n", prog, path, err.line, err.msg);
		free(eb.p);
		return EXIT_BADINPUT;
	}
	if (rc || eb.oom) {
		fprintf(stderr, "%s replay: %s: %s\n", prog, path, strerror(rc ? -rc : ENOMEM));
		free(eb.p);
		vmp_replay_free(r);
		return EXIT_IOERR;
	}
	if (eb.len)
		fwrite(eb.p, 1, eb.len, stdout);
	free(eb.p);

	size_t n = vmp_replay_listener_count(r), compared = 0, bad = 0;
	struct vmp_replay_listener l;
	if (!quiet)
		for (size_t i = 0; i < n; i++)
			if (vmp_replay_listener(r, i, &l) == 0)
				cli_print_count(l.id, l.count);
	if (check) {
		for (size_t i = 0; i < n; i++) {
			if (vmp_replay_listener(r, i, &l) != 0 || !l.has_expect)
				continue;
			compared++;
			if (l.count != l.expect) {
				bad++;
				cli_print_mismatch(l.id, l.count, l.expect);
			}
		}
		if (!compared)
			fprintf(stderr, "%s replay: %s: note: no 'expect' records, nothing to check\n", prog, path);
	}
	vmp_replay_free(r);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s replay: writing the output: %s\n", prog, strerror(errno));
		return EXIT_IOERR;
	}
	return bad ? EXIT_MISMATCH : EXIT_OK;
}
