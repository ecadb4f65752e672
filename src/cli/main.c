/* SPDX-License-Identifier: MIT */
/* vmpressure: the command line. Subcommands live in cmd_*.c. */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *prog = "vmpressure";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure COMMAND [ARGS]\n"
		"\n"
		"The Linux kernel's memory pressure levels (mm/vmpressure.c), in userspace.\n"
		"\n"
		"commands:\n"
		"  watch [CGROUP]           live pressure notifications (default: the whole machine)\n"
		"  record [CGROUP] -o FILE  the same, written as a vmptrace file that replay reproduces\n"
		"  estimate FILE [--prio LIST] [--window-pages N]\n"
		"                           run the estimator again over a recording's samples\n"
		"  plot FILE -o OUT.svg     draw a vmptrace file: pressure per group, notifications\n"
		"  calc SCANNED RECLAIMED   the kernel's pressure %% and level for one window\n"
		"  replay [--check] [--events] FILE\n"
		"                           replay a vmptrace file, print notifications per listener\n"
		"  help                     this text\n"
		"  version                  the program and library versions\n"
		"\n"
		"'vmpressure COMMAND --help' describes each command; man vmpressure(1) has it all.\n"
		"exit status: 0 ok, 1 replay --check mismatch, 2 malformed input, 64 usage,\n"
		"             69 no pressure source, 70 internal error, 74 I/O error\n");
}

int read_file(const char *path, char **buf, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(b);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s: a command is missing\n\n", prog);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "calc") == 0)
		return cmd_calc(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(argc - 1, argv + 1);
	if (strcmp(cmd, "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "estimate") == 0)
		return cmd_estimate(argc - 1, argv + 1);
	if (strcmp(cmd, "plot") == 0)
		return cmd_plot(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		unsigned v = vmp_version();
		printf("vmpressure %s (libvmpressure %u.%u.%u)\n", VMP_VERSION_STRING, v >> 16,
		       (v >> 8) & 0xff, v & 0xff);
		return EXIT_OK;
	}
	return cli_opt_status(cli_usage_error(NULL, "unknown command '%s'", cmd));
}
