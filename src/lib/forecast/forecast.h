/* SPDX-License-Identifier: MIT */
/* Internal: the forecast's trend fit, exposed for the unit tests. The
 * model and its theory of operation are in forecast.c. */
#ifndef VMP_FORECAST_H
#define VMP_FORECAST_H

#include <stdbool.h>
#include <stddef.h>

struct vmp_fc_fit {
	size_t n;         /* points in the window */
	double span;      /* seconds from the first to the last */
	double slope;     /* least squares, per second */
	double se;        /* its standard error (0 with fewer than 3 points) */
};

/* The least-squares line through the points (t[i], v[i]), i < n, of
 * which only those with t >= t_from count. */
void vmp__fc_fit_line(const double *t, const double *v, size_t n, double t_from, struct vmp_fc_fit *out);

#endif
