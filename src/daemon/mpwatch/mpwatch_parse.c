/* SPDX-License-Identifier: MIT */
/*
 * The pure parsers of the memory-pressure endpoints (mpwatch.h): the
 * --memory-pressure-endpoint option and the PSI trigger that systemd's
 * clients write after connecting. Both read outside input, so both name
 * the byte or field that is wrong and never look past `len`.
 */
#include "mpwatch.h"
#include "protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The kernel's PSI trigger window bounds (Documentation/accounting/psi.rst). */
#define PSI_WINDOW_MIN_US 500000u
#define PSI_WINDOW_MAX_US 10000000u

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
	if (cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void vmpd_mpw_escape(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[5];
		size_t n;
		if (c == '\\' || c == '"') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			n = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		}
		if (o + n + 4 > cap) { /* room for "..." and the NUL */
			if (o + 4 <= cap) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o < cap ? o : cap - 1] = 0;
}

/* Whether p[0, n) is an absolute path that sd-event would take as it is. */
static bool path_normalised(const char *p, size_t n)
{
	if (n < 2 || p[0] != '/' || p[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n;) {
		/* p[i] is a slash; the component follows. */
		size_t s = ++i;
		while (i < n && p[i] != '/')
			i++;
		size_t c = i - s;
		if (c == 0 || (c == 1 && p[s] == '.') || (c == 2 && p[s] == '.' && p[s + 1] == '.'))
			return false;
	}
	return true;
}

int vmpd_mpw_parse_spec(const char *s, struct vmpd_mpw_spec *out, char *err, size_t cap)
{
	const char *f[4];
	size_t fl[4];
	int nf = 0;
	for (const char *p = s; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (nf == 4)
			return fail(err, cap, "too many fields: use 'PATH CGROUP ARGS [MODE]'");
		f[nf] = p;
		while (*p && *p != ' ')
			p++;
		fl[nf] = (size_t)(p - f[nf]);
		nf++;
	}
	if (nf < 3 || nf > 4)
		return fail(err, cap, "%d field%s: use 'PATH CGROUP ARGS [MODE]' separated by spaces", nf,
			    nf == 1 ? "" : "s");
	for (size_t i = 0; i < fl[0]; i++)
		if ((unsigned char)f[0][i] < 0x20 || f[0][i] == 0x7f)
			return fail(err, cap, "PATH has a control byte 0x%02x at offset %zu",
				    (unsigned char)f[0][i], i);
	if (fl[0] > VMPD_MPW_PATH_MAX)
		return fail(err, cap, "PATH is %zu bytes; a Unix socket path holds at most %u", fl[0],
			    VMPD_MPW_PATH_MAX);
	if (!path_normalised(f[0], fl[0]))
		return fail(err, cap,
			    "PATH '%.*s' must be absolute and normalised (no '//', '.' or '..', no trailing '/'): "
			    "sd-event refuses any other $MEMORY_PRESSURE_WATCH",
			    (int)fl[0], f[0]);
	struct vmpd_mpw_spec sp;
	memcpy(sp.path, f[0], fl[0]);
	sp.path[fl[0]] = 0;
	struct vmp_error cerr;
	if (vmp_cgroup_normalize(f[1], fl[1], sp.cgroup, sizeof(sp.cgroup), &cerr))
		return fail(err, cap, "bad CGROUP '%.*s': %s", (int)(fl[1] > 64 ? 64 : fl[1]), f[1], cerr.msg);
	char args[64];
	if (fl[2] >= sizeof(args))
		return fail(err, cap, "ARGS '%.32s...' is too long: use level[,mode]", f[2]);
	memcpy(args, f[2], fl[2]);
	args[fl[2]] = 0;
	sp.forecast = false;
	sp.forecast_s = 0;
	if (!strcmp(args, "forecast") || !strncmp(args, "forecast=", 9)) {
		if (args[8]) {
			/* SECONDS: digits, an optional fraction; 0.1 to 86400 */
			double v = 0, sc = 1;
			bool dot = false, ok = args[9] >= '0' && args[9] <= '9';
			for (const char *q = args + 9; ok && *q; q++) {
				if (*q == '.' && !dot)
					dot = true;
				else if (*q >= '0' && *q <= '9' && q - args < 9 + 12) {
					if (dot)
						v += (*q - '0') * (sc /= 10);
					else
						v = v * 10 + (*q - '0');
				} else
					ok = false;
			}
			if (!ok || args[strlen(args) - 1] == '.' || v < 0.1 || v > 86400)
				return fail(err, cap, "bad ARGS '%s': forecast=SECONDS takes 0.1 to 86400", args);
			sp.forecast_s = v;
		}
		sp.forecast = true;
		sp.level = VMP_LEVEL_LOW;
		sp.mode = VMP_MODE_DEFAULT;
		snprintf(sp.args, sizeof(sp.args), "forecast");
	} else if (vmp_parse_args(args, &sp.level, &sp.mode))
		return fail(err, cap,
			    "bad ARGS '%s': use level[,mode] (levels: low medium critical; modes: default hierarchy "
			    "local) or forecast[=SECONDS]",
			    args);
	else
		vmpd_canonical_args(sp.level, sp.mode, sp.args, sizeof(sp.args));
	sp.sockmode = 0666;
	if (nf == 4) {
		unsigned m = 0;
		bool ok = fl[3] >= 1 && fl[3] <= 4;
		for (size_t i = 0; ok && i < fl[3]; i++) {
			if (f[3][i] < '0' || f[3][i] > '7')
				ok = false;
			else
				m = m * 8 + (unsigned)(f[3][i] - '0');
		}
		if (!ok || m > 0777)
			return fail(err, cap, "MODE '%.*s': an octal socket mode such as 0660", (int)fl[3], f[3]);
		sp.sockmode = (mode_t)m;
	}
	*out = sp;
	return 0;
}

/* A decimal number without sign or leading zero; false if it overflows. */
static bool dec(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int vmpd_mpw_parse_trigger(const char *s, size_t len, struct vmpd_mpw_trigger *out, char *err,
			   size_t cap)
{
	const char *f[3];
	size_t fl[3];
	size_t i = 0;
	if (len < 5 || (memcmp(s, "some ", 5) && memcmp(s, "full ", 5)))
		return fail(err, cap, "it must start with 'some ' or 'full ' (a PSI trigger: 'some|full THRESHOLD_US WINDOW_US')");
	for (int k = 0; k < 3; k++) {
		if (k) {
			if (i >= len || s[i] != ' ')
				return fail(err, cap, "expected one space at byte %zu: use 'some|full THRESHOLD_US WINDOW_US'",
					    i);
			i++;
		}
		f[k] = s + i;
		while (i < len && s[i] != ' ')
			i++;
		fl[k] = (size_t)(s + i - f[k]);
	}
	if (i != len)
		return fail(err, cap, "unexpected byte 0x%02x at %zu after the window", (unsigned char)s[i], i);
	struct vmpd_mpw_trigger t;
	if (fl[0] == 4 && !memcmp(f[0], "some", 4))
		t.full = false;
	else if (fl[0] == 4 && !memcmp(f[0], "full", 4))
		t.full = true;
	else
		return fail(err, cap, "the stall type must be 'some' or 'full'");
	if (!dec(f[1], fl[1], &t.threshold_us))
		return fail(err, cap, "the threshold (field 2) is not a decimal number of microseconds");
	if (!dec(f[2], fl[2], &t.window_us))
		return fail(err, cap, "the window (field 3) is not a decimal number of microseconds");
	if (t.window_us < PSI_WINDOW_MIN_US || t.window_us > PSI_WINDOW_MAX_US)
		return fail(err, cap, "window %llu us is outside the kernel's %u..%u us",
			    (unsigned long long)t.window_us, PSI_WINDOW_MIN_US, PSI_WINDOW_MAX_US);
	if (t.threshold_us == 0 || t.threshold_us > t.window_us)
		return fail(err, cap, "threshold %llu us must be above 0 and at most the window",
			    (unsigned long long)t.threshold_us);
	*out = t;
	return 0;
}
