/* SPDX-License-Identifier: MIT */
/*
 * The SVG of `vmpressure plot`: one file, no script, no external font or
 * image, readable in any browser.
 *
 * Layout, top to bottom: the title (the file's name) and what the image
 * holds; the pressure chart (percent of each evaluated window, one line
 * per origin group, on the kernel's level bands: low below 60 %, medium
 * from 60 %, critical from 95 %, VMP_MED_THRESHOLD / VMP_CRIT_THRESHOLD);
 * the time axis (the trace's own seconds); one row per listener with a
 * marker per notification (shape: its level; colour: the group whose
 * window drove it, as in the chart); the legend.
 *
 * The time axis gives bursts room: reclaim comes in bursts (an OOM's last
 * tenth of a second holds most of a trace's medium and critical windows),
 * so on a linear axis the part that matters is a few pixels wide. Half the
 * chart's width is spread evenly over the time span and half in proportion
 * to the windows and notifications in each pixel's stretch of time: a
 * monotone piecewise-linear map, so order and every marker stay where they
 * belong, and the ticks (placed where they have room, finer in stretched
 * parts) show how the scale changes. `plot --linear` draws time evenly.
 *
 * Huge traces stay drawable: a group with more windows than DECIMATE_PTS
 * is drawn as the min and max of each pixel column, and a listener with
 * more notifications than DECIMATE_MARKS gets one marker per pixel column,
 * level and origin (its data-n attribute says how many). The image says when it did so.
 * Every marker, decimated or not, carries class "mk", its listener id in
 * data-listener and its count in data-n, so tools can check the picture
 * against `vmpressure replay`.
 */
#include "plot.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define W 1200
#define ML 230 /* left margin: lane labels, the y axis */
#define MR 120 /* right margin: band labels, notification counts */
#define CW (W - ML - MR)
#define CT 78  /* chart top */
#define CH 300
#define CB (CT + CH)
#define LH 22  /* a listener's row */

/* More points than this per group (4 per pixel column) and the line
 * could not show them anyway: draw each column's min and max. */
#define DECIMATE_PTS (4 * CW)
/* A listener's markers beyond this overlap into a smear: merge runs. */
#define DECIMATE_MARKS 4000
/* Dots for each window while they stay distinguishable. */
#define DOTS_MAX 1500

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
				      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
#define NPAL (sizeof(palette) / sizeof(palette[0]))

/* The length of the valid UTF-8 character at s that XML may hold (not
 * U+FFFE or U+FFFF), else 0. Trace names are bytes: a file name or group
 * that is not UTF-8 must not make the SVG unreadable. */
static size_t xml_utf8_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = vmp__utf8_len(u, strnlen(s, 4));
	if (n == 3 && u[0] == 0xef && u[1] == 0xbf && (u[2] & 0xfe) == 0xbe)
		return 0;
	return n;
}

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (c >= 0x80) {
				size_t n = xml_utf8_len(s);
				if (n) {
					fwrite(s, 1, n, f);
					s += n - 1;
				} else {
					fputc('?', f);
				}
			} else if (c >= 0x20 || c == '\t') {
				fputc(c, f);
			} else {
				fputc('?', f); /* XML 1.0 forbids these even escaped */
			}
		}
	}
}

/* At most max bytes of s, with an ellipsis (labels in a fixed column). */
static void esc_cut(FILE *f, const char *s, size_t max)
{
	char b[128];
	size_t n = strlen(s);
	if (n <= max || max + 4 > sizeof(b)) {
		esc(f, s);
		return;
	}
	size_t k = max - 3;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--; /* not inside a UTF-8 sequence */
	memcpy(b, s, k);
	strcpy(b + k, "...");
	esc(f, b);
}

/* The time axis: [t0, t1] cut into CW slices of equal time, slice i drawn
 * from x = ML + cum[i] to ML + cum[i + 1] (cum[CW] == CW). */
struct scale {
	double t0, t1;
	double cum[CW + 1];
	bool warped;
};

/* Half the width evenly, half by activity (see the top of the file). */
#define EVEN_SHARE 0.5

static void scale_even(struct scale *s)
{
	for (int i = 0; i <= CW; i++)
		s->cum[i] = i;
	s->warped = false;
}

static int slice_of(const struct scale *s, double t)
{
	int i = (int)((t - s->t0) / (s->t1 - s->t0) * CW);
	return i < 0 ? 0 : i >= CW ? CW - 1 : i;
}

