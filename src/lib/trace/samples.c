/* SPDX-License-Identifier: MIT */
/*
 * The samples line format (samples.h, docs/vmptrace.md "Samples"): writer
 * and strict reader.
 *
 * The writer prints exactly what the reader accepts, and the reader what
 * the writer prints: fields in one fixed order, single spaces, no trailing
 * space, numbers as unsigned decimals, PSI avg10 with two decimals (the
 * kernel's precision; the estimator only asks whether it is >= 0). So a
 * file's sample lines survive `vmpressure estimate -o` byte for byte.
 *
 * Which comment lines are sample lines: those whose first word after "# "
 * is `samples`, `sample` or starts with `sample-`. Every other line,
 * vmptrace record or comment, is left alone, except that nothing may come
 * between a `# sample` line and its cgroup lines.
 */
#include "trace/samples.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------ */

static int done(int n, size_t cap)
{
	if (n < 0)
		return -EINVAL;
	return (size_t)n < cap ? n : -ENOBUFS;
}

/* What the reader can hold: a cgroup path "a/b" (no root, no empty,
 * "." or ".." component, none longer than 255 bytes), in vmptrace's
 * alphabet (no space, control character or DEL). */
static bool path_ok(const char *p, size_t n)
{
	if (n == 0)
		return false;
	size_t comp = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			const char *c = p + i - comp;
			if (comp == 0 || comp > 255 || (comp == 1 && c[0] == '.') ||
			    (comp == 2 && c[0] == '.' && c[1] == '.'))
				return false;
			comp = 0;
			continue;
		}
		unsigned char ch = (unsigned char)p[i];
		if (ch <= 0x20 || ch == 0x7f)
			return false;
		comp++;
	}
	return true;
}

/* "some=1.50/1234": avg10 with two decimals, '-' when unknown (negative). */
static int fmt_psi(char *buf, size_t cap, const char *key, double avg, uint64_t total)
{
	if (!(avg >= 0))
		return snprintf(buf, cap, " %s=-/%" PRIu64, key, total);
	if (avg > 999999999.99)
		avg = 999999999.99;
	return snprintf(buf, cap, " %s=%.2f/%" PRIu64, key, avg, total);
}

/* Append with snprintf's result to *o; false once it no longer fits. */
static bool add(int n, size_t *o, size_t cap)
{
	if (n < 0 || (size_t)n >= cap - *o)
		return false;
	*o += (size_t)n;
	return true;
}

int vmp__samples_fmt_header(char *buf, size_t cap)
{
	return done(snprintf(buf, cap, "# samples %u\n", VMP_SAMPLES_VERSION), cap);
}

int vmp__samples_fmt_step(char *buf, size_t cap, uint64_t t_ns, size_t n, const struct vmp_est_machine *m,
			  const struct vmp_est_sched *s)
{
	size_t o = 0;
	if (!cap)
		return -ENOBUFS;
	bool ok = add(snprintf(buf, cap, "# sample %" PRIu64 ".%09" PRIu64 " %zu", t_ns / 1000000000u,
			       t_ns % 1000000000u, n), &o, cap);
	if (ok && !m)
		ok = add(snprintf(buf + o, cap - o, " -"), &o, cap);
	else if (ok && !m->valid)
		ok = add(snprintf(buf + o, cap - o, " invalid"), &o, cap);
	else if (ok)
		ok = add(snprintf(buf + o, cap - o,
				  " machine pgscan_kswapd=%" PRIu64 " pgscan_direct=%" PRIu64 " pgsteal_kswapd=%" PRIu64
				  " pgsteal_direct=%" PRIu64 " allocstall=%" PRIu64 " oom_kill=%" PRIu64,
				  m->pgscan_kswapd, m->pgscan_direct, m->pgsteal_kswapd, m->pgsteal_direct,
				  m->allocstall, m->oom_kill), &o, cap) &&
		     add(fmt_psi(buf + o, cap - o, "some", m->psi_some_avg10, m->psi_some_total), &o, cap) &&
		     add(fmt_psi(buf + o, cap - o, "full", m->psi_full_avg10, m->psi_full_total), &o, cap);
	if (s && s->cpus > VMP_EST_SCHED_MAX_CPUS)
		return -EINVAL;
	if (ok && s && s->cpus)
		ok = add(snprintf(buf + o, cap - o, " sched=%u/%" PRIu64, s->cpus, s->runq_ns), &o, cap);
	ok = ok && add(snprintf(buf + o, cap - o, "\n"), &o, cap);
	return ok ? (int)o : -ENOBUFS;
}

