/* SPDX-License-Identifier: MIT */
/* vmpressure: the command line. Subcommands live in cmd_*.c. */
#include "cli.h"
#include "vmpressure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
		"  forecast FILE [--setting CONFIG]\n"
		"                           run the OOM forecast again over a recording's samples\n"
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

/* Half of MemAvailable (/proc/meminfo), else of the physical memory, or
 * of RLIMIT_DATA or RLIMIT_AS if lower: an input read whole may take that
 * much and no more, so that `replay
 * /dev/stdin < /dev/zero` ends with an error instead of the OOM killer
 * choosing among the machine's processes. */
static size_t input_limit(void)
{
	static size_t limit;
	if (limit)
		return limit;
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[128];
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
				break;
		fclose(f);
	}
	unsigned long long bytes = kib * 1024;
	if (!bytes) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		bytes = pages > 0 && psz > 0 ? (unsigned long long)pages * (unsigned long long)psz : 1ull << 30;
	}
	/* And of what this process may allocate at all (ulimit -d, -v). */
	static const int res[] = {RLIMIT_DATA, RLIMIT_AS};
	for (size_t i = 0; i < 2; i++) {
		struct rlimit rl;
		if (getrlimit(res[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < bytes)
			bytes = rl.rlim_cur;
	}
	bytes /= 2;
	limit = bytes > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)bytes;
	return limit;
}

const char *read_file_error(int rc)
{
	static char msg[160];
	switch (rc) {
	case -EFBIG:
		snprintf(msg, sizeof(msg), "larger than %zu MiB, half of the memory available now (MemAvailable, ulimit -d, -v); not read",
			 input_limit() >> 20);
		return msg;
	case -ENODEV:
		return "not a regular file (a device, FIFO or socket); give a file, or '-' for standard input";
	case -ENOTTY:
		return "standard input is a device, not a file or a pipe; not read";
	default:
		return strerror(-rc);
	}
}

int read_file(const char *path, char **buf, size_t *len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	/* By path, a regular file only (a FIFO would block, a device need not
	 * end); standard input may be a pipe, read up to the limit. */
	if (!is_stdin && !S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
	}
	if (is_stdin && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && !isatty(fd)) {
		close(fd);
		return -ENOTTY; /* a device on standard input: /dev/zero has no end */
	}
	size_t limit = input_limit();
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > limit) {
		close(fd);
		return -EFBIG;
	}
	size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
	char *b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			if (cap > limit) {
				free(b);
				close(fd);
				return -EFBIG;
			}
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
	if (strcmp(cmd, "forecast") == 0)
		return cmd_forecast(argc - 1, argv + 1);
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