/* Weigh each slice by the windows and notifications in it. */
static void scale_warp(struct scale *s, const struct plot_data *d)
{
	double w[CW];
	double total = 0;
	memset(w, 0, sizeof(w));
	for (size_t g = 0; g < d->ngroups; g++)
		for (size_t i = 0; i < d->groups[g].n; i++) {
			double t = d->groups[g].pts[i].t;
			if (t >= s->t0 && t <= s->t1) {
				w[slice_of(s, t)] += 1;
				total += 1;
			}
		}
	for (size_t i = 0; i < d->nevents; i++) {
		double t = d->events[i].t;
		if (t >= s->t0 && t <= s->t1) {
			w[slice_of(s, t)] += 1;
			total += 1;
		}
	}
	scale_even(s);
	if (total == 0)
		return;
	s->cum[0] = 0;
	for (int i = 0; i < CW; i++)
		s->cum[i + 1] = s->cum[i] + EVEN_SHARE + (1 - EVEN_SHARE) * CW * w[i] / total;
	s->cum[CW] = CW; /* rounding */
	s->warped = true;
}

static double xof(const struct scale *s, double t)
{
	double u = (t - s->t0) / (s->t1 - s->t0) * CW;
	if (u <= 0)
		return ML + u; /* outside the span (never drawn): keep it monotone */
	if (u >= CW)
		return ML + CW + (u - CW);
	int i = (int)u;
	return ML + s->cum[i] + (u - i) * (s->cum[i + 1] - s->cum[i]);
}

static double yof(double p)
{
	return CT + CH - p / 100.0 * CH;
}

static int column(const struct scale *s, double t)
{
	int c = (int)(xof(s, t) - ML);
	return c < 0 ? 0 : c >= CW ? CW - 1 : c;
}

/* A 1-2-5 step giving about n ticks over span. */
static double nice_step(double span, int n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw))), norm = raw / mag;
	return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

/* Ticks where they have room: coarse steps first, then finer ones only
 * where the axis is stretched enough to label them apart. */
#define TICK_GAP 44 /* px between two labels */
#define TICKS_MAX 40

static void time_axis(FILE *f, const struct scale *s)
{
	double span = s->t1 - s->t0, xs[TICKS_MAX];
	int n = 0;
	fprintf(f, "<g class=\"xaxis\" font-size=\"11\" fill=\"#333\" text-anchor=\"middle\">\n");
	/* Halvings and tenths of the even axis' step, down to a twentieth of it. */
	static const double div[] = {1, 2, 4, 10, 20};
	double coarse = nice_step(span, 10);
	for (int level = 0; level < (s->warped ? 5 : 1) && n < TICKS_MAX; level++) {
		double step = coarse / div[level];
		int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
		for (double t = ceil(s->t0 / step) * step; t <= s->t1 + step * 1e-6 && n < TICKS_MAX; t += step) {
			double x = xof(s, t);
			bool room = x >= ML - 0.5 && x <= ML + CW + 0.5;
			for (int k = 0; k < n && room; k++)
				room = fabs(xs[k] - x) >= (level ? TICK_GAP : 1);
			if (!room)
				continue;
			xs[n++] = x;
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#0000001a\"/>", x, CT, x, CB);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>", x, CB, x, CB + 5);
			fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.*f</text>\n", x, CB + 18, dec,
				fabs(t) < step * 1e-9 ? 0.0 : t);
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n</g>\n", ML + CW / 2, CB + 36,
		s->warped ? "time (s, the trace's clock), stretched where windows are dense: see the ticks"
			  : "time (s, the trace's clock)");
}