int vmp__samples_fmt_cgroup(char *buf, size_t cap, const char *path, const struct vmp_est_cgroup *c)
{
	if (!path || !path_ok(path, strlen(path)))
		return -EINVAL;
	if (!cap)
		return -ENOBUFS;
	size_t o = 0;
	bool ok = add(snprintf(buf, cap, "# sample-cg %s", path), &o, cap);
	if (ok && !c->valid) {
		ok = add(snprintf(buf + o, cap - o, " invalid\n"), &o, cap);
		return ok ? (int)o : -ENOBUFS;
	}
	ok = ok && add(snprintf(buf + o, cap - o, " pgscan=%" PRIu64 " pgsteal=%" PRIu64, c->pgscan, c->pgsteal),
		       &o, cap);
	if (ok && c->have_direct)
		ok = add(snprintf(buf + o, cap - o, " pgscan_direct=%" PRIu64 " pgsteal_direct=%" PRIu64,
				  c->pgscan_direct, c->pgsteal_direct), &o, cap);
	ok = ok && add(snprintf(buf + o, cap - o, " high=%" PRIu64 " max=%" PRIu64 " oom=%" PRIu64
				" oom_kill=%" PRIu64, c->high, c->max, c->oom, c->oom_kill), &o, cap);
	if (ok && c->have_local)
		ok = add(snprintf(buf + o, cap - o, " local_high=%" PRIu64 " local_max=%" PRIu64
				  " local_oom=%" PRIu64, c->local_high, c->local_max, c->local_oom), &o, cap);
	if (ok && c->have_lists)
		ok = add(snprintf(buf + o, cap - o, " file_lru=%" PRIu64, c->file_lru), &o, cap);
	if (ok && c->have_anon)
		ok = add(snprintf(buf + o, cap - o, " anon_lru=%" PRIu64, c->anon_lru), &o, cap);
	if (ok && c->have_swap)
		ok = add(snprintf(buf + o, cap - o, " swap=%" PRIu64, c->swap), &o, cap);
	ok = ok && add(fmt_psi(buf + o, cap - o, "some", c->psi_some_avg10, c->psi_some_total), &o, cap) &&
	     add(fmt_psi(buf + o, cap - o, "full", c->psi_full_avg10, c->psi_full_total), &o, cap) &&
	     add(snprintf(buf + o, cap - o, "\n"), &o, cap);
	return ok ? (int)o : -ENOBUFS;
}

int vmp__samples_fmt_gone(char *buf, size_t cap, const char *path)
{
	if (!path || !path_ok(path, strlen(path)))
		return -EINVAL;
	return done(snprintf(buf, cap, "# sample-gone %s\n", path), cap);
}

/* ---- reading ------------------------------------------------------------ */

#define MAX_TOKENS 24        /* a cgroup line has at most 16 */
#define MAX_CGROUPS (1u << 24) /* per step */

struct parser {
	const char *line;      /* the current line's first byte */
	unsigned long lineno;
	struct vmp_error *err;
	unsigned long header_line; /* 0: no `# samples` header yet */
	/* the step being read */
	bool pending;
	unsigned long step_line;
	uint64_t t_ns;
	bool have_m;
	struct vmp_est_machine m;
	struct vmp_est_sched sched; /* cpus 0: none */
	size_t want, got;
	struct vmp_span *paths;
	struct vmp_est_cgroup *c;
	size_t cap;
	uint32_t *dup;         /* path hash -> index + 1, this step */
	size_t dcap;
	/* the previous step */
	bool stepped;
	uint64_t last_t;
	unsigned long last_line;
	size_t steps;
};

