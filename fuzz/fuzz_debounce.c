/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the debounce config parser (vmp_debounce_parse) and
 * the state machine it configures.
 *
 * The input up to its first newline is the config string; what follows
 * drives a debouncer built from it (or from the defaults if it did not
 * parse), 8 bytes per step: a time step, a level, a count, a pressure and
 * a PSI value, or a tick. Checked: the parser returns 0 or -EINVAL, leaves
 * the config untouched and gives a message on error, and on success the
 * canonical text parses back to the same config; the machine's
 * transitions alternate, never go from a state to itself, come in time
 * order, and its next due time is after the latest time it was given.
 */
#include "vmpressure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	vmp_state state;
	uint64_t last;
};

static void on_tr(const struct vmp_transition *t, void *arg)
{
	struct seen *s = arg;
	if (t->from != s->state || t->from == t->to || (unsigned)t->to > VMP_STATE_CRITICAL || t->time_ns < s->last)
		abort();
	s->state = t->to;
	s->last = t->time_ns;
}

static bool same(const struct vmp_debounce_config *a, const struct vmp_debounce_config *b)
{
	return a->window_ns == b->window_ns && a->enter == b->enter && a->leave == b->leave &&
	       a->dwell_ns == b->dwell_ns && a->psi == b->psi && a->psi_min == b->psi_min;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t clen = nl ? (size_t)(nl - data) : size;
	char *s = malloc(clen + 1); /* exactly sized: ASan sees any overread */
	if (!s)
		return 0;
	memcpy(s, data, clen);
	s[clen] = 0;
	struct vmp_debounce_config c, before;
	vmp_debounce_config_init(&c);
	c.enter = 12345; /* a marker: must survive an error */
	before = c;
	struct vmp_error e;
	const char *err = e.msg;
	int rc = vmp_debounce_parse(s, &c, &e);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc && (!same(&c, &before) || !err[0] || !strchr(err, ':')))
		abort();
	if (!rc) {
		char text[200];
		struct vmp_debounce_config back;
		if (vmp_debounce_format(&c, text, sizeof(text)) || vmp_debounce_parse(text, &back, NULL) ||
		    !same(&c, &back))
			abort();
	} else
		vmp_debounce_config_init(&c);
	free(s);

	struct seen st = {VMP_STATE_NONE, 0};
	vmp_debounce *d;
	if (vmp_debounce_new(&d, &c, on_tr, &st))
		abort();
	const uint8_t *p = nl ? nl + 1 : data + size, *end = data + size;
	uint64_t t = 1000000000ull, maxt = 0;
	for (; end - p >= 8; p += 8) {
		uint32_t step;
		memcpy(&step, p, 4);
		t += (uint64_t)step * 1000u; /* up to ~71 minutes */
		if (p[4] == 0xff) {
			vmp_debounce_tick(d, t);
			maxt = t > maxt ? t : maxt;
		} else {
			struct vmp_debounce_input in = {
				.time_ns = (p[5] & 0x80) ? t - 1000000000ull : t, /* sometimes in the past */
				.level = (vmp_level)(p[4] % 3),
				.count = p[5] & 0x7f,
				.has_evidence = p[6] & 1,
				.pressure = p[6] % 101,
				.scanned = 512,
				.psi_some_avg10 = (double)p[7] - 28,
				.psi_full_avg10 = (double)p[7] / 3 - 10,
			};
			if (vmp_debounce_feed(d, &in))
				abort();
			maxt = in.time_ns > maxt ? in.time_ns : maxt;
		}
		uint64_t due = vmp_debounce_next_ns(d);
		if (due != UINT64_MAX && due <= maxt) /* due only after the latest time */
			abort();
		if (vmp_debounce_state(d) != st.state)
			abort();
	}
	vmp_debounce_free(d);
	return 0;
}
