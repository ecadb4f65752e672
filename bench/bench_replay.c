/* SPDX-License-Identifier: MIT */
/*
 * bench_replay: vmptrace replay throughput, in MB/s (10^6 bytes per second)
 * of trace text, through vmp_replay_run() on every *.vmpt file of a
 * directory (default: tests/data of the source tree, passed by meson).
 *
 * Each file is read into memory once; every timed run is
 * vmp_replay_run(buf, len, NULL, NULL, &r, &err) + vmp_replay_free(r), so
 * parsing, the engine's work (context, groups, listeners, accounting,
 * evaluations) and teardown are all counted. The files are replayed in
 * interleaved rounds; the median run per file is shown. Overall MB/s is
 * the total bytes over the sum of the per-file median times.
 *
 * Baseline, same run, same buffers, same method: a plain pass that counts
 * the lines with memchr() ('\n' by '\n'), i.e. the cheapest possible look
 * at every line of the text.
 */
#include "bench_util.h"

#include "vmpressure.h"

#include <dirent.h>
#include <sys/stat.h>

#define GOAL_MBPS 100.0
#define MAX_FILES 64

struct tfile {
	char name[256];
	char *buf;
	size_t len;
	size_t lines;
	double *lib_ns, *base_ns; /* per round */
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		bench_die("%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0)
		bench_die("%s: %s", path, strerror(errno));
	char *b = malloc((size_t)st.st_size + 1);
	if (!b)
		bench_die("out of memory");
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size || ferror(f))
		bench_die("%s: short read", path);
	fclose(f);
	*len = n;
	return b;
}

__attribute__((noinline)) static size_t count_lines(const char *buf, size_t len)
{
	size_t lines = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		lines++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return lines;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct tfile *)a)->name, ((const struct tfile *)b)->name);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	double scale = bench_scale();
	int rounds = (int)(21 * scale + 0.5);
	if (rounds < 3)
		rounds = 3;

	static struct tfile files[MAX_FILES];
	size_t nfiles = 0;
	DIR *d = opendir(dir);
	if (!d)
		bench_die("%s: %s (pass the directory of *.vmpt files as the argument)", dir,
			  strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) && nfiles < MAX_FILES) {
		if (!has_suffix(de->d_name, ".vmpt"))
			continue;
		struct tfile *t = &files[nfiles++];
		snprintf(t->name, sizeof(t->name), "%s", de->d_name);
	}
	closedir(d);
	if (!nfiles)
		bench_die("%s: no *.vmpt files", dir);
	qsort(files, nfiles, sizeof(files[0]), cmp_name);

	size_t total_bytes = 0;
	for (size_t i = 0; i < nfiles; i++) {
		struct tfile *t = &files[i];
		size_t plen = strlen(dir) + strlen(t->name) + 2;
		char *path = malloc(plen);
		if (!path)
			bench_die("out of memory");
		snprintf(path, plen, "%s/%s", dir, t->name);
		t->buf = read_file(path, &t->len);
		free(path);
		t->lib_ns = calloc((size_t)rounds, sizeof(double));
		t->base_ns = calloc((size_t)rounds, sizeof(double));
		if (!t->lib_ns || !t->base_ns)
			bench_die("out of memory");
		total_bytes += t->len;
		/* Warm-up, and a check that the file replays at all. */
		vmp_replay *r;
		struct vmp_error err;
		int rc = vmp_replay_run(t->buf, t->len, NULL, NULL, &r, &err);
		if (rc)
			bench_die("%s: vmp_replay_run: %s (line %lu: %s)", t->name, strerror(-rc),
				  err.line, err.msg);
		vmp_replay_free(r);
		t->lines = count_lines(t->buf, t->len);
	}

	printf("bench_replay: vmp_replay_run() + vmp_replay_free() over %zu file(s) in %s\n"
	       "  %d interleaved rounds, median per file; MB = 10^6 bytes\n"
	       "  baseline: count the lines with memchr() over the same buffers\n",
	       nfiles, dir, rounds);
	bench_print_load();
	fflush(stdout);

	size_t sink = 0;
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < nfiles; i++) {
			struct tfile *t = &files[i];
			vmp_replay *r;
			struct vmp_error err;
			uint64_t t0 = vmp__mono_ns();
			int rc = vmp_replay_run(t->buf, t->len, NULL, NULL, &r, &err);
			if (rc)
				bench_die("%s: vmp_replay_run: %s", t->name, strerror(-rc));
			vmp_replay_free(r);
			uint64_t t1 = vmp__mono_ns();
			sink += count_lines(t->buf, t->len);
			uint64_t t2 = vmp__mono_ns();
			t->lib_ns[round] = (double)(t1 - t0);
			t->base_ns[round] = (double)(t2 - t1);
		}
	}

	printf("\n  %-24s %9s %8s %9s %10s %12s\n", "file", "bytes", "lines", "ms/run", "MB/s",
	       "base MB/s");
	double lib_total_ns = 0, base_total_ns = 0, min_mbps = 1e300;
	for (size_t i = 0; i < nfiles; i++) {
		struct tfile *t = &files[i];
		double lns = bench_median(t->lib_ns, (size_t)rounds);
		double bns = bench_median(t->base_ns, (size_t)rounds);
		lib_total_ns += lns;
		base_total_ns += bns;
		double mbps = (double)t->len * 1e3 / lns;
		if (mbps < min_mbps)
			min_mbps = mbps;
		printf("  %-24s %9zu %8zu %9.2f %10.1f %12.1f\n", t->name, t->len, t->lines, lns / 1e6,
		       mbps, (double)t->len * 1e3 / bns);
	}
	double overall = (double)total_bytes * 1e3 / lib_total_ns;
	printf("  %-24s %9zu %8s %9.2f %10.1f %12.1f\n\n", "overall", total_bytes, "",
	       lib_total_ns / 1e6, overall, (double)total_bytes * 1e3 / base_total_ns);

	bench_verdict(overall >= GOAL_MBPS,
		      "goal: at least %.0f MB/s; measured %.1f MB/s overall (slowest file %.1f MB/s; baseline %.1f MB/s)",
		      GOAL_MBPS, overall, min_mbps, (double)total_bytes * 1e3 / base_total_ns);

	if (sink == 1) /* keep the baseline's result alive */
		puts("");
	for (size_t i = 0; i < nfiles; i++) {
		free(files[i].buf);
		free(files[i].lib_ns);
		free(files[i].base_ns);
	}
	return 0;
}
