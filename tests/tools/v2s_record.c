/* SPDX-License-Identifier: MIT */
/*
 * v2s_record DIR RUN: print a recorded cgroup v2 run of DIR (tests/data/v2:
 * the v2 study, vm/..., vm2/...) as a recording with sample lines and the
 * kernel's counts as `expect` records, for `vmpressure estimate --check`:
 *
 *   ./build/tests/v2s_record tests/data/v2 vm/nested >nested.vmpt
 *   vmpressure estimate --check nested.vmpt --window-pages 1024
 */
#include "v2record.h"

#include <stdio.h>
#include <stdlib.h>

static void out(const char *text, size_t len, void *arg)
{
	fwrite(text, 1, len, arg);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: v2s_record DIR RUN (e.g. tests/data/v2 vm/nested)\n");
		return 64;
	}
	struct v2s_run *run;
	char err[512];
	if (v2s_load(argv[1], argv[2], &run, err, sizeof(err)) != 0) {
		fprintf(stderr, "v2s_record: %s\n", err[0] ? err : "cannot load the run");
		return 74;
	}
	int rc = v2s_recording(run, true, out, stdout);
	v2s_free(run);
	if (rc || fflush(stdout) != 0) {
		fprintf(stderr, "v2s_record: cannot write the recording\n");
		return 74;
	}
	return 0;
}
