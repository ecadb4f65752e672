/* SPDX-License-Identifier: MIT */
/* vmpressure plot: what a replay showed (cmd_plot.c) and its drawing
 * (plot_svg.c). */
#ifndef VMP_CLI_PLOT_H
#define VMP_CLI_PLOT_H

#include "vmpressure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct plot_point {
	double t;
	uint8_t pressure; /* percent, 0..100 */
};

struct plot_group {
	char *path;
	struct plot_point *pts; /* every evaluated window at this origin */
	size_t n, cap;
};

struct plot_listener {
	unsigned id;
	char *group, *args;
	uint64_t count;
};

struct plot_event {
	double t;
	unsigned listener; /* index into listeners */
	uint32_t origin;   /* index into groups */
	uint8_t level;
};

struct plot_data {
	const char *name; /* the file's name, for the title */
	struct plot_group *groups;
	size_t ngroups, gcap;
	struct plot_listener *listeners;
	size_t nlisteners, lcap;
	struct plot_event *events;
	size_t nevents, ecap;
	uint64_t windows;
	double t_min, t_max; /* over windows and events; t_min > t_max: none */
	bool kernel_timing;
	bool zoom;  /* only a time range (plot --from/--to): counts are its */
	double from, to; /* that range; to is 1e300 when not given */
	bool linear; /* plot --linear: time evenly, not stretched at bursts */
	bool oom;
};

/* Write the SVG; 0 or -errno of the write. */
int plot_svg(FILE *f, const struct plot_data *d);

#endif