static void bands(FILE *f)
{
	struct {
		double lo, hi;
		const char *fill, *label, *color;
	} b[] = {
		{0, VMP_MED_THRESHOLD, "#e8f5e9", "low", "#2e7d32"},
		{VMP_MED_THRESHOLD, VMP_CRIT_THRESHOLD, "#fff8e1", "medium", "#b26a00"},
		{VMP_CRIT_THRESHOLD, 100, "#ffebee", "critical", "#c62828"},
	};
	fprintf(f, "<g class=\"bands\">\n");
	for (int i = 0; i < 3; i++) {
		fprintf(f, "<rect class=\"band\" data-level=\"%s\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>\n",
			b[i].label, ML, yof(b[i].hi), CW, yof(b[i].lo) - yof(b[i].hi), b[i].fill);
		double ym = (yof(b[i].lo) + yof(b[i].hi)) / 2 + 4;
		if (i == 0)
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">low &lt; %u %%</text>\n",
				ML + CW + 8, ym, b[i].color, VMP_MED_THRESHOLD);
		else if (i == 1)
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">medium \u2265 %u %%</text>\n",
				ML + CW + 8, ym, b[i].color, VMP_MED_THRESHOLD);
		else
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">critical \u2265 %u %%</text>\n",
				ML + CW + 8, ym, b[i].color, VMP_CRIT_THRESHOLD);
	}
	/* the thresholds themselves */
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b26a00\" stroke-dasharray=\"4 3\"/>\n",
		ML, yof(VMP_MED_THRESHOLD), ML + CW, yof(VMP_MED_THRESHOLD));
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>\n",
		ML, yof(VMP_CRIT_THRESHOLD), ML + CW, yof(VMP_CRIT_THRESHOLD));
	fprintf(f, "<g font-size=\"11\" fill=\"#333\" text-anchor=\"end\">\n");
	for (int p = 0; p <= 100; p += 20)
		fprintf(f, "<text x=\"%d\" y=\"%.1f\">%d %%</text><line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n",
			ML - 8, yof(p) + 4, p, ML - 5, yof(p), ML, yof(p));
	fprintf(f, "</g>\n<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#333\" text-anchor=\"middle\" "
		   "transform=\"rotate(-90 %d %d)\">pressure of each window</text>\n</g>\n",
		ML - 52, CT + CH / 2, ML - 52, CT + CH / 2);
}

/* One group's line (and dots): the path breaks where the windows pause
 * for more than 2 % of the span, so that a gap is not drawn as a slope. */
static void series(FILE *f, const struct scale *s, const struct plot_group *g, size_t gi, bool *decimated)
{
	const char *col = palette[gi % NPAL];
	fprintf(f, "<path class=\"series\" data-group=\"");
	esc(f, g->path);
	fprintf(f, "\" data-windows=\"%zu\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" stroke-linejoin=\"round\" d=\"",
		g->n, col);
	double gap = (s->t1 - s->t0) * 0.02;
	if (g->n <= DECIMATE_PTS) {
		for (size_t i = 0; i < g->n; i++) {
			bool brk = i == 0 || g->pts[i].t - g->pts[i - 1].t > gap;
			fprintf(f, "%c%.1f %.1f", brk ? 'M' : 'L', xof(s, g->pts[i].t), yof(g->pts[i].pressure));
		}
	} else {
		*decimated = true;
		size_t i = 0;
		int prev_col = -1;
		while (i < g->n) {
			int c = column(s, g->pts[i].t);
			uint8_t lo = 100, hi = 0;
			for (; i < g->n && column(s, g->pts[i].t) == c; i++) {
				lo = g->pts[i].pressure < lo ? g->pts[i].pressure : lo;
				hi = g->pts[i].pressure > hi ? g->pts[i].pressure : hi;
			}
			double x = ML + c + 0.5;
			bool brk = prev_col < 0 || c - prev_col > 1 + CW / 50;
			fprintf(f, "%c%.1f %.1fL%.1f %.1f", brk ? 'M' : 'L', x, yof(hi), x, yof(lo));
			prev_col = c;
		}
	}
	fprintf(f, "\"/>\n");
	if (g->n && g->n <= DOTS_MAX) {
		fprintf(f, "<path class=\"dots\" fill=\"none\" stroke=\"%s\" stroke-width=\"3.5\" stroke-linecap=\"round\" d=\"",
			col);
		for (size_t i = 0; i < g->n; i++)
			fprintf(f, "M%.1f %.1fh0", xof(s, g->pts[i].t), yof(g->pts[i].pressure));
		fprintf(f, "\"/>\n");
	}
}

static void marker(FILE *f, const char *cls, double x, double y, int level, const char *fill)
{
	switch (level) {
	case VMP_LEVEL_LOW:
		fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.2\" fill=\"%s\"", cls, x, y, fill);
		break;
	case VMP_LEVEL_MEDIUM:
		fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fl5.5 9.5h-11z\" fill=\"%s\"", cls, x, y - 6, fill);
		break;
	default:
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"", cls, x - 4, y - 4, fill);
		break;
	}
}

static const char *const level_names[] = {"low", "medium", "critical"};

/* A decimated row: per pixel column, one marker per (level, origin) seen
 * there, at the column's first such notification, with the run's count.
 * More distinct origins in one column than MERGE_SLOTS share the last
 * slot of their level. */
