/* SPDX-License-Identifier: MIT */
/*
 * vmpressure plot: replay a vmptrace file through the library
 * (vmp_replay_run_hooks) and draw what happened as one self-contained SVG
 * (plot_svg.c): the pressure of every evaluated window per origin group
 * over time, the kernel's level bands, and each listener's notifications,
 * coloured by the group whose window drove them.
 */
#include "cli.h"
#include "plot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure plot FILE [-o OUT.svg] [--from S] [--to S] [--linear]\n"
		"\n"
		"Replay a vmptrace file (FILE '-' is stdin) and draw it as an SVG image:\n"
		"pressure %% of each group's windows over time on the low / medium / critical\n"
		"bands, and one row of markers per listener for its notifications (shape: the\n"
		"level; colour: the group whose window drove it). Self-contained: no script,\n"
		"no external font. Long traces are drawn decimated (the image says so).\n"
		"\n"
		"  -o, --output OUT   the SVG ('-', the default, is standard output)\n"
		"      --from S, --to S\n"
		"                     draw only the windows and notifications from S to S\n"
		"                     seconds of the trace's clock (a zoom; counts are the range's)\n"
		"      --linear       time evenly across the chart (by default half the width\n"
		"                     goes where the windows and notifications are, so that\n"
		"                     bursts get room; the ticks show the scale)\n"
		"\n"
		"exit status: 0 ok, 2 malformed trace, 64 usage, 70 internal error,\n"
		"             74 FILE unreadable or OUT unwritable\n");
}

/* Grow an array of n elements to hold one more. */
static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 16;
	void *np = realloc(*p, nc * size);
	if (!np)
		return false;
	*p = np;
	*cap = nc;
	return true;
}

struct collect {
	struct plot_data *d;
	double from, to; /* the range drawn */
	/* group path -> index + 1: open addressing, power-of-two size */
	uint32_t *gidx;
	size_t gidx_cap;
	/* listener id -> index + 1 (ids are at most 65535) */
	uint32_t *lidx;
	size_t lidx_cap;
};

static long group_index(const struct collect *c, const char *path)
{
	if (!c->gidx_cap)
		return -1;
	for (size_t i = vmp__hash_str(path) & (c->gidx_cap - 1);; i = (i + 1) & (c->gidx_cap - 1)) {
		if (!c->gidx[i])
			return -1;
		if (!strcmp(c->d->groups[c->gidx[i] - 1].path, path))
			return (long)c->gidx[i] - 1;
	}
}

static bool index_add(struct collect *c, size_t gi)
{
	if ((c->d->ngroups + 1) * 2 > c->gidx_cap) {
		size_t nc = c->gidx_cap ? c->gidx_cap * 2 : 64;
		uint32_t *nt = calloc(nc, sizeof(*nt));
		if (!nt)
			return false;
		for (size_t i = 0; i < c->gidx_cap; i++) {
			if (!c->gidx[i])
				continue;
			size_t j = vmp__hash_str(c->d->groups[c->gidx[i] - 1].path) & (nc - 1);
			while (nt[j])
				j = (j + 1) & (nc - 1);
			nt[j] = c->gidx[i];
		}
		free(c->gidx);
		c->gidx = nt;
		c->gidx_cap = nc;
	}
	size_t j = vmp__hash_str(c->d->groups[gi].path) & (c->gidx_cap - 1);
	while (c->gidx[j])
		j = (j + 1) & (c->gidx_cap - 1);
	c->gidx[j] = (uint32_t)gi + 1;
	return true;
}

static void on_group(const char *path, const char *parent, void *arg)
{
	struct collect *c = arg;
	struct plot_data *d = c->d;
	(void)parent;
	if (d->oom || !grow((void **)&d->groups, &d->gcap, d->ngroups, sizeof(*d->groups))) {
		d->oom = true;
		return;
	}
	struct plot_group *g = &d->groups[d->ngroups];
	*g = (struct plot_group){.path = strdup(path)};
	if (!g->path || !index_add(c, d->ngroups)) {
		free(g->path);
		d->oom = true;
		return;
	}
	d->ngroups++;
}

