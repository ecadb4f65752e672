/* SPDX-License-Identifier: MIT */
/*
 * hog: memory workloads for the VM suite.
 *
 *   hog [-c CGDIR] file PATH...       read files through the page cache
 *   hog [-c CGDIR] anon MB STEP_MS    touch MB of anonymous memory, 1 MiB a
 *                                     step, STEP_MS between steps; holds it
 *   hog [-c CGDIR] mix FILE MB        hold MB anonymous, then read FILE 3 times
 *   hog [-c CGDIR] hold MB SECONDS    touch MB anonymous and keep it SECONDS
 *   hog [-c CGDIR] shm MB SECONDS     shmem: a memfd of MB mapped shared,
 *                                     touched, kept SECONDS
 *   hog [-c CGDIR] tmpfs PATH MB      write MB to the file PATH (on a tmpfs:
 *                                     shmem that outlives its writer) and exit
 *   hog [-c CGDIR] reread SECONDS FILE...  read the files again and again
 *                                     for SECONDS (a working set re-read)
 *   hog now                           print CLOCK_MONOTONIC seconds
 *
 * -c CGDIR moves the process into that cgroup (writes its pid to
 * CGDIR/cgroup.procs) before anything else. Without swap, "anon" past the
 * group's limit ends with the OOM killer: that is a workload, not an error.
 * Pages are written with a pattern that varies per page, so that zram
 * (the guest's swap) cannot store them as same-filled pages for free.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

static void readf(const char *f)
{
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hog: %s: %s\n", f, strerror(errno));
		exit(1);
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1 MiB, each 4 KiB page with its own words (compressible, not same-filled). */
static void fill(char *p, long mib)
{
	for (long off = 0; off < (1 << 20); off += 4096) {
		memset(p + off, 1, 4096);
		long v = mib * 256 + off / 4096;
		memcpy(p + off, &v, sizeof(v));
	}
}

static void touch(long mb, int step_ms)
{
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			fprintf(stderr, "hog: out of memory after %ld MiB\n", i);
			exit(1);
		}
		fill(p, i);
		if (step_ms)
			usleep((useconds_t)step_ms * 1000);
	}
}

static void shm(long mb, unsigned secs)
{
	int fd = memfd_create("hog", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, mb << 20) != 0) {
		fprintf(stderr, "hog: memfd of %ld MiB: %s\n", mb, strerror(errno));
		exit(1);
	}
	char *p = mmap(NULL, (size_t)mb << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "hog: mmap of the memfd: %s\n", strerror(errno));
		exit(1);
	}
	for (long i = 0; i < mb; i++)
		fill(p + (i << 20), i);
	sleep(secs);
}

static void tmpfile_write(const char *path, long mb)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "hog: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	static char mib[1 << 20];
	for (long i = 0; i < mb; i++) {
		fill(mib, i);
		if (write(fd, mib, sizeof(mib)) != (ssize_t)sizeof(mib)) {
			fprintf(stderr, "hog: %s: writing MiB %ld: %s\n", path, i, strerror(errno));
			exit(1);
		}
	}
	close(fd);
}

static void join(const char *dir)
{
	char p[512], pid[32];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	int n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "hog: %s: %s\n", p, strerror(errno));
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc > 2 && !strcmp(argv[1], "-c")) {
		join(argv[2]);
		i = 3;
	}
	if (i >= argc)
		goto usage;
	const char *cmd = argv[i++];
	int left = argc - i;
	if (!strcmp(cmd, "now")) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		printf("%ld.%06ld\n", (long)t.tv_sec, t.tv_nsec / 1000);
		return 0;
	}
	if (!strcmp(cmd, "file") && left >= 1) {
		for (; i < argc; i++)
			readf(argv[i]);
		return 0;
	}
	if (!strcmp(cmd, "anon") && left == 2) {
		touch(atol(argv[i]), atoi(argv[i + 1]));
		return 0;
	}
	if (!strcmp(cmd, "mix") && left == 2) {
		touch(atol(argv[i + 1]), 0);
		for (int k = 0; k < 3; k++)
			readf(argv[i]);
		return 0;
	}
	if (!strcmp(cmd, "shm") && left == 2) {
		shm(atol(argv[i]), (unsigned)atoi(argv[i + 1]));
		return 0;
	}
	if (!strcmp(cmd, "tmpfs") && left == 2) {
		tmpfile_write(argv[i], atol(argv[i + 1]));
		return 0;
	}
	if (!strcmp(cmd, "reread") && left >= 2) {
		double end = now() + atof(argv[i]);
		int passes = 0;
		while (now() < end) {
			for (int k = i + 1; k < argc; k++)
				readf(argv[k]);
			passes++;
		}
		printf("reread: %d passes\n", passes);
		return 0;
	}
	if (!strcmp(cmd, "hold") && left == 2) {
		touch(atol(argv[i]), 0);
		sleep((unsigned)atoi(argv[i + 1]));
		return 0;
	}
usage:
	fprintf(stderr, "usage: hog [-c CGDIR] file PATH... | anon MB STEP_MS | mix FILE MB | hold MB S |\n"
			"           shm MB S | tmpfs PATH MB | reread S FILE... | now\n");
	return 64;
}
