/* SPDX-License-Identifier: MIT */
/*
 * Recorded notification streams for the debounced state machine, shared by
 * tests/unit/test_debounce_traces.c and bench/debounce_report.c: the
 * kernel's own notifications of a vmptrace file (one stream per listener:
 * tests/data/NAME.vmpt, and the v2 runs' captures), and the v2 estimator's on
 * the recorded samples of a v2 run (with pressure and the group's PSI).
 * ds_run() feeds one stream to a debouncer and measures what came out.
 */
#ifndef VMP_DSTREAM_H
#define VMP_DSTREAM_H

#include "v2study.h"
#include "vmpressure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ds_note {
	double t; /* seconds, the stream's own clock */
	vmp_level level;
	bool has_ev;
	uint64_t scanned, reclaimed, pressure;
	double psi_some, psi_full; /* < 0: unknown */
};

struct ds_stream {
	char name[192]; /* "<label> #<listener id> <group> <args>" */
	char run[96];   /* the label alone */
	bool estimated; /* from the estimator (else the kernel's) */
	size_t n, cap;
	struct ds_note *v;
};

struct ds_set {
	size_t n, cap;
	struct ds_stream *s;
};

/* The kernel's notifications of a vmptrace buffer, one stream per
 * listener (ascending id). -errno (-EINVAL: malformed, msg in err). */
int ds_add_vmpt(struct ds_set *set, const char *label, const char *buf, size_t len, char *err,
		size_t errlen);
/* The estimator's (defaults, every sample) on a loaded v2 run. */
int ds_add_estimator(struct ds_set *set, const char *label, const struct v2s_run *run);
void ds_set_free(struct ds_set *set);
/* Everything recorded under dir (tests/data): each *.vmpt (the kernel's
 * streams), then each v2 run of dir/v2 and its subdirectories, the
 * kernel's streams then the estimator's. */
int ds_load_all(struct ds_set *set, const char *dir, char *err, size_t errlen);

struct ds_result {
	uint64_t raw;           /* notifications in the stream */
	uint64_t transitions;   /* raised, the final decay included */
	uint64_t flaps;         /* a transition down undone by one up within 5 s */
	uint64_t held, confirmed, abandoned;
	int raw_max;            /* highest raw level; -1: empty stream */
	int state_max;          /* highest state reached (vmp_state) */
	double first_raw[3];    /* first raw notification at >= level; < 0: none */
	double first_state[4];  /* first transition to a state >= s; < 0: none */
	double duration;        /* first to last raw notification, s */
	bool alternate;         /* each transition starts where the last ended */
	bool ends_none;         /* back to none after the final tick */
	bool dwell_ok;          /* every down came after the dwell */
};

/* Feed the whole stream (then a tick long after its end). */
int ds_run(const struct ds_stream *s, const struct vmp_debounce_config *cfg, struct ds_result *r);

#endif