static void on_listen(unsigned id, const char *group, const char *args, void *arg)
{
	struct collect *c = arg;
	struct plot_data *d = c->d;
	if (d->oom || !grow((void **)&d->listeners, &d->lcap, d->nlisteners, sizeof(*d->listeners))) {
		d->oom = true;
		return;
	}
	if (id >= c->lidx_cap) {
		size_t nc = c->lidx_cap ? c->lidx_cap : 16;
		while (nc <= id)
			nc *= 2;
		uint32_t *n = realloc(c->lidx, nc * sizeof(*n));
		if (!n) {
			d->oom = true;
			return;
		}
		memset(n + c->lidx_cap, 0, (nc - c->lidx_cap) * sizeof(*n));
		c->lidx = n;
		c->lidx_cap = nc;
	}
	struct plot_listener *l = &d->listeners[d->nlisteners];
	*l = (struct plot_listener){.id = id, .group = strdup(group), .args = strdup(args)};
	if (!l->group || !l->args) {
		free(l->group);
		free(l->args);
		d->oom = true;
		return;
	}
	c->lidx[id] = (uint32_t)++d->nlisteners;
}

static double tval(const char *t, size_t n)
{
	char b[64];
	if (n >= sizeof(b))
		n = sizeof(b) - 1;
	memcpy(b, t, n);
	b[n] = 0;
	return strtod(b, NULL);
}

static void see_time(struct plot_data *d, double t)
{
	if (t < d->t_min)
		d->t_min = t;
	if (t > d->t_max)
		d->t_max = t;
}

static void on_window(const char *t, size_t tlen, const struct vmp_event *ev, void *arg)
{
	struct collect *c = arg;
	struct plot_data *d = c->d;
	long gi = group_index(c, vmp_group_path(ev->origin));
	if (d->oom || gi < 0)
		return;
	struct plot_group *g = &d->groups[gi];
	if (!grow((void **)&g->pts, &g->cap, g->n, sizeof(*g->pts))) {
		d->oom = true;
		return;
	}
	double tv = tval(t, tlen);
	if (tv < c->from || tv > c->to)
		return;
	g->pts[g->n++] = (struct plot_point){tv, (uint8_t)(ev->pressure > 100 ? 100 : ev->pressure)};
	d->windows++;
	see_time(d, tv);
}

static void on_notify(const char *t, size_t tlen, unsigned id, const struct vmp_event *ev, void *arg)
{
	struct collect *c = arg;
	struct plot_data *d = c->d;
	long gi = group_index(c, vmp_group_path(ev->origin));
	if (d->oom || gi < 0 || id >= c->lidx_cap || !c->lidx[id])
		return;
	double tv = tval(t, tlen);
	if (tv < c->from || tv > c->to)
		return;
	if (!grow((void **)&d->events, &d->ecap, d->nevents, sizeof(*d->events))) {
		d->oom = true;
		return;
	}
	unsigned li = c->lidx[id] - 1;
	d->events[d->nevents++] = (struct plot_event){tv, li, (uint32_t)gi, (uint8_t)ev->level};
	d->listeners[li].count++;
	see_time(d, tv);
}

static void data_free(struct plot_data *d)
{
	for (size_t i = 0; i < d->ngroups; i++) {
		free(d->groups[i].path);
		free(d->groups[i].pts);
	}
	for (size_t i = 0; i < d->nlisteners; i++) {
		free(d->listeners[i].group);
		free(d->listeners[i].args);
	}
	free(d->groups);
	free(d->listeners);
	free(d->events);
}

/* Listeners are drawn in ascending id order, as replay prints them. */
static int by_id(const void *a, const void *b)
{
	const struct plot_listener *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static bool parse_secs(const char *opt, const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || !*v || !(x >= 0) || x > 1e15) {
		fprintf(stderr, "%s plot: %s '%s' is not a number of seconds\n", prog, opt, v);
		return false;
	}
	*out = x;
	return true;
}

