/* SPDX-License-Identifier: MIT */
/* A recorded v2 run as sample lines: see v2record.h. */
#include "v2record.h"
#include "trace/samples.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int v2s_recording(const struct v2s_run *run, bool truth, vmp_record_fn fn, void *arg)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "# vmptrace 1\n# the samples of the v2 run %s (tests/data/v2)%s\ngroup / -\n",
			 run->name, truth ? "; expect: the kernel's counts" : "");
	fn(buf, (size_t)n, arg);
	for (size_t g = 0; g < run->ngroups; g++) {
		n = snprintf(buf, sizeof(buf), "group %s %s\n", run->group[g], run->parent[g]);
		fn(buf, (size_t)n, arg);
	}
	for (size_t i = 0; i < run->nlisten; i++) {
		n = snprintf(buf, sizeof(buf), "listen %u %s %s\n", run->l[i].id, run->l[i].group, run->l[i].args);
		fn(buf, (size_t)n, arg);
	}
	n = vmp__samples_fmt_header(buf, sizeof(buf));
	fn(buf, (size_t)n, arg);
	for (size_t k = 0; k < run->nsamples; k++) {
		const struct v2s_sample *s = &run->s[k];
		/* the harness steps the estimator with these very times */
		n = vmp__samples_fmt_step(buf, sizeof(buf), (uint64_t)llround(s->t * 1e9), run->ngroups, &s->m, &s->sched);
		if (n < 0)
			return -EINVAL;
		fn(buf, (size_t)n, arg);
		for (size_t g = 0; g < run->ngroups; g++) {
			struct vmp_est_cgroup c = s->c[g];
			if (!c.valid)
				c = (struct vmp_est_cgroup){0}; /* the estimator reads nothing of it */
			n = vmp__samples_fmt_cgroup(buf, sizeof(buf), run->group[g], &c);
			if (n < 0)
				return -EINVAL;
			fn(buf, (size_t)n, arg);
		}
	}
	for (size_t i = 0; truth && i < run->nlisten; i++)
		if (run->l[i].has_expect) {
			n = snprintf(buf, sizeof(buf), "expect %u %llu\n", run->l[i].id,
				     (unsigned long long)run->l[i].expect);
			fn(buf, (size_t)n, arg);
		}
	return 0;
}
