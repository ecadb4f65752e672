/* SPDX-License-Identifier: MIT */
/*
 * The process_* metrics of the Prometheus client conventions, from
 * /proc/self: CPU time, start time, virtual and resident memory from
 * /proc/self/stat (proc(5)); open descriptors by counting /proc/self/fd;
 * the descriptor limit from getrlimit(). The start time is in clock ticks
 * after boot, so /proc/stat's btime turns it into Unix time.
 *
 * The stat line's second field is the command name in parentheses, which
 * may itself hold spaces and parentheses: the fields are counted from the
 * last ')'.
 */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int vmpd_procstat_parse(const char *s, size_t n, struct vmpd_procstat *out)
{
	const char *close = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ')')
			close = s + i;
	if (!close)
		return -EINVAL;
	/* Fields after the command, 1-based as in proc(5): 3 state, ...,
	 * 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss. */
	uint64_t v[25] = {0};
	const char *p = close + 1, *end = s + n;
	for (int field = 3; field <= 24; field++) {
		if (p >= end || *p != ' ')
			return -EINVAL;
		p++;
		const char *t = p;
		if (field == 3) {
			while (p < end && *p != ' ')
				p++;
			if (p == t)
				return -EINVAL;
			continue;
		}
		bool neg = p < end && *p == '-';
		if (neg)
			p++;
		uint64_t x = 0;
		const char *d = p;
		while (p < end && *p >= '0' && *p <= '9') {
			if (x > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			x = x * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (p == d)
			return -EINVAL;
		v[field] = neg ? 0 : x; /* only priority and nice may be negative */
	}
	*out = (struct vmpd_procstat){.utime = v[14], .stime = v[15], .starttime = v[22],
				      .vsize = v[23], .rss = v[24]};
	return 0;
}

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < cap - 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* Boot time, Unix seconds, from /proc/stat's btime line. */
static bool boot_time(double *out)
{
	static char buf[16384]; /* one call at a time: the daemon is single-threaded */
	if (read_small("/proc/stat", buf, sizeof(buf)) <= 0)
		return false;
	const char *p = strstr(buf, "\nbtime ");
	if (!p)
		return false;
	*out = strtod(p + 7, NULL);
	return true;
}

void vmpd_procinfo_read(struct vmpd_procinfo *p)
{
	memset(p, 0, sizeof(*p));
	char buf[1024];
	ssize_t n = read_small("/proc/self/stat", buf, sizeof(buf));
	struct vmpd_procstat st;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	double btime;
	if (n > 0 && tck > 0 && page > 0 && vmpd_procstat_parse(buf, (size_t)n, &st) == 0 &&
	    boot_time(&btime)) {
		p->have_stat = true;
		p->cpu_seconds = (double)(st.utime + st.stime) / (double)tck;
		p->start_time = btime + (double)st.starttime / (double)tck;
		p->virtual_bytes = st.vsize;
		p->resident_bytes = st.rss * (uint64_t)page;
	}
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		uint64_t k = 0;
		struct dirent *e;
		while ((e = readdir(dir)))
			if (e->d_name[0] != '.')
				k++;
		closedir(dir);
		p->have_fds = k > 0;
		p->open_fds = k ? k - 1 : 0; /* not the directory's own descriptor */
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		p->have_max_fds = true;
		p->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	}
}