int cmd_plot(int argc, char **argv)
{
	const char *in = NULL, *out_path = "-";
	double from = 0, to = 1e300;
	bool linear = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s plot: %s needs a value\n", prog, a);
				return EXIT_USAGE;
			}
			out_path = argv[++i];
		} else if (!strcmp(a, "--linear")) {
			linear = true;
		} else if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s plot: %s needs a value\n", prog, a);
				return EXIT_USAGE;
			}
			if (!parse_secs(a, argv[i + 1], a[2] == 'f' ? &from : &to))
				return EXIT_BADINPUT;
			i++;
		} else if (a[0] == '-' && a[1]) {
			return cli_opt_status(cli_usage_error("plot", "unknown option '%s'", a));
		} else if (!in) {
			in = a;
		} else {
			fprintf(stderr, "%s plot: one FILE only ('%s' is extra)\n", prog, a);
			return EXIT_USAGE;
		}
	}
	if (!in)
		return cli_opt_status(cli_usage_error("plot", "FILE is missing: plot FILE -o OUT.svg"));
	if (!*out_path) {
		fprintf(stderr, "%s plot: -o: an empty file name\n", prog);
		return EXIT_USAGE;
	}
	if (from > to) {
		fprintf(stderr, "%s plot: --from %g is after --to %g\n", prog, from, to);
		return EXIT_BADINPUT;
	}
	char *buf;
	size_t len;
	int rc = read_file(in, &buf, &len);
	if (rc) {
		fprintf(stderr, "%s plot: %s: %s\n", prog, in, read_file_error(rc));
		return EXIT_IOERR;
	}
	const char *base = strrchr(in, '/');
	struct plot_data d = {.name = !strcmp(in, "-") ? "standard input" : base ? base + 1 : in,
			      .t_min = 1e300, .t_max = -1e300};
	struct collect c = {.d = &d, .from = from, .to = to};
	d.zoom = from > 0 || to < 1e300;
	d.from = from;
	d.to = to;
	d.linear = linear;
	struct vmp_replay_hooks hooks = {.group = on_group, .listen = on_listen, .window = on_window,
					 .event = on_notify, .arg = &c};
	struct vmp_error err = {0};
	vmp_replay *r = NULL;
	rc = vmp_replay_run_hooks(buf, len, &hooks, &r, &err);
	free(buf);
	free(c.gidx);
	free(c.lidx);
	int status = EXIT_OK;
	if (rc == -EINVAL && err.line) {
		fprintf(stderr, "%s plot: %s:%lu: %s\n", prog, in, err.line, err.msg);
		status = EXIT_BADINPUT;
	} else if (rc || d.oom) {
		fprintf(stderr, "%s plot: %s: %s\n", prog, in, strerror(rc ? -rc : ENOMEM));
		status = EXIT_SOFTWARE;
	}
	if (status) {
		vmp_replay_free(r);
		data_free(&d);
		return status;
	}
	d.kernel_timing = vmp_replay_kernel_timing(r);
	vmp_replay_free(r);
	/* Events refer to listeners by index: sort, then remap. */
	unsigned *map = calloc(d.nlisteners ? d.nlisteners : 1, sizeof(*map));
	struct plot_listener *orig = malloc((d.nlisteners ? d.nlisteners : 1) * sizeof(*orig));
	if (!map || !orig) {
		free(map);
		free(orig);
		data_free(&d);
		fprintf(stderr, "%s plot: %s\n", prog, strerror(ENOMEM));
		return EXIT_SOFTWARE;
	}
	if (d.nlisteners)
		memcpy(orig, d.listeners, d.nlisteners * sizeof(*orig));
	if (d.nlisteners) /* qsort(NULL, 0, ...) is undefined */
		qsort(d.listeners, d.nlisteners, sizeof(*d.listeners), by_id);
	for (size_t i = 0; i < d.nlisteners; i++)
		for (size_t j = 0; j < d.nlisteners; j++)
			if (orig[i].id == d.listeners[j].id)
				map[i] = (unsigned)j;
	for (size_t i = 0; i < d.nevents; i++)
		d.events[i].listener = map[d.events[i].listener];
	free(map);
	free(orig);

	FILE *f = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "%s plot: cannot write '%s': %s\n", prog, out_path, strerror(errno));
		data_free(&d);
		return EXIT_IOERR;
	}
	rc = plot_svg(f, &d);
	if (fflush(f) != 0 && !rc)
		rc = -errno;
	if (f != stdout && fclose(f) != 0 && !rc)
		rc = -errno;
	if (rc) {
		fprintf(stderr, "%s plot: writing %s: %s\n", prog, out_path, strerror(-rc));
		status = EXIT_IOERR;
	} else {
		fprintf(stderr, "%s: %s: %zu groups, %zu listeners, %llu windows, %zu notifications drawn to %s\n",
			prog, d.name, d.ngroups, d.nlisteners, (unsigned long long)d.windows, d.nevents,
			strcmp(out_path, "-") ? out_path : "standard output");
	}
	data_free(&d);
	return status;
}
