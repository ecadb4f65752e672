/* SPDX-License-Identifier: MIT */
/*
 * seccomp_run LIST COMMAND [ARG...]: run COMMAND under a seccomp filter that
 * allows the system calls named in LIST (one name a line) and makes every
 * other one fail with EPERM, as systemd does for a unit with
 * SystemCallFilter= and SystemCallErrorNumber=EPERM. test_unit.py derives
 * LIST from vmpressured.service's own SystemCallFilter= lines.
 *
 * libseccomp is loaded at run time (Debian's libseccomp2 ships the library
 * without the headers, which are in libseccomp-dev): the few declarations
 * used are its stable ABI. Exit 77 (skip) if it is not there, 2 on a bad
 * list, else COMMAND's exec error (127) or COMMAND itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCMP_ACT_ALLOW 0x7fff0000u
#define SCMP_ACT_ERRNO(x) (0x00050000u | ((x) & 0x0000ffffu))

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: seccomp_run LIST COMMAND [ARG...]\n");
		return 64;
	}
	void *h = dlopen("libseccomp.so.2", RTLD_NOW);
	if (!h) {
		fprintf(stderr, "seccomp_run: no libseccomp.so.2 (Debian: libseccomp2): %s\n", dlerror());
		return 77;
	}
	void *(*init)(uint32_t) = (void *(*)(uint32_t))dlsym(h, "seccomp_init");
	int (*resolve)(const char *) = (int (*)(const char *))dlsym(h, "seccomp_syscall_resolve_name");
	int (*rule_add)(void *, uint32_t, int, unsigned, ...) =
		(int (*)(void *, uint32_t, int, unsigned, ...))dlsym(h, "seccomp_rule_add");
	int (*load)(void *) = (int (*)(void *))dlsym(h, "seccomp_load");
	if (!init || !resolve || !rule_add || !load) {
		fprintf(stderr, "seccomp_run: libseccomp.so.2 lacks a function it should have\n");
		return 77;
	}
	FILE *f = fopen(argv[1], "re");
	if (!f) {
		fprintf(stderr, "seccomp_run: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	void *ctx = init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return 2;
	char name[128];
	unsigned allowed = 0, unknown = 0;
	while (fscanf(f, "%127s", name) == 1) {
		int nr = resolve(name);
		if (nr < 0) {
			unknown++; /* not a call of this architecture (or this libseccomp) */
			continue;
		}
		int rc = rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc && rc != -EEXIST) {
			fprintf(stderr, "seccomp_run: allowing %s: %s\n", name, strerror(-rc));
			return 2;
		}
		allowed++;
	}
	fclose(f);
	int rc = load(ctx);
	if (rc) {
		fprintf(stderr, "seccomp_run: seccomp_load: %s\n", strerror(-rc));
		return 2;
	}
	fprintf(stderr, "seccomp_run: %u system calls allowed (%u names not on this architecture), the rest EPERM\n",
		allowed, unknown);
	execv(argv[2], argv + 2);
	fprintf(stderr, "seccomp_run: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