#define MERGE_SLOTS 16
struct slot {
	double t;
	uint32_t origin;
	uint8_t level;
	size_t n;
};

static void flush_slots(FILE *f, const struct scale *s, struct slot *sl, size_t k, unsigned id, double cy)
{
	for (size_t i = 0; i < k; i++) {
		marker(f, "mk", xof(s, sl[i].t), cy, sl[i].level, palette[sl[i].origin % NPAL]);
		fprintf(f, " stroke=\"#222\" stroke-width=\"0.6\" data-listener=\"%u\" data-n=\"%zu\"/>\n", id, sl[i].n);
	}
}

static void merged_markers(FILE *f, const struct scale *s, const struct plot_data *d, size_t li, unsigned id,
			   double cy)
{
	struct slot sl[MERGE_SLOTS];
	size_t k = 0;
	int col = -1;
	for (size_t i = 0; i < d->nevents; i++) {
		const struct plot_event *e = &d->events[i];
		if (e->listener != li)
			continue;
		int c = column(s, e->t);
		if (c != col) {
			flush_slots(f, s, sl, k, id, cy);
			k = 0;
			col = c;
		}
		size_t j = 0, same_level = k;
		for (; j < k; j++) {
			if (sl[j].level == e->level) {
				same_level = j;
				if (sl[j].origin == e->origin)
					break;
			}
		}
		if (j < k)
			sl[j].n++;
		else if (k < MERGE_SLOTS)
			sl[k++] = (struct slot){e->t, e->origin, e->level, 1};
		else if (same_level < k)
			sl[same_level].n++;
		else
			sl[k - 1].n++; /* a level first seen once all slots are taken: counted, drawn as another */
	}
	flush_slots(f, s, sl, k, id, cy);
}

static void lanes(FILE *f, const struct scale *s, const struct plot_data *d, int top, bool *decimated)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">Notifications, one row "
		   "per listener</text><text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">"
		   "marker: level; colour: the group whose window drove it</text>\n",
		ML, top - 8, ML + CW, top - 8);
	if (!d->nlisteners)
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#777\">(the trace has no listener)</text>\n", ML,
			top + 15);
	for (size_t li = 0; li < d->nlisteners; li++) {
		const struct plot_listener *l = &d->listeners[li];
		int y = top + (int)li * LH;
		fprintf(f, "<g class=\"lane\" data-listener=\"%u\" data-count=\"%llu\">\n", l->id, (unsigned long long)l->count);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", ML, y, CW, LH,
			li % 2 ? "#ffffff" : "#f3f4f6");
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\" text-anchor=\"end\">#%u ", ML - 8,
			y + 15, l->id);
		esc_cut(f, l->group, 16);
		fputc(' ', f);
		esc_cut(f, l->args, 19);
		fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\">%llu</text>\n", ML + CW + 8,
			y + 15, (unsigned long long)l->count);
		bool merge = l->count > DECIMATE_MARKS;
		double cy = y + LH / 2.0;
		if (merge) {
			*decimated = true;
			merged_markers(f, s, d, li, l->id, cy);
		} else {
			for (size_t i = 0; i < d->nevents; i++) {
				const struct plot_event *e = &d->events[i];
				if (e->listener != li)
					continue;
				marker(f, "mk", xof(s, e->t), cy, e->level, palette[e->origin % NPAL]);
				fprintf(f, " stroke=\"#222\" stroke-width=\"0.6\" data-listener=\"%u\" data-n=\"1\"><title>%.6f s: %s from ",
					l->id, e->t, level_names[e->level]);
				esc(f, d->groups[e->origin].path);
				fprintf(f, "</title></%s>\n", e->level == VMP_LEVEL_LOW ? "circle" : e->level == VMP_LEVEL_MEDIUM ? "path" : "rect");
			}
		}
		fprintf(f, "</g>\n");
	}
}

