/* SPDX-License-Identifier: MIT */
#ifndef VMP_CLI_H
#define VMP_CLI_H

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
};

extern const char *prog;

int cmd_calc(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* Read a whole file ("-" is stdin). 0, or -errno. */
int read_file(const char *path, char **buf, size_t *len);

#endif
