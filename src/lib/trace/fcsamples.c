/* SPDX-License-Identifier: MIT */
/*
 * Forecast samples, version 1 (docs/vmptrace.md, "Forecast samples"): the
 * OOM forecast's inputs kept in a vmptrace file as comment lines, and
 * their replay through the model (API in vmpressure.h).
 *
 *   # fcsamples 1
 *   # fcsample <t> <n> psi=<some>/<full>|psi=- -|machine mem_total=N mem_available=N swap_total=N swap_free=N oom_kill=N
 *   # fcsample-cg <path> gone|usage=N|- max=N|max high=N|max swap=N/N|N/max|- anon=N shmem=N
 *                 unevictable=N file=N slab=N/N refaults=N reclaim=N/N|- oom_kill=N   (n of them, right after)
 *
 * The word family is fcsample, not sample-*: the estimator's strict
 * reader owns `# sample` and `# sample-*` and refuses kinds it does not
 * know.
 */
#include "export.h"
#include "vmpressure.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ----------------------------------------------------------- */

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)k;
}

static void put_lim(struct out *o, const char *key, uint64_t v)
{
	if (v == VMP_FC_UNLIMITED)
		put(o, " %s=max", key);
	else
		put(o, " %s=%" PRIu64, key, v);
}

static bool path_ok(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

VMP_EXPORT int vmp_fc_format_header(char *buf, size_t cap)
{
	int k = snprintf(buf, cap, "# fcsamples 1\n");
	return k < 0 || (size_t)k >= cap ? -ENOSPC : k;
}

VMP_EXPORT int vmp_fc_format_sample(const struct vmp_fc_sample *s, char *buf, size_t cap)
{
	if (!s || !buf || (s->ngroups && !s->groups) || !(s->time >= 0) || s->time > 1e12)
		return -EINVAL;
	for (size_t i = 0; i < s->ngroups; i++)
		if (!s->groups[i].path || !path_ok(s->groups[i].path))
			return s->groups[i].path ? -EILSEQ : -EINVAL;
	struct out o = {buf, 0, cap, cap == 0};
	put(&o, "# fcsample %.6f %zu", s->time, s->ngroups);
	if (s->psi_some_avg10 >= 0 && s->psi_full_avg10 >= 0)
		put(&o, " psi=%.2f/%.2f", s->psi_some_avg10, s->psi_full_avg10);
	else
		put(&o, " psi=-");
	const struct vmp_fc_machine *m = s->machine;
	if (m)
		put(&o, " machine mem_total=%" PRIu64 " mem_available=%" PRIu64 " swap_total=%" PRIu64
			" swap_free=%" PRIu64 " oom_kill=%" PRIu64 "\n",
		    m->mem_total, m->mem_available, m->swap_total, m->swap_free, m->oom_kills);
	else
		put(&o, " -\n");
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct vmp_fc_group *g = &s->groups[i];
		put(&o, "# fcsample-cg %s", g->path);
		if (g->flags & VMP_FC_GONE) {
			put(&o, " gone\n");
			continue;
		}
		if (g->flags & VMP_FC_HAVE_USAGE)
			put(&o, " usage=%" PRIu64, g->usage);
		else
			put(&o, " usage=-");
		put_lim(&o, "max", g->max);
		put_lim(&o, "high", g->high);
		if (g->flags & VMP_FC_HAVE_SWAP) {
			put(&o, " swap=%" PRIu64 "/", g->swap_usage);
			if (g->swap_max == VMP_FC_UNLIMITED)
				put(&o, "max");
			else
				put(&o, "%" PRIu64, g->swap_max);
		} else
			put(&o, " swap=-");
		put(&o, " anon=%" PRIu64 " shmem=%" PRIu64 " unevictable=%" PRIu64 " file=%" PRIu64 " slab=%" PRIu64
			"/%" PRIu64 " refaults=%" PRIu64,
		    g->anon, g->shmem, g->unevictable, g->file, g->slab_reclaimable, g->slab_unreclaimable,
		    g->refaults);
		if (g->flags & VMP_FC_HAVE_RECLAIM)
			put(&o, " reclaim=%" PRIu64 "/%" PRIu64, g->pgscan, g->pgsteal);
		else
			put(&o, " reclaim=-");
		put(&o, " oom_kill=%" PRIu64 "\n", g->oom_kills);
	}
	return o.full ? -ENOSPC : (int)o.n;
}

