/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format, version 0.0.4, of one snapshot
 * (docs/metrics.md lists every family). Pure: the caller collects the
 * snapshot (metrics_serve.c) and sends or writes the text.
 *
 * The format's rules that matter here: a family's HELP and TYPE lines come
 * before its samples and its samples are together, never interleaved with
 * another family's; a counter's name ends in _total (and its TYPE line
 * names it so); values in base units (seconds, bytes, ratios rather than
 * percents); a label value escapes backslash, double quote and newline,
 * and is UTF-8; HELP text escapes backslash and newline.
 */
#include "metrics.h"

#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)

void vmpd_prom_label_value(struct vmp__buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		/* Copy plain bytes in runs. */
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '\\' && u[run] != '"')
			run++;
		vmp__buf_add(b, s + i, run - i);
		i = run;
		if (i == n)
			break;
		if (u[i] == '\\') {
			vmp__buf_add(b, "\\\\", 2);
			i++;
		} else if (u[i] == '"') {
			vmp__buf_add(b, "\\\"", 2);
			i++;
		} else if (u[i] == '\n') {
			vmp__buf_add(b, "\\n", 2);
			i++;
		} else if (u[i] < 0x80) {
			vmp__buf_add(b, s + i, 1); /* other control bytes are valid UTF-8 */
			i++;
		} else {
			size_t k = vmp__utf8_len(u + i, n - i);
			if (k) {
				vmp__buf_add(b, s + i, k);
				i += k;
			} else {
				vmp__buf_add(b, "\xef\xbf\xbd", 3);
				i++;
			}
		}
	}
}

static void help_text(struct vmp__buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			vmp__buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			vmp__buf_add(b, "\\n", 2);
		else
			vmp__buf_add(b, s, 1);
	}
}