/* Show at most 40 bytes of a field, escaping what a terminal would hide. */
static const char *show(struct vmp_span s, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < s.n && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (i == 40) {
			o += (size_t)snprintf(buf + o, cap - o, "...");
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\'')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
	}
	buf[o < cap ? o : cap - 1] = 0;
	return buf;
}

/* "byte B: <what>, got '<field>'": B is 1-based within the line. */
static int bad(struct parser *ps, struct vmp_span at, const char *what)
{
	char sb[200];
	vmp__errorf(ps->err, ps->lineno, "byte %zu: %s, got '%s'", (size_t)(at.p - ps->line) + 1, what,
			 show(at, sb, sizeof(sb)));
	return -EINVAL;
}

static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* "<seconds>.<9 digits>" as ns. */
static bool parse_time(struct vmp_span s, uint64_t *out)
{
	const char *dot = memchr(s.p, '.', s.n);
	uint64_t sec, ns;
	if (!dot || (size_t)(s.p + s.n - dot - 1) != 9 || !parse_u64(s.p, (size_t)(dot - s.p), &sec) ||
	    !parse_u64(dot + 1, 9, &ns) || sec > (UINT64_MAX - ns) / 1000000000u)
		return false;
	*out = sec * 1000000000u + ns;
	return true;
}

/* "key=<u64>" */
static int expect_u64(struct parser *ps, struct vmp_span f, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	char what[96];
	if (f.n <= kl || memcmp(f.p, key, kl) != 0 || f.p[kl] != '=') {
		snprintf(what, sizeof(what), "expected '%s=<unsigned decimal>'", key);
		return bad(ps, f, what);
	}
	if (!parse_u64(f.p + kl + 1, f.n - kl - 1, out)) {
		snprintf(what, sizeof(what), "%s: expected an unsigned 64-bit decimal", key);
		return bad(ps, (struct vmp_span){f.p + kl + 1, f.n - kl - 1}, what);
	}
	return 0;
}

/* "some=<avg10>/<total>", avg10 '-' (unknown: -1) or digits '.' 2 digits. */
static int expect_psi(struct parser *ps, struct vmp_span f, const char *key, double *avg, uint64_t *total)
{
	size_t kl = strlen(key);
	char what[96];
	const char *slash = f.n > kl ? memchr(f.p, '/', f.n) : NULL;
	if (f.n <= kl || memcmp(f.p, key, kl) != 0 || f.p[kl] != '=' || !slash) {
		snprintf(what, sizeof(what), "expected '%s=<avg10>/<total>'", key);
		return bad(ps, f, what);
	}
	struct vmp_span a = {f.p + kl + 1, (size_t)(slash - f.p) - kl - 1};
	struct vmp_span t = {slash + 1, (size_t)(f.p + f.n - slash - 1)};
	if (a.n == 1 && a.p[0] == '-') {
		*avg = -1;
	} else {
		const char *dot = memchr(a.p, '.', a.n);
		uint64_t ip, fp;
		if (!dot || (size_t)(a.p + a.n - dot - 1) != 2 || (size_t)(dot - a.p) > 12 ||
		    !parse_u64(a.p, (size_t)(dot - a.p), &ip) || !parse_u64(dot + 1, 2, &fp)) {
			snprintf(what, sizeof(what), "%s: expected avg10 as '-' or digits with 2 decimals", key);
			return bad(ps, a, what);
		}
		*avg = (double)(ip * 100 + fp) / 100.0;
	}
	if (!parse_u64(t.p, t.n, total)) {
		snprintf(what, sizeof(what), "%s: expected the total as an unsigned 64-bit decimal", key);
		return bad(ps, t.n ? t : f, what);
	}
	return 0;
}