static int legend(FILE *f, const struct plot_data *d, int top)
{
	fprintf(f, "<g class=\"legend\" font-size=\"12\" fill=\"#222\">\n<text x=\"%d\" y=\"%d\" font-size=\"13\" "
		   "font-weight=\"bold\">Groups</text><text x=\"%d\" y=\"%d\" fill=\"#555\">line: the pressure of the "
		   "windows evaluated at the group (their origin); the number of windows in brackets</text>\n",
		ML, top, ML + 60, top);
	int y = top + 8;
	const int per_row = 3, colw = (CW + MR) / per_row;
	for (size_t i = 0; i < d->ngroups; i++) {
		int x = ML + (int)(i % per_row) * colw;
		if (i % per_row == 0)
			y += 18;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
			   "<text x=\"%d\" y=\"%d\">", x, y - 4, x + 22, y - 4, palette[i % NPAL], x + 28, y);
		esc_cut(f, d->groups[i].path, 28);
		fprintf(f, " (%zu)</text>\n", d->groups[i].n);
	}
	y += 26;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">Levels</text>\n", ML, y);
	for (int l = 0; l < 3; l++) {
		int x = ML + 80 + l * 200;
		marker(f, "key", x, y - 4, l, "#9e9e9e");
		fprintf(f, " stroke=\"#222\" stroke-width=\"0.6\"/><text x=\"%d\" y=\"%d\">%s</text>\n", x + 12, y,
			level_names[l]);
	}
	fprintf(f, "</g>\n");
	return y;
}

int plot_svg(FILE *f, const struct plot_data *d)
{
	bool any = d->t_min <= d->t_max;
	struct scale s;
	s.t0 = any ? d->t_min : 0;
	s.t1 = any ? d->t_max : 1;
	if (d->zoom) { /* the range asked for, where it was given */
		if (d->from > 0 || !any)
			s.t0 = d->from;
		if (d->to < 1e300)
			s.t1 = d->to;
		else if (!any)
			s.t1 = s.t0 + 1;
	}
	if (s.t1 - s.t0 < 1e-6) {
		s.t0 -= 0.5;
		s.t1 += 0.5;
	} else if (!d->zoom) { /* a little air at both ends, so that edge markers show whole */
		double pad = (s.t1 - s.t0) * 0.01;
		s.t0 -= pad;
		s.t1 += pad;
	}
	if (d->linear)
		scale_even(&s);
	else
		scale_warp(&s, d);
	int lanes_top = CB + 78;
	int lanes_h = (int)(d->nlisteners ? d->nlisteners : 1) * LH;
	int legend_top = lanes_top + lanes_h + 34;
	int legend_h = 8 + (int)((d->ngroups + 2) / 3) * 18 + 26;
	int H = legend_top + legend_h + 24;
	bool decimated = false;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"sans-serif\">\n<title>vmpressure plot: ",
		W, H, W, H);
	esc(f, d->name);
	fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"19\" font-weight=\"bold\" fill=\"#111\">", ML);
	esc(f, d->name);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"48\" font-size=\"12\" fill=\"#444\">%zu group%s, %zu listener%s, "
		   "%llu window%s evaluated, %zu notification%s%s; %s</text>\n",
		ML, d->ngroups, d->ngroups == 1 ? "" : "s", d->nlisteners, d->nlisteners == 1 ? "" : "s",
		(unsigned long long)d->windows, d->windows == 1 ? "" : "s", d->nevents, d->nevents == 1 ? "" : "s",
		d->zoom ? " in the range drawn" : "",
		d->kernel_timing ? "each at the time the kernel evaluated it (the capture's work records)"
				 : "each window evaluated as soon as it filled (the file has no work records)");

	bands(f);
	time_axis(f, &s);
	fprintf(f, "<g class=\"chart\">\n");
	for (size_t i = 0; i < d->ngroups; i++)
		series(f, &s, &d->groups[i], i, &decimated);
	fprintf(f, "</g>\n");
	if (!d->windows)
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"16\" fill=\"#555\" text-anchor=\"middle\">no window was "
			   "evaluated in this trace</text>\n", ML + CW / 2, CT + CH / 2);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", ML, CT, CW, CH);
	lanes(f, &s, d, lanes_top, &decimated);
	legend(f, d, legend_top);
	/* Said where it is seen, whichever part was thinned. */
	fprintf(f, "<text class=\"note\" x=\"%d\" y=\"64\" font-size=\"11\" fill=\"%s\">", ML,
		decimated ? "#b00020" : "#777");
	if (decimated)
		fprintf(f, "decimated: lines show each pixel column's min and max (groups of over %d windows), rows one "
			   "marker per column, level and origin (listeners of over %d notifications)",
			DECIMATE_PTS, DECIMATE_MARKS);
	else
		fprintf(f, "every window and every notification drawn");
	fprintf(f, "</text>\n");
	fprintf(f, "</svg>\n");
	return ferror(f) ? -EIO : 0;
}
