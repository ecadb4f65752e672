/* SPDX-License-Identifier: MIT */
/*
 * Memory-pressure endpoints (docs/memory-pressure-watch.md): the pure
 * parts, without I/O, so that the unit tests and the fuzz target
 * (fuzz/fuzz_mpwatch.c) can call them on their own: the option's
 * "PATH CGROUP ARGS [MODE]" and the PSI trigger a client writes after it
 * connects (systemd's $MEMORY_PRESSURE_WRITE, decoded).
 */
#ifndef VMPD_MPWATCH_H
#define VMPD_MPWATCH_H

#include "vmpressure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* sun_path holds 108 bytes with its NUL. */
#define VMPD_MPW_PATH_MAX 107u
#define VMPD_MPW_CGROUP_MAX 4096u

struct vmpd_mpw_spec {
	char path[VMPD_MPW_PATH_MAX + 1];  /* absolute, normalised */
	char cgroup[VMPD_MPW_CGROUP_MAX];  /* "/" or "a/b", as vmp_cgroup_normalize() */
	char args[32];                     /* canonical (vmpd_canonical_args()) */
	vmp_level level;
	vmp_mode mode;
	bool forecast;                     /* ARGS forecast[=SECONDS]: wake on OOM forecasts */
	double forecast_s;                 /* their threshold; 0: the model's default */
	mode_t sockmode;                   /* 0666 unless given */
};

/*
 * "PATH CGROUP ARGS [MODE]", fields separated by spaces. PATH must be
 * absolute and normalised (no "//", "." or ".." component, no trailing
 * slash): sd_event_add_memory_pressure() refuses any other
 * $MEMORY_PRESSURE_WATCH. ARGS is the kernel's "level[,mode]"
 * (vmp_parse_args()), or forecast[=SECONDS] (clients are woken by the
 * cgroup's OOM forecasts, docs/forecast.md), MODE an octal socket mode. 0, or -EINVAL with the
 * reason in err.
 */
int vmpd_mpw_parse_spec(const char *s, struct vmpd_mpw_spec *out, char *err, size_t errcap);

/*
 * What a client wrote after connecting: at most VMPD_MPW_TRIGGER_MAX
 * bytes are kept; the first NUL or newline ends the trigger.
 */
#define VMPD_MPW_TRIGGER_MAX 128u

struct vmpd_mpw_trigger {
	bool full;                 /* "full" rather than "some" */
	uint64_t threshold_us, window_us;
};

/*
 * A PSI trigger, as the kernel's memory.pressure accepts it and systemd
 * writes it: "some|full THRESHOLD_US WINDOW_US", single spaces, decimal,
 * 0 < threshold <= window, window from 500 ms to 10 s (the kernel's
 * bounds). `len` excludes the terminator. 0, or -EINVAL with the reason.
 */
int vmpd_mpw_parse_trigger(const char *s, size_t len, struct vmpd_mpw_trigger *out, char *err,
			   size_t errcap);

/* The bytes as text for a log line: printable ASCII kept, the rest as
 * \xNN, backslash and quote escaped. Always NUL-terminated; cut with
 * "..." if it does not fit. */
void vmpd_mpw_escape(const char *s, size_t len, char *out, size_t cap);

#endif