static bool has_key(struct vmp_span f, const char *key)
{
	size_t kl = strlen(key);
	return f.n > kl && memcmp(f.p, key, kl) == 0 && f.p[kl] == '=';
}

/* The fields of a line after "# ", split at single spaces. */
static int split(struct parser *ps, const char *p, size_t n, struct vmp_span *f, size_t *nf)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ' ')
			continue;
		struct vmp_span s = {p + start, i - start};
		if (s.n == 0)
			return bad(ps, (struct vmp_span){p + start, i < n ? 1 : 0},
				   "an empty field (a double or trailing space?)");
		if (k == MAX_TOKENS)
			return bad(ps, s, "too many fields");
		f[k++] = s;
		start = i + 1;
	}
	*nf = k;
	return 0;
}

static int too_few(struct parser *ps, const char *end, const char *usage)
{
	char what[96];
	snprintf(what, sizeof(what), "the line ends early (usage: %s)", usage);
	return bad(ps, (struct vmp_span){end, 0}, what);
}

static int extra(struct parser *ps, struct vmp_span f)
{
	return bad(ps, f, "unexpected field after the last one");
}

static size_t hash_span(struct vmp_span s)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < s.n; i++)
		h = (h ^ (unsigned char)s.p[i]) * 1099511628211u;
	return (size_t)(h ^ (h >> 29));
}