/* ---- reading ----------------------------------------------------------- */

struct cur {
	const char *line, *p, *end;
	unsigned long lineno;
	struct vmp_error *err;
};

static int bad(struct cur *c, const char *what)
{
	if (c->err) {
		c->err->line = c->lineno;
		snprintf(c->err->msg, sizeof(c->err->msg), "byte %zu: %s", (size_t)(c->p - c->line) + 1, what);
	}
	return -EINVAL;
}

/* " key=" then the value's text up to the next space. */
static bool field(struct cur *c, const char *key, const char **v, size_t *vn)
{
	size_t kl = strlen(key);
	if (c->end - c->p < (ptrdiff_t)kl + 2 || c->p[0] != ' ' || memcmp(c->p + 1, key, kl) || c->p[kl + 1] != '=')
		return false;
	const char *s = c->p + kl + 2, *e = s;
	while (e < c->end && *e != ' ')
		e++;
	if (e == s)
		return false;
	*v = s;
	*vn = (size_t)(e - s);
	c->p = e;
	return true;
}

static bool num(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool lim(const char *s, size_t n, uint64_t *out)
{
	if (n == 3 && !memcmp(s, "max", 3)) {
		*out = VMP_FC_UNLIMITED;
		return true;
	}
	return num(s, n, out) && *out != VMP_FC_UNLIMITED;
}

/* "A/B" with each side parsed by f. */
static bool pair(const char *s, size_t n, bool (*fa)(const char *, size_t, uint64_t *),
		 bool (*fb)(const char *, size_t, uint64_t *), uint64_t *a, uint64_t *b)
{
	const char *sl = memchr(s, '/', n);
	return sl && fa(s, (size_t)(sl - s), a) && fb(sl + 1, n - (size_t)(sl - s) - 1, b);
}

static bool num_field(struct cur *c, const char *key, uint64_t *out)
{
	const char *v;
	size_t n;
	return field(c, key, &v, &n) && num(v, n, out);
}

/* "12.34": a non-negative decimal, at most 6 fraction digits (2 for PSI). */
static bool dec(const char *s, size_t n, unsigned maxfrac, double *out)
{
	size_t i = 0;
	double v = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 13)
		v = v * 10 + (s[i++] - '0');
	if (!i)
		return false;
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;
		double sc = 0.1;
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - f0 < maxfrac) {
			v += (s[i++] - '0') * sc;
			sc /= 10;
		}
		if (i == f0)
			return false;
	}
	if (i != n)
		return false;
	*out = v;
	return true;
}

static int parse_step(struct cur *c, struct vmp_fc_sample *s, struct vmp_fc_machine *m, size_t *n)
{
	const char *e = c->p;
	while (e < c->end && *e != ' ')
		e++;
	if (!dec(c->p, (size_t)(e - c->p), 6, &s->time))
		return bad(c, "not a time in seconds (e.g. 12.300000)");
	c->p = e;
	if (c->p >= c->end || *c->p != ' ')
		return bad(c, "no group count");
	c->p++;
	e = c->p;
	while (e < c->end && *e != ' ')
		e++;
	uint64_t k;
	if (!num(c->p, (size_t)(e - c->p), &k) || k > 4096)
		return bad(c, "not a group count from 0 to 4096");
	*n = (size_t)k;
	c->p = e;
	const char *v;
	size_t vn;
	s->psi_some_avg10 = s->psi_full_avg10 = -1;
	if (!field(c, "psi", &v, &vn))
		return bad(c, "no psi=SOME/FULL or psi=-");
	if (!(vn == 1 && v[0] == '-')) {
		const char *sl = memchr(v, '/', vn);
		if (!sl || !dec(v, (size_t)(sl - v), 2, &s->psi_some_avg10) ||
		    !dec(sl + 1, vn - (size_t)(sl - v) - 1, 2, &s->psi_full_avg10) || s->psi_some_avg10 > 100 ||
		    s->psi_full_avg10 > 100)
			return bad(c, "psi= is not SOME/FULL (avg10 percents, 2 decimals) or -");
	}
	if (c->end - c->p == 2 && !memcmp(c->p, " -", 2)) {
		s->machine = NULL;
		return 0;
	}
	if (c->end - c->p < 8 || memcmp(c->p, " machine", 8))
		return bad(c, "not '-' or 'machine' and its fields");
	c->p += 8;
	if (!num_field(c, "mem_total", &m->mem_total) || !num_field(c, "mem_available", &m->mem_available) ||
	    !num_field(c, "swap_total", &m->swap_total) || !num_field(c, "swap_free", &m->swap_free) ||
	    !num_field(c, "oom_kill", &m->oom_kills))
		return bad(c, "machine fields: mem_total=N mem_available=N swap_total=N swap_free=N oom_kill=N");
	if (c->p != c->end)
		return bad(c, "trailing bytes");
	s->machine = m;
	return 0;
}