static void family(struct vmp__buf *b, const char *name, const char *type, const char *help)
{
	vmp__buf_printf(b, "# HELP %s ", name);
	help_text(b, help);
	vmp__buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void label(struct vmp__buf *b, const char *name, const char *value, bool first)
{
	vmp__buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	vmpd_prom_label_value(b, value, strlen(value));
	vmp__buf_add(b, "\"", 1);
}

static void listener_labels(struct vmp__buf *b, const char *name, const struct vmpd_series *s)
{
	vmp__buf_printf(b, "%s{", name);
	label(b, "cgroup", s->cgroup, true);
	label(b, "args", s->args, false);
}

static void u64_sample(struct vmp__buf *b, const char *name, uint64_t v)
{
	vmp__buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A double as Prometheus reads it: %.15g round-trips every value we have
 * (seconds with microseconds, up to year 30000) and never prints "inf". */
static void f64_sample(struct vmp__buf *b, const char *name, double v)
{
	vmp__buf_printf(b, "%s %.15g\n", name, v);
}

static const char *const level_names[3] = {"low", "medium", "critical"};

void vmpd_metrics_format(struct vmp__buf *b, const struct vmpd_series *s, size_t n,
			 const struct vmpd_procinfo *p, const struct vmpd_daemoninfo *di)
{
	size_t have_pressure = 0, have_evidence = 0, have_time = 0;
	for (size_t i = 0; i < n; i++) {
		have_pressure += s[i].have_pressure;
		have_evidence += s[i].evidence;
		have_time += s[i].last_time >= 0;
	}
	if (n) {
		family(b, "vmpressure_notifications_total", "counter",
		       "Notifications delivered to the listener (cgroup, args), by the level of the window "
		       "that fired it. Only the levels at or above the listener's own appear.");
		for (size_t i = 0; i < n; i++)
			for (unsigned l = s[i].min_level; l < 3; l++) {
				listener_labels(b, "vmpressure_notifications_total", &s[i]);
				label(b, "level", level_names[l], false);
				vmp__buf_printf(b, "} %llu\n", (unsigned long long)s[i].notifications[l]);
			}
		family(b, "vmpressure_level", "gauge",
		       "The highest level notified to the listener in the last " STR(VMPD_METRIC_LEVEL_HOLD_S)
		       " seconds: 0 none, 1 low, "
		       "2 medium, 3 critical.");
		for (size_t i = 0; i < n; i++) {
			listener_labels(b, "vmpressure_level", &s[i]);
			vmp__buf_printf(b, "} %u\n", s[i].level);
		}
	}
	if (have_pressure) {
		family(b, "vmpressure_pressure_ratio", "gauge",
		       "The pressure of the last window notified to the listener, 0 to 1 (the kernel's "
		       "integer percent / 100). Absent where the source reports no evidence (cgroup v1).");
		for (size_t i = 0; i < n; i++)
			if (s[i].have_pressure) {
				listener_labels(b, "vmpressure_pressure_ratio", &s[i]);
				vmp__buf_printf(b, "} %llu.%02llu\n", (unsigned long long)(s[i].pressure / 100),
						(unsigned long long)(s[i].pressure % 100));
			}
	}
	if (have_evidence) {
		static const struct {
			const char *name, *help;
		} ev[2] = {
			{"vmpressure_scanned_pages_total",
			 "Pages scanned in the windows notified to the listener (window evidence; "
			 "estimated on cgroup v2). Absent where the source reports no evidence (cgroup v1)."},
			{"vmpressure_reclaimed_pages_total",
			 "Pages reclaimed in the windows notified to the listener (window evidence; "
			 "estimated on cgroup v2). Absent where the source reports no evidence (cgroup v1)."},
		};
		for (int k = 0; k < 2; k++) {
			family(b, ev[k].name, "counter", ev[k].help);
			for (size_t i = 0; i < n; i++)
				if (s[i].evidence) {
					listener_labels(b, ev[k].name, &s[i]);
					vmp__buf_printf(b, "} %llu\n",
							(unsigned long long)(k ? s[i].reclaimed : s[i].scanned));
				}
		}
	}
	if (have_time) {
		family(b, "vmpressure_last_notification_timestamp_seconds", "gauge",
		       "When the listener was last notified, Unix time.");
		for (size_t i = 0; i < n; i++)
			if (s[i].last_time >= 0) {
				listener_labels(b, "vmpressure_last_notification_timestamp_seconds", &s[i]);
				vmp__buf_printf(b, "} %.15g\n", s[i].last_time);
			}
	}

	if (di && di->netas) {
		family(b, "vmpressure_oom_eta_seconds", "gauge",
		       "The OOM forecast of the cgroup: seconds until its OOM kill at the present growth of what "
		       "reclaim cannot free against the nearest limit (docs/forecast.md); +Inf when nothing "
		       "grows toward a limit.");
		for (size_t i = 0; i < di->netas; i++) {
			vmp__buf_puts(b, "vmpressure_oom_eta_seconds{");
			label(b, "cgroup", di->etas[i].cgroup, true);
			if (di->etas[i].eta < 0)
				vmp__buf_puts(b, "} +Inf\n");
			else
				vmp__buf_printf(b, "} %.3f\n", di->etas[i].eta);
		}
	}
	if (di) {
		family(b, "vmpressured_build_info", "gauge",
		       "Always 1: the daemon's version and pressure source as labels.");
		vmp__buf_puts(b, "vmpressured_build_info{");
		label(b, "version", di->version, true);
		label(b, "source", di->source, false);
		vmp__buf_puts(b, "} 1\n");
		family(b, "vmpressured_clients", "gauge", "Open client connections on the control socket.");
		u64_sample(b, "vmpressured_clients", di->clients);
		family(b, "vmpressured_subscriptions", "gauge", "Client subscriptions.");
		u64_sample(b, "vmpressured_subscriptions", di->subscriptions);
		family(b, "vmpressured_listeners", "gauge",
		       "Source subscriptions: one per distinct (cgroup, args), shared by clients and "
		       "--metrics-cgroup.");
		u64_sample(b, "vmpressured_listeners", di->listeners);
		family(b, "vmpressured_stream_events_dropped_total", "counter",
		       "Stream events dropped because a client did not read them.");
		u64_sample(b, "vmpressured_stream_events_dropped_total", di->dropped);
	}

	if (p && p->have_stat) {
		family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
		f64_sample(b, "process_cpu_seconds_total", p->cpu_seconds);
		family(b, "process_start_time_seconds", "gauge",
		       "Start time of the process since unix epoch in seconds.");
		f64_sample(b, "process_start_time_seconds", p->start_time);
		family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		u64_sample(b, "process_virtual_memory_bytes", p->virtual_bytes);
		family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		u64_sample(b, "process_resident_memory_bytes", p->resident_bytes);
	}
	if (p && p->have_fds) {
		family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
		u64_sample(b, "process_open_fds", p->open_fds);
	}
	if (p && p->have_max_fds) {
		family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		u64_sample(b, "process_max_fds", p->max_fds);
	}
}
