/* SPDX-License-Identifier: MIT */
/* The forecast's live reader (src/lib/sources/fcinput.c) on fixture trees
 * of cgroup v2 and v1 files and /proc. */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static void put(const char *rel, const char *fmt, ...)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	/* in place, as the kernel's files are: the reader keeps them open */
	FILE *f = fopen(path, "r+");
	if (!f)
		f = fopen(path, "w");
	REQUIRE(f, "cannot write %s", path);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fflush(f);
	REQUIRE(ftruncate(fileno(f), ftell(f)) == 0, "truncate");
	fclose(f);
}

static void dir(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	REQUIRE(mkdir(path, 0755) == 0, "mkdir %s", path);
}

static void proc_files(void)
{
	dir("proc");
	dir("proc/pressure");
	put("proc/meminfo", "MemTotal:        8000000 kB\nMemFree:   100 kB\nMemAvailable:    6000000 kB\n"
			    "SwapTotal:       1000000 kB\nSwapFree:         900000 kB\n");
	put("proc/vmstat", "nr_free_pages 100\noom_kill 7\n");
	put("proc/pressure/memory", "some avg10=1.50 avg60=0.00 avg300=0.00 total=10\n"
				    "full avg10=0.50 avg60=0.00 avg300=0.00 total=5\n");
}