static int parse_cg(struct cur *c, struct vmp_fc_group *g, char **path)
{
	const char *e = c->p;
	while (e < c->end && *e != ' ')
		e++;
	if (e == c->p)
		return bad(c, "no cgroup path");
	for (const char *q = c->p; q < e; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return bad(c, "a control character in the path");
	*path = strndup(c->p, (size_t)(e - c->p));
	if (!*path)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	g->path = *path;
	g->max = g->high = g->swap_max = VMP_FC_UNLIMITED;
	c->p = e;
	if (c->end - c->p == 5 && !memcmp(c->p, " gone", 5)) {
		g->flags = VMP_FC_GONE;
		return 0;
	}
	const char *v;
	size_t vn;
	if (!field(c, "usage", &v, &vn))
		return bad(c, "not 'gone' or usage=N|-");
	if (!(vn == 1 && *v == '-')) {
		if (!num(v, vn, &g->usage))
			return bad(c, "usage= is not a number or -");
		g->flags |= VMP_FC_HAVE_USAGE;
	}
	if (!field(c, "max", &v, &vn) || !lim(v, vn, &g->max))
		return bad(c, "max= is not a number or max");
	if (!field(c, "high", &v, &vn) || !lim(v, vn, &g->high))
		return bad(c, "high= is not a number or max");
	if (!field(c, "swap", &v, &vn))
		return bad(c, "no swap=USED/MAX or swap=-");
	if (!(vn == 1 && *v == '-')) {
		if (!pair(v, vn, num, lim, &g->swap_usage, &g->swap_max))
			return bad(c, "swap= is not USED/MAX (numbers; MAX may be max) or -");
		g->flags |= VMP_FC_HAVE_SWAP;
	}
	if (!num_field(c, "anon", &g->anon) || !num_field(c, "shmem", &g->shmem) ||
	    !num_field(c, "unevictable", &g->unevictable) || !num_field(c, "file", &g->file))
		return bad(c, "anon=N shmem=N unevictable=N file=N");
	if (!field(c, "slab", &v, &vn) || !pair(v, vn, num, num, &g->slab_reclaimable, &g->slab_unreclaimable))
		return bad(c, "slab= is not RECLAIMABLE/UNRECLAIMABLE");
	if (!num_field(c, "refaults", &g->refaults))
		return bad(c, "refaults= is not a number");
	if (!field(c, "reclaim", &v, &vn))
		return bad(c, "no reclaim=PGSCAN/PGSTEAL or reclaim=-");
	if (!(vn == 1 && *v == '-')) {
		if (!pair(v, vn, num, num, &g->pgscan, &g->pgsteal))
			return bad(c, "reclaim= is not PGSCAN/PGSTEAL or -");
		g->flags |= VMP_FC_HAVE_RECLAIM;
	}
	if (!num_field(c, "oom_kill", &g->oom_kills))
		return bad(c, "oom_kill= is not a number");
	if (c->p != c->end)
		return bad(c, "trailing bytes");
	return 0;
}

VMP_EXPORT int vmp_forecast_replay(const char *buf, size_t len, const struct vmp_forecast_config *cfg,
				   vmp_fc_replay_fn fn, void *arg, uint64_t *samples, struct vmp_error *err)
{
	if (!buf && len)
		return -EINVAL;
	if (err)
		memset(err, 0, sizeof(*err));
	vmp_forecast *fc;
	int rc = vmp_forecast_new(&fc, cfg);
	if (rc)
		return rc;
	struct vmp_fc_group *g = NULL;
	char **paths = NULL;
	size_t want = 0, have = 0, cap = 0;
	struct vmp_fc_sample s = {0};
	struct vmp_fc_machine m;
	uint64_t count = 0;
	bool header = false;
	struct cur c = {.err = err};
	const char *p = buf, *end = buf + len;
	double last_t = -1;
	unsigned long step_line = 0;
	while (!rc && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		c.lineno++;
		c.line = c.p = p;
		c.end = le;
		bool is_step = le - p >= 12 && !memcmp(p, "# fcsample ", 11);
		bool is_cg = le - p >= 15 && !memcmp(p, "# fcsample-cg ", 14);
		bool is_hdr = le - p >= 12 && !memcmp(p, "# fcsamples ", 12);
		if (have < want && !is_cg) {
			c.p = p;
			rc = bad(&c, "a sample's cgroup lines must follow it directly");
			break;
		}
		if (is_hdr) {
			if (header || count) {
				rc = bad(&c, "a second fcsamples header");
			} else if (le - p != 13 || p[12] != '1') {
				c.p = p + 12;
				rc = bad(&c, "fcsamples version: this reader knows version 1");
			}
			header = true;
		} else if (is_step || is_cg) {
			if (!header) {
				rc = bad(&c, "a forecast sample before '# fcsamples 1'");
				break;
			}
			if (is_step) {
				c.p = p + 11;
				size_t n = 0;
				rc = parse_step(&c, &s, &m, &n);
				if (!rc && s.time < last_t) {
					c.p = p + 11;
					rc = bad(&c, "a time before the previous sample's");
				}
				if (!rc && n > cap) {
					struct vmp_fc_group *ng = realloc(g, n * sizeof(*ng));
					char **np = ng ? realloc(paths, n * sizeof(*np)) : NULL;
					if (ng)
						g = ng;
					if (np)
						paths = np;
					if (!ng || !np)
						rc = -ENOMEM;
					else {
						for (size_t i = cap; i < n; i++)
							paths[i] = NULL;
						cap = n;
					}
				}
				want = n;
				have = 0;
				step_line = c.lineno;
				last_t = s.time;
			} else {
				if (have >= want) {
					rc = bad(&c, "a cgroup line with no sample before it, or more than its count");
					break;
				}
				c.p = p + 14;
				free(paths[have]);
				paths[have] = NULL;
				rc = parse_cg(&c, &g[have], &paths[have]);
				have++;
			}
			if (!rc && have == want) {
				s.groups = g;
				s.ngroups = want;
				struct vmp_fc_result r;
				rc = vmp_forecast_step(fc, &s, &r);
				if (rc == -EINVAL && err) {
					err->line = step_line;
					snprintf(err->msg, sizeof(err->msg), "the model refused the sample");
				}
				if (!rc) {
					count++;
					if (fn)
						fn(&s, &r, arg);
				}
				want = have = 0;
			}
		}
		p = le + (nl ? 1 : 0);
	}
	if (!rc && have < want) {
		c.lineno++;
		c.p = c.line = c.end = end;
		rc = bad(&c, "the file ends inside a sample (fewer cgroup lines than its count)");
	}
	if (!rc && !count) {
		rc = -ENODATA;
		if (err) {
			err->line = 0;
			snprintf(err->msg, sizeof(err->msg), "no forecast samples (# fcsample lines) in the file");
		}
	}
	for (size_t i = 0; i < cap; i++)
		free(paths[i]);
	free(paths);
	free(g);
	vmp_forecast_free(fc);
	if (!rc && samples)
		*samples = count;
	return rc;
}