/* Index of the path in this step, -1 if new (then it is added). */
static int dup_check(struct parser *ps, size_t idx, int *found)
{
	if ((idx + 1) * 2 > ps->dcap) {
		size_t ncap = ps->dcap ? ps->dcap * 2 : 64;
		uint32_t *nd = calloc(ncap, sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		free(ps->dup);
		ps->dup = nd;
		ps->dcap = ncap;
		for (size_t i = 0; i < idx; i++) {
			size_t b = hash_span(ps->paths[i]) & (ncap - 1);
			while (nd[b])
				b = (b + 1) & (ncap - 1);
			nd[b] = (uint32_t)(i + 1);
		}
	}
	struct vmp_span s = ps->paths[idx];
	size_t b = hash_span(s) & (ps->dcap - 1);
	for (; ps->dup[b]; b = (b + 1) & (ps->dcap - 1)) {
		struct vmp_span o = ps->paths[ps->dup[b] - 1];
		if (o.n == s.n && memcmp(o.p, s.p, s.n) == 0) {
			*found = (int)ps->dup[b] - 1;
			return 0;
		}
	}
	ps->dup[b] = (uint32_t)(idx + 1);
	*found = -1;
	return 0;
}

static int finish_step(struct parser *ps, vmp_samples_fn fn, void *arg)
{
	struct vmp_samples_rec r = {
		.kind = VMP_SAMPLES_STEP,
		.line = ps->step_line,
		.t_ns = ps->t_ns,
		.m = ps->have_m ? &ps->m : NULL,
		.sched = ps->sched.cpus ? &ps->sched : NULL,
		.n = ps->got,
		.paths = ps->paths,
		.c = ps->c,
	};
	ps->pending = false;
	ps->steps++;
	return fn ? fn(&r, arg, ps->err) : 0;
}

/* "sched=<cpus>/<runq_ns>", cpus 1..2^20. */
static int expect_sched(struct parser *ps, struct vmp_span f)
{
	static const char what[] = "expected 'sched=<cpus>/<run+wait ns>' (cpus 1 to 1048576)";
	const char *slash = f.n > 6 ? memchr(f.p, '/', f.n) : NULL;
	uint64_t cpus, ns;
	if (f.n <= 6 || memcmp(f.p, "sched=", 6) != 0 || !slash)
		return bad(ps, f, what);
	struct vmp_span c = {f.p + 6, (size_t)(slash - f.p) - 6};
	struct vmp_span t = {slash + 1, (size_t)(f.p + f.n - slash - 1)};
	if (!parse_u64(c.p, c.n, &cpus) || cpus == 0 || cpus > VMP_EST_SCHED_MAX_CPUS)
		return bad(ps, c.n ? c : f, what);
	if (!parse_u64(t.p, t.n, &ns))
		return bad(ps, t.n ? t : f, "sched: the run+wait time: expected an unsigned 64-bit decimal");
	ps->sched.cpus = (unsigned)cpus;
	ps->sched.runq_ns = ns;
	return 0;
}

/* The step line's optional last field. */
static int step_tail(struct parser *ps, struct vmp_span *f, size_t nf)
{
	if (nf == 0)
		return 0;
	int rc = expect_sched(ps, f[0]);
	if (rc)
		return rc;
	return nf > 1 ? extra(ps, f[1]) : 0;
}

static int machine_fields(struct parser *ps, struct vmp_span *f, size_t nf, const char *end)
{
	static const char *const keys[] = {"pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
					   "pgsteal_direct", "allocstall", "oom_kill"};
	struct vmp_est_machine *m = &ps->m;
	uint64_t *dst[] = {&m->pgscan_kswapd, &m->pgscan_direct, &m->pgsteal_kswapd,
			   &m->pgsteal_direct, &m->allocstall, &m->oom_kill};
	static const char usage[] = "machine and 8 fields, docs/vmptrace.md";
	size_t i = 0;
	for (; i < 6; i++) {
		if (i >= nf)
			return too_few(ps, end, usage);
		int rc = expect_u64(ps, f[i], keys[i], dst[i]);
		if (rc)
			return rc;
	}
	if (i >= nf)
		return too_few(ps, end, usage);
	int rc = expect_psi(ps, f[i++], "some", &m->psi_some_avg10, &m->psi_some_total);
	if (rc)
		return rc;
	if (i >= nf)
		return too_few(ps, end, usage);
	rc = expect_psi(ps, f[i++], "full", &m->psi_full_avg10, &m->psi_full_total);
	if (rc)
		return rc;
	if ((rc = step_tail(ps, f + i, nf - i)) != 0)
		return rc;
	m->valid = true;
	return 0;
}

static int step_line(struct parser *ps, struct vmp_span *f, size_t nf, const char *end)
{
	static const char usage[] = "# sample <t> <n> -|invalid|machine ...";
	if (nf < 4)
		return too_few(ps, end, usage);
	uint64_t t, n;
	if (!parse_time(f[1], &t))
		return bad(ps, f[1], "time: expected seconds with 9 decimals");
	if (ps->stepped && t <= ps->last_t) {
		char what[96];
		snprintf(what, sizeof(what), "time: not after the previous sample's (line %lu)", ps->last_line);
		return bad(ps, f[1], what);
	}
	if (!parse_u64(f[2].p, f[2].n, &n) || n > MAX_CGROUPS)
		return bad(ps, f[2], "cgroup count: expected an unsigned decimal up to 16777216");
	memset(&ps->m, 0, sizeof(ps->m));
	memset(&ps->sched, 0, sizeof(ps->sched));
	ps->have_m = false;
	if (f[3].n == 1 && f[3].p[0] == '-') {
		int rc = step_tail(ps, f + 4, nf - 4);
		if (rc)
			return rc;
	} else if (f[3].n == 7 && !memcmp(f[3].p, "invalid", 7)) {
		int rc = step_tail(ps, f + 4, nf - 4);
		if (rc)
			return rc;
		ps->have_m = true;
	} else if (f[3].n == 7 && !memcmp(f[3].p, "machine", 7)) {
		int rc = machine_fields(ps, f + 4, nf - 4, end);
		if (rc)
			return rc;
		ps->have_m = true;
	} else {
		return bad(ps, f[3], "machine: expected '-', 'invalid' or 'machine'");
	}
	ps->pending = true;
	ps->step_line = ps->lineno;
	ps->t_ns = t;
	ps->want = (size_t)n;
	ps->got = 0;
	ps->stepped = true;
	ps->last_t = t;
	ps->last_line = ps->lineno;
	return 0;
}

static int cgroup_line(struct parser *ps, struct vmp_span *f, size_t nf, const char *end)
{
	static const char usage[] = "# sample-cg <path> invalid|<fields>, docs/vmptrace.md";
	if (!ps->pending)
		return bad(ps, f[0], "a cgroup line outside a sample (more than its <n>, or no `# sample` "
				     "line before it)");
	if (nf < 3)
		return too_few(ps, end, usage);
	if (f[1].n == 1 && f[1].p[0] == '/')
		return bad(ps, f[1], "path: the root is the machine's, not a cgroup line's");
	if (!path_ok(f[1].p, f[1].n))
		return bad(ps, f[1], "path: expected a cgroup path 'a/b' (no leading, trailing or double '/', "
				     "'.', '..', space or control character)");
	if (ps->got == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 16;
		struct vmp_span *np = realloc(ps->paths, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		ps->paths = np;
		struct vmp_est_cgroup *nc = realloc(ps->c, ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		ps->c = nc;
		ps->cap = ncap;
	}
	size_t idx = ps->got;
	ps->paths[idx] = f[1];
	if (idx == 0 && ps->dcap)
		memset(ps->dup, 0, ps->dcap * sizeof(*ps->dup));
	int where, rc = dup_check(ps, idx, &where);
	if (rc)
		return rc;
	if (where >= 0) {
		char what[96];
		snprintf(what, sizeof(what), "path: a second line for this cgroup in the sample of line %lu",
			 ps->step_line);
		return bad(ps, f[1], what);
	}
	struct vmp_est_cgroup *c = &ps->c[idx];
	memset(c, 0, sizeof(*c));
	size_t i = 2;
	if (f[2].n == 7 && !memcmp(f[2].p, "invalid", 7)) {
		if (nf > 3)
			return extra(ps, f[3]);
		ps->got++;
		return 0;
	}
#define NEXT_U64(key, dst)                                                                         \
	do {                                                                                       \
		if (i >= nf)                                                                       \
			return too_few(ps, end, usage);                                            \
		if ((rc = expect_u64(ps, f[i++], key, dst)) != 0)                                  \
			return rc;                                                                 \
	} while (0)
	NEXT_U64("pgscan", &c->pgscan);
	NEXT_U64("pgsteal", &c->pgsteal);
	if (i < nf && has_key(f[i], "pgscan_direct")) {
		NEXT_U64("pgscan_direct", &c->pgscan_direct);
		NEXT_U64("pgsteal_direct", &c->pgsteal_direct);
		c->have_direct = true;
	}
	NEXT_U64("high", &c->high);
	NEXT_U64("max", &c->max);
	NEXT_U64("oom", &c->oom);
	NEXT_U64("oom_kill", &c->oom_kill);
	if (i < nf && has_key(f[i], "local_high")) {
		NEXT_U64("local_high", &c->local_high);
		NEXT_U64("local_max", &c->local_max);
		NEXT_U64("local_oom", &c->local_oom);
		c->have_local = true;
	}
	if (i < nf && has_key(f[i], "file_lru")) {
		NEXT_U64("file_lru", &c->file_lru);
		c->have_lists = true;
	}
	if (i < nf && has_key(f[i], "anon_lru")) {
		NEXT_U64("anon_lru", &c->anon_lru);
		c->have_anon = true;
	}
	if (i < nf && has_key(f[i], "swap")) {
		NEXT_U64("swap", &c->swap);
		c->have_swap = true;
	}
#undef NEXT_U64
	if (i >= nf)
		return too_few(ps, end, usage);
	if ((rc = expect_psi(ps, f[i++], "some", &c->psi_some_avg10, &c->psi_some_total)) != 0)
		return rc;
	if (i >= nf)
		return too_few(ps, end, usage);
	if ((rc = expect_psi(ps, f[i++], "full", &c->psi_full_avg10, &c->psi_full_total)) != 0)
		return rc;
	if (i < nf)
		return extra(ps, f[i]);
	c->valid = true;
	ps->got++;
	return 0;
}

/* A sample line (p: after "# "). */
static int sample_line(struct parser *ps, const char *p, size_t n, vmp_samples_fn fn, void *arg)
{
	struct vmp_span f[MAX_TOKENS];
	size_t nf = 0;
	const char *end = p + n;
	int rc = split(ps, p, n, f, &nf);
	if (rc)
		return rc;
	bool is_cg = f[0].n == 9 && !memcmp(f[0].p, "sample-cg", 9);
	if (ps->pending && !is_cg) {
		char what[128];
		snprintf(what, sizeof(what), "expected cgroup line %zu of %zu of the sample of line %lu",
			 ps->got + 1, ps->want, ps->step_line);
		return bad(ps, f[0], what);
	}
	if (f[0].n == 7 && !memcmp(f[0].p, "samples", 7)) {
		uint64_t v;
		if (ps->header_line) {
			char what[96];
			snprintf(what, sizeof(what), "a second `# samples` header (the first is line %lu)",
				 ps->header_line);
			return bad(ps, f[0], what);
		}
		if (nf < 2)
			return too_few(ps, end, "# samples 1");
		if (!parse_u64(f[1].p, f[1].n, &v))
			return bad(ps, f[1], "version: expected an unsigned decimal");
		if (v != VMP_SAMPLES_VERSION)
			return bad(ps, f[1], "version: this build reads samples version 1 only");
		if (nf > 2)
			return extra(ps, f[2]);
		ps->header_line = ps->lineno;
		return 0;
	}
	if (!ps->header_line)
		return bad(ps, f[0], "a sample line before the `# samples 1` header");
	if (f[0].n == 6 && !memcmp(f[0].p, "sample", 6))
		rc = step_line(ps, f, nf, end);
	else if (is_cg)
		rc = cgroup_line(ps, f, nf, end);
	else if (f[0].n == 11 && !memcmp(f[0].p, "sample-gone", 11)) {
		if (nf < 2)
			return too_few(ps, end, "# sample-gone <path>");
		if (!path_ok(f[1].p, f[1].n))
			return bad(ps, f[1], "path: expected a cgroup path 'a/b'");
		if (nf > 2)
			return extra(ps, f[2]);
		struct vmp_samples_rec r = {.kind = VMP_SAMPLES_GONE, .line = ps->lineno, .path = f[1]};
		return fn ? fn(&r, arg, ps->err) : 0;
	} else
		return bad(ps, f[0], "an unknown sample record (samples, sample, sample-cg, sample-gone)");
	if (!rc && ps->pending && ps->got == ps->want)
		rc = finish_step(ps, fn, arg);
	return rc;
}

static bool is_sample_line(const char *p, size_t n)
{
	if (n < 8 || memcmp(p, "# sample", 8) != 0)
		return false;
	if (n == 8 || p[8] == ' ' || p[8] == '-')
		return true;
	return p[8] == 's' && (n == 9 || p[9] == ' ');
}

int vmp__samples_parse(const char *buf, size_t len, vmp_samples_fn fn, void *arg, size_t *steps,
		      struct vmp_error *err)
{
	struct parser ps = {.err = err};
	const char *p = buf, *end = buf + len;
	int rc = 0;
	while (p < end && !rc) {
		ps.lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ps.line = p;
		if (is_sample_line(p, n)) {
			rc = sample_line(&ps, p + 2, n - 2, fn, arg);
		} else if (ps.pending) {
			char what[128];
			snprintf(what, sizeof(what), "expected cgroup line %zu of %zu of the sample of line %lu",
				 ps.got + 1, ps.want, ps.step_line);
			rc = bad(&ps, (struct vmp_span){p, n < 20 ? n : 20}, what);
		}
		p += n + 1;
	}
	if (!rc && ps.pending) {
		vmp__errorf(err, ps.step_line, "the sample announces %zu cgroup lines, the file ends after %zu",
				 ps.want, ps.got);
		rc = -EINVAL;
	}
	free(ps.paths);
	free(ps.c);
	free(ps.dup);
	if (!rc && steps)
		*steps = ps.steps;
	return rc;
}