static void v2_group(const char *g, const char *max, uint64_t current)
{
	char p[256];
	dir(g);
	snprintf(p, sizeof(p), "%s/cgroup.procs", g);
	put(p, "");
	snprintf(p, sizeof(p), "%s/memory.current", g);
	put(p, "%llu\n", (unsigned long long)current);
	snprintf(p, sizeof(p), "%s/memory.max", g);
	put(p, "%s\n", max);
	snprintf(p, sizeof(p), "%s/memory.high", g);
	put(p, "max\n");
	snprintf(p, sizeof(p), "%s/memory.swap.current", g);
	put(p, "4096\n");
	snprintf(p, sizeof(p), "%s/memory.swap.max", g);
	put(p, "max\n");
	snprintf(p, sizeof(p), "%s/memory.stat", g);
	put(p, "anon 1000\nfile 3000\nkernel 10\nshmem 200\nactive_file 1000\ninactive_file 1500\n"
	       "unevictable 5\nslab_reclaimable 300\nslab_unreclaimable 40\nworkingset_refault_anon 2\n"
	       "workingset_refault_file 30\npgscan 500\npgsteal 400\n");
	snprintf(p, sizeof(p), "%s/memory.events", g);
	put(p, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
	snprintf(p, sizeof(p), "%s/memory.pressure", g);
	put(p, "some avg10=2.25 avg60=0.00 avg300=0.00 total=10\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=5\n");
}

static void test_v2(void)
{
	snprintf(base, sizeof(base), "/tmp/vmp-fcreader-v2.XXXXXX");
	REQUIRE(mkdtemp(base), "mkdtemp");
	dir("cg");
	put("cg/cgroup.controllers", "memory\n");
	v2_group("cg/a", "max", 9000);
	v2_group("cg/a/b", "104857600", 5000);
	proc_files();
	char croot[300], proot[300];
	snprintf(croot, sizeof(croot), "%s/cg", base);
	snprintf(proot, sizeof(proot), "%s/proc", base);
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.cgroup_root = croot;
	cfg.proc_root = proot;
	vmp_fc_reader *r;
	struct vmp_error err;
	CHECK(vmp_fc_reader_new(&r, &cfg, "a/nope", &err) == -ENOENT && strstr(err.path, "a/nope") &&
		      strstr(err.msg, "no such memory cgroup"),
	      "no such cgroup: -ENOENT, err names it (%s: %s)", err.path, err.msg);
	CHECK(vmp_fc_reader_new(&r, &cfg, "a/../..", NULL) == -EINVAL, "a path out of the root: -EINVAL");
	REQUIRE(vmp_fc_reader_new(&r, &cfg, "/a/b/", NULL) == 0, "reader");
	CHECK(vmp_fc_reader_kind(r) == VMP_SOURCE_V2, "v2 detected");
	struct vmp_fc_sample s;
	REQUIRE(vmp_fc_reader_read(r, 1.5, &s) == 0, "read");
	CHECK(s.time == 1.5 && s.ngroups == 2 && !strcmp(s.groups[0].path, "a/b") && !strcmp(s.groups[1].path, "a"),
	      "the group and its ancestor, not v2's root (%zu)", s.ngroups);
	const struct vmp_fc_group *g = &s.groups[0];
	CHECK(g->usage == 5000 && g->max == 104857600 && g->high == VMP_FC_UNLIMITED &&
		      (g->flags & VMP_FC_HAVE_USAGE),
	      "current, max, high");
	CHECK(g->anon == 1000 && g->shmem == 200 && g->file == 2500 && g->unevictable == 5 &&
		      g->slab_reclaimable == 300 && g->slab_unreclaimable == 40,
	      "memory.stat: file is the file LRU (%" PRIu64 ")", g->file);
	CHECK(g->refaults == 32 && g->pgscan == 500 && g->pgsteal == 400 && (g->flags & VMP_FC_HAVE_RECLAIM),
	      "counters");
	CHECK((g->flags & VMP_FC_HAVE_SWAP) && g->swap_usage == 4096 && g->swap_max == VMP_FC_UNLIMITED, "swap");
	CHECK(g->oom_kills == 1, "oom_kill from memory.events");
	CHECK(s.groups[1].max == VMP_FC_UNLIMITED && s.groups[1].usage == 9000, "the ancestor: no limit");
	CHECK(s.machine && s.machine->mem_total == 8000000ull * 1024 && s.machine->mem_available == 6000000ull * 1024 &&
		      s.machine->swap_total == 1000000ull * 1024 && s.machine->swap_free == 900000ull * 1024 &&
		      s.machine->oom_kills == 7,
	      "the machine: meminfo and vmstat");
	CHECK(s.psi_some_avg10 == 2.25 && s.psi_full_avg10 == 1.0, "the group's memory.pressure");
	CHECK(!vmp_fc_reader_problem(r), "no problem");
	/* the same descriptors see new values */
	put("cg/a/b/memory.current", "123456\n");
	REQUIRE(vmp_fc_reader_read(r, 1.6, &s) == 0, "read");
	CHECK(s.groups[0].usage == 123456, "re-read through the kept descriptor: %" PRIu64, s.groups[0].usage);
	/* a file that changed shape */
	put("cg/a/b/memory.stat", "anon lots\n");
	REQUIRE(vmp_fc_reader_read(r, 1.7, &s) == 0, "read");
	const char *pb = vmp_fc_reader_problem(r);
	CHECK((s.groups[0].flags & VMP_FC_GONE) && pb && strstr(pb, "/cg/a/b/memory.stat") && strstr(pb, "shape"),
	      "a malformed memory.stat: the group left out, the file named: %s", pb ? pb : "(none)");
	put("cg/a/b/memory.stat", "anon 1\nactive_file 2\ninactive_file 3\n");
	REQUIRE(vmp_fc_reader_read(r, 1.8, &s) == 0, "read");
	CHECK(!(s.groups[0].flags & VMP_FC_GONE) && !vmp_fc_reader_problem(r) && !(s.groups[0].flags & VMP_FC_HAVE_RECLAIM),
	      "read again once it is well-formed (no pgscan: no reclaim evidence)");
	/* and the model takes it */
	vmp_forecast *fc;
	struct vmp_fc_result res;
	REQUIRE(vmp_forecast_new(&fc, NULL) == 0, "forecast");
	CHECK(vmp_forecast_step(fc, &s, &res) == 0 && res.decider == 0 && res.limit == 104857600 &&
		      res.unreclaimable == 123456 - 5,
	      "a reader's sample steps the model (unreclaimable %" PRIu64 ")", res.unreclaimable);
	vmp_forecast_free(fc);
	vmp_fc_reader_free(r);
	/* the machine alone */
	cfg.kind = VMP_SOURCE_MACHINE;
	CHECK(vmp_fc_reader_new(&r, &cfg, "a", NULL) == -ENOENT, "machine: only '/'");
	REQUIRE(vmp_fc_reader_new(&r, &cfg, "/", NULL) == 0, "machine reader");
	REQUIRE(vmp_fc_reader_read(r, 2, &s) == 0, "read");
	CHECK(s.ngroups == 1 && s.groups[0].max == VMP_FC_UNLIMITED && s.machine && s.psi_some_avg10 == 1.5,
	      "machine: one unlimited root, meminfo, /proc/pressure/memory");
	vmp_fc_reader_free(r);
	vmp_fc_reader_free(NULL);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CHECK(system(cmd) == 0, "cleaned");
}

static void test_v1(void)
{
	snprintf(base, sizeof(base), "/tmp/vmp-fcreader-v1.XXXXXX");
	REQUIRE(mkdtemp(base), "mkdtemp");
	dir("cg");
	put("cg/cgroup.event_control", "");
	put("cg/cgroup.procs", "");
	put("cg/memory.usage_in_bytes", "900000000\n");
	put("cg/memory.limit_in_bytes", "9223372036854771712\n");
	put("cg/memory.stat", "cache 0\ntotal_rss 1\ntotal_active_file 0\ntotal_inactive_file 0\n");
	put("cg/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
	dir("cg/x");
	put("cg/x/cgroup.procs", "");
	put("cg/x/memory.usage_in_bytes", "50000000\n");
	put("cg/x/memory.limit_in_bytes", "67108864\n");
	put("cg/x/memory.memsw.usage_in_bytes", "50004096\n");
	put("cg/x/memory.memsw.limit_in_bytes", "100663296\n");
	put("cg/x/memory.stat", "cache 5000\nrss 40000000\ntotal_cache 5000\ntotal_rss 40000000\ntotal_shmem 100\n"
				"total_unevictable 0\ntotal_active_file 1000\ntotal_inactive_file 3000\n"
				"total_workingset_refault_anon 1\ntotal_workingset_refault_file 9\n"
				"hierarchical_memory_limit 67108864\n");
	put("cg/x/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	proc_files();
	char croot[300], proot[300];
	snprintf(croot, sizeof(croot), "%s/cg", base);
	snprintf(proot, sizeof(proot), "%s/proc", base);
	struct vmp_source_config cfg;
	vmp_source_config_init(&cfg);
	cfg.cgroup_root = croot;
	cfg.proc_root = proot;
	vmp_fc_reader *r;
	REQUIRE(vmp_fc_reader_new(&r, &cfg, "x", NULL) == 0, "reader");
	CHECK(vmp_fc_reader_kind(r) == VMP_SOURCE_V1, "v1 detected");
	struct vmp_fc_sample s;
	REQUIRE(vmp_fc_reader_read(r, 0, &s) == 0, "read");
	CHECK(s.ngroups == 2 && !strcmp(s.groups[1].path, "/") && s.groups[1].max == VMP_FC_UNLIMITED,
	      "v1: the root too, its page-counter maximum as no limit");
	const struct vmp_fc_group *g = &s.groups[0];
	CHECK(g->usage == 50000000 && g->max == 67108864 && g->high == VMP_FC_UNLIMITED, "usage, limit, no high");
	CHECK(g->anon == 40000000 && g->shmem == 100 && g->file == 4000 && g->refaults == 10 && g->oom_kills == 2,
	      "total_* of memory.stat, oom_control's oom_kill");
	CHECK((g->flags & VMP_FC_HAVE_SWAP) && g->swap_usage == 4096 && g->swap_max == 100663296 - 67108864,
	      "memsw: swap is memory+swap less memory (%" PRIu64 ", %" PRIu64 ")", g->swap_usage, g->swap_max);
	CHECK(!(g->flags & VMP_FC_HAVE_RECLAIM), "v1 has no pgscan/pgsteal per cgroup");
	CHECK(s.psi_some_avg10 == 1.5, "v1: the machine's PSI");
	vmp_fc_reader_free(r);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CHECK(system(cmd) == 0, "cleaned");
}

int main(void)
{
	test_v2();
	test_v1();
	printf("1..%d\n", check_count);
	return check_failed ? 1 : 0;
}
